"""Raises a plain exception half-way through a file: a permanent failure."""

import pyarrow as pa


def parse(path):
    yield pa.table({"n": [1, 2]})
    raise ValueError("unexpected token on line 3")
