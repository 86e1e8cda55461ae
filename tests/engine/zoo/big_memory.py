"""Yields one batch larger than a third of the memory it may still use: OOM_RISK."""

import resource

import pyarrow as pa


def parse(path):
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as status:
        vm_size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    headroom = soft - vm_size
    size = int(headroom * 0.3)  # fits in memory, but less than 3x of it is free
    yield pa.table({"blob": [b"x" * size]})
