"""Option forms of Process's workflow, with the CLI's meanings: a dev run's sink, what-if,
force and network (``casparian run``), and a backfill's limit and force (``casparian
backfill``). Each form reads its fields into a frozen choice; a field it cannot use keeps the
form open with the reason under it and the text as typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Static

BACKFILL_LIMIT_MAX = 1_000_000
"""Largest --limit the backfill form takes (a bound on what a person can type)."""
SINK_MAX_CHARS = 4096
SINK_SCHEMES = ("parquet", "ipc", "sqlite", "duckdb")

Choice = TypeVar("Choice")


class OptionBox(Checkbox, inherit_bindings=False):
    """A checkbox that space toggles (Enter submits the form it is in)."""

    BINDINGS = [Binding("space", "toggle_button", "Toggle", show=False)]


class OptionsForm(ModalScreen[Choice | None], Generic[Choice]):
    """A form of options: Tab moves between fields, space ticks a box, Enter goes on with the
    choice (``read_choice``), Esc cancels; a refused field is said under the form."""

    BINDINGS = [
        Binding("enter", "submit", "Go on", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]
    DEFAULT_CSS = """
    OptionsForm { align: center middle; }
    OptionsForm .option-note { color: $foreground 70%; height: auto; }
    OptionsForm #options-problem { color: $error; height: auto; }
    """

    title_text = ""
    hint = "Tab moves · space ticks · Enter goes on · Esc cancels"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog options"):
            yield Static(Content(self.title_text), classes="panel-title", id="options-title")
            yield from self.fields()
            yield Static("", id="options-problem")
            yield Static(Text(self.hint, style="dim"), id="options-hint")

    def fields(self) -> ComposeResult:
        """The form's own inputs and boxes. A hook: each form (dev run, backfill) defines it;
        reaching this one is a programming error."""
        raise NotImplementedError(f"{type(self).__name__} must define fields")

    def read_choice(self) -> Choice:
        """The fields as a choice; ValueError says which field cannot be used and why. A hook
        each form defines, as ``fields``."""
        raise NotImplementedError(f"{type(self).__name__} must define read_choice")

    @property
    def problem_text(self) -> str:
        return str(self.query_one("#options-problem", Static).render())

    def action_submit(self) -> None:
        try:
            choice = self.read_choice()
        except ValueError as exc:
            self.query_one("#options-problem", Static).update(Text(f"✗ {exc}"))
            return
        self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- backfill ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class BackfillChoice:
    """``casparian backfill``'s --limit (None: every file) and --force."""

    limit: int | None = None
    force: bool = False


def read_limit(text: str) -> int | None:
    """A typed --limit: blank is every file; else a whole number from 1 to the bound."""
    text = text.strip().replace(",", "").replace("_", "")
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= BACKFILL_LIMIT_MAX:
        raise ValueError(
            f"limit: {text!r} is not a number of files from 1 to {BACKFILL_LIMIT_MAX:,} "
            "(blank: every file)"
        )
    return int(text)


class BackfillOptionsDialog(OptionsForm[BackfillChoice]):
    """What a backfill of a parser takes: how many files at most, and whether files already
    processed by its current version are redone too. Nothing runs from here: Enter plans,
    and the plan is shown before anything is redone."""

    hint = "Tab moves · space ticks · Enter shows the plan · Esc cancels"

    def __init__(self, parser_name: str, version: str = "") -> None:
        super().__init__()
        self.parser_name = parser_name
        self.title_text = f"Backfill {parser_name} {version}".rstrip() + ": which files?"

    def fields(self) -> ComposeResult:
        yield Input(placeholder="at most N files (blank: every file)", id="backfill-limit")
        yield OptionBox(
            "force: redo every matched file, even those this version processed", id="backfill-force"
        )
        yield Static(
            Text(
                "Without force only files whose outputs come from an older version are redone "
                "(as `casparian backfill --limit N --force`).",
            ),
            classes="option-note",
        )

    def on_mount(self) -> None:
        self.query_one("#backfill-limit", Input).focus()

    def read_choice(self) -> BackfillChoice:
        limit = read_limit(self.query_one("#backfill-limit", Input).value)
        return BackfillChoice(limit, self.query_one("#backfill-force", Checkbox).value)


# --- dev run ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DevRunChoice:
    """``casparian run``'s --sink (None: the samples' scratch folder), --whatif, --force and
    --allow-network, as a person chose them for one dev run."""

    sink: str | None = None
    whatif: bool = False
    force: bool = False
    allow_network: bool = False


def read_sink(text: str) -> str | None:
    """A typed --sink: blank is the scratch folder; else one of the CLI's URIs. ``stdout`` is
    refused here: the app draws on the terminal rows would be printed to."""
    text = text.strip()
    if not text:
        return None
    if len(text) > SINK_MAX_CHARS:
        raise ValueError(f"sink: {len(text):,} characters; at most {SINK_MAX_CHARS:,}")
    if text == "stdout":
        raise ValueError(
            "sink: stdout prints rows to the terminal the app is drawing on; use "
            "`casparian run --sink stdout` from a shell"
        )
    scheme, separator, location = text.partition("://")
    if not separator or not location.strip():
        raise ValueError(
            f"sink: {text!r} is not a URI; use parquet://DIR, ipc://DIR, sqlite://FILE or "
            "duckdb://FILE"
        )
    if scheme not in SINK_SCHEMES:
        raise ValueError(
            f"sink: {text!r}: unknown scheme {scheme!r} (parquet, ipc, sqlite, duckdb)"
        )
    return text


class DevRunOptionsDialog(OptionsForm[DevRunChoice]):
    """A dev run's options, as ``casparian run`` takes them. The network box is never ticked
    for you and not remembered: ticking it is asked about once more before the run."""

    hint = "Tab moves · space ticks · Enter runs · Esc cancels"

    def __init__(self, parser_name: str, sample_count: int, scratch: str) -> None:
        super().__init__()
        self.parser_name = parser_name
        self.scratch = scratch
        files = f"{sample_count:,} file{'s' if sample_count != 1 else ''}"
        self.title_text = f"Dev run of {parser_name} on {files}"

    def fields(self) -> ComposeResult:
        yield Input(placeholder="sink: blank for the scratch folder below", id="dev-sink")
        yield Static(
            Text(
                f"blank: {self.scratch} (replaced each run); else parquet://DIR, ipc://DIR, "
                "sqlite://FILE or duckdb://FILE"
            ),
            classes="option-note",
        )
        yield OptionBox("what-if: parse and show outputs, schemas, targets; write nothing",
                        id="dev-whatif")  # fmt: skip
        yield OptionBox("force: replace outputs that already exist at the sink", id="dev-force")
        yield OptionBox(
            "allow network: the parser gets this machine's network (audited)",
            id="dev-network",
        )

    def on_mount(self) -> None:
        self.query_one("#dev-sink", Input).focus()

    def read_choice(self) -> DevRunChoice:
        return DevRunChoice(
            sink=read_sink(self.query_one("#dev-sink", Input).value),
            whatif=self.query_one("#dev-whatif", Checkbox).value,
            force=self.query_one("#dev-force", Checkbox).value,
            allow_network=self.query_one("#dev-network", Checkbox).value,
        )


def network_body(parser_name: str, user: str) -> str:
    """What giving a parser the host's network permits, said before a person says yes."""
    return "\n".join(
        [
            f"With the network, the parser {parser_name} can reach any address this machine can: "
            "the internet, your local network, and services on this machine (databases, web "
            "APIs, cloud metadata endpoints). It could send the sample files' contents, or "
            "anything else it can read, to any of them.",
            "",
            "Without it (the default), the parser runs with no network: a connection attempt is "
            "refused and recorded in the audit trail.",
            "",
            f"This applies to this one dev run only and is recorded in the audit trail "
            f"(guest.network_allowed) as {user}. The next dev run has no network unless you "
            "tick the box again.",
        ]
    )
