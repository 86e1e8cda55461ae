"""Allocates (and touches) memory 20 MB at a time until it has 4 GB or is stopped."""

import pyarrow as pa


def parse(path):
    held = []
    for _chunk in range(200):
        held.append(b"m" * (20 * 1024 * 1024))
    return pa.table({"chunks": [len(held)]})
