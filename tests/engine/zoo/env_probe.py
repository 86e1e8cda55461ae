"""Reports the environment variables it can see as rows."""

import os

import pyarrow as pa


def parse(path):
    names = sorted(os.environ)
    return pa.table({"name": names, "cwd": [os.getcwd()] * len(names)})
