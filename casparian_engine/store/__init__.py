"""The state store: schema, migrations and one repository per concern.

Nothing outside this package writes SQL against the store; everything goes through a repository
reached from ``Store``.
"""

from __future__ import annotations

from functools import cached_property

from .audit import AuditRepository
from .db import Database, StoreError
from .schema import LATEST_VERSION, migrate

__all__ = ["Store", "StoreError", "LATEST_VERSION"]


class Store:
    """An open, migrated store. Repositories are attributes: ``store.files``, ``store.jobs``…"""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        migrate(self.db)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.db)

    # Repositories of each capability are added below, one cached property each.

    def close(self) -> None:
        self.db.close()
