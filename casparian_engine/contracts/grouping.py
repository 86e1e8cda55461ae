"""Discovery over many files at once: group them by shape, then propose one contract per group.

A scope can mix formats (invoices, sensor exports, logs). Files are grouped by extension and by the
column names their sniffed dialect reads; each group gets one proposal from a bounded sample of its
files. Files that are not delimited text are reported per file, never dropped silently.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .discover import Discovery, DiscoveryError, discover, read_text_table, sniff_file

SAMPLE_FILES_PER_GROUP = 20
MAX_FILES_SNIFFED = 500


@dataclass(frozen=True)
class GroupedDiscovery:
    """One proposal and the files it stands for."""

    name: str
    discovery: Discovery
    file_count: int


@dataclass(frozen=True)
class DiscoverySkip:
    path: str
    reason: str


def _contract_name(files: Sequence[Path], taken: set[str]) -> str:
    folder = Counter(p.parent.name for p in files).most_common(1)[0][0]
    base = re.sub(r"[^a-z0-9_]+", "_", (folder or files[0].stem).lower()).strip("_") or "data"
    name, suffix = base, 2
    while name in taken:
        name, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(name)
    return name


def discover_groups(
    paths: Sequence[str | Path],
) -> tuple[list[GroupedDiscovery], list[DiscoverySkip]]:
    """Propose one contract per group of same-shaped delimited files among ``paths``."""
    files = sorted(Path(p) for p in paths)
    step = max(1, len(files) // MAX_FILES_SNIFFED)
    groups: dict[tuple[str, tuple[str, ...]], list[Path]] = {}
    skipped: list[DiscoverySkip] = []
    for path in files[::step]:
        try:
            dialect = sniff_file(path)
            columns = tuple(read_text_table(path, dialect, max_rows=1).column_names)
        except (DiscoveryError, OSError, ValueError) as exc:
            skipped.append(DiscoverySkip(str(path), str(exc)))
            continue
        groups.setdefault((path.suffix.lower(), columns), []).append(path)
    proposals: list[GroupedDiscovery] = []
    taken: set[str] = set()
    for members in groups.values():
        name = _contract_name(members, taken)
        sample = members[:: max(1, len(members) // SAMPLE_FILES_PER_GROUP)]
        try:
            proposals.append(GroupedDiscovery(name, discover(sample, name), len(members) * step))
        except (DiscoveryError, OSError, ValueError) as exc:
            skipped.extend(DiscoverySkip(str(p), str(exc)) for p in sample)
    return proposals, skipped
