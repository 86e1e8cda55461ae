"""Examine files for a scan: ``stat`` against the stored marker, and SHA-256 + kind when changed.

This is the per-file half of a scan, run in worker processes for big scans (``python -m
casparian_engine.scout.hashing`` reads pickled batches on stdin) or inline for small ones. A file
whose (size, mtime, device, inode) equals its stored marker is not opened. Otherwise it is opened
with ``os.open`` (no Python file object: the open dominates the cost of tiny files), ``fstat``-ed
and read once, for its digest and its kind from the first bytes. One bad file never raises.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import stat
import sys
from dataclasses import dataclass
from typing import BinaryIO

from .classify import classify

HEAD_BYTES = 8192
FIRST_READ_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_INT64_MAX = 2**63 - 1

# What a scan knows of a stored file: (size, mtime_ns, device, inode), device/inode as int64.
Marker = tuple[int, int, int, int]
# A batch of files as one message: ("\0"-joined OS paths, sizes, mtimes, devices, inodes, follow
# flags) — columns, so pickling creates no per-file tuples; a size of -1 means "not stored yet".
PackedJob = tuple[str, list[int], list[int], list[int], list[int], bytes]
# Per file: None when unchanged; (sha256, kind, size, mtime_ns, device, inode) when read;
# (None, skip reason, detail) when it could not be read.
Examined = tuple[str, str, int, int, int, int] | tuple[None, str, str] | None


def int64(value: int) -> int:
    """Device and inode numbers are unsigned 64-bit; store the ones past int64 as negatives."""
    return value - 2**64 if value > _INT64_MAX else value


def extension(path: str) -> str:
    """Lower-case extension with its dot ('.csv'); '' for none or a leading-dot name."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def failure_reason(exc: OSError) -> str:
    """The skip reason for an error met while reading a file or listing a folder."""
    if isinstance(exc, FileNotFoundError):
        return "vanished"
    if isinstance(exc, PermissionError):
        return "permission_denied"
    if exc.errno == errno.ELOOP:
        return "symlink_loop"
    return "unreadable"


def file_type(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _read_and_hash(path: str, follow: bool) -> tuple[Examined, int]:
    fd = os.open(path, _OPEN_FLAGS if follow else _OPEN_FLAGS | _NOFOLLOW)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return (None, "not_regular_file", file_type(st.st_mode)), 0
        data = os.read(fd, FIRST_READ_BYTES)
        digest = hashlib.sha256(data)
        total = len(data)
        if total == FIRST_READ_BYTES:
            while chunk := os.read(fd, CHUNK_BYTES):
                digest.update(chunk)
                total += len(chunk)
    finally:
        os.close(fd)
    head = data[:HEAD_BYTES]
    kind = classify(extension(path), head, total > len(head))
    device, inode = st.st_dev, st.st_ino
    if device > _INT64_MAX or inode > _INT64_MAX:
        device, inode = int64(device), int64(inode)
    return (digest.hexdigest(), kind, st.st_size, st.st_mtime_ns, device, inode), total


@dataclass(frozen=True, slots=True)
class ExamineJob:
    """Files to examine, by column; ``sizes[i] == -1`` when file ``i`` has no stored marker."""

    paths: list[str]
    sizes: list[int]
    mtimes: list[int]
    devices: list[int]
    inodes: list[int]
    follow: bytes  # 1 for a symlink to a regular file (stat its target), else 0

    def __len__(self) -> int:
        return len(self.paths)

    def part(self, start: int, stop: int) -> ExamineJob:
        return ExamineJob(
            self.paths[start:stop], self.sizes[start:stop], self.mtimes[start:stop],
            self.devices[start:stop], self.inodes[start:stop], self.follow[start:stop],
        )  # fmt: skip

    def packed(self) -> PackedJob:
        paths = "\0".join(self.paths)
        return paths, self.sizes, self.mtimes, self.devices, self.inodes, self.follow


def examine_packed(job: PackedJob) -> tuple[list[Examined], int]:
    """Examine a packed batch; one outcome per file, in order, and the bytes read in total."""
    joined, sizes, mtimes, devices, inodes, follow_flags = job
    outcomes: list[Examined] = []
    append = outcomes.append
    bytes_read = 0
    paths = joined.split("\0") if sizes else []
    for path, size, mtime_ns, device, inode, follow in zip(
        paths, sizes, mtimes, devices, inodes, follow_flags, strict=True
    ):
        try:
            if size >= 0:
                st = os.stat(path) if follow else os.lstat(path)
                if st.st_size == size and st.st_mtime_ns == mtime_ns:
                    st_device, st_inode = st.st_dev, st.st_ino
                    if st_device > _INT64_MAX or st_inode > _INT64_MAX:
                        st_device, st_inode = int64(st_device), int64(st_inode)
                    if st_device == device and st_inode == inode:
                        append(None)
                        continue
            outcome, read = _read_and_hash(path, bool(follow))
        except OSError as exc:
            append((None, failure_reason(exc), exc.strerror or str(exc)))
            continue
        bytes_read += read
        append(outcome)
    return outcomes, bytes_read


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Worker loop: read packed jobs, write ``examine_packed`` results, until ``None``."""
    while (job := pickle.load(stdin)) is not None:
        pickle.dump(examine_packed(job), stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
