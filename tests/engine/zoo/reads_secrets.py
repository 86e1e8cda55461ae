"""Tries to read what a sandboxed parser must not: the input names the paths (one per line).

``{ppid}`` in a path becomes the guest's parent PID. Each attempt becomes a row: the path, the
outcome (``read`` or the exception's name) and the first bytes read.
"""

import os

import pyarrow as pa


def parse(path):
    targets = [line.replace("{ppid}", str(os.getppid())) for line in open(path).read().split()]
    outcomes, heads = [], []
    for target in targets:
        try:
            with open(target, "rb") as stream:
                heads.append(stream.read(4096).decode("latin-1"))
            outcomes.append("read")
        except OSError as error:
            outcomes.append(type(error).__name__)
            heads.append("")
    return pa.table({"path": targets, "outcome": outcomes, "head": heads})
