"""Process's workflow keys: register a parser from a folder (n), see its version and contracts
(c), dev-run it on sample files (space picks them, d runs), and backfill after a new version (b).

Every engine call runs in a thread worker through ``Workspace``; what writes (registration, a
backfill) happens only on a person's key press, and a backfill only after a dialog has shown the
files it would redo and the person said yes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.widgets import DataTable

from casparian_engine.errors import describe
from casparian_engine.wording import counted

from ..widgets.path_suggester import PathSuggester
from .dialogs import PromptDialog, ReviewDialog
from .parser_dialogs import DevRunDialog, ParserDetailsDialog, dev_run_headline
from .register_dialog import RegisterChoice, RegisterDialog
from .workflow_options import (
    BackfillChoice,
    BackfillOptionsDialog,
    DevRunChoice,
    DevRunOptionsDialog,
    network_body,
)

if TYPE_CHECKING:
    from casparian_engine.lab import TryResult
    from casparian_engine.workspace.results import (
        BackfillPlan,
        ParserDetails,
        Registration,
        RegistrationPreview,
    )

    from .base import ModeScreen

    _Base = ModeScreen
else:
    _Base = object

BACKFILL_FILES_SHOWN = 500
"""A backfill's confirmation lists this many of the files it would redo (then how many more)."""
REGISTER_HINT = "→ or Tab completes the path · Enter registers · Esc cancels"


@dataclass
class ParserRegistered(Message):
    """A folder was registered (or found registered already); ``warnings`` to read."""

    folder: str
    registration: Registration
    warnings: list[str]


@dataclass
class RegistrationPreviewed(Message):
    """A folder was read for registration (nothing stored yet)."""

    folder: str
    preview: RegistrationPreview


@dataclass
class ParserDetailsRead(Message):
    details: ParserDetails


@dataclass
class DevRunFinished(Message):
    parser_name: str
    result: TryResult


@dataclass
class BackfillPlanned(Message):
    """A backfill was planned; ``changes`` say how it differs from the plan last shown (the
    person said yes to that one, and it no longer holds)."""

    plan: BackfillPlan
    output_dir: str
    changes: list[str] = field(default_factory=list)


@dataclass
class BackfillConfirmed(Message):
    """The plan a person said yes to still holds: it runs as shown."""

    plan: BackfillPlan


@dataclass
class WorkflowFailed(Message):
    """A workflow step was refused by the engine; ``text`` says which and why."""

    text: str


def backfill_options(plan: BackfillPlan) -> str:
    """The plan's options as the CLI spells them ('' for none)."""
    options = ([f"--limit {plan.limit:,}"] if plan.limit is not None else []) + (
        ["--force"] if plan.force else []
    )
    return " ".join(options)


def backfill_body(plan: BackfillPlan, output_dir: str, changes: list[str] | None = None) -> str:
    """What a backfill would change: its files (each with the versions that produced its
    outputs), where the outputs are replaced and when; first, how the plan changed since the
    person last saw it, when it did."""
    lines = []
    if changes:
        lines += ["The plan changed since you saw it; nothing has run. Now:"]
        lines += [f"  · {change}" for change in changes]
        lines.append("")
    which = "every matched file (--force)" if plan.force else "files from an older version"
    if plan.limit is not None:
        which += f", at most {plan.limit:,} (--limit)"
    lines += [
        f"{counted(len(plan.files), 'file')} would be reprocessed by {plan.parser_name} "
        f"{plan.current_version} into a staging folder; the outputs in {output_dir} are replaced "
        "only if every file succeeds (otherwise they stay as they are).",
        f"planned: {which}; y runs exactly these files.",
        "",
    ]
    for stale in plan.files[:BACKFILL_FILES_SHOWN]:
        versions = ", ".join(stale.processed_versions)
        lines.append(f"{stale.path}  ({f'now from {versions}' if versions else 'never processed'})")
    if len(plan.files) > BACKFILL_FILES_SHOWN:
        lines.append(f"… and {len(plan.files) - BACKFILL_FILES_SHOWN:,} more")
    return "\n".join(lines)


class ProcessWorkflow(_Base):
    """The workflow keys, mixed into ``ProcessScreen`` (which provides the parser, the matched
    files and the status line)."""

    parser_name: str
    file_paths: list[str]
    sample_paths: set[str]
    last_dev_run: DevRunFinished | None = None
    dev_run_cancel: threading.Event | None = None
    """Set to stop the dev run under way (None when none is)."""

    if TYPE_CHECKING:

        @property
        def current_parser(self) -> Any: ...

        def _status(self, text: str) -> None: ...

        def _fill_files(self, keep_cursor: bool = True) -> None: ...

        def _show_parser_status(self) -> None: ...

        def load_parsers(self) -> Any: ...

    # --- register (n) --------------------------------------------------------------------------
    def action_register_parser(self) -> None:
        def folder_chosen(folder: str | None) -> None:
            if folder:
                self._status(f"reading {folder}…")
                self.preview_folder(folder)

        dialog = PromptDialog(
            "Register a parser from its folder:",
            "/path/to/parser-folder",
            suggester=PathSuggester(),
            hint=REGISTER_HINT,
        )
        self.app.push_screen(dialog, folder_chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="process-register")
    def preview_folder(self, folder: str) -> None:
        try:
            preview = self.service.workspace.parsers.preview_registration(Path(folder).expanduser())
        except ValueError as exc:
            self.post_message(WorkflowFailed(f"register {folder}: {describe(exc)}"))
            return
        self.post_message(RegistrationPreviewed(folder, preview))

    def on_registration_previewed(self, message: RegistrationPreviewed) -> None:
        preview, folder = message.preview, message.folder
        self._show_parser_status()
        if preview.problem and not preview.verdict.refused:
            self.show_error(f"register {folder}: {preview.problem}")
            return
        if preview.change == "already registered" and not preview.verdict.refused:
            self.report_done(
                f"{preview.name} {preview.version} is already registered with the same content:"
                " nothing to do"
            )
            return

        def answered(choice: RegisterChoice | None) -> None:
            if choice is not None:
                self._status(f"registering {folder}…")
                self.register_folder(folder, choice)
            else:
                self.notify(f"{preview.name} {preview.version} not registered", markup=False)

        workspace = self.service.workspace
        policy = workspace.config.settings.gatekeeper_policy
        dialog = RegisterDialog(folder, preview, policy, workspace.parsers.gatekeeper_rules())
        self.app.push_screen(dialog, answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="process-register")
    def register_folder(self, folder: str, choice: RegisterChoice) -> None:
        workspace = self.service.workspace
        try:
            registration = workspace.parsers.register(
                Path(folder).expanduser(), allow=choice.allow, policy=choice.policy
            )
        except ValueError as exc:
            self.post_message(WorkflowFailed(f"register {folder}: {describe(exc)}"))
            return
        record = workspace.parsers.get(registration.name, registration.version)
        warnings = [finding.message for finding in registration.verdict.warned]
        if record is not None and not (record.tags or record.patterns):
            warnings.insert(
                0,
                f"{registration.name} {registration.version} matches no files: declare tags or "
                "patterns in the parser",
            )
        self.post_message(ParserRegistered(folder, registration, warnings))

    def on_parser_registered(self, message: ParserRegistered) -> None:
        registration = message.registration
        self.parser_name = registration.name  # the cursor goes to it once the list is read
        self.report_done(registration.message)
        if message.warnings:
            self.notify(" · ".join(message.warnings), severity="warning", markup=False)
        self.load_parsers()

    def on_workflow_failed(self, message: WorkflowFailed) -> None:
        if message.text.startswith("dev run of "):
            self.dev_run_cancel = None
        self._status("")
        self.show_error(message.text)

    # --- version and contracts (c) ---------------------------------------------------------
    def action_parser_details(self) -> None:
        parser = self.current_parser
        if parser is None:
            self.show_error("No parser to show: n registers one")
            return
        self.read_details(parser.name)

    @work(thread=True, exclusive=True, exit_on_error=False, group="process-details")
    def read_details(self, name: str) -> None:
        self.post_message(ParserDetailsRead(self.service.workspace.parsers.details(name)))

    def on_parser_details_read(self, message: ParserDetailsRead) -> None:
        if self.is_current:
            self.app.push_screen(ParserDetailsDialog(message.details))

    # --- sample files (space) and the dev run (d) -------------------------------------------
    def action_toggle_sample(self) -> None:
        files = self.query_one("#parser-files", DataTable)
        if self.focused is not files:
            self.show_error("Tab to the matched files first; space there picks samples")
            return
        if not self.file_paths or files.cursor_row >= len(self.file_paths):
            return
        path = self.file_paths[files.cursor_row]
        self.sample_paths ^= {path}
        self.clear_error()
        self._fill_files()
        self._status(f"{counted(len(self.sample_paths), 'sample file')} picked: d dev-runs on them")

    def chosen_samples(self) -> list[str]:
        """The picked sample files, else the highlighted matched file."""
        if self.sample_paths:
            return sorted(self.sample_paths)
        files = self.query_one("#parser-files", DataTable)
        if self.file_paths and files.cursor_row < len(self.file_paths):
            return [self.file_paths[files.cursor_row]]
        return []

    def action_dev_run(self) -> None:
        parser = self.current_parser
        if parser is None:
            self.show_error("No parser to dev-run: n registers one")
            return
        samples = self.chosen_samples()
        if not samples:
            self.show_error(f"{parser.name} matches no files to dev-run it on")
            return
        if self.dev_run_cancel is not None:
            self.show_error("A dev run is under way: s stops it")
            return
        self.clear_error()
        from casparian_engine.lab.trial import samples_scratch

        scratch = str(samples_scratch(self.service.workspace, parser.name))

        def chosen(choice: DevRunChoice | None) -> None:
            if choice is None:
                return
            if not choice.allow_network:
                self.start_dev_run(parser.name, samples, choice)
                return

            def network_answered(yes: bool | None) -> None:
                if yes:
                    self.start_dev_run(parser.name, samples, choice)
                else:
                    self.notify(f"Dev run of {parser.name} not started", markup=False)

            self.app.push_screen(
                ReviewDialog(
                    f"Give {parser.name} this machine's network for this dev run?",
                    network_body(parser.name, self.service.workspace.audit.user()),
                    "y gives it the network and runs · n or Esc: no run",
                ),
                network_answered,
            )

        self.app.push_screen(DevRunOptionsDialog(parser.name, len(samples), scratch), chosen)

    def start_dev_run(self, name: str, samples: list[str], choice: DevRunChoice) -> None:
        if self.dev_run_cancel is not None:
            self.show_error("A dev run is under way: s stops it")
            return
        what = "what-if run" if choice.whatif else "dev run"
        self._status(f"{what} of {name} on {counted(len(samples), 'file')}… (s stops it)")
        self.dev_run_cancel = threading.Event()
        self.service.other_work.add(self.dev_run_cancel)
        self.dev_run(name, samples, choice, self.dev_run_cancel)

    def stop_dev_run(self) -> bool:
        """Stop the dev run under way (False when there is none)."""
        if self.dev_run_cancel is None:
            return False
        self.dev_run_cancel.set()
        self._status("stopping the dev run…")
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="process-dev-run")
    def dev_run(
        self, name: str, samples: list[str], choice: DevRunChoice, cancel: threading.Event
    ) -> None:
        from casparian_engine.lab.trial import SampleRunOptions, try_registered

        options = SampleRunOptions(
            sink=choice.sink,
            whatif=choice.whatif,
            force=choice.force,
            allow_network=choice.allow_network,
        )
        try:
            paths = [Path(p) for p in samples]
            result = try_registered(self.service.workspace, name, paths, cancel, options)
        except Exception as exc:  # any failure ends the dev run and is said, with the parser
            self.post_message(WorkflowFailed(f"dev run of {name}: {describe(exc)}"))
            return
        finally:
            self.service.other_work.discard(cancel)
        self.post_message(DevRunFinished(name, result))

    def workflow_notes(self, parser_name: str) -> list[str]:
        """What the status line adds for a parser: how its last dev run here went."""
        run = self.last_dev_run
        if run is None or run.parser_name != parser_name:
            return []
        return [dev_run_headline(run.result)]

    def on_dev_run_finished(self, message: DevRunFinished) -> None:
        self.dev_run_cancel = None
        self.last_dev_run = message
        if message.parser_name == self.parser_name:
            self._show_parser_status()
        if self.is_current:
            self.app.push_screen(DevRunDialog(message.parser_name, message.result))

    # --- backfill (b) ------------------------------------------------------------------------
    def action_backfill(self) -> None:
        parser = self.current_parser
        if parser is None:
            self.show_error("No parser to backfill: n registers one")
            return
        self.clear_error()

        def chosen(choice: BackfillChoice | None) -> None:
            if choice is not None:
                self.plan_backfill(parser.name, choice)

        self.app.push_screen(BackfillOptionsDialog(parser.name, parser.version), chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="process-backfill-plan")
    def plan_backfill(self, name: str, choice: BackfillChoice) -> None:
        workspace = self.service.workspace
        try:
            plan = workspace.outputs.backfill_plan(name, choice.limit, choice.force)
        except ValueError as exc:
            self.post_message(WorkflowFailed(f"backfill of {name}: {describe(exc)}"))
            return
        output_dir = str(workspace.config.output_dir / plan.parser_name)
        self.post_message(BackfillPlanned(plan, output_dir))

    @work(thread=True, exclusive=True, exit_on_error=False, group="process-backfill-plan")
    def recheck_backfill(self, seen: BackfillPlan, output_dir: str) -> None:
        """After a yes: run the plan shown if it still holds, else show the new one."""
        try:
            now, changes = self.service.workspace.outputs.backfill_changes(seen)
        except ValueError as exc:
            self.post_message(WorkflowFailed(f"backfill of {seen.parser_name}: {describe(exc)}"))
            return
        if changes:
            self.post_message(BackfillPlanned(now, output_dir, changes))
        else:
            self.post_message(BackfillConfirmed(seen))

    def on_backfill_planned(self, message: BackfillPlanned) -> None:
        plan = message.plan
        if not plan.files:
            options = backfill_options(plan)
            why = (
                f"{plan.parser_name} matches no file"
                if plan.force
                else f"no file's outputs come from a version of {plan.parser_name} older than "
                f"{plan.current_version}"
            )
            self.report_done(
                ("The plan changed since you saw it: " if message.changes else "")
                + f"Nothing to backfill: {why}"
                + (f" ({options})" if options else "")
            )
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.recheck_backfill(plan, message.output_dir)
            else:
                self.notify(f"Backfill of {plan.parser_name} not started", markup=False)

        redo = f"redo {counted(len(plan.files), 'file')}"
        title = (
            f"The plan changed: backfill {plan.parser_name} {plan.current_version}, {redo}?"
            if message.changes
            else f"Backfill {plan.parser_name} {plan.current_version}: {redo}?"
        )
        body = backfill_body(plan, message.output_dir, message.changes)
        self.app.push_screen(
            ReviewDialog(title, body, "y backfills these files · n or Esc goes back"), answered
        )

    def on_backfill_confirmed(self, message: BackfillConfirmed) -> None:
        plan = message.plan
        if not self.service.start_backfill(plan.parser_name, plan):
            self.show_error(f"{plan.parser_name} is running; s stops it, then b backfills")
