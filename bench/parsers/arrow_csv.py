"""Benchmark parser: pyarrow CSV with the columns' types, streamed in 4 MB blocks on one thread.

The types are the ones DuckDB is given in the typed baseline. Small files are read whole; big ones
stream block by block, so the guest's memory does not grow with the file.
"""

import os

import pyarrow as pa
import pyarrow.csv as pcsv

STREAM_ABOVE_BYTES = 8 * 1024 * 1024
BLOCK_BYTES = 4 * 1024 * 1024
COLUMN_TYPES = {
    "id": pa.int64(),
    "name": pa.string(),
    "amount": pa.float64(),
    "day": pa.date32(),
    "flag": pa.bool_(),
}
CONVERT = pcsv.ConvertOptions(column_types=COLUMN_TYPES)
SMALL = pcsv.ReadOptions(use_threads=False)
STREAMED = pcsv.ReadOptions(use_threads=False, block_size=BLOCK_BYTES)


def parse(path):
    if os.path.getsize(path) <= STREAM_ABOVE_BYTES:
        yield pcsv.read_csv(path, read_options=SMALL, convert_options=CONVERT)
        return
    yield from pcsv.open_csv(path, read_options=STREAMED, convert_options=CONVERT)
