"""The Parser Lab screen: draft a parser folder from the files selected in Discover, try it on
them, then approve its contract and register it — each of those last two a person's key press.

Every engine call runs in a thread worker; the screen shows what each step gave: the draft's
files with where they came from (inferred or model), the try's rows written and quarantined with
the first reasons and a preview, the approval (audited as the OS user) and the registration.

A model draft (``m``) asks the app's one assistant (its model, already loaded or not, and its
one-question-at-a-time rule): the model's text streams into the sidebar on the right as it
writes, each attempt's verdict follows it there and in the lab's pane, and Esc stops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from casparian_engine.wording import counted

from ..widgets.ai_sidebar import AISidebar

if TYPE_CHECKING:
    from casparian_engine.ai import CancelToken, ProviderEvent
    from casparian_engine.lab import Draft, TryResult, WrittenDraft
    from casparian_engine.lab.model_draft import Attempt
    from casparian_engine.workspace.results import Approval, Registration

PREVIEW_CELL = 14
STREAM_CHUNK = 80  # characters of the model's text sent to the screen at a time
MODEL_TEXT_SHOWN = 6000  # the end of the model's text kept in the sidebar while it writes


@dataclass
class LabDrafted(Message):
    draft: Draft
    folder: Path
    existing: list[Path]
    written: WrittenDraft | None = None


@dataclass
class LabTried(Message):
    result: TryResult


@dataclass
class LabApproved(Message):
    approvals: list[Approval]


@dataclass
class LabRegistered(Message):
    registration: Registration


@dataclass
class LabModelWriting(Message):
    """More of the model's text as it writes a draft, or an attempt's verdict (``verdict``)."""

    text: str
    verdict: str = ""


@dataclass
class LabFailed(Message):
    step: str
    error: str


class ConfirmDialog(ModalScreen[bool]):
    """Ask a yes/no question: y confirms, n or Esc declines."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(Content(self.question), classes="panel-title")
            yield Static("y: yes   n / Esc: no")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


def files_text(draft: Draft) -> Content:
    """The draft's files with their provenance, then what discovery found and the notes."""
    lines = [f"{draft.name} · {draft.kind} · from {counted(len(draft.facts.paths), 'file')}"]
    lines += [f"  {f.name:<28} {f.origin}" for f in draft.files]
    lines.append(f"  {'uv.lock':<28} project")
    lines += [f"· {finding}" for finding in draft.findings]
    lines += [f"! {note}" for note in draft.notes]
    return Content("\n".join(lines))


def try_text(result: TryResult) -> Content:
    """Rows written and quarantined per output, the first reasons and a preview, as text."""
    lines: list[str] = []
    if result.failure:
        lines.append(f"✗ {result.failure}")
    lines += [f"✗ file failed: {failed}" for failed in result.failed_files]
    for output in result.outputs:
        lines.append(
            f"{output.name}: {counted(output.written, 'row')} written, "
            f"{output.quarantined} quarantined"
        )
        for reason in output.reasons:
            where = f"line {reason.row}" if reason.row is not None else "row ?"
            lines.append(f"  {where}: {reason.reason or reason.rules}")
        if output.columns:
            names = [name for name, _ in output.columns]
            lines.append(" | ".join(name[:PREVIEW_CELL] for name in names))
            for row in output.preview:
                cells = ["∅" if value is None else str(value) for value in row]
                lines.append(" | ".join(cell[:PREVIEW_CELL] for cell in cells))
    if result.ok:
        lines.append("✓ ran clean: A approves the contract, R registers the parser")
    return Content("\n".join(lines))


class LabScreen(Screen[None]):
    """Draft → try → approve → register, for sample files chosen in Discover."""

    BINDINGS = [
        Binding("d", "draft", "Draft"),
        Binding("m", "model_draft", "Model draft"),
        Binding("t", "try_draft", "Try"),
        Binding("A", "approve", "Approve"),
        Binding("R", "register", "Register"),
        Binding("escape", "close", "Close"),
    ]
    DEFAULT_CSS = """
    LabScreen { layout: horizontal; }
    LabScreen #lab-main { width: 1fr; height: 1fr; }
    LabScreen #lab-title { height: auto; text-style: bold; }
    LabScreen #lab-folder { height: 3; }
    LabScreen .lab-split { height: 1fr; }
    LabScreen #lab-files-pane, LabScreen #lab-try-pane { width: 1fr; border: round $primary 40%; }
    LabScreen #lab-status { height: auto; }
    LabScreen #lab-keys { height: 1; color: $foreground 70%; }
    """

    def __init__(self, samples: list[Path], tag: str | None = None) -> None:
        super().__init__()
        from casparian_engine.lab.draft import name_from_tag, parser_name_for

        self.samples = samples
        self.tag = tag
        self.parser_name = parser_name_for(samples, name_from_tag(tag))
        self.draft: Draft | None = None
        self.folder: Path | None = None
        self.result: TryResult | None = None
        self.approvals: list[Approval] = []
        self.registration: Registration | None = None
        self.model_cancel: CancelToken | None = None
        """The cancel token of the model draft running now (Esc stops it), else None."""
        self.model_text = ""
        self.model_block: Static | None = None
        self.verdicts: list[str] = []

    def compose(self) -> ComposeResult:
        title = f"Parser Lab · {counted(len(self.samples), 'sample file')}"
        if self.tag:
            title += f" · tag {self.tag}"
        with Vertical(id="lab-main"):
            yield Static(Content(title), id="lab-title")
            default = Path.home() / "casparian-parsers" / self.parser_name
            yield Input(value=str(default), placeholder="folder for the parser", id="lab-folder")
            with Horizontal(classes="lab-split"):
                with VerticalScroll(id="lab-files-pane"):
                    yield Static("d drafts a parser folder from the samples.", id="lab-files")
                with VerticalScroll(id="lab-try-pane"):
                    yield Static("t tries the draft on the samples.", id="lab-try")
            yield Static("", id="lab-status")
            yield Static(
                "d draft · m model draft · t try · A approve · R register · Esc back   "
                "(edit the files in your own editor, then t again)",
                id="lab-keys",
            )
        sidebar = AISidebar(self.app.service.ai, classes="ai-sidebar")  # type: ignore[attr-defined]
        sidebar.display = bool(getattr(self.app, "show_ai_sidebar", False))
        yield sidebar

    def on_mount(self) -> None:
        self.query_one(AISidebar).mode_name = "lab"
        self.watch(self.app, "show_ai_sidebar", self._show_sidebar, init=False)
        self.set_focus(None)

    def _show_sidebar(self, visible: bool) -> None:
        self.query_one(AISidebar).display = visible

    def model_busy(self) -> bool:
        """Whether the model is drafting (the status says so and Esc stops it)."""
        if self.model_cancel is not None:
            self.status("the model is still drafting: Esc stops it")
            return True
        return False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_focus(None)  # the screen's keys apply again

    def status(self, text: str) -> None:
        self.query_one("#lab-status", Static).update(Content(text))

    @property
    def chosen_folder(self) -> Path:
        return Path(self.query_one("#lab-folder", Input).value.strip()).expanduser()

    # --- draft ------------------------------------------------------------------------------
    def action_draft(self) -> None:
        if self.model_busy():
            return
        self.status("drafting…")
        self.make_draft(self.chosen_folder)

    def action_model_draft(self) -> None:
        from casparian_engine.ai import NoneProvider

        if self.model_busy():
            return
        ai = self.app.service.ai  # type: ignore[attr-defined]
        if isinstance(ai.provider, NoneProvider):
            self.status(f"✗ draft: no model for the draft: {ai.provider.reason}")
            return
        cancel = ai.begin()
        if cancel is None:
            self.status("✗ draft: the assistant is answering another question (Esc there stops it)")
            return
        self.model_cancel = cancel
        self.model_text, self.verdicts = "", []
        self.model_block = None
        self.status(f"the model ({ai.label}) is writing a draft… (its text is in the sidebar)")
        self.query_one("#lab-files", Static).update(
            Content("the model is writing parser.py; its text streams in the sidebar.")
        )
        self.make_draft(self.chosen_folder, with_model=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="lab-draft")
    def make_draft(self, folder: Path, with_model: bool = False) -> None:
        from casparian_engine.lab import LabError, deterministic_draft, existing_files

        try:
            draft = deterministic_draft(self.samples, self.parser_name, self.tag or None)
            if with_model:
                draft = self._model_draft(draft)
        except LabError as exc:
            self.post_message(LabFailed("draft", str(exc)))
            return
        finally:
            if with_model:
                ai = self.app.service.ai  # type: ignore[attr-defined]
                ai.end(self.model_cancel, history_changed=False)
                self.model_cancel = None
        existing = existing_files(draft, folder)
        written = None if existing else self._write(draft, folder, False)
        if existing or written is not None:
            self.post_message(LabDrafted(draft, folder, existing, written))

    def _model_draft(self, draft: Draft) -> Draft:
        """The model's draft through the app's assistant, its text streamed to the sidebar as
        it comes (checked; falls back to the deterministic draft, saying so)."""
        from casparian_engine.ai import TextDelta
        from casparian_engine.lab.model_draft import model_draft

        pending: list[str] = []

        def on_event(event: ProviderEvent) -> None:
            if isinstance(event, TextDelta):
                pending.append(event.text)
                if sum(len(p) for p in pending) >= STREAM_CHUNK:
                    self.post_message(LabModelWriting("".join(pending)))
                    pending.clear()

        def on_attempt(attempt: Attempt) -> None:
            verdict = "passed the checks" if attempt.problem is None else attempt.problem
            self.post_message(
                LabModelWriting("".join(pending), f"attempt {attempt.number}: {verdict}")
            )
            pending.clear()

        ai = self.app.service.ai  # type: ignore[attr-defined]
        return model_draft(
            ai.workspace,
            draft,
            ai.provider,
            on_event=on_event,
            on_attempt=on_attempt,
            cancel=self.model_cancel,
        )

    def on_lab_model_writing(self, message: LabModelWriting) -> None:
        """The model's text in a block of the sidebar (shown for it), verdicts in the pane."""
        from ..assistant import FactsBlock

        sidebar = self.query_one(AISidebar)
        if self.model_block is None:
            sidebar.display = True
            sidebar.sync_history()  # drawn first, so the block stays below the conversation
            self.model_block = Static("", classes="ai-facts")
            sidebar.query_one("#ai-log").mount(FactsBlock(self.model_block))
        self.model_text += message.text
        if message.verdict:
            self.model_text += f"\n— {message.verdict}\n"
            self.verdicts.append(message.verdict)
            self.query_one("#lab-files", Static).update(
                Content("\n".join(["the model's drafts:", *self.verdicts]))
            )
        title = f"Model draft of {self.parser_name} ({self.app.service.ai.label})"  # type: ignore[attr-defined]
        self.model_block.update(
            Content.assemble((title, "bold"), "\n", self.model_text[-MODEL_TEXT_SHOWN:])
        )

    def _write(self, draft: Draft, folder: Path, overwrite: bool) -> WrittenDraft | None:
        from casparian_engine.lab import LabError, write_draft

        try:
            return write_draft(draft, folder, overwrite=overwrite)
        except LabError as exc:
            self.post_message(LabFailed("draft", str(exc)))
            return None

    def on_lab_drafted(self, message: LabDrafted) -> None:
        if message.written is None:
            names = ", ".join(path.name for path in message.existing)

            def answered(replace: bool | None) -> None:
                if replace:
                    self.write_over(message.draft, message.folder)
                else:
                    self.status(f"nothing written: {message.folder} keeps its {names}")

            self.app.push_screen(
                ConfirmDialog(f"{message.folder} has {names} already. Replace them?"), answered
            )
            return
        self.draft, self.folder = message.draft, message.written.folder
        self.result, self.approvals, self.registration = None, [], None
        self.query_one("#lab-files", Static).update(files_text(message.draft))
        self.query_one("#lab-try", Static).update("t tries the draft on the samples.")
        self.status(f"drafted into {message.written.folder}")

    @work(thread=True, exclusive=True, exit_on_error=False, group="lab-draft")
    def write_over(self, draft: Draft, folder: Path) -> None:
        written = self._write(draft, folder, True)
        if written is not None:
            self.post_message(LabDrafted(draft, folder, [], written))

    # --- try --------------------------------------------------------------------------------
    def action_try_draft(self) -> None:
        if self.folder is None:
            self.status("nothing to try yet: d drafts first")
            return
        self.status("trying on the samples…")
        self.run_try(self.folder)

    @work(thread=True, exclusive=True, exit_on_error=False, group="lab-try")
    def run_try(self, folder: Path) -> None:
        from casparian_engine.lab import LabError, try_parser

        try:
            result = try_parser(self.app.workspace, folder, self.samples)  # type: ignore[attr-defined]
        except LabError as exc:
            self.post_message(LabFailed("try", str(exc)))
            return
        self.post_message(LabTried(result))

    def on_lab_tried(self, message: LabTried) -> None:
        self.result = message.result
        self.query_one("#lab-try", Static).update(try_text(message.result))
        result = message.result
        self.status(
            f"tried: {counted(result.written, 'row')} written, {result.quarantined} quarantined"
            + ("" if result.ok else " · failed")
        )

    # --- approve and register: a person's key presses -----------------------------------------
    def action_approve(self) -> None:
        if self.folder is None or self.result is None or not self.result.ok:
            self.status("approve after a try that ran clean (d, then t)")
            return
        self.approve(self.folder)

    @work(thread=True, exclusive=True, exit_on_error=False, group="lab-approve")
    def approve(self, folder: Path) -> None:
        from casparian_engine.contracts import ContractError, SchemaContract

        approvals = []
        try:
            contracts = [
                SchemaContract.from_yaml(path.read_text(encoding="utf-8"), str(path))
                for path in sorted(folder.glob("*.contract.yaml"))
            ]
        except (ContractError, OSError) as exc:
            self.post_message(LabFailed("approve", str(exc)))
            return
        for contract in contracts:
            approvals.append(self.app.workspace.contracts.approve(contract))  # type: ignore[attr-defined]
        self.post_message(LabApproved(approvals))

    def on_lab_approved(self, message: LabApproved) -> None:
        self.approvals = message.approvals
        done = ", ".join(
            f"{a.current.name} v{a.current.version} by {a.current.approved_by}"
            for a in message.approvals
        )
        self.status(f"approved {done}; R registers the parser")

    def action_register(self) -> None:
        if self.folder is None or not self.approvals:
            self.status("register after approving the contract (A)")
            return
        self.register(self.folder)

    @work(thread=True, exclusive=True, exit_on_error=False, group="lab-register")
    def register(self, folder: Path) -> None:
        try:
            registration = self.app.workspace.parsers.register(folder)  # type: ignore[attr-defined]
        except ValueError as exc:
            self.post_message(LabFailed("register", str(exc)))
            return
        self.post_message(LabRegistered(registration))

    def on_lab_registered(self, message: LabRegistered) -> None:
        self.registration = message.registration
        registration = message.registration
        verb = "registered" if registration.created else "already registered as"
        self.status(f"{verb} {registration.name} {registration.version}: Process runs it")

    def on_lab_failed(self, message: LabFailed) -> None:
        self.status(f"✗ {message.step}: {message.error}")

    def action_close(self) -> None:
        """Stop the model's draft when one runs (the deterministic draft is kept), else leave."""
        if self.model_cancel is not None:
            self.model_cancel.cancel()
            self.status("stopping the model…")
            return
        self.dismiss(None)
