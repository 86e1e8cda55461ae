"""One row larger than the frame cap: cannot be split, must fail clearly."""

import pyarrow as pa


def parse(path):
    return pa.table({"blob": ["x" * (3 * 1024 * 1024)]})
