"""The state store: schema, migrations and one repository per concern.

Nothing outside this package writes SQL against the store; everything goes through a repository
reached from ``Store``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from .audit import AuditRepository
from .contracts import ContractRepository
from .db import Database, StoreError
from .files import FileRepository
from .health import HealthRepository
from .history import HistoryRepository
from .jobs import JobRepository
from .parsers import ParserRepository
from .quarantine import QuarantineRepository
from .schema import LATEST_VERSION, migrate
from .scopes import ScopeRepository
from .tags import TagRepository
from .workers import WorkerRegistry

if TYPE_CHECKING:
    from ..config import Config

__all__ = ["Store", "StoreError", "LATEST_VERSION", "QueuePolicy", "open_store"]


@dataclass(frozen=True)
class QueuePolicy:
    """How the queue treats failures: transient ones are retried ``max_retries`` times after the
    ``retry_backoff_s`` waits (the last one repeats), then dead-lettered; ``breaker_threshold``
    failures in a row pause a parser."""

    max_retries: int = 3
    retry_backoff_s: tuple[float, ...] = (1.0, 4.0, 16.0)
    breaker_threshold: int = 5


class Store:
    """An open, migrated store. Repositories are attributes: ``store.files``, ``store.jobs``…

    The queue's policy is fixed when the store is built, so every use of ``store.jobs`` and
    ``store.health`` follows it (``open_store`` takes it from a home's settings)."""

    def __init__(self, url: str, policy: QueuePolicy | None = None) -> None:
        self.policy = policy or QueuePolicy()
        self.db = Database(url)
        migrate(self.db)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.db)

    # Repositories of each capability are added below, one cached property each.

    @cached_property
    def scopes(self) -> ScopeRepository:
        return ScopeRepository(self.db)

    # --- Jobs: queue, circuit breaker, processing history ---
    @cached_property
    def history(self) -> HistoryRepository:
        return HistoryRepository(self.db)

    @cached_property
    def health(self) -> HealthRepository:
        return HealthRepository(self.db, self.policy.breaker_threshold)

    @cached_property
    def jobs(self) -> JobRepository:
        return JobRepository(
            self.db,
            self.history,
            self.health,
            self.policy.max_retries,
            self.policy.retry_backoff_s,
        )

    @cached_property
    def workers(self) -> WorkerRegistry:
        return WorkerRegistry(self.db)

    # --- Scout: file inventory and tags ---
    @cached_property
    def files(self) -> FileRepository:
        return FileRepository(self.db)

    @cached_property
    def tags(self) -> TagRepository:
        return TagRepository(self.db)

    # --- Registration: parser bundles ---
    @cached_property
    def parsers(self) -> ParserRepository:
        return ParserRepository(self.db)

    # --- Contracts and quarantine ---
    @cached_property
    def contracts(self) -> ContractRepository:
        return ContractRepository(self.db, self.audit)

    @cached_property
    def quarantine(self) -> QuarantineRepository:
        return QuarantineRepository(self.db)

    def close(self) -> None:
        """Close every thread's connection to the store."""
        self.db.close()


def open_store(config: Config) -> Store:
    """The store of a home, with the queue policy of its settings."""
    settings = config.settings
    policy = QueuePolicy(
        settings.max_retries, settings.retry_backoff_s, settings.circuit_breaker_threshold
    )
    return Store(config.store_url, policy)
