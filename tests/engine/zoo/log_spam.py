"""Prints far more than the log cap, then returns a small table."""

import pyarrow as pa


def parse(path):
    for line_number in range(20_000):
        print(f"spam line {line_number} " + "x" * 40)
    return pa.table({"n": [1, 2]})
