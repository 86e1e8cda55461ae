"""A table bigger than the frame cap but made of small rows: the guest splits it into frames."""

import pyarrow as pa


def parse(path):
    return pa.table({"n": pa.array(range(300_000), pa.int64()), "s": ["abcdefgh"] * 300_000})
