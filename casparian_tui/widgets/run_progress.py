"""One parser's live processing run: a progress bar with file, error and quarantine counts."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from casparian_engine.cli.common import counted, plural

from ..services import NO_WORK, RunState


def run_label(state: RunState) -> str:
    """'invoices 12/40 files · 1 failed · 3 rows quarantined' plus the outcome once it ended;
    a run that found nothing to do says only why (the engine's reason) and what would redo it."""
    name = f"[b]{escape(state.parser_name)}[/b]"
    if not state.running and state.outcome.startswith(NO_WORK):
        return f"{name}  {escape(state.outcome)}"
    text = (
        f"{name} {state.done:,}/{state.total:,} {plural(state.total, 'file')} · "
        f"{state.failed:,} failed · {counted(state.quarantined_rows, 'row')} quarantined"
    )
    if state.outcome:
        text += f"  [dim]{escape(state.outcome)}[/dim]"
    elif state.running:
        text += "  [dim](s to stop)[/dim]"
    return text


class RunProgress(Horizontal):
    """Renders a ``RunState``; the Process screen calls ``show`` whenever the service changes."""

    DEFAULT_CSS = """
    RunProgress { height: auto; padding: 0 1; }
    RunProgress ProgressBar { width: auto; margin-right: 1; }
    RunProgress ProgressBar Bar { width: 26; }
    RunProgress .run-label { width: 1fr; height: auto; }
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
