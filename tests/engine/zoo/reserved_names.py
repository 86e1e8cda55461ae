"""Emits a reserved _cf_ column: the job fails permanently."""

import pyarrow as pa


def parse(path):
    return pa.table({"n": [1], "_cf_secret": ["x"]})
