"""The dev loop end to end: quarantine, contracts, lineage, one warm guest, --whatif, --force."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from casparian_engine.runner.dev import InputError, resolve_inputs

from .bridge_support import ZOO, zoo_run
from .cli_support import run_cli


@pytest.fixture
def amounts_csv(tmp_path: Path) -> Path:
    path = tmp_path / "amounts.csv"
    path.write_text("amount,who\n10,ann\nx7,bob\n-3,cy\n")
    return path


def test_parser_flagged_rows_go_to_quarantine_with_lineage(home: Path, amounts_csv: Path) -> None:
    summary = zoo_run(home, "flags_rows", amounts_csv)
    assert summary.failure is None
    counts = summary.outputs["amounts"]
    assert (counts.emitted, counts.written, counts.quarantined) == (3, 2, 1)
    root = home / "dev-output" / "flagging"
    valid = pq.read_table(root / "amounts")
    assert valid.column("amount").to_pylist() == ["10", "-3"]
    assert valid.column("_cf_row").to_pylist() == [2, 4]
    digest = hashlib.sha256(amounts_csv.read_bytes()).hexdigest()
    assert set(valid.column("_cf_source_hash").to_pylist()) == {digest}
    assert set(valid.column("_cf_parser_version").to_pylist()) == {"1.2.0"}
    assert set(valid.column("_cf_job_id").to_pylist()) == {0}
    quarantined = pq.read_table(root / "amounts__quarantine").to_pylist()
    assert len(quarantined) == 1
    row = quarantined[0]
    assert row["_cf_row"] == 3 and row["rules"] == "parser_flagged"
    assert json.loads(row["violations"]) == [
        {"column": None, "rule": "parser_flagged", "reason": "not a number: x7"}
    ]
    assert json.loads(row["row_values"]) == {"amount": "x7", "who": "bob"}
    assert row["_cf_source_path"] == str(amounts_csv)
    assert pq.read_table(root / "notes").column("note").to_pylist() == ["parsed amounts.csv"]


def test_contract_violations_are_quarantined(home: Path, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("id,amount\n1,2.5\n2,-1\nthree,4\n")
    summary = zoo_run(home, "contracted", orders)
    assert summary.failure is None, summary.failure
    counts = summary.outputs["orders"]
    assert (counts.emitted, counts.written, counts.quarantined) == (3, 1, 2)
    valid = pq.read_table(home / "dev-output" / "contracted" / "orders")
    assert valid.column("id").to_pylist() == [1]
    assert str(valid.schema.field("amount").type) == "double"
    quarantined = pq.read_table(home / "dev-output" / "contracted" / "orders__quarantine")
    assert sorted(quarantined.column("_cf_row").to_pylist()) == [2, 3]


def test_many_files_share_one_warm_guest(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    for number in range(30):
        (folder / f"f{number:02d}.txt").write_text(str(number))
    summary = zoo_run(home, "pid_reporter", resolve_inputs(folder))
    assert summary.failure is None
    assert summary.files_done == 30
    table = pq.read_table(home / "dev-output" / "pid_reporter" / "pid_reporter")
    assert table.num_rows == 30
    assert len(set(table.column("guest_pid").to_pylist())) == 1
    assert len(list((home / "dev-output" / "pid_reporter" / "pid_reporter").iterdir())) == 1


def test_resolve_inputs_file_folder_glob(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.csv").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    assert resolve_inputs(tmp_path / "a.csv") == [(tmp_path / "a.csv").resolve()]
    assert [p.name for p in resolve_inputs(tmp_path)] == ["a.csv", "b.csv"]
    assert [p.name for p in resolve_inputs(f"{tmp_path}/**/*.csv")] == ["a.csv", "b.csv"]
    with pytest.raises(InputError, match="no such file or directory"):
        resolve_inputs(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="no input files found"):
        resolve_inputs(f"{tmp_path}/*.parquet")


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(home, *args)


def test_cli_whatif_writes_nothing_and_force_replaces(home: Path, amounts_csv: Path) -> None:
    parser = str(ZOO / "flags_rows.py")
    whatif = _cli(home, "run", parser, str(amounts_csv), "--whatif")
    assert whatif.returncode == 0, whatif.stderr
    assert "Would write amounts: 2 rows, 1 quarantined" in whatif.stdout
    assert "amount: string" in whatif.stdout
    assert not (home / "dev-output").exists()
    first = _cli(home, "run", parser, str(amounts_csv))
    assert first.returncode == 0, first.stderr
    assert "1 file, 3 rows written, 1 flagged/quarantined" in first.stdout
    again = _cli(home, "run", parser, str(amounts_csv))
    assert again.returncode == 1
    assert "use --force to replace it" in again.stderr
    forced = _cli(home, "run", parser, str(amounts_csv), "--force")
    assert forced.returncode == 0, forced.stderr
    assert pq.read_table(home / "dev-output" / "flagging" / "amounts").num_rows == 2


@pytest.mark.parametrize("scheme", ["sqlite", "duckdb", "ipc"])
def test_cli_other_sinks(home: Path, amounts_csv: Path, tmp_path: Path, scheme: str) -> None:
    target = tmp_path / f"out.{scheme}"
    result = _cli(
        home, "run", str(ZOO / "flags_rows.py"), str(amounts_csv), "--sink", f"{scheme}://{target}"
    )
    assert result.returncode == 0, result.stderr
    assert target.exists()


def test_cli_transient_failure_exits_2(home: Path, amounts_csv: Path) -> None:
    result = _cli(home, "run", str(ZOO / "transient.py"), str(amounts_csv))
    assert result.returncode == 2
    assert "TransientError" in result.stderr and "the network share is offline" in result.stderr


def test_cli_logs_print_and_summary(home: Path, amounts_csv: Path) -> None:
    result = _cli(home, "run", str(ZOO / "log_spam.py"), str(amounts_csv), "--sink", "stdout")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("spam line 0 ")
    assert "log_spam — 2 rows" in result.stdout
