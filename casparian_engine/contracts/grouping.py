"""Discovery over many files at once: group them by shape, then propose one contract per group.

A scope can mix formats (invoices, sensor exports, logs). Files are grouped by extension and by the
column names their sniffed dialect reads; each group gets one proposal from a bounded sample of its
files. Files that are not delimited text (empty, binary, unreadable) are reported per file with
the reason, never dropped silently.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .dialect import DiscoveryError, header_names, sniff_file
from .discover import Discovery, discover

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
    """A file left out of discovery, and why."""

    path: str
    reason: str


def _reason(path: Path, exc: Exception) -> str:
    """The error without the leading file name (a skip already names its file)."""
    return str(exc).removeprefix(f"{path}: ")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")


def _folder_label(parts: tuple[str, ...], depth: int) -> str:
    """The folder at ``depth`` of a group's common folder, led by the nearest folder above it
    whose name has letters when it is only digits (``invoices_2023_08``, never ``08``)."""
    depth = min(depth, len(parts) - 1)
    if depth < 0:
        return ""
    start = depth
    while start > 0 and not re.search(r"[a-z]", parts[start].lower()):
        start -= 1
    return _slug("_".join(parts[start : depth + 1]))


def _group_names(groups: list[list[Path]], base_name: str | None) -> list[str]:
    """One distinct contract name per group: the base name (a scope's) when given, then the
    top-most folder that tells the groups apart; never a bare number."""
    commons = [
        Path(os.path.commonpath([str(p.resolve().parent) for p in members])).parts
        for members in groups
    ]
    depth = 0
    while all(len(parts) > depth for parts in commons) and len({p[depth] for p in commons}) == 1:
        depth += 1
    base = _slug(base_name) if base_name else ""
    names: list[str] = []
    for parts, members in zip(commons, groups, strict=True):
        label = "" if base and len(groups) == 1 else _folder_label(parts, depth)
        if (not label and not base) or (label and label in names):
            label = "_".join(filter(None, (label, _slug(members[0].suffix.lstrip("."))))) or ""
        name = "_".join(filter(None, (base, label))) or _slug(members[0].stem) or "data"
        if not re.search(r"[a-z]", name):
            name = f"data_{name}"
        unique, suffix = name, 2
        while unique in names:
            unique, suffix = f"{name}_{suffix}", suffix + 1
        names.append(unique)
    return names


def discover_groups(
    paths: Sequence[str | Path], base_name: str | None = None
) -> tuple[list[GroupedDiscovery], list[DiscoverySkip]]:
    """Propose one contract per group of same-shaped delimited files among ``paths``.

    Groups are named after ``base_name`` (a scope's name) when given, else after their folders.
    """
    files = sorted(Path(p) for p in paths)
    step = max(1, len(files) // MAX_FILES_SNIFFED)
    groups: dict[tuple[str, tuple[str, ...]], list[Path]] = {}
    skipped: list[DiscoverySkip] = []
    for path in files[::step]:
        try:
            dialect = sniff_file(path)
            columns = tuple(header_names(path, dialect))
        except (DiscoveryError, OSError, ValueError) as exc:
            skipped.append(DiscoverySkip(str(path), _reason(path, exc)))
            continue
        groups.setdefault((path.suffix.lower(), columns), []).append(path)
    proposals: list[GroupedDiscovery] = []
    member_lists = list(groups.values())
    for name, members in zip(_group_names(member_lists, base_name), member_lists, strict=True):
        sample = members[:: max(1, len(members) // SAMPLE_FILES_PER_GROUP)]
        try:
            proposals.append(GroupedDiscovery(name, discover(sample, name), len(members) * step))
        except (DiscoveryError, OSError, ValueError) as exc:
            skipped.extend(DiscoverySkip(str(p), _reason(p, exc)) for p in sample)
    return proposals, skipped
