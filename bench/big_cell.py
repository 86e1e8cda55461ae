"""Host memory for one huge cell: ``casparian run`` beside plain pyarrow writing the same table.

    .venv/bin/python bench/big_cell.py            # one 300 MB text value
    .venv/bin/python bench/big_cell.py --mb 100

Each side runs in a fresh process and prints its peak RSS: (a) the dev loop's host receiving a
one-row table whose text cell is N MB from a guest, validating it and writing Parquet; (b) pyarrow
building that table and writing it with ``pq.write_table`` defaults.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HOST = """
import resource, sys
from pathlib import Path
from casparian_engine.config import Config, Settings
from casparian_engine.runner.dev import DevRunOptions, run_parser
work = Path(sys.argv[1])
summary = run_parser(Config(home=work / "home", settings=Settings()), work / "cell.py",
                     [work / "in.txt"], DevRunOptions(sink_uri=f"parquet://{work / 'out'}"))
assert summary.failure is None, summary.failure
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
PLAIN = """
import resource, sys
import pyarrow as pa, pyarrow.parquet as pq
table = pa.table({{"id": [1], "blob": ["x" * ({mb} * 1024 * 1024)]}})
pq.write_table(table, sys.argv[1] + "/plain.parquet")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--mb", type=int, default=300)
    mb = options.parse_args().mb
    with tempfile.TemporaryDirectory(prefix="casparian-bench-") as scratch:
        work = Path(scratch)
        (work / "in.txt").write_text("x")
        (work / "cell.py").write_text(
            "import pyarrow as pa\n\n\ndef parse(path):\n"
            f"    return pa.table({{'id': [1], 'blob': ['x' * ({mb} * 1024 * 1024)]}})\n"
        )
        host = subprocess.run(
            [sys.executable, "-c", HOST, str(work)], capture_output=True, text=True, check=True
        )
        plain = subprocess.run(
            [sys.executable, "-c", PLAIN.format(mb=mb), str(work)],
            capture_output=True,
            text=True,
            check=True,
        )
    host_mb, plain_mb = float(host.stdout.split()[-1]), float(plain.stdout.split()[-1])
    print(
        f"one {mb} MB cell: casparian run host peak RSS {host_mb:,.0f} MB "
        f"({host_mb / mb:.1f}x the cell); pyarrow write_table alone {plain_mb:,.0f} MB "
        f"({plain_mb / mb:.1f}x)"
    )


if __name__ == "__main__":
    main()
