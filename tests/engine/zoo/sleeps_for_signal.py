"""Yields one batch, then waits (for the test to interrupt the host)."""

import time

import pyarrow as pa


def parse(path):
    yield pa.table({"n": [1]})
    print("READY-FOR-SIGNAL", flush=True)
    time.sleep(600)
