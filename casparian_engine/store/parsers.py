"""Registered parsers (``cf_parsers``): immutable, hashed source bundles and their metadata."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .audit import os_user
from .db import Database

_COLUMNS = (
    "id, name, version, identity_hash, bundle_sha256, lockfile_hash, source_path, match_tags, "
    "match_patterns, outputs, contract_ids, gatekeeper_report, registered_at, registered_by"
)


@dataclass(frozen=True)
class ParserRecord:
    """One registered parser version, without its bundle bytes."""

    id: int
    name: str
    version: str
    identity_hash: str
    bundle_sha256: str
    lockfile_hash: str
    source_path: str | None
    tags: tuple[str, ...]
    patterns: tuple[str, ...]
    outputs: dict[str, str | None]
    contracts: list[dict[str, Any]]
    gatekeeper: dict[str, Any]
    registered_at: float
    registered_by: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "identity": self.identity_hash,
            "bundle_sha256": self.bundle_sha256,
            "lockfile_hash": self.lockfile_hash,
            "source_path": self.source_path,
            "tags": list(self.tags),
            "patterns": list(self.patterns),
            "outputs": self.outputs,
            "contracts": self.contracts,
            "gatekeeper": self.gatekeeper,
            "registered_at": self.registered_at,
            "registered_by": self.registered_by,
        }


def _record(row: Any) -> ParserRecord:
    gatekeeper = json.loads(row[11])
    return ParserRecord(
        id=int(row[0]),
        name=row[1],
        version=row[2],
        identity_hash=row[3],
        bundle_sha256=row[4],
        lockfile_hash=row[5],
        source_path=row[6],
        tags=tuple(json.loads(row[7])),
        patterns=tuple(json.loads(row[8])),
        outputs=json.loads(row[9]),
        contracts=json.loads(row[10]),
        gatekeeper=gatekeeper if isinstance(gatekeeper, dict) else {"findings": gatekeeper},
        registered_at=float(row[12]),
        registered_by=row[13],
    )


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort ``1.10.0`` after ``1.9.0``: numeric parts compare as numbers."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in version.split("."))


class ParserRepository:
    """Registered parser versions (``cf_parsers``): identity, bundle, outputs and contracts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(
        self,
        *,
        name: str,
        version: str,
        identity_hash: str,
        bundle: bytes,
        bundle_sha256: str,
        lockfile_hash: str,
        source_path: str | None,
        tags: tuple[str, ...],
        patterns: tuple[str, ...],
        outputs: dict[str, str | None],
        contracts: list[dict[str, Any]],
        gatekeeper: dict[str, Any],
    ) -> ParserRecord:
        """Store a new parser version; the caller has checked that (name, version) is free."""
        row = self.db.query_one(
            "INSERT INTO cf_parsers (name, version, identity_hash, bundle, bundle_sha256, "
            "lockfile_hash, source_path, match_tags, match_patterns, outputs, contract_ids, "
            "gatekeeper_report, registered_at, registered_by) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
            (
                name,
                version,
                identity_hash,
                bundle,
                bundle_sha256,
                lockfile_hash,
                source_path,
                json.dumps(list(tags)),
                json.dumps(list(patterns)),
                json.dumps(outputs, sort_keys=True),
                json.dumps(contracts, sort_keys=True),
                json.dumps(gatekeeper, sort_keys=True),
                time.time(),
                os_user(),
            ),
        )
        return _record(row)

    def get(self, name: str, version: str | None = None) -> ParserRecord | None:
        """One version, or the highest version of ``name`` when ``version`` is None."""
        if version is not None:
            row = self.db.query_one(
                f"SELECT {_COLUMNS} FROM cf_parsers WHERE name = ? AND version = ?",
                (name, version),
            )
            return _record(row) if row else None
        versions = self.versions(name)
        return versions[-1] if versions else None

    def versions(self, name: str) -> list[ParserRecord]:
        """Every registered version of one parser, lowest first."""
        rows = self.db.query(f"SELECT {_COLUMNS} FROM cf_parsers WHERE name = ?", (name,))
        return sorted((_record(r) for r in rows), key=lambda r: _version_key(r.version))

    def all(self) -> list[ParserRecord]:
        """Every registered parser version, by name then version."""
        rows = self.db.query(f"SELECT {_COLUMNS} FROM cf_parsers")
        return sorted((_record(r) for r in rows), key=lambda r: (r.name, _version_key(r.version)))

    def bundle(self, name: str, version: str) -> bytes | None:
        """The stored ZIP bytes of one version (verify them before use)."""
        row = self.db.query_one(
            "SELECT bundle FROM cf_parsers WHERE name = ? AND version = ?", (name, version)
        )
        return bytes(row[0]) if row else None
