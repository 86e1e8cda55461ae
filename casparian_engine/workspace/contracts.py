"""``ws.contracts``: schema contracts — discover, propose, approve, read."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store.contracts import Approval
from ._group import Group

if TYPE_CHECKING:
    from ..contracts.discover import Discovery, FileDialect
    from ..contracts.model import SchemaContract
    from ..store.contracts import StoredContract


@dataclass(frozen=True)
class ContractProposal:
    """A stored proposal, how it was discovered and how many files it covers."""

    stored: StoredContract
    discovery: Discovery
    file_count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract_id": self.stored.id,
            "name": self.stored.name,
            "version": self.stored.version,
            "status": self.stored.status,
            "content_hash": self.stored.content_hash,
            "file_count": self.file_count,
            "rows_sampled": self.discovery.rows_sampled,
            "dialect": self.discovery.dialect.to_dict(),
            "dialect_text": self.discovery.dialect.describe(),
            "candidate_formats": self.discovery.candidate_formats,
            "contract": self.stored.contract.to_dict(),
            "proposal_yaml": self.discovery.proposal_text(),
            "warnings": list(self.discovery.warnings),
        }


@dataclass(frozen=True)
class DiscoveryReport:
    proposals: tuple[ContractProposal, ...]
    skipped: tuple[tuple[str, str], ...]
    files: tuple[FileDialect, ...] = ()
    """Each file sniffed: its dialect (with confidence) and column names."""
    total: int = 0
    """The files given (folders expanded)."""
    sniffed: int = 0
    """The files sniffed: ``total``, or an even spread of 500 of them."""


class Contracts(Group):
    """Contracts discovered from files, proposed, and approved by a person."""

    def discover(
        self,
        paths: Sequence[str | os.PathLike[str]],
        name: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> DiscoveryReport:
        """Propose contracts for files and folders (grouped by shape, ``contracts.grouping``) and
        keep them for a human to approve; each proposal is audited.

        ``name`` (a scope's, a parser output's) names the proposals; without it they are named
        after folders. ``on_progress(done, total)`` follows the sniff.
        """
        from ..contracts.grouping import discover_groups

        found = discover_groups([Path(p) for p in paths], name, on_progress)
        proposals = []
        for group in found.groups:
            stored = self.propose(group.discovery.contract, group.file_count)
            proposals.append(ContractProposal(stored, group.discovery, group.file_count))
        skipped = tuple((s.path, s.reason) for s in found.skipped)
        return DiscoveryReport(tuple(proposals), skipped, found.files, found.total, found.sniffed)

    def propose(self, contract: SchemaContract, files: int | None = None) -> StoredContract:
        """Keep a discovered contract as the open proposal for its name (a human approves it);
        the audit trail records it (with how many ``files`` it was discovered from)."""
        stored = self._store.contracts.propose(contract)
        details: dict[str, Any] = {"version": stored.version, "content_hash": stored.content_hash}
        if files is not None:
            details["files"] = files
        self._store.audit.record("contract.propose", stored.name, **details)
        return stored

    def approve(self, contract: SchemaContract) -> Approval:
        """Lock a contract as the next approved version of its name (audited; no-op if same)."""
        return self._store.contracts.approve(contract)

    def approve_id(self, contract_id: int) -> Approval:
        """Approve a stored proposal by its id (the MCP ``approve_schemas`` path)."""
        stored = next((c for c in self._store.contracts.list() if c.id == contract_id), None)
        if stored is None:
            raise ValueError(
                f"no pending proposal with id {contract_id}: it may have been approved already "
                "(approval stores a new version with its own id; see `casparian schema list`)"
            )
        return self._store.contracts.approve(stored.contract)

    def approval_diff(self, contract: SchemaContract) -> str:
        """What approving ``contract`` would change: the unified diff from the newest approved
        version of its name (from nothing when there is none); '' when it is that version."""
        from ..contracts.diff import contract_diff

        latest = self._store.contracts.latest(contract.name)
        if latest is not None and latest.content_hash == contract.content_hash:
            return ""
        before = f"version {latest.version}" if latest is not None else "(no approved version)"
        after = f"version {latest.version + 1 if latest is not None else 1} (proposed)"
        return contract_diff(latest.contract if latest else None, contract, before, after)

    def get(self, name: str, version: int) -> StoredContract | None:
        """One stored version of a contract."""
        return self._store.contracts.get(name, version)

    def latest(self, name: str) -> StoredContract | None:
        """The newest approved version of a contract."""
        return self._store.contracts.latest(name)

    def proposal(self, name: str) -> StoredContract | None:
        """The open proposal for a contract name, if any."""
        return self._store.contracts.proposal(name)

    def versions(self, name: str) -> list[StoredContract]:
        """Every stored version of a contract name, oldest first."""
        return self._store.contracts.versions(name)

    def list(self) -> list[StoredContract]:
        """Every stored contract version and proposal."""
        return self._store.contracts.list()
