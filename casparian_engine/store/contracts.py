"""Schema contracts in ``cf_contracts``: proposals, approved versions (immutable) and their history.

A name has at most one open proposal (status ``proposed``) and any number of approved versions.
Approving a body equal to the latest approved one changes nothing; a different body becomes version
N+1. Approved rows are never updated or deleted; every approval is recorded in the audit trail.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .audit import AuditRepository, os_user
from .db import Database

if TYPE_CHECKING:  # the model imports pyarrow; keep `casparian --help` from paying for it
    from ..contracts.model import SchemaContract

_COLUMNS = "id, name, version, content_hash, body, status, created_at, approved_at, approved_by"


@dataclass(frozen=True)
class StoredContract:
    """One row of ``cf_contracts`` with its parsed body."""

    id: int
    name: str
    version: int
    content_hash: str
    contract: SchemaContract
    status: str
    created_at: float
    approved_at: float | None
    approved_by: str | None


@dataclass(frozen=True)
class Approval:
    """What ``approve`` did: the version now current, the one before, and whether it is new."""

    current: StoredContract
    previous: StoredContract | None
    created: bool


def _row(row: Any) -> StoredContract:
    from ..contracts.model import SchemaContract

    return StoredContract(
        id=row[0],
        name=row[1],
        version=row[2],
        content_hash=row[3],
        contract=SchemaContract.from_json(row[4], source=f"cf_contracts id {row[0]}"),
        status=row[5],
        created_at=row[6],
        approved_at=row[7],
        approved_by=row[8],
    )


class ContractRepository:
    """Schema contracts (``cf_contracts``): versioned proposals and approvals, each audited."""

    def __init__(self, db: Database, audit: AuditRepository) -> None:
        self.db = db
        self.audit = audit

    def _next_version(self, name: str) -> int:
        row = self.db.query_one("SELECT MAX(version) FROM cf_contracts WHERE name = ?", (name,))
        return int(row[0] or 0) + 1

    def propose(self, contract: SchemaContract) -> StoredContract:
        """Keep ``contract`` as the open proposal for its name (replacing an older proposal)."""
        with self.db.transaction():
            self.db.execute(
                "DELETE FROM cf_contracts WHERE name = ? AND status = 'proposed'", (contract.name,)
            )
            row = self.db.query_one(
                "INSERT INTO cf_contracts (name, version, content_hash, body, status, created_at) "
                f"VALUES (?, ?, ?, ?, 'proposed', ?) RETURNING {_COLUMNS}",
                (
                    contract.name,
                    self._next_version(contract.name),
                    contract.content_hash,
                    contract.canonical_json(),
                    time.time(),
                ),
            )
        return _row(row)

    def approve(self, contract: SchemaContract, approved_by: str | None = None) -> Approval:
        """Lock ``contract`` as the next approved version of its name (no-op if unchanged)."""
        who = approved_by or os_user()
        with self.db.transaction():
            previous = self.latest(contract.name)
            if previous is not None and previous.content_hash == contract.content_hash:
                return Approval(current=previous, previous=previous, created=False)
            self.db.execute(
                "DELETE FROM cf_contracts WHERE name = ? AND status = 'proposed'", (contract.name,)
            )
            now = time.time()
            row = self.db.query_one(
                "INSERT INTO cf_contracts (name, version, content_hash, body, status, created_at, "
                f"approved_at, approved_by) VALUES (?, ?, ?, ?, 'approved', ?, ?, ?) "
                f"RETURNING {_COLUMNS}",
                (
                    contract.name,
                    self._next_version(contract.name),
                    contract.content_hash,
                    contract.canonical_json(),
                    now,
                    now,
                    who,
                ),
            )
            current = _row(row)
            self.audit.record(
                "contract.approve",
                contract.name,
                version=current.version,
                content_hash=current.content_hash,
                previous_version=previous.version if previous else None,
                previous_hash=previous.content_hash if previous else None,
                approved_by=who,
            )
        return Approval(current=current, previous=previous, created=True)

    def latest(self, name: str) -> StoredContract | None:
        """The newest approved version of ``name``."""
        row = self.db.query_one(
            f"SELECT {_COLUMNS} FROM cf_contracts WHERE name = ? AND status = 'approved' "
            "ORDER BY version DESC LIMIT 1",
            (name,),
        )
        return _row(row) if row else None

    def proposal(self, name: str) -> StoredContract | None:
        """The open proposal for ``name``, if one waits for approval."""
        row = self.db.query_one(
            f"SELECT {_COLUMNS} FROM cf_contracts WHERE name = ? AND status = 'proposed'", (name,)
        )
        return _row(row) if row else None

    def get(self, name: str, version: int) -> StoredContract | None:
        """One version of a contract, whatever its status."""
        row = self.db.query_one(
            f"SELECT {_COLUMNS} FROM cf_contracts WHERE name = ? AND version = ?", (name, version)
        )
        return _row(row) if row else None

    def by_hash(self, content_hash: str) -> StoredContract | None:
        """The approved version with this content hash, if any."""
        row = self.db.query_one(
            f"SELECT {_COLUMNS} FROM cf_contracts WHERE content_hash = ? AND status = 'approved' "
            "ORDER BY version DESC LIMIT 1",
            (content_hash,),
        )
        return _row(row) if row else None

    def versions(self, name: str) -> list[StoredContract]:
        """Every version of a contract, oldest first."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM cf_contracts WHERE name = ? ORDER BY version", (name,)
        )
        return [_row(r) for r in rows]

    def list(self) -> list[StoredContract]:
        """The newest row (approved or proposed) of every name, by name."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM cf_contracts c WHERE version = "
            "(SELECT MAX(version) FROM cf_contracts d WHERE d.name = c.name) ORDER BY name"
        )
        return [_row(r) for r in rows]
