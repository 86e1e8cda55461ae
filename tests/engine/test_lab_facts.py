"""The assistant's facts without a model: anomalies with counts, a failed job's facts, the hint."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from casparian_engine.anomalies import find_anomalies
from casparian_engine.lab.facts import likely_cause
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


def test_each_planted_anomaly_is_found_with_its_count(workspace: Workspace) -> None:
    planted = planted_table(workspace.config.output_dir / "orders" / "orders" / "part-0.parquet")
    found = workspace.table_anomalies("orders")
    by_kind = {a.kind: a for a in found}
    assert {kind: a.count for kind, a in by_kind.items()} == planted
    assert by_kind["duplicate key"].column == "id"
    assert by_kind["outliers"].column == "amount" and by_kind["outliers"].values == ("10000.0",)
    assert by_kind["rare category"].values == ("ZZ", "XX")
    assert by_kind["future date"].column == "day" and "2099-01-01" in by_kind["future date"].detail
    assert by_kind["mixed units"].values == ("kg", "lb")
    assert (
        by_kind["null spike"].column == "note" and "1 of 10 sources" in by_kind["null spike"].detail
    )
    assert len(found) == len(planted)  # nothing else is called an anomaly


def test_a_clean_or_tiny_table_has_no_anomalies(tmp_path: Path) -> None:
    import duckdb

    with duckdb.connect(":memory:") as con:
        con.execute("CREATE TABLE t AS SELECT range AS id, range % 7 AS n FROM range(500)")
        assert find_anomalies(con, "t") == []
        con.execute("CREATE TABLE small AS SELECT 1 AS id")
        assert find_anomalies(con, "small") == []


def test_explain_a_real_failed_job_names_kind_line_source_and_sample(
    workspace: Workspace, tmp_path: Path
) -> None:
    parser_dir = tmp_path / "boom"
    parser_dir.mkdir()
    (parser_dir / "boom.py").write_text(FAILING_PARSER)
    from casparian_engine.parsers.project import lock_parser, parser_pyproject

    (parser_dir / "pyproject.toml").write_text(parser_pyproject("boom"))
    lock_parser(parser_dir)
    workspace.register_parser(parser_dir)
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("id,amount\n1,2.5\n2,3.5\n")
    workspace.scan(data)
    workspace.tag_files([str(data / "a.csv")], "boom")
    workspace.process(workers=1)
    (job,) = workspace.list_jobs(parser="boom")
    assert job.status in ("failed", "dead_letter"), job.status
    facts = workspace.explain_failure(job.id)
    assert facts.kind == "KeyError"
    assert "amount_eur" in facts.message
    assert facts.line == 16 and facts.source_file == "boom.py"
    failing = dict(facts.source)[16]
    assert failing.strip() == 'return pa.table(columns["amount_eur"])'
    assert facts.likely_cause.startswith("the parser looks up a column or key")
    assert facts.sample_lines == ("id,amount", "1,2.5", "2,3.5")
    text = facts.as_text()
    assert '>   16 |         return pa.table(columns["amount_eur"])' in text


def test_likely_causes_by_error_class() -> None:
    assert "encoding" in likely_cause("UnicodeDecodeError", "'utf-8' codec can't decode byte")
    assert "more or fewer fields" in likely_cause("ArrowInvalid", "Expected 9 columns, got 10")
    assert "approve" in likely_cause("ContractNotApproved", "output 'x' has no approved version")
    assert "does not load" in likely_cause("SyntaxError", "invalid syntax")
    assert likely_cause("Weird", "odd").startswith("a Weird raised in the parser")


def test_hint_says_what_files_look_like_and_suggests_a_tag(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "files" / "invoices" / "2024" / "01"
    folder.mkdir(parents=True)
    paths = []
    for index in range(3):
        path = folder / f"inv_{index}.csv"
        path.write_text("id;amount;day\n1;2,5;2024-01-01\n2;3,5;2024-01-02\n")
        paths.append(path)
    hint = workspace.describe_files(paths, root=tmp_path / "files")
    assert hint.tag == "invoices"
    assert (
        hint.text == "These look like invoices files (semicolon CSV, 3 columns). Tag as 'invoices'?"
    )
    log = tmp_path / "files" / "app" / "2024-01-01" / "app.log"
    log.parent.mkdir(parents=True)
    log.write_text("2024-01-01 10:00:00 INFO started\n2024-01-01 10:00:01 WARN slow disk\n")
    single = workspace.describe_files([log], root=tmp_path / "files")
    assert single.tag == "app"
    assert single.text.startswith("This looks like app file (log lines: timestamp level message")
