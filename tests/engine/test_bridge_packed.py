"""Packed frames (many small files per frame), two guests, --keep-going and --venv, end to end."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import venv
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from casparian_engine.bridge.frames import DataFrame, EndOfStream, FrameError, decode_frame
from casparian_engine.bridge.guest.casparian_stream import end_of_files, serialise
from casparian_engine.runner.dev import resolve_inputs

from .bridge_support import ZOO, zoo_run
from .cli_support import run_cli

CAP = 1 << 20


def _many_csvs(folder: Path, count: int, bad: set[int] = frozenset()) -> list[Path]:
    folder.mkdir()
    for index in range(count):
        name = f"bad{index:03d}.csv" if index in bad else f"f{index:03d}.csv"
        rows = "\n".join(f"{index * 10 + n},{index}" for n in range(index % 4 + 1))
        (folder / name).write_text("n,file\n" + rows + "\n")
    return resolve_inputs(folder)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_packed_frame_and_end_of_files_decode() -> None:
    batch = pa.record_batch({"n": pa.array([1, 2, 3], pa.int64())})
    payload = serialise(batch, "out", [2, 0, 1])
    frame = decode_frame([struct.pack(">I", payload.size), payload], CAP)
    assert isinstance(frame, DataFrame)
    assert (frame.output, frame.file_rows, frame.batch.num_rows) == ("out", (2, 0, 1), 3)
    assert decode_frame([end_of_files(3)], CAP) == EndOfStream(files=3)
    assert decode_frame([end_of_files(1)], CAP) == EndOfStream(files=1)


@pytest.mark.parametrize(
    ("file_rows", "message"),
    [([2, 2], "add up to 4, but it carries 3 rows"), ([4, -1], "add up to 3"), ([], "add up to 0")],
)
def test_packed_frame_with_wrong_row_counts_is_refused(file_rows: list[int], message: str) -> None:
    batch = pa.record_batch({"n": pa.array([1, 2, 3], pa.int64())})
    payload = serialise(batch, "out", file_rows)
    with pytest.raises(FrameError, match=message):
        decode_frame([struct.pack(">I", payload.size), payload], CAP)


def test_end_of_files_with_bad_count_is_refused() -> None:
    with pytest.raises(FrameError, match="completes 0 files"):
        decode_frame([struct.pack(">II", 0, 0)], CAP)
    with pytest.raises(FrameError, match="has 2 bytes after its signal"):
        decode_frame([struct.pack(">I", 0) + b"xy"], CAP)


@pytest.mark.parametrize("guests", [1, 2])
def test_many_small_files_keep_per_file_lineage(home: Path, tmp_path: Path, guests: int) -> None:
    files = _many_csvs(tmp_path / "in", 300)
    summary = zoo_run(home, "plain_csv", files, guests=guests)
    assert summary.failure is None, summary.failure
    assert (summary.files_done, summary.guests) == (300, guests)
    expected_rows = sum(index % 4 + 1 for index in range(300))
    assert summary.outputs["plain_csv"].written == expected_rows
    folder = home / "dev-output" / "plain_csv" / "plain_csv"
    assert len(list(folder.iterdir())) == 1  # coalesced into one Parquet file
    table = pq.read_table(folder).sort_by([("file", "ascending"), ("n", "ascending")])
    hashes = {index: _digest(path) for index, path in enumerate(files)}
    got = table.select(["file", "_cf_row", "_cf_source_hash"]).to_pylist()
    want = [
        {"file": index, "_cf_row": row, "_cf_source_hash": hashes[index]}
        for index in range(300)
        for row in range(1, index % 4 + 2)
    ]
    assert got == want
    assert pc.all(pc.equal(table.column("_cf_job_id"), 0)).as_py()


def test_packed_files_with_flagged_rows_keep_each_files_lineage(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "amounts"
    folder.mkdir()
    for index in range(5):
        (folder / f"a{index}.csv").write_text(f"amount,who\n{index},ann\nx{index},bob\n")
    files = resolve_inputs(folder)
    summary = zoo_run(home, "flags_rows", files)
    assert summary.failure is None, summary.failure
    counts = summary.outputs["amounts"]
    assert (counts.emitted, counts.written, counts.quarantined) == (10, 5, 5)
    root = home / "dev-output" / "flagging"
    quarantined = pq.read_table(root / "amounts__quarantine").to_pylist()
    by_path = {row["_cf_source_path"]: row for row in quarantined}
    assert sorted(by_path) == [str(path) for path in files]
    for index, path in enumerate(files):
        row = by_path[str(path)]
        assert row["_cf_source_hash"] == _digest(path) and row["_cf_row"] == 3
        assert json.loads(row["row_values"]) == {"amount": f"x{index}", "who": "bob"}
    valid = pq.read_table(root / "amounts").sort_by("amount").to_pylist()
    assert [(r["amount"], r["_cf_source_hash"]) for r in valid] == [
        (str(index), _digest(path)) for index, path in enumerate(files)
    ]


def test_keep_going_skips_failed_files_and_reports_them(home: Path, tmp_path: Path) -> None:
    files = _many_csvs(tmp_path / "in", 40, bad={7, 30})
    summary = zoo_run(home, "fails_on_bad", files, keep_going=True)
    assert summary.failure is None and summary.committed
    assert summary.files_done == 38 and summary.exit_code == 1
    assert [(Path(f.path).name, f.kind) for f in summary.failed_files] == [
        ("bad007.csv", "ValueError"),
        ("bad030.csv", "ValueError"),
    ]
    assert "cannot parse bad007.csv: broken header" in summary.failed_files[0].message
    table = pq.read_table(home / "dev-output" / "fails_on_bad" / "fails_on_bad")
    assert sorted(set(table.column("file").to_pylist())) == sorted(set(range(40)) - {7, 30})
    assert 999 not in table.column("n").to_pylist()  # the failed files' rows were dropped


def test_without_keep_going_the_first_failure_stops_and_writes_nothing(
    home: Path, tmp_path: Path
) -> None:
    files = _many_csvs(tmp_path / "in", 40, bad={7, 30})
    summary = zoo_run(home, "fails_on_bad", files)
    assert summary.failure is not None and not summary.committed
    assert Path(summary.failure.path or "").name == "bad007.csv"
    assert summary.failure.kind == "ValueError" and summary.exit_code == 1
    assert not (home / "dev-output" / "fails_on_bad" / "fails_on_bad").exists()


def test_cli_keep_going_lists_failed_files(home: Path, tmp_path: Path) -> None:
    _many_csvs(tmp_path / "in", 12, bad={3})
    result = run_cli(home, "run", str(ZOO / "fails_on_bad.py"), str(tmp_path / "in"),
                     "--keep-going", "--sink", "stdout")  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "1 file failed" in result.stderr
    assert "ValueError" in result.stderr and "cannot parse bad003.csv" in result.stderr
    assert "11 files" in result.stdout


def test_venv_runs_the_guest_on_that_interpreter(home: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "other-env"
    venv.EnvBuilder(system_site_packages=True, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # The new environment borrows this one's packages (pyarrow, pyzmq) through a .pth file.
    ours = [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]
    Path(site, "casparian_test_borrow.pth").write_text("\n".join(ours) + "\n")
    csv = tmp_path / "one.csv"
    csv.write_text("n,file\n1,0\n")
    logs: list[tuple[int, str]] = []
    summary = zoo_run(home, "plain_csv", [csv], logs=logs, venv=str(env_dir))
    assert summary.failure is None, summary.failure
    assert summary.guest_python == str(python)
    assert (20, f"guest interpreter: {python}") in logs
    assert str(python) != sys.executable
