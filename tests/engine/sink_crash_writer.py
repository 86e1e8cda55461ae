"""Run as a subprocess by test_sinks: stage rows in a sink, say so, then wait to be SIGKILLed."""

import sys
from pathlib import Path

import pyarrow as pa

from casparian_engine.sinks import open_sink

sink = open_sink(sys.argv[1], default_dir=Path("."), overwrite=True)
for _batch in range(3):
    sink.write("rows", pa.table({"n": list(range(1000))}))
if hasattr(sink, "_drain"):
    sink._drain()  # the writer thread has encoded the staged part file
sys.stdout.write("STAGED\n")
sys.stdout.flush()
sys.stdin.read()  # blocks until the test kills this process
