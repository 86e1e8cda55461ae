"""A discovered contract proposal as a table (column, type, nullable, format, confidence), and
its approval: A shows the diff against the current approved version and approves only on y.

Nothing is edited here (the contract files are the user's): a proposal that needs changes is
edited as YAML and approved with ``casparian schema approve``. The approval is the store's, so
it is audited with the OS user who pressed y.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from casparian_engine.wording import counted

from .contract_approval import ApprovesContracts, approved_text

if TYPE_CHECKING:
    from casparian_engine.workspace import ContractProposal, DiscoveryReport

PROPOSAL_COLUMNS = ("column", "type", "nullable", "format", "confidence", "note")
KEYS = "A approves (diff first) · ] [ other proposals · Esc closes · edit the YAML outside"


def proposal_heading(proposal: ContractProposal, index: int, count: int) -> str:
    """'invoices · 5 files · comma-separated … (dialect confidence 0.97) · proposal 1 of 2'."""
    discovery = proposal.discovery
    dialect = discovery.dialect
    text = (
        f"{proposal.stored.name} · {counted(proposal.file_count, 'file')} · "
        f"{dialect.describe()} (dialect confidence {dialect.confidence:.2f}) · "
        f"{counted(discovery.rows_sampled, 'row')} sampled"
    )
    return text + (f" · proposal {index + 1} of {count}" if count > 1 else "")


class ContractProposalScreen(ApprovesContracts, ModalScreen[None]):
    """The proposals of one discovery, one at a time; A approves the one shown."""

    BINDINGS = [
        Binding("A", "approve", "Approve"),
        Binding("right_square_bracket", "step(1)", "Next", key_display="]"),
        Binding("left_square_bracket", "step(-1)", "Prev", key_display="["),
        Binding("escape,q", "close", "Close"),
    ]

    def __init__(self, report: DiscoveryReport) -> None:
        super().__init__()
        self.report = report
        self.index = 0
        self.approved: dict[str, Any] = {}  # proposal name → its approval

    @property
    def proposal(self) -> ContractProposal:
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

    # --- approval: the diff first, then a person's y (``ApprovesContracts``) ----------------
    def action_approve(self) -> None:
        self.start_approval(self.proposal.stored.contract)

    def approval_done(self, approval: Any) -> None:
        self.approved[approval.current.name] = approval

    def action_close(self) -> None:
        self.dismiss(None)
