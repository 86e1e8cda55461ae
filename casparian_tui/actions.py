"""The one action registry: keys → actions, from which footer, help screen and palette are built."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

GLOBAL = "global"
MODE_NAMES = ("discover", "process", "inspect", "jobs")


def literal_markup(text: str) -> str:
    """``text`` as Textual markup that shows every character as written: each "[" escaped
    (``textual.markup.escape`` leaves "[Esc]" and "[Space]" to be read as tags)."""
    return text.replace("[", "\\[")


@dataclass(frozen=True)
class ActionSpec:
    """One user action: where it applies, which keys trigger it and what it says about itself."""

    scope: str  # "global" or a mode name ("home", "discover", …)
    keys: str  # Textual key list, e.g. "alt+d" or "alt+h,question_mark"
    action: str  # Textual action string, e.g. "open_mode('discover')"
    label: str  # short footer label
    help: str  # one sentence for the help screen and the command palette
    key_display: str | None = None
    show: bool = True  # shown in the footer
    footer_key: str | None = None  # a shorter key text for the footer (default: key_display)
    priority: bool = False  # fires even when an input has focus
    palette: bool = True  # offered in the command palette

    @property
    def keys_for_people(self) -> str:
        """The keys as a person reads them: 'Alt+h / ?'."""
        if self.key_display:
            return self.key_display
        names = {"question_mark": "?", "escape": "Esc", "enter": "Enter", "space": "Space"}
        parts = []
        for key in self.keys.split(","):
            pieces = [names.get(p, p.capitalize() if len(p) > 1 else p) for p in key.split("+")]
            parts.append("+".join(pieces))
        return " / ".join(parts)

    @property
    def palette_help(self) -> str:
        """The help sentence and keys as command-palette markup (Textual parses a palette hit's
        help as markup): every character shows literally, "[/]" and "[Space]" included."""
        return literal_markup(f"{self.help}  [{self.keys_for_people}]")


REGISTRY: tuple[ActionSpec, ...] = (
    # Global keys (spec §5.3): modes, sidebar, help, home, quit.
    ActionSpec(
        GLOBAL,
        "alt+d",
        "open_mode('discover')",
        "Discover",
        "Scan, filter and tag files",
        show=False,  # the footer keeps room for the mode's own keys; help and palette list it
        priority=True,
    ),
    ActionSpec(
        GLOBAL,
        "alt+p",
        "open_mode('process')",
        "Process",
        "Run registered parsers",
        show=False,
        priority=True,
    ),
    ActionSpec(
        GLOBAL,
        "alt+i",
        "open_mode('inspect')",
        "Inspect",
        "Browse output tables and quarantine",
        show=False,
        priority=True,
    ),
    ActionSpec(
        GLOBAL,
        "alt+j",
        "open_mode('jobs')",
        "Jobs",
        "Queue status, retry and cancel",
        show=False,
        priority=True,
    ),
    ActionSpec(
        GLOBAL, "alt+a", "toggle_ai_sidebar", "AI", "Show or hide the AI sidebar", priority=True
    ),
    ActionSpec(
        GLOBAL,
        "alt+h,question_mark",
        "show_help",
        "Help",
        "List every key and action",
        key_display="Alt+h / ?",
        footer_key="?",
    ),
    ActionSpec(
        GLOBAL,
        "escape",
        "back",
        "Back",
        "Leave the input, else go back one level, else to Home",
        show=False,
    ),
    ActionSpec(
        GLOBAL,
        "q",
        "back(True)",
        "Back",
        "Back, as Esc; on Home it quits",
        show=False,
    ),
    ActionSpec(
        GLOBAL,
        "ctrl+c",
        "quit",
        "Quit",
        "Quit (asks first while work runs)",
        show=False,
        priority=True,
    ),
    # Home hub.
    ActionSpec(
        "home",
        "left",
        "move_card(-1)",
        "Left",
        "Select the card to the left",
        show=False,
        palette=False,
    ),
    ActionSpec(
        "home",
        "right",
        "move_card(1)",
        "Right",
        "Select the card to the right",
        show=False,
        palette=False,
    ),
    ActionSpec(
        "home", "up", "move_card(-2)", "Up", "Select the card above", show=False, palette=False
    ),
    ActionSpec(
        "home", "down", "move_card(2)", "Down", "Select the card below", show=False, palette=False
    ),
    ActionSpec("home", "enter", "open_selected", "Open", "Open the selected mode", palette=False),
    ActionSpec("home", "q", "app.quit", "Quit", "Quit (asks first while work runs)", palette=False),
    ActionSpec(
        "home",
        "1",
        "fix(1)",
        "Unprocessed",
        "Open Process on a parser with matched files never processed",
        show=False,  # the panel names its keys
    ),
    ActionSpec(
        "home",
        "2",
        "fix(2)",
        "Failed",
        "Open Jobs showing the failed jobs",
        show=False,  # the panel names its keys
    ),
    ActionSpec(
        "home",
        "3",
        "fix(3)",
        "Quarantine",
        "Open Inspect on the quarantined rows",
        show=False,  # the panel names its keys
    ),
    ActionSpec(
        "home",
        "4",
        "fix(4)",
        "Paused",
        "Open Process on a parser its circuit breaker paused",
        show=False,  # the panel names its keys
    ),
    # Discover.
    ActionSpec(
        "discover",
        "slash",
        "focus_filter",
        "Filter",
        "Type a gitignore-style pattern",
        key_display="/",
    ),
    ActionSpec(
        "discover", "space", "toggle_select", "Select", "Add or remove the file from the selection"
    ),
    ActionSpec("discover", "t", "tag_selection", "Tag", "Tag the selected files"),
    ActionSpec(
        "discover",
        "u",
        "untag_selection",
        "Untag",
        "Remove a tag from the selected files (asks which, then confirms)",
        show=False,  # the footer is full at 120 columns; help and the palette list it
    ),
    ActionSpec("discover", "p", "preview", "Preview", "Preview the highlighted file"),
    ActionSpec(
        "discover", "enter", "details", "Details", "Show every fact about the file", palette=False
    ),
    ActionSpec("discover", "n", "scan_folder", "Scan", "Scan a new folder"),
    ActionSpec("discover", "x", "cancel_scan", "Stop", "Cancel the running scan"),
    ActionSpec("discover", "a", "accept_suggestion", "Accept", "Apply the suggested tag"),
    ActionSpec(
        "discover",
        "c",
        "discover_contract",
        "Contract",
        "Propose a contract for the selected files; A there approves it",
        show=False,  # the footer is full at 120 columns; help and the palette list it
    ),
    ActionSpec(
        "discover",
        "l",
        "open_lab",
        "Lab",
        "Draft a parser from the selected files (or the tag the filter names)",
        show=False,  # the footer is full at 120 columns; help and the palette list it
    ),
    ActionSpec(
        "discover", "right_square_bracket", "page(1)", "Next", "Next page of files", key_display="]"
    ),
    ActionSpec(
        "discover",
        "left_square_bracket",
        "page(-1)",
        "Prev",
        "Previous page of files",
        key_display="[",
    ),
    # Process.
    ActionSpec("process", "r", "run_parser", "Run", "Queue and process the parser's matched files"),
    ActionSpec("process", "s", "stop_parser", "Stop", "Stop the parser's running processing"),
    ActionSpec(
        "process",
        "n",
        "register_parser",
        "Register",
        "Register a parser from its folder (policy, allow)",
    ),
    ActionSpec(
        "process", "c", "parser_details", "Contract", "Show the parser's version and contracts"
    ),
    ActionSpec(
        "process",
        "space",
        "toggle_sample",
        "Pick",
        "Pick the highlighted matched file as a dev-run sample",
        show=False,
    ),
    ActionSpec(
        "process",
        "d",
        "dev_run",
        "Dev run",
        "Dev-run the parser on the picked samples (else the highlighted file): sink, what-if and "
        "network asked first; never the production outputs",
    ),
    ActionSpec(
        "process",
        "b",
        "backfill",
        "Backfill",
        "Redo files an older version processed (--limit, --force; shows them and asks first)",
    ),
    ActionSpec(
        "process",
        "m",
        "show_message",
        "Message",
        "Read the parser's status, run and error messages in full",
    ),
    ActionSpec(
        "process",
        "right_square_bracket",
        "page(1)",
        "Next",
        "Next page of matched files",
        key_display="]",
    ),
    ActionSpec(
        "process",
        "left_square_bracket",
        "page(-1)",
        "Prev",
        "Previous page of matched files",
        key_display="[",
    ),
    # Inspect.
    ActionSpec("inspect", "f", "filter_rows", "Filter", "Filter rows with a SQL predicate"),
    ActionSpec(
        "inspect",
        "R",
        "replay_quarantine",
        "Replay",
        "Replay quarantined rows after a fix (a dry run counts them first): the output or the row",
        key_display="R",
        show=False,  # the quarantine's status line names it
    ),
    ActionSpec(
        "inspect",
        "s",
        "edit_sql",
        "SQL",
        "Write SQL over the outputs and the quarantine (Ctrl+j or F5 runs it, Tab completes, "
        "Ctrl+Up/Down walk the history)",
    ),
    ActionSpec(
        "inspect", "e", "export_view", "Export", "Export the current view to Parquet or CSV"
    ),
    ActionSpec(
        "inspect",
        "o",
        "sort_column",
        "Sort",
        "Sort the rows by the cursor's column: ascending, descending, then unsorted",
    ),
    ActionSpec("inspect", "c", "copy('cell')", "Copy", "Copy the cell under the cursor"),
    ActionSpec(
        "inspect",
        "C",
        "copy('row')",
        "Copy row",
        "Copy the cursor's row, tab-separated",
        key_display="C",
        show=False,
    ),
    ActionSpec(
        "inspect",
        "Q",
        "show_quarantine",
        "Quarantine",
        "Browse quarantined rows with reasons (Esc or q goes back to the tables)",
        key_display="Q",
    ),
    ActionSpec(
        "inspect",
        "a",
        "show_anomalies",
        "Anomalies",
        "List the table's anomalies with counts",
        show=False,
    ),
    ActionSpec(
        "inspect",
        "right_square_bracket",
        "page(1)",
        "Next",
        "A screen of rows down (quarantine: its next page)",
        key_display="]",
        show=False,
    ),
    ActionSpec(
        "inspect",
        "left_square_bracket",
        "page(-1)",
        "Prev",
        "A screen of rows up (quarantine: its previous page)",
        key_display="[",
        show=False,
    ),
    # Jobs.
    ActionSpec("jobs", "j", "cursor(1)", "Down", "Next job", show=False, palette=False),
    ActionSpec("jobs", "k", "cursor(-1)", "Up", "Previous job", show=False, palette=False),
    ActionSpec("jobs", "enter", "expand", "Expand", "Show logs, trace and outputs", palette=False),
    ActionSpec("jobs", "r", "retry_job", "Retry", "Retry the failed job or replay a dead letter"),
    ActionSpec("jobs", "c", "cancel_job", "Cancel", "Cancel the running or queued job"),
    ActionSpec(
        "jobs",
        "w",
        "explain_failure",
        "Why?",
        "Explain the failed job in the sidebar",
        show=False,
    ),
    ActionSpec(
        "jobs", "s", "cycle_status", "Status", "Show only failed, dead-letter, queued, … jobs"
    ),
    ActionSpec(
        "jobs",
        "A",
        "show_audit",
        "Audit",
        "The audit trail: who did what, filtered by text and dates, read as you scroll",
        key_display="A",
    ),
    ActionSpec(
        "process",
        "u",
        "resume_parser",
        "Resume",
        "Resume a parser its circuit breaker paused",
        show=False,  # the status line of a paused parser names the key; help and palette list it
    ),
    ActionSpec(
        "process",
        "w",
        "explain_failure",
        "Why?",
        "Explain the latest failed job in the sidebar",
        show=False,
    ),
)


def actions_for(scope: str) -> list[ActionSpec]:
    """The registry entries of one scope, in declaration order."""
    return [spec for spec in REGISTRY if spec.scope == scope]


def bindings_for(scope: str) -> list[BindingType]:
    """Textual bindings generated from the registry for one scope."""
    return [
        Binding(
            spec.keys,
            spec.action,
            spec.label,
            show=spec.show,
            priority=spec.priority,
            key_display=spec.footer_key or spec.key_display,
            tooltip=spec.help,
        )
        for spec in actions_for(scope)
    ]
