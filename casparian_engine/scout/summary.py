"""What a scan reports: throttled progress while it runs and a summary at the end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..events import Event, ScanCancelled, ScanProgress
from .walk import SkippedEntry, display_path

__all__ = ["ScanCancelled", "ScanProgress", "ScanSummary"]


@dataclass(frozen=True)
class ScanSummary(Event):
    """What a finished scan found; ``skipped`` counts entries per reason."""

    root: str
    source_id: int
    new: int
    changed: int
    unchanged: int
    renamed: int
    deleted: int
    excluded: int
    skipped: dict[str, int]
    skipped_examples: tuple[SkippedEntry, ...]
    bytes_hashed: int
    elapsed_s: float

    @property
    def files_seen(self) -> int:
        return self.new + self.changed + self.unchanged + self.renamed

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "source_id": self.source_id,
            "files_seen": self.files_seen,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "renamed": self.renamed,
            "deleted": self.deleted,
            "excluded": self.excluded,
            "skipped": self.skipped_total,
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "skipped_examples": [
                {"path": display_path(e.path)[0], "reason": e.reason, "detail": e.detail}
                for e in self.skipped_examples
            ],
            "bytes_hashed": self.bytes_hashed,
            "elapsed_s": round(self.elapsed_s, 3),
        }
