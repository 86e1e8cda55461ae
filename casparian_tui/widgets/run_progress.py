"""One parser's live processing run: a progress bar with file, error and quarantine counts."""

from __future__ import annotations

import re

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from casparian_engine.wording import counted, plural

from ..services import NO_WORK, RunState

SHOWN_FIGURE = re.compile(r"^[\d,]+ (files?|failed|quarantined)$")
"""An outcome's figure the label already shows from the run's state."""
ROWS_FIGURE = re.compile(r"^[\d,]+ rows?$")


def run_ending(state: RunState) -> str:
    """How the run stands, in a word or two: 's stops', 'stopping…', 'done', 'stopped', and
    '✗ every file failed' for a run none of whose files went through."""
    if state.running:
        return state.outcome or "s stops"
    word, _, rest = state.outcome.partition(": ")
    extra = [
        f"{part} written" if ROWS_FIGURE.match(part) else part
        for part in rest.split(", ")
        if part and not SHOWN_FIGURE.match(part)
    ]
    if state.done > 0 and state.failed >= state.done:  # ``done`` counts failed files
        word = "✗ every file failed" if word == "done" else f"✗ {word}, every file failed"
    return ", ".join([word, *extra])


def run_label(state: RunState) -> str:
    """One line per run, each figure once, how it stands first (a narrow line cuts the end):
    'invoices · done, 40 rows written · 12/40 files · 1 failed · 3 rows quarantined'; a run
    that found nothing to do (or could not start) says only why."""
    name = f"[b]{escape(state.parser_name)}[/b]"
    if not state.running and state.outcome.startswith((NO_WORK, "failed")):
        return f"{name}  {escape(state.outcome)}"
    return (
        f"{name} · {escape(run_ending(state))} · "
        f"{state.done:,}/{state.total:,} {plural(state.total, 'file')} · "
        f"{state.failed:,} failed · {counted(state.quarantined_rows, 'row')} quarantined"
    )


class RunProgress(Horizontal):
    """Renders a ``RunState``; the Process screen calls ``show`` whenever the service changes."""

    DEFAULT_CSS = """
    RunProgress { height: 1; padding: 0 1; }
    RunProgress ProgressBar { width: auto; margin-right: 1; }
    RunProgress ProgressBar Bar { width: 26; }
    RunProgress .run-label { width: 1fr; height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    RunProgress.-failed .run-label { color: $error; }
    """

    def __init__(self, state: RunState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=None, show_eta=False)
        yield Static(classes="run-label")

    def on_mount(self) -> None:
        self.show(self.state)

    def show(self, state: RunState) -> None:
        """Render the run's figures; the bar is indeterminate until the total is known and
        at 0 % for a run that ended with no files."""
        self.state = state
        bar = self.query_one(ProgressBar)
        if state.total:
            bar.update(total=state.total, progress=state.done)
        elif state.running:
            bar.update(total=None, progress=0)  # starting: indeterminate, never 100 %
        else:
            bar.update(total=1, progress=0)  # ended with nothing to do: 0 %
        self.set_class(state.failed > 0 or state.outcome.startswith("failed"), "-failed")
        self.query_one(".run-label", Static).update(run_label(state))
