"""Jobs mode's worker-hosts line: which hosts serve the queue, their workers, jobs and heartbeats.

It reads the store's worker registry (``cf_workers``, the same as ``casparian workers``) in a
thread when Jobs mounts and on every refresh, and stays hidden while no worker is live (a laptop
running nothing shows no extra line).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual import work
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

if TYPE_CHECKING:
    from casparian_engine.workspace import Workspace

MAX_HOSTS_SHOWN = 6


def workers_text(live: Sequence[Any], now: float) -> str:
    """'worker hosts: host-a 2 workers, 5 jobs, 1 s ago · host-b 1 worker, 0 jobs, 4 s ago'
    (the oldest heartbeat of each host); '' when no worker is live."""
    hosts: dict[str, list[Any]] = {}
    for worker in live:
        hosts.setdefault(worker.record.host, []).append(worker)
    if not hosts:
        return ""
    parts = []
    for host, members in sorted(hosts.items())[:MAX_HOSTS_SHOWN]:
        jobs = sum(len(w.jobs) for w in members)
        oldest = max(0.0, now - min(w.record.heartbeat_at for w in members))
        parts.append(
            f"{host} {len(members)} worker{'s' if len(members) != 1 else ''}, "
            f"{jobs} job{'s' if jobs != 1 else ''}, {oldest:.0f} s ago"
        )
    more = len(hosts) - MAX_HOSTS_SHOWN
    return "worker hosts: " + " · ".join(parts) + (f" · +{more} more" if more > 0 else "")


class WorkersLine(Static):
    """One line over the Jobs list; ``reload`` re-reads the registry off the UI thread."""

    DEFAULT_CSS = """
    WorkersLine { display: none; height: 1; color: $text-muted; }
    WorkersLine.-visible { display: block; }
    """

    class Read(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.workspace = workspace

    @work(thread=True, exclusive=True, exit_on_error=False, group="workers-line")
    def reload(self) -> None:
        reading = self.workspace.jobs.live_workers()
        self.post_message(self.Read(workers_text(reading.workers, reading.now)))

    def on_workers_line_read(self, message: Read) -> None:
        message.stop()
        self.update(Content(message.text))  # host names as written, never markup
        self.set_class(bool(message.text), "-visible")

    @property
    def text(self) -> str:
        return str(self.render()) if self.has_class("-visible") else ""
