"""Leaves a child behind: the input names a mode (fork or setsid), a marker and a go-file.

The child becomes ``sleep MARKER`` (a unique number of seconds, so a test can find it by its
command line); with ``setsid`` it first leaves the guest's session. The parser says
``STRAY-STARTED`` and waits (bounded) for the go-file, so the test can find the child's PID while
the job runs.
"""

import os
import sys
import time

import pyarrow as pa


def _running(cmdline):
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as stream:
                    if stream.read() == cmdline:
                        return True
            except OSError:
                pass
    return False


def parse(path):
    mode, marker, go_file = open(path).read().split()
    child = os.fork()
    if child == 0:
        if mode == "setsid":
            os.setsid()
            if os.fork() > 0:  # a daemon's double fork: the grandchild is orphaned
                os._exit(0)
        os.execv("/usr/bin/sleep", ["sleep", marker])
    wanted = f"sleep\0{marker}\0".encode()
    deadline = time.monotonic() + 60
    while not _running(wanted) and time.monotonic() < deadline:
        time.sleep(0.01)  # until the child has become `sleep MARKER`
    print("STRAY-STARTED", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(go_file) and time.monotonic() < deadline:
        time.sleep(0.01)
    sys.stdout.flush()
    return pa.table({"n": [1]})
