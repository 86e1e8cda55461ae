"""``ws.quarantine``: rows that failed their contract or their parser — read and replay."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..store.quarantine import QuarantineFilter
from ._group import Group

if TYPE_CHECKING:
    from ..quarantine_replay import ReplayPreview, ReplayResult
    from ..store.quarantine import QuarantinedRow


class Quarantine(Group):
    """Quarantined rows, filtered by a ``QuarantineFilter``."""

    def count(self, where: QuarantineFilter, cap: int | None = None) -> int:
        """Matching rows; with ``cap``, stops counting past it (returns cap + 1: 'more than')."""
        return self._store.quarantine.count(where, cap=cap)

    def get(self, quarantine_id: int) -> QuarantinedRow | None:
        """One quarantined row (None for an unknown id)."""
        return self._store.quarantine.get(quarantine_id)

    def preview_replay(self, where: QuarantineFilter) -> list[ReplayPreview]:
        """A dry run of ``replay``: per parser and output, how many rows would pass the current
        contract and move, and how many would still fail; nothing is written."""
        from ..quarantine_replay import preview_replay

        return preview_replay(self._store, where)

    def replay(self, where: QuarantineFilter) -> list[ReplayResult]:
        """Re-validate quarantined rows against the current contract; move passing rows out."""
        from ..quarantine_replay import replay_quarantine

        return replay_quarantine(self._store, self._config.output_dir, where)

    def list(
        self, where: QuarantineFilter, after_id: int = 0, limit: int = 50
    ) -> list[QuarantinedRow]:
        """One keyset page of quarantined rows (``after_id`` = last id of the previous page)."""
        return self._store.quarantine.list(where, after_id=after_id, limit=limit)
