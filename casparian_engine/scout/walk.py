"""A streaming directory walk: ``os.scandir`` with an explicit stack, yielding batches of files.

Files are not ``stat``-ed here: the directory entry type says what is a regular file, and the
scan's examine step (in worker processes for big scans) stats them. Memory stays flat: only the
stack of pending folders and the current batch are held. Batches end between folders where
possible (a folder listed whole in one batch lets the scan look up its stored rows by parent in one
query); a folder of more than ``SPLIT_FACTOR`` batches is split. Symlinked folders are never
followed (reported as skipped, reason ``symlink_to_directory``); a symlink to a regular file is
recorded under the link's own path with the target's size, mtime and identity. Anything that
cannot be read is skipped with a reason; the walk goes on."""

from __future__ import annotations

import os
import stat
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field

from ..errors import CasparianError
from .hashing import failure_reason, file_type
from .rules import PathMatcher

SKIP_REASONS = (
    "permission_denied",
    "broken_symlink",
    "symlink_loop",
    "symlink_to_directory",
    "not_regular_file",
    "vanished",
    "unreadable",
)
SPLIT_FACTOR = 4


class ScanRootError(CasparianError):
    """The scan root itself cannot be scanned (missing, not a folder, unreadable)."""


@dataclass(frozen=True, slots=True)
class WalkedFile:
    """A regular file (by its directory entry type, not yet ``stat``-ed) or a symlink to one
    (``follow``); ``path`` is OS-native and may hold surrogates."""

    path: str
    rel_path: str
    depth: int
    follow: bool = False


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """An entry the scan could not record, and why."""

    path: str
    reason: str
    detail: str


@dataclass
class WalkBatch:
    """A slice of the walk: files found, entries skipped, entries left out by the patterns."""

    files: list[WalkedFile] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    excluded_count: int = 0
    whole_folders: set[str] = field(default_factory=set)  # display paths listed entirely here

    def __len__(self) -> int:
        return len(self.files) + len(self.skipped) + self.excluded_count


def display_path(path: str) -> tuple[str, bytes | None]:
    """The UTF-8 text to store for an OS path, and its raw bytes when the name is not UTF-8."""
    if path.isascii():
        return path, None
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(path)
        return raw.decode("utf-8", "backslashreplace"), raw
    return path, None


def check_root(root: str) -> str:
    """The absolute, normalised root; raises ``ScanRootError`` if it cannot be scanned."""
    absolute = os.path.abspath(root)
    try:
        st = os.stat(absolute)
    except FileNotFoundError as exc:
        raise ScanRootError(f"scan root does not exist: {absolute}") from exc
    except OSError as exc:
        raise ScanRootError(f"cannot read scan root {absolute}: {exc.strerror}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise ScanRootError(f"scan root is not a folder: {absolute}")
    try:
        with os.scandir(absolute):
            pass
    except OSError as exc:
        raise ScanRootError(f"cannot list scan root {absolute}: {exc.strerror}") from exc
    return absolute


def _skip_for_symlink(path: str) -> SkippedEntry | None:
    """Follow a symlink once: why it is skipped, or None when it points at a regular file."""
    try:
        target = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            return SkippedEntry(path, "broken_symlink", f"target {os.readlink(path)!r}")
        return SkippedEntry(path, "vanished", "removed during the scan")
    except OSError as exc:
        return SkippedEntry(path, failure_reason(exc), exc.strerror or str(exc))
    if stat.S_ISDIR(target.st_mode):
        return SkippedEntry(path, "symlink_to_directory", "symlinked folders are not followed")
    if not stat.S_ISREG(target.st_mode):
        return SkippedEntry(path, "not_regular_file", file_type(target.st_mode))
    return None


def walk_files(
    root: str, matcher: PathMatcher | None = None, batch_size: int = 2000
) -> Iterator[WalkBatch]:
    """Yield batches of files under ``root`` (already checked), depth first, streaming."""
    stack: list[tuple[str, str, int]] = [(root, "", 0)]
    batch = WalkBatch()
    split_size = batch_size * SPLIT_FACTOR
    while stack:
        folder, rel_prefix, depth = stack.pop()
        if len(batch) >= batch_size:
            yield batch
            batch = WalkBatch()
        opened_in = batch
        listing = _list_folder(folder, rel_prefix, depth, batch, matcher, stack, split_size)
        batch, listed = yield from listing
        if listed and batch is opened_in:
            batch.whole_folders.add(display_path(folder)[0])
    if len(batch):
        yield batch


def _list_folder(
    folder: str,
    rel_prefix: str,
    depth: int,
    batch: WalkBatch,
    matcher: PathMatcher | None,
    stack: list[tuple[str, str, int]],
    split_size: int,
) -> Generator[WalkBatch, None, tuple[WalkBatch, bool]]:
    """Put one folder's entries into ``batch`` (its subfolders onto ``stack``), yielding full
    batches when the folder is larger than ``split_size`` allows; returns the batch it ended in
    and whether the whole folder could be listed."""
    try:
        entries = os.scandir(folder)
    except OSError as exc:
        batch.skipped.append(SkippedEntry(folder, failure_reason(exc), exc.strerror or str(exc)))
        return batch, False
    files, skipped = batch.files, batch.skipped
    room = split_size - len(batch)  # entries this batch can still take from the folder
    with entries:
        try:
            for entry in entries:
                if room <= 0:
                    yield batch
                    batch = WalkBatch()
                    files, skipped = batch.files, batch.skipped
                    room = split_size
                room -= 1
                rel_path = rel_prefix + entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, rel_path + "/", depth + 1))
                        room += 1
                        continue
                    if matcher is not None and not matcher.matches(rel_path):
                        batch.excluded_count += 1
                        continue
                    if entry.is_file(follow_symlinks=False):
                        files.append(WalkedFile(entry.path, rel_path, depth))
                        continue
                    if entry.is_symlink():
                        skip = _skip_for_symlink(entry.path)
                        if skip is None:
                            files.append(WalkedFile(entry.path, rel_path, depth, True))
                        else:
                            skipped.append(skip)
                        continue
                    mode = entry.stat(follow_symlinks=False).st_mode
                except OSError as exc:
                    reason = failure_reason(exc)
                    skipped.append(SkippedEntry(entry.path, reason, exc.strerror or ""))
                    continue
                skipped.append(SkippedEntry(entry.path, "not_regular_file", file_type(mode)))
        except OSError as exc:  # the listing itself failed part way
            skipped.append(SkippedEntry(folder, failure_reason(exc), exc.strerror or str(exc)))
            return batch, False
    return batch, True
