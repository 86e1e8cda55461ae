"""Packed frames with quarantined rows are routed whole: every row keeps its own file's lineage."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq

from casparian_engine.runner.dev import resolve_inputs

from .bridge_support import zoo_run


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _orders(folder: Path, count: int) -> list[Path]:
    """File i: a clean row, a negative amount (every third file), a bad id (every fifth), a
    clean row; the parser gives no line numbers, so ``_cf_row`` is the row's position + 1."""
    folder.mkdir()
    for index in range(count):
        rows = [f"{index},1.5"]
        if index % 3 == 0:
            rows.append(f"{index},-{index + 1}")
        if index % 5 == 0:
            rows.append(f"x{index},2")
        rows.append(f"{index},{index}.25")
        (folder / f"orders{index:03d}.csv").write_text("id,amount\n" + "\n".join(rows) + "\n")
    return resolve_inputs(folder)


def test_contract_quarantine_in_a_pack_keeps_each_files_rows_and_lines(
    home: Path, tmp_path: Path
) -> None:
    files = _orders(tmp_path / "in", 60)
    summary = zoo_run(home, "contracted", files)
    assert summary.failure is None, summary.failure
    counts = summary.outputs["orders"]
    negative = [i for i in range(60) if i % 3 == 0]
    bad_id = [i for i in range(60) if i % 5 == 0]
    assert (counts.emitted, counts.written, counts.quarantined) == (
        120 + len(negative) + len(bad_id),
        120,
        len(negative) + len(bad_id),
    )
    root = home / "dev-output" / "contracted"
    hashes = {str(path): _digest(path) for path in files}
    quarantined = pq.read_table(root / "orders__quarantine").to_pylist()
    got = sorted(
        (row["_cf_source_path"], row["_cf_row"], row["rules"], json.loads(row["row_values"]))
        for row in quarantined
    )
    want = sorted(
        [
            (str(files[i]), 2, "range:amount", {"id": str(i), "amount": f"-{i + 1}"})
            for i in negative
        ]
        + [
            (str(files[i]), 3 if i % 3 == 0 else 2, "cast:id", {"id": f"x{i}", "amount": "2"})
            for i in bad_id
        ]
    )
    assert got == want
    assert all(row["_cf_source_hash"] == hashes[row["_cf_source_path"]] for row in quarantined)
    valid = pq.read_table(root / "orders").to_pylist()
    by_file = {hashes[str(path)]: index for index, path in enumerate(files)}
    got_valid = sorted((by_file[r["_cf_source_hash"]], r["_cf_row"], r["amount"]) for r in valid)
    want_valid = sorted(
        (i, line, amount)
        for i in range(60)
        for line, amount in ((1, 1.5), (2 + (i % 3 == 0) + (i % 5 == 0), i + 0.25))
    )
    assert got_valid == want_valid


def test_parser_flagged_and_contract_rows_of_many_files_in_one_pack(
    home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for index in range(12):
        (folder / f"m{index:02d}.csv").write_text(
            f"id,amount\n{index},flag\n{index},-1\n{index},{index}\n"
        )
    files = resolve_inputs(folder)
    parser = tmp_path / "parser"
    parser.mkdir()
    zoo = Path(__file__).resolve().parent / "zoo"
    for name in ("flags_and_contract.py", "orders.contract.yaml"):
        (parser / name).write_text((zoo / name).read_text())
    summary = zoo_run(home, parser / "flags_and_contract.py", files)
    assert summary.failure is None, summary.failure
    counts = summary.outputs["orders"]
    assert (counts.emitted, counts.written, counts.quarantined) == (36, 12, 24)
    root = home / "dev-output" / "flags_and_contract"
    quarantined = pq.read_table(root / "orders__quarantine").to_pylist()
    rows_by_file: dict[str, list[tuple[int, str]]] = {}
    for row in quarantined:
        assert row["_cf_source_hash"] == _digest(Path(row["_cf_source_path"]))
        rows_by_file.setdefault(row["_cf_source_path"], []).append((row["_cf_row"], row["rules"]))
    # per file: the parser-flagged row first (line 103), then the contract's (line 102)
    assert rows_by_file == {
        str(path): [(103, "parser_flagged"), (102, "range:amount")] for path in files
    }
    valid = pq.read_table(root / "orders").to_pylist()
    assert sorted((r["id"], r["_cf_row"]) for r in valid) == [(i, 101) for i in range(12)]
