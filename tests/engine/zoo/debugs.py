"""Calls breakpoint(); a developer types `c` and the run completes."""

import pyarrow as pa


def parse(path):
    marker = "at-the-breakpoint"
    breakpoint()
    return pa.table({"marker": [marker]})
