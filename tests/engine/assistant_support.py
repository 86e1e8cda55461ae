"""Shared by the engine and Pilot tests of the assistant's facts: a table with planted anomalies
(and how many of each were planted) and a registered parser whose job fails on a known line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from casparian_engine.workspace import Workspace

FAILING_PARSER = '''"""Fails on the second batch on purpose."""
from casparian_parser import Parser
import pyarrow as pa


class Boom(Parser):
    name = "boom"
    version = "1.0.0"
    tags = ["boom"]
    outputs = {"boom": None}

    def parse(self, path):
        with open(path, encoding="utf-8") as stream:
            header = stream.readline().strip().split(",")
        columns = {name: [] for name in header}
        return pa.table(columns["amount_eur"])
'''


def planted_table(path: Path) -> dict[str, int]:
    """1,000 rows over 10 sources with anomalies planted; returns the count planted for each."""
    n = 1000
    ids = list(range(1, n + 1))
    ids[10:13] = [5, 6, 7]  # three repeated keys
    amounts = [10.0 + (i % 10) for i in range(n)]
    for i in (100, 200, 300, 400):
        amounts[i] = 10_000.0  # four far outliers
    countries = ["DE" if i % 2 else "FR" for i in range(n)]
    for i in (50, 51, 52):
        countries[i] = "XX"
    countries[53] = "ZZ"  # four rows in two rare categories
    days = [dt.date(2023, 1, 1) + dt.timedelta(days=i % 300) for i in range(n)]
    days[7] = days[8] = dt.date(2099, 1, 1)  # two dates in the future
    weights = [f"{i % 97} kg" for i in range(n)]
    for i in range(600, 607):
        weights[i] = f"{i % 97} lb"  # seven in another unit
    sources = [f"source-{i // 100}" for i in range(n)]
    notes = [None if s == "source-3" else f"note {i}" for i, s in enumerate(sources)]
    table = pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "amount": pa.array(amounts, pa.float64()),
            "country": countries,
            "day": pa.array(days, pa.date32()),
            "weight": weights,
            "note": notes,
            "_cf_source_hash": sources,
            "_cf_row": pa.array(range(n), pa.int64()),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return {
        "duplicate key": 3,
        "outliers": 4,
        "rare category": 4,
        "future date": 2,
        "mixed units": 7,
        "null spike": 100,
    }


def failed_job(workspace: Workspace, tmp_path: Path, csv_text: str = "id,amount\n1,2.5\n") -> int:
    """Register the failing parser, scan and tag one CSV for it, process: the failed job's id."""
    from casparian_engine.parsers.project import lock_parser, parser_pyproject

    parser_dir = tmp_path / "boom"
    parser_dir.mkdir()
    (parser_dir / "boom.py").write_text(FAILING_PARSER)
    (parser_dir / "pyproject.toml").write_text(parser_pyproject("boom"))
    lock_parser(parser_dir)
    workspace.parsers.register(parser_dir)
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text(csv_text)
    workspace.files.scan(data)
    workspace.files.tag([str(data / "a.csv")], "boom")
    workspace.jobs.process(workers=1)
    (job,) = workspace.jobs.list(parser="boom")
    assert job.status in ("failed", "dead_letter"), job.status
    return job.id
