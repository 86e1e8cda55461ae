"""A discovered contract proposal as a table (column, type, nullable, format, confidence), and
its approval: A shows the diff against the current approved version and approves only on y.

Nothing is edited here (the contract files are the user's): a proposal that needs changes is
edited as YAML and approved with ``casparian schema approve``. The approval is the store's, so
it is audited with the OS user who pressed y.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from casparian_engine.errors import describe
from casparian_engine.wording import counted

from .dialogs import ReviewDialog

PROPOSAL_COLUMNS = ("column", "type", "nullable", "format", "confidence", "note")
KEYS = "A approves (diff first) · ] [ other proposals · Esc closes · edit the YAML outside"


@dataclass
class ApprovalPreviewed(Message):
    """What approving a proposal would change: the diff and the version it would become."""

    contract: Any
    diff: str
    next_version: int


@dataclass
class ContractApproved(Message):
    approval: Any


@dataclass
class ApprovalFailed(Message):
    text: str


def proposal_heading(proposal: Any, index: int, count: int) -> str:
    """'invoices · 5 files · comma-separated … (dialect confidence 0.97) · proposal 1 of 2'."""
    discovery = proposal.discovery
    dialect = discovery.dialect
    text = (
        f"{proposal.stored.name} · {counted(proposal.file_count, 'file')} · "
        f"{dialect.describe()} (dialect confidence {dialect.confidence:.2f}) · "
        f"{counted(discovery.rows_sampled, 'row')} sampled"
    )
    return text + (f" · proposal {index + 1} of {count}" if count > 1 else "")


class ContractProposalScreen(ModalScreen[None]):
    """The proposals of one discovery, one at a time; A approves the one shown."""

    BINDINGS = [
        Binding("A", "approve", "Approve"),
        Binding("right_square_bracket", "step(1)", "Next", key_display="]"),
        Binding("left_square_bracket", "step(-1)", "Prev", key_display="["),
        Binding("escape,q", "close", "Close"),
    ]

    def __init__(self, report: Any) -> None:
        super().__init__()
        self.report = report
        self.index = 0
        self.approved: dict[str, Any] = {}  # proposal name → its approval

    @property
    def workspace(self) -> Any:
        return self.app.workspace  # type: ignore[attr-defined]

    @property
    def proposal(self) -> Any:
        return self.report.proposals[self.index]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog review", id="proposal"):
            yield Static("", classes="panel-title", id="proposal-title")
            with VerticalScroll(id="review-scroll"):
                yield Static("", id="proposal-heading")
                table: DataTable[Any] = DataTable(id="proposal-columns", cursor_type="row")
                yield table
                yield Static("", id="proposal-notes")
            yield Static("", id="proposal-status")
            yield Static(Text(KEYS, style="dim"), id="review-hint")

    def on_mount(self) -> None:
        table = self.query_one("#proposal-columns", DataTable)
        for label in PROPOSAL_COLUMNS:
            table.add_column(label, key=label)
        self.show_proposal()
        table.focus()

    def show_proposal(self) -> None:
        proposal = self.proposal
        count = len(self.report.proposals)
        self.query_one("#proposal-title", Static).update(
            Content(f"Contract proposal {proposal.stored.name!r}")
        )
        self.query_one("#proposal-heading", Static).update(
            Content(proposal_heading(proposal, self.index, count))
        )
        table = self.query_one("#proposal-columns", DataTable)
        table.clear()
        confidences = {c.name: c for c in proposal.discovery.column_confidences()}
        for column in proposal.stored.contract.columns:
            confidence = confidences[column.name]
            table.add_row(
                Text(column.name),
                column.type,
                "yes" if column.nullable else "no",
                Text(column.format or ""),
                f"{confidence.confidence:.2f}",
                Text(confidence.note),
            )
        notes = [f"⚠ {warning}" for warning in proposal.discovery.warnings]
        notes += [f"skipped {path}: {reason}" for path, reason in self.report.skipped]
        self.query_one("#proposal-notes", Static).update(Content("\n".join(notes)))
        approval = self.approved.get(proposal.stored.name)
        self.status(approved_text(approval) if approval is not None else "")

    def status(self, text: str) -> None:
        self.query_one("#proposal-status", Static).update(Content(text))

    @property
    def status_text(self) -> str:
        return str(self.query_one("#proposal-status", Static).render())

    def action_step(self, step: int) -> None:
        count = len(self.report.proposals)
        if count > 1:
            self.index = (self.index + step) % count
            self.show_proposal()

    # --- approval: the diff first, then a person's y -------------------------------------------
    def action_approve(self) -> None:
        self.status("reading the current approved version…")
        self.preview_approval(self.proposal.stored.contract)

    @work(thread=True, exclusive=True, exit_on_error=False, group="contract-approve")
    def preview_approval(self, contract: Any) -> None:
        workspace = self.workspace
        latest = workspace.latest_contract(contract.name)
        diff = workspace.approval_diff(contract)
        next_version = latest.version + 1 if latest is not None else 1
        self.post_message(ApprovalPreviewed(contract, diff, next_version))

    def on_approval_previewed(self, message: ApprovalPreviewed) -> None:
        contract = message.contract
        if not message.diff:
            self.status(
                f"{contract.name!r} is already approved as version {message.next_version - 1}:"
                " nothing to approve"
            )
            return
        self.status("")

        def answered(yes: bool | None) -> None:
            if yes:
                self.status(f"approving {contract.name!r}…")
                self.approve(contract)
            else:
                self.status(f"{contract.name!r} not approved")

        title = f"Approve {contract.name!r} as version {message.next_version}?"
        hint = "y approves (recorded in the audit trail as you) · n or Esc goes back"
        self.app.push_screen(ReviewDialog(title, message.diff, hint), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="contract-approve")
    def approve(self, contract: Any) -> None:
        try:
            approval = self.workspace.approve_contract(contract)
        except ValueError as exc:
            self.post_message(ApprovalFailed(f"✗ approve {contract.name!r}: {describe(exc)}"))
            return
        self.post_message(ContractApproved(approval))

    def on_contract_approved(self, message: ContractApproved) -> None:
        current = message.approval.current
        self.approved[current.name] = message.approval
        self.status(approved_text(message.approval))
        self.app.notify(approved_text(message.approval), markup=False)

    def on_approval_failed(self, message: ApprovalFailed) -> None:
        self.status(message.text)

    def action_close(self) -> None:
        self.dismiss(None)


def approved_text(approval: Any) -> str:
    current = approval.current
    return (
        f"✓ approved {current.name!r} version {current.version} ({current.content_hash[:12]})"
        f" by {current.approved_by}"
    )
