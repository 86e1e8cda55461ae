"""One parser's live processing run: a progress bar with file, error and quarantine counts."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from ..services import RunState


def run_label(state: RunState) -> str:
    """'invoices 12/40 files · 1 failed · 3 rows quarantined' plus the outcome once it ended."""
    text = (
        f"[b]{state.parser_name}[/b] {state.done:,}/{state.total:,} files · "
        f"{state.failed:,} failed · {state.quarantined_rows:,} rows quarantined"
    )
    if state.outcome:
        text += f"  [dim]{state.outcome}[/dim]"
    elif state.running:
        text += "  [dim](s to stop)[/dim]"
    return text


class RunProgress(Horizontal):
    """Renders a ``RunState``; the Process screen calls ``show`` whenever the service changes."""

    DEFAULT_CSS = """
    RunProgress { height: 1; padding: 0 1; }
    RunProgress ProgressBar { width: 34; }
    RunProgress .run-label { width: 1fr; }
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
        """Render the run's figures; the bar is indeterminate until the total is known."""
        self.state = state
        bar = self.query_one(ProgressBar)
        if state.total or not state.running:
            bar.update(total=max(state.total, 1), progress=state.done if state.total else 1)
        self.set_class(state.failed > 0 or state.outcome.startswith("failed"), "-failed")
        self.query_one(".run-label", Static).update(run_label(state))
