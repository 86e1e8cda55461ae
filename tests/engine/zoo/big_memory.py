"""Yields one batch larger than a third of the memory it may still use: OOM_RISK."""

import sys

import pyarrow as pa


def parse(path):
    # The shim's own measure (memory limit headroom, whichever way the kernel enforces it).
    headroom = sys.modules["__main__"].available_memory_bytes()
    size = int(headroom * 0.3)  # fits in memory, but less than 3x of it is free
    yield pa.table({"blob": [b"x" * size]})
