"""Home's "Needs you" panel: what waits for a person, each line a key (1-4) or a click away from
the place that fixes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from casparian_engine.wording import counted

if TYPE_CHECKING:  # the engine module imports pyarrow: it loads when the figures are read
    from casparian_engine.attention import Attention

UNPROCESSED, FAILED, QUARANTINED, PAUSED = "unprocessed", "failed", "quarantined", "paused"
ITEMS = (UNPROCESSED, FAILED, QUARANTINED, PAUSED)
"""The panel's lines in order; line n answers key n."""


@dataclass(frozen=True)
class AttentionItem:
    """One line: what waits, how many, and where it is fixed."""

    kind: str
    count: int
    what: str  # "12 files matched, never processed (invoices)"
    where: str  # "Process: r runs them"


def attention_items(attention: Attention) -> list[AttentionItem]:
    """The four lines of the panel, in key order."""
    by_parser = attention.unprocessed_by_parser
    names = ", ".join(sorted(by_parser))
    paused = attention.paused_parsers
    return [
        AttentionItem(
            UNPROCESSED,
            attention.unprocessed_files,
            f"{counted(attention.unprocessed_files, 'file')} matched, never processed"
            + (f" ({names})" if names else ""),
            "Process: r runs them",
        ),
        AttentionItem(
            FAILED,
            attention.failed_jobs,
            f"{counted(attention.failed_jobs, 'failed job')}",
            "Jobs: r retries, w explains",
        ),
        AttentionItem(
            QUARANTINED,
            attention.quarantined_rows,
            f"{counted(attention.quarantined_rows, 'row')} in quarantine",
            "Inspect: R replays after a fix",
        ),
        AttentionItem(
            PAUSED,
            len(paused),
            f"{counted(len(paused), 'parser')} paused by the breaker"
            + (f" ({', '.join(paused)})" if paused else ""),
            "Process: u resumes",
        ),
    ]


class AttentionLine(Static):
    """One line of the panel; a click goes where it is fixed."""

    class Chosen(Message):
        def __init__(self, kind: str) -> None:
            super().__init__()
            self.kind = kind

    def __init__(self, number: int, kind: str) -> None:
        super().__init__("", id=f"attention-{kind}", classes="attention-line")
        self.number = number
        self.kind = kind
        self.count = 0

    def show(self, item: AttentionItem) -> None:
        self.count = item.count
        self.set_class(item.count == 0, "-clear")
        mark = "✓" if item.count == 0 else "!"
        self.update(
            Content.assemble(
                (f"{self.number} ", "bold"), f"{mark} {item.what}", ("  → " + item.where, "dim")
            )
        )

    def on_click(self) -> None:
        self.post_message(self.Chosen(self.kind))


class AttentionPanel(Vertical):
    """The title and four lines; ``show`` fills them from the engine's figures."""

    def compose(self) -> ComposeResult:
        yield Static("Needs you  [dim](1-4 or a click opens the place that fixes it)[/dim]",
                     id="attention-title")  # fmt: skip
        for number, kind in enumerate(ITEMS, start=1):
            yield AttentionLine(number, kind)

    def show(self, attention: Attention) -> None:
        for item in attention_items(attention):
            self.query_one(f"#attention-{item.kind}", AttentionLine).show(item)
        title = self.query_one("#attention-title", Static)
        if attention.nothing:
            title.update("Needs you  [dim]nothing: every matched file is processed[/dim]")
        else:
            title.update("Needs you  [dim](1-4 or a click opens the place that fixes it)[/dim]")
