"""Benchmark parser: pyarrow CSV, streamed in batches for big files, read whole for small ones."""

import os

import pyarrow.csv as pcsv

STREAM_ABOVE_BYTES = 8 * 1024 * 1024


def parse(path):
    if os.path.getsize(path) <= STREAM_ABOVE_BYTES:
        yield pcsv.read_csv(path)
        return
    reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=16 * 1024 * 1024))
    yield from reader
