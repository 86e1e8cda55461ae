"""Sinks: every URI scheme round-trips, writes are staged, a crash leaves nothing partial."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_engine.sinks import OutputExistsError, SinkError, open_sink
from casparian_engine.sinks import files as file_sinks

TABLE = pa.table({"n": [1, 2, 3], "label": ["a", None, "c"]})


def _read_back(uri: str, root: Path) -> pa.Table:
    scheme, _, location = uri.partition("://")
    if scheme == "parquet":
        return pq.read_table(Path(location) / "rows")
    if scheme == "ipc":
        (part,) = (Path(location) / "rows").iterdir()
        return pa.ipc.open_file(part).read_all()
    if scheme == "sqlite":
        with sqlite3.connect(location) as connection:
            rows = connection.execute("SELECT n, label FROM rows ORDER BY n").fetchall()
        return pa.table({"n": [r[0] for r in rows], "label": [r[1] for r in rows]})
    with duckdb.connect(location) as connection:
        rows = connection.execute("SELECT n, label FROM rows ORDER BY n").fetchall()
    return pa.table({"n": [r[0] for r in rows], "label": [r[1] for r in rows]})


@pytest.mark.parametrize("scheme", ["parquet", "ipc", "sqlite", "duckdb"])
def test_each_sink_writes_nothing_visible_until_commit(tmp_path: Path, scheme: str) -> None:
    location = tmp_path / ("out" if scheme in ("parquet", "ipc") else f"out.{scheme}")
    uri = f"{scheme}://{location}"
    sink = open_sink(uri, default_dir=tmp_path)
    sink.write("rows", TABLE.slice(0, 2))
    sink.write("rows", TABLE.slice(2))
    assert not open_sink(uri, default_dir=tmp_path).exists("rows")
    targets = sink.commit()
    assert targets == {"rows": sink.target("rows")}
    assert _read_back(uri, tmp_path).to_pylist() == TABLE.to_pylist()
    again = open_sink(uri, default_dir=tmp_path)
    with pytest.raises(OutputExistsError, match="use --force to replace it"):
        again.write("rows", TABLE)
    again.abort()
    replaced = open_sink(uri, default_dir=tmp_path, overwrite=True)
    replaced.write("rows", TABLE.slice(0, 1))
    replaced.commit()
    assert _read_back(uri, tmp_path).num_rows == 1


@pytest.mark.parametrize("scheme", ["parquet", "ipc", "sqlite", "duckdb"])
def test_abort_leaves_previous_output_intact(tmp_path: Path, scheme: str) -> None:
    location = tmp_path / ("out" if scheme in ("parquet", "ipc") else f"out.{scheme}")
    uri = f"{scheme}://{location}"
    first = open_sink(uri, default_dir=tmp_path)
    first.write("rows", TABLE)
    first.commit()
    second = open_sink(uri, default_dir=tmp_path, overwrite=True)
    second.write("rows", TABLE.slice(0, 1))
    second.abort()
    assert _read_back(uri, tmp_path).to_pylist() == TABLE.to_pylist()


@pytest.mark.parametrize("scheme", ["parquet", "sqlite", "duckdb"])
def test_sigkill_mid_write_leaves_no_partial_output(tmp_path: Path, scheme: str) -> None:
    location = tmp_path / ("out" if scheme == "parquet" else f"out.{scheme}")
    writer = Path(__file__).with_name("sink_crash_writer.py")
    process = subprocess.Popen(
        [sys.executable, str(writer), f"{scheme}://{location}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"STAGED\n"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not open_sink(f"{scheme}://{location}", default_dir=tmp_path).exists("rows")
    if scheme == "parquet":
        assert list(location.glob("*/*.parquet")) == []
        # the next run removes what the killed run staged
        sink = open_sink(f"parquet://{location}", default_dir=tmp_path)
        sink.write("rows", TABLE)
        sink.commit()
        assert list((location / ".staging").glob("*")) == []
        assert pq.read_table(location / "rows").num_rows == 3


def test_many_small_tables_coalesce_into_one_file(tmp_path: Path) -> None:
    sink = open_sink(f"parquet://{tmp_path / 'out'}", default_dir=tmp_path)
    for start in range(0, 5000, 5):
        sink.write("rows", pa.table({"n": list(range(start, start + 5))}))
    sink.commit()
    parts = list((tmp_path / "out" / "rows").iterdir())
    assert len(parts) == 1
    assert pq.ParquetFile(parts[0]).metadata.num_rows == 5000


def test_large_outputs_roll_into_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_sinks, "ROW_GROUP_ROWS", 1000)
    monkeypatch.setattr(file_sinks, "FILE_ROWS", 3000)
    sink = open_sink(f"parquet://{tmp_path / 'out'}", default_dir=tmp_path)
    for start in range(0, 10_000, 500):
        sink.write("rows", pa.table({"n": list(range(start, start + 500))}))
    sink.commit()
    parts = sorted((tmp_path / "out" / "rows").iterdir())
    assert [pq.ParquetFile(p).metadata.num_rows for p in parts] == [3000, 3000, 3000, 1000]
    assert pq.ParquetFile(parts[0]).metadata.num_row_groups == 3


def test_a_huge_text_value_starts_a_part_without_its_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parquet keeps copies of a column's min and max: a 300 MB cell cost 1.8 GB of host memory
    that way. The column holding a huge value is written without statistics or dictionary from
    a new part on; earlier parts and other columns keep theirs, and every row is kept."""
    monkeypatch.setattr(file_sinks, "ROW_GROUP_ROWS", 2)
    sink = open_sink(f"parquet://{tmp_path / 'out'}", default_dir=tmp_path)
    huge = "x" * (file_sinks.HUGE_VALUE_BYTES + 1)
    sink.write("rows", pa.table({"n": [1, 2], "text": ["a", "b"]}))
    sink.write("rows", pa.table({"n": [3, 4], "text": [huge, "c"]}))
    sink.write("rows", pa.table({"n": [5, 6], "text": ["d", "e"]}))
    sink.commit()
    parts = sorted((tmp_path / "out" / "rows").iterdir())
    assert len(parts) == 2
    first, second = (pq.ParquetFile(part).metadata for part in parts)
    assert first.row_group(0).column(1).statistics.has_min_max
    for group in range(second.num_row_groups):
        assert second.row_group(group).column(0).statistics.has_min_max
        assert second.row_group(group).column(1).statistics is None
    table = pq.read_table(tmp_path / "out" / "rows")
    assert table.column("n").to_pylist() == [1, 2, 3, 4, 5, 6]
    assert table.column("text").to_pylist() == ["a", "b", huge, "c", "d", "e"]


def test_schema_change_is_refused_with_a_diff(tmp_path: Path) -> None:
    sink = open_sink(f"parquet://{tmp_path / 'out'}", default_dir=tmp_path)
    sink.write("rows", pa.table({"n": [1]}))
    with pytest.raises(SinkError, match="column 'n' was int64, now string"):
        sink.write("rows", pa.table({"n": ["x"]}))
    sink.abort()


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("nowhere", "is not a URI"),
        ("s3://bucket/x", "unknown scheme 's3'"),
    ],
)
def test_bad_sink_uri_is_named(tmp_path: Path, uri: str, message: str) -> None:
    with pytest.raises(SinkError, match=message):
        open_sink(uri, default_dir=tmp_path)


def test_bad_output_name_is_refused(tmp_path: Path) -> None:
    sink = open_sink(f"parquet://{tmp_path}", default_dir=tmp_path)
    with pytest.raises(SinkError, match="'../escape' is not usable"):
        sink.write("../escape", TABLE)


def test_a_batch_part_with_a_huge_value_is_written_without_its_statistics(tmp_path: Path) -> None:
    """The production parts take the same care: a part whose rows hold a huge value is written
    without that column's statistics and dictionary; other columns keep their statistics."""
    from casparian_engine.runner.parts import JOB_COLUMN, BatchParts

    parts = BatchParts(tmp_path / "out", "ab" * 8)
    huge = "y" * (file_sinks.HUGE_VALUE_BYTES + 1)
    parts.write("rows", pa.table({"text": [huge, "b"], JOB_COLUMN: pa.array([1, 2], pa.int64())}))
    parts.settle({1, 2})
    paths = parts.finish()
    assert paths[1] == paths[2]
    temp = parts.files()[paths[1][0]]
    metadata = pq.ParquetFile(temp).metadata
    assert metadata.row_group(0).column(0).statistics is None
    assert metadata.row_group(0).column(1).statistics.has_min_max
    assert pq.read_table(temp).column("text").to_pylist() == [huge, "b"]
