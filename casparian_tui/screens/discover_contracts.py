"""Discover's c: propose a contract for the selected files (``ws.contracts.discover``,
which keeps the proposals for a person to approve) and open it as a table to approve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message

from casparian_engine.errors import describe
from casparian_engine.wording import counted

if TYPE_CHECKING:
    from .base import ModeScreen

    _Base = ModeScreen
else:
    _Base = object

MAX_DISCOVERY_FILES = 10_000
"""Files one c discovers from at most (a selection is a page of files, well below this)."""


@dataclass
class ContractsDiscovered(Message):
    report: Any
    file_count: int


@dataclass
class ContractDiscoveryFailed(Message):
    text: str


class DiscoverContracts(_Base):
    """c in Discover: mixed into ``DiscoverScreen`` (which provides ``selected_records``)."""

    if TYPE_CHECKING:

        def selected_records(self) -> list[Any]: ...

    def action_discover_contract(self) -> None:
        records = self.selected_records()
        if not records:
            self.notify(
                "No file to discover a contract for: the list is empty.", severity="warning"
            )
            return
        tags = {tag for record in records for tag in record.tags if ":" not in tag}
        name = next(iter(tags)) if len(tags) == 1 else None  # named after their one tag
        self.clear_error()
        self.discover_contract([record.os_path for record in records][:MAX_DISCOVERY_FILES], name)

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover-contract")
    def discover_contract(self, paths: list[str], name: str | None) -> None:
        try:
            report = self.service.workspace.contracts.discover(paths, name)
        except ValueError as exc:
            self.post_message(ContractDiscoveryFailed(describe(exc)))
            return
        self.post_message(ContractsDiscovered(report, len(paths)))

    def on_contracts_discovered(self, message: ContractsDiscovered) -> None:
        from .contract_proposal import ContractProposalScreen

        report = message.report
        if not report.proposals:
            reasons = "; ".join(f"{path}: {reason}" for path, reason in report.skipped)
            self.show_error(
                f"no contract discovered from {counted(message.file_count, 'file')}: {reasons}"
            )
            return
        if self.is_current:
            self.app.push_screen(ContractProposalScreen(report))

    def on_contract_discovery_failed(self, message: ContractDiscoveryFailed) -> None:
        self.show_error(f"contract discovery: {message.text}")
