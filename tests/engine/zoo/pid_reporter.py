"""Reports the guest's process id for each file, to show many files share one warm guest."""

import os

import pyarrow as pa


def parse(path):
    return pa.table({"file": [os.path.basename(path)], "guest_pid": [os.getpid()]})
