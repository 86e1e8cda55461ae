"""Approving a contract from a dialog: the diff against the current approved version first, then
a person's y; the store records the approval and its audit entry under the OS user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message

from casparian_engine.errors import describe

from .dialogs import ReviewDialog

if TYPE_CHECKING:
    from textual.screen import ModalScreen

    _Base = ModalScreen[None]
else:
    _Base = object

APPROVE_HINT = "y approves (recorded in the audit trail as you) · n or Esc goes back"


@dataclass
class ApprovalPreviewed(Message):
    """What approving a contract would change: the diff and the version it would become."""

    contract: Any
    diff: str
    next_version: int


@dataclass
class ContractApproved(Message):
    approval: Any


@dataclass
class ApprovalFailed(Message):
    text: str


def approved_text(approval: Any) -> str:
    current = approval.current
    return (
        f"✓ approved {current.name!r} version {current.version} ({current.content_hash[:12]})"
        f" by {current.approved_by}"
    )


class ApprovesContracts(_Base):
    """Mixed into a dialog that has a status line (``status``) and calls ``approval_done``."""

    if TYPE_CHECKING:

        def status(self, text: str) -> None: ...

        def approval_done(self, approval: Any) -> None: ...

    @property
    def workspace(self) -> Any:
        return self.app.workspace  # type: ignore[attr-defined]

    def start_approval(self, contract: Any) -> None:
        """Read the diff against the current approved version, then ask."""
        self.status("reading the current approved version…")
        self.preview_approval(contract)

    @work(thread=True, exclusive=True, exit_on_error=False, group="contract-approve")
    def preview_approval(self, contract: Any) -> None:
        latest = self.workspace.contracts.latest(contract.name)
        diff = self.workspace.contracts.approval_diff(contract)
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
        self.app.push_screen(ReviewDialog(title, message.diff, APPROVE_HINT), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="contract-approve")
    def approve(self, contract: Any) -> None:
        try:
            approval = self.workspace.contracts.approve(contract)
        except ValueError as exc:
            self.post_message(ApprovalFailed(f"✗ approve {contract.name!r}: {describe(exc)}"))
            return
        self.post_message(ContractApproved(approval))

    def on_contract_approved(self, message: ContractApproved) -> None:
        self.status(approved_text(message.approval))
        self.app.notify(approved_text(message.approval), markup=False)
        self.approval_done(message.approval)

    def on_approval_failed(self, message: ApprovalFailed) -> None:
        self.status(message.text)
