"""Discovery over many files at once: group them by shape, then propose one contract per group.

This is the one discovery every face uses (``ws.contracts.discover``: `schema discover`, the
MCP tool ``discover_schemas``, the TUI's Discover). A scope can mix formats (invoices, sensor
exports, logs). Folders are expanded to their delimited-text files; at most ``MAX_FILES_SNIFFED``
files are sniffed (an even spread of a larger set, whose group sizes are then estimates). Files are
grouped by extension and by the column names their sniffed dialect reads; each group gets one
proposal from a bounded sample of its files. Files that are not delimited text (empty, binary,
unreadable, missing) are reported per file with the reason, never dropped silently, and every
proposal lists them as comments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .dialect import DiscoveryError, header_names, sniff_file
from .discover import MAX_FILES, Discovery, FileDialect, discover, folder_files

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


@dataclass(frozen=True)
class GroupsFound:
    """One discovery's proposals, the files it left out, and each file it sniffed."""

    groups: tuple[GroupedDiscovery, ...]
    skipped: tuple[DiscoverySkip, ...]
    files: tuple[FileDialect, ...]
    """Each file sniffed, with its dialect (confidence, runner-up) and column names."""
    total: int
    """The files given (folders expanded)."""
    sniffed: int
    """The files sniffed: ``total``, or an even spread of ``MAX_FILES_SNIFFED`` of them."""


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


def _base(name: str) -> str:
    """A base name as given when it is already a name (letters, digits, ``_``; a parser's
    output), else its slug (a scope called ``Q3 scope`` names ``q3_scope``)."""
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else _slug(name)


def _group_names(groups: list[list[Path]], base_name: str | None) -> list[str]:
    """One distinct contract name per group: the base name (a scope's, a parser output's) when
    given, then the top-most folder that tells the groups apart; never a bare number."""
    commons = [
        Path(os.path.commonpath([str(p.resolve().parent) for p in members])).parts
        for members in groups
    ]
    depth = 0
    while all(len(parts) > depth for parts in commons) and len({p[depth] for p in commons}) == 1:
        depth += 1
    base = _base(base_name) if base_name else ""
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


def _candidates(paths: Sequence[Path]) -> tuple[list[Path], list[DiscoverySkip]]:
    """The files named and the delimited-text files inside the folders named (sorted, at most
    ``MAX_FILES``), and each path named that does not exist."""
    files: set[Path] = set()
    missing: list[DiscoverySkip] = []
    for path in paths:
        if path.is_dir():
            files.update(folder_files(path))
        elif path.is_file():
            files.add(path)
        else:
            missing.append(DiscoverySkip(str(path), "no such file or folder"))
    return sorted(files)[:MAX_FILES], missing


def discover_groups(
    paths: Sequence[str | Path],
    base_name: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> GroupsFound:
    """Propose one contract per group of same-shaped delimited files among ``paths`` (files or
    folders).

    Groups are named after ``base_name`` when given, else after their folders.
    ``on_progress(done, total)`` is called as each file is sniffed (a progress bar).
    """
    files, skipped = _candidates([Path(p) for p in paths])
    step = max(1, -(-len(files) // MAX_FILES_SNIFFED))
    sniffed = files[::step]
    groups: dict[tuple[str, tuple[str, ...]], list[Path]] = {}
    found: list[FileDialect] = []
    for done, path in enumerate(sniffed, 1):
        try:
            dialect = sniff_file(path)
            columns = tuple(header_names(path, dialect))
        except (DiscoveryError, OSError, ValueError) as exc:
            skipped.append(DiscoverySkip(str(path), _reason(path, exc)))
        else:
            found.append(FileDialect(str(path), dialect, columns))
            groups.setdefault((path.suffix.lower(), columns), []).append(path)
        if on_progress is not None:
            on_progress(done, len(sniffed))
    proposals: list[GroupedDiscovery] = []
    member_lists = list(groups.values())
    for name, members in zip(_group_names(member_lists, base_name), member_lists, strict=True):
        sample = members[:: max(1, len(members) // SAMPLE_FILES_PER_GROUP)]
        try:
            count = round(len(members) * len(files) / len(sniffed))  # the files it stands for
            proposals.append(GroupedDiscovery(name, discover(sample, name), count))
        except (DiscoveryError, OSError, ValueError) as exc:
            skipped.extend(DiscoverySkip(str(p), _reason(p, exc)) for p in sample)
    left_out = tuple((skip.path, skip.reason) for skip in skipped)
    return GroupsFound(
        tuple(replace(g, discovery=replace(g.discovery, skipped=left_out)) for g in proposals),
        tuple(skipped),
        tuple(found),
        len(files),
        len(sniffed),
    )
