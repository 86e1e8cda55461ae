"""SHA-256 of a file, streamed, plus its kind from the first bytes — one read pass per file.

Small files are read with ``os.open``/``os.read`` (no Python file object: the open dominates the
cost of hashing tiny files). ``hash_batch`` is what worker processes run: ``python -m
casparian_engine.scout.hashing`` reads pickled batches on stdin; one bad file never raises.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import sys
from typing import BinaryIO

from .classify import classify

HEAD_BYTES = 8192
FIRST_READ_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)

# A hash outcome: (sha256, kind, None) on success or (None, skip reason, detail) on failure.
HashOutcome = tuple[str | None, str, str | None]


def hash_file(path: str, ext: str) -> tuple[str, str, int]:
    """(SHA-256 hex, kind, bytes read) of one file; raises ``OSError`` if it cannot be read."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        data = os.read(fd, FIRST_READ_BYTES)
        digest = hashlib.sha256(data)
        head = data[:HEAD_BYTES]
        total = len(data)
        if total == FIRST_READ_BYTES:
            while chunk := os.read(fd, CHUNK_BYTES):
                digest.update(chunk)
                total += len(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest(), classify(ext, head, total > len(head)), total


def failure_reason(exc: OSError) -> str:
    """The skip reason for an error met while reading a file or listing a folder."""
    if isinstance(exc, FileNotFoundError):
        return "vanished"
    if isinstance(exc, PermissionError):
        return "permission_denied"
    if exc.errno == errno.ELOOP:
        return "symlink_loop"
    return "unreadable"


def hash_batch(paths_and_exts: list[tuple[str, str]]) -> tuple[list[HashOutcome], int]:
    """Hash many files; returns one outcome per input (in order) and the bytes read in total."""
    outcomes: list[HashOutcome] = []
    bytes_read = 0
    for path, ext in paths_and_exts:
        try:
            sha256, kind, size = hash_file(path, ext)
        except OSError as exc:
            outcomes.append((None, failure_reason(exc), exc.strerror or str(exc)))
            continue
        bytes_read += size
        outcomes.append((sha256, kind, None))
    return outcomes, bytes_read


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Worker loop: read pickled batches, write pickled ``hash_batch`` results, until ``None``."""
    while (work := pickle.load(stdin)) is not None:
        pickle.dump(hash_batch(work), stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
