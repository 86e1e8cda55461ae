"""``ws.scopes``: named selections of files (path patterns, tags) — save, read, resolve, run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..store.scopes import ScopeDefinition
from ._group import Group

if TYPE_CHECKING:
    import threading

    from ..events import EventSink
    from ..store.jobs import Job
    from ..store.scopes import ScopedFile


class Scopes(Group):
    """Saved scopes and the files they select."""

    def save(self, scope: ScopeDefinition) -> ScopeDefinition:
        """Create or replace a named scope; ``PatternError`` for a pattern that cannot be read."""
        return self._store.scopes.save(scope)

    def get(self, name: str) -> ScopeDefinition | None:
        """A saved scope (None when no scope has that name)."""
        return self._store.scopes.get(name)

    def resolve(self, scope: ScopeDefinition, batch_size: int = 5_000) -> Iterator[ScopedFile]:
        """The live files of a scope, in path order, streamed."""
        return self._store.scopes.resolve(scope, batch_size)

    def execute(
        self,
        parser: str,
        scope: ScopeDefinition,
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Job]:
        """Queue a scope's files for a registered parser, drain its queue, return those jobs."""
        from ..events import ignore_events
        from ..runner.pool import PoolOptions, WorkerPool
        from ..store.job_models import NewJob

        record = self._store.parsers.get(parser)
        if record is None:
            raise ValueError(f"parser {parser!r} is not registered")
        new_jobs = [
            NewJob(record.name, record.version, f.path, f.sha256, f.file_id, batch_id=scope.name)
            for f in self._store.scopes.resolve(scope)
        ]
        job_ids = self._store.jobs.enqueue(new_jobs)
        options = PoolOptions(parser_names=(record.name,))
        WorkerPool(self._config, options).run(on_event or ignore_events, cancel)
        jobs = [self._store.jobs.get(job_id) for job_id in job_ids]
        return [job for job in jobs if job is not None]

    def list(self) -> list[ScopeDefinition]:
        """Every saved scope."""
        return self._store.scopes.all()
