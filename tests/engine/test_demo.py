"""The demo generator: deterministic bytes, counts per format, reuse and refusal, sample parsers."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import casparian_engine
from casparian_engine.demo import DemoError, generate_demo, plan_counts
from casparian_engine.demo.home import DEMO_TAG_RULES, create_demo_workspace
from casparian_engine.events import Cancelled
from casparian_engine.workspace import Workspace

from .cli_support import CASPARIAN

GUEST_DIR = Path(casparian_engine.__file__).parent / "bridge" / "guest"


def _tree(files_dir: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``files_dir``: relative path -> (bytes, mtime_ns)."""
    return {
        path.relative_to(files_dir).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(files_dir.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 200-file demo shared by the read-only tests of this module."""
    root = tmp_path_factory.mktemp("demo") / "demo"
    generate_demo(root, 200, seed=7)
    return root


def _files(demo_root: Path, pattern: str) -> list[Path]:
    return sorted((demo_root / "files").glob(pattern))


# --- Determinism and layout ---


def test_same_seed_writes_byte_identical_files_with_fixed_mtimes(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", 60, seed=3)
    second = generate_demo(tmp_path / "b", 60, seed=3)
    first_tree, second_tree = _tree(first.files_dir), _tree(second.files_dir)
    assert len(first_tree) == 60
    assert first_tree == second_tree
    assert first.content_sha256 == second.content_sha256
    other_seed = generate_demo(tmp_path / "c", 60, seed=4)
    assert other_seed.content_sha256 != first.content_sha256
    assert sorted(_tree(other_seed.files_dir)) == sorted(first_tree)  # same layout, other bytes


def test_counts_per_format_match_the_plan_and_the_tree(demo_root: Path) -> None:
    manifest = json.loads((demo_root / ".casparian-demo.json").read_text())
    expected = {
        "invoice_csv": 157,
        "sensor_csv": 16,
        "syslog": 8,
        "jsonl": 8,
        "fixed_width": 4,
        "statement_csv": 4,
        "odd": 3,
    }
    assert manifest["files_by_format"] == expected == plan_counts(200)
    assert manifest["file_count"] == 200
    assert manifest["args"] == {"files": 200, "seed": 7}
    found = {
        "invoice_csv": len(_files(demo_root, "invoices/*/*/inv_*.csv")),
        "sensor_csv": len(_files(demo_root, "sensors/*/*/TH-*.csv")),
        "syslog": len(_files(demo_root, "logs/*/syslog-*.log")),
        "jsonl": len(_files(demo_root, "events/*/*/*/app-events-*.jsonl")),
        "fixed_width": len(_files(demo_root, "legacy/erp/ACCT_EXPORT_*.TXT")),
        "statement_csv": len(_files(demo_root, "finance/statements/*/stmt_*.csv")),
        "odd": len(_files(demo_root, "incoming/*")),
    }
    assert found == expected
    parsers = sorted(p.relative_to(demo_root).as_posix() for p in demo_root.glob("parsers/*/*"))
    assert "parsers/invoices/invoices.contract.yaml" in parsers
    assert "parsers/syslog/syslog_lines.py" in parsers
    assert len([p for p in parsers if p.endswith("/pyproject.toml")]) == 5
    assert (demo_root / "home").is_dir()


def test_fifty_thousand_files_are_almost_all_invoices() -> None:
    counts = plan_counts(50_000)
    assert sum(counts.values()) == 50_000
    assert counts["invoice_csv"] == 49_309
    assert plan_counts(10) == {
        "invoice_csv": 2,
        "sensor_csv": 1,
        "syslog": 1,
        "jsonl": 1,
        "fixed_width": 1,
        "statement_csv": 1,
        "odd": 3,
    }


def test_bulk_invoices_have_one_bad_amount_in_about_five_hundred_rows(demo_root: Path) -> None:
    rows = bad = 0
    for path in _files(demo_root, "invoices/*/*/inv_*.csv"):
        lines = path.read_bytes().decode("utf-8-sig").splitlines()[1:]
        rows += len(lines)
        bad += sum(
            1 for line in lines if re.search(r",(N/A|#VALUE!|TBD|\"12,50 EUR\"|n\.a\.),", line)
        )
    assert 80 * 157 <= rows <= 120 * 157
    assert rows / 700 < bad < rows / 350


def test_odd_files_are_what_they_claim(demo_root: Path) -> None:
    special = json.loads((demo_root / ".casparian-demo.json").read_text())["special_files"]
    files_dir = demo_root / "files"
    assert (files_dir / special["empty_file"]).stat().st_size == 0
    junk = (files_dir / special["binary_junk_csv"]).read_bytes()
    assert special["binary_junk_csv"].endswith(".csv") and b"\x00" in junk
    with pytest.raises(UnicodeDecodeError):
        junk.decode("utf-8")
    with pytest.raises((EOFError, zlib.error)):
        gzip.decompress((files_dir / special["truncated_gzip"]).read_bytes())
    bom = (files_dir / special["bom_crlf_csv"]).read_bytes()
    assert bom.startswith(b"\xef\xbb\xbfinvoice_id,") and bom.count(b"\r\n") == bom.count(b"\n")
    extra = (files_dir / special["extra_column_row"]).read_text().splitlines()
    assert extra[5].endswith(",see attached note," + extra[5].rsplit(",", 1)[1])
    assert len(extra[5].split(",")) == len(extra[4].split(",")) + 1
    sensor = (files_dir / special["not_available_values"]).read_text()
    assert sensor.count(";N/A;") == 3 and sensor.startswith("SensorHub export v4.2;")
    statement = (files_dir / special["day_first_dates"]).read_text()
    assert re.search(r"^(1[3-9]|2[0-9])/0[1-9]/23,", statement, re.MULTILINE)
    legacy = (files_dir / special["truncated_fixed_width_record"]).read_bytes().decode("cp1252")
    assert [len(line) for line in legacy.split("\r\n")[1:-2]].count(40) == 1


# --- Reuse, refusal, recovery ---


def test_rerun_with_same_arguments_reuses_and_keeps_parser_edits(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "demo", 20, seed=1)
    edited_parser = first.parsers_dir / "invoices" / "invoices.py"
    edited_parser.write_text("# my edit\n")
    invoice = next(first.files_dir.glob("invoices/*/*/*.csv"))
    inode_before = invoice.stat().st_ino
    again = generate_demo(tmp_path / "demo", 20, seed=1)
    assert again.reused is True and first.reused is False
    assert again.content_sha256 == first.content_sha256
    assert invoice.stat().st_ino == inode_before
    assert edited_parser.read_text() == "# my edit\n"
    forced = generate_demo(tmp_path / "demo", 20, seed=1, force=True)
    assert forced.reused is False and forced.content_sha256 == first.content_sha256
    assert edited_parser.read_text().startswith('"""Invoice line items')


def test_different_arguments_are_refused_without_force(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    generate_demo(root, 20, seed=1)
    with pytest.raises(DemoError) as refused:
        generate_demo(root, 30, seed=1)
    assert str(refused.value) == (
        f"{root} already holds a demo made with --files 20 --seed 1; run again with those "
        "arguments to reuse it, or add --force to replace its files with --files 30 --seed 1"
    )
    assert len(_tree(root / "files")) == 20  # nothing was touched
    replaced = generate_demo(root, 30, seed=2, force=True)
    assert replaced.file_count == 30 and len(_tree(root / "files")) == 30
    assert json.loads((root / ".casparian-demo.json").read_text())["args"] == {
        "files": 30,
        "seed": 2,
    }


def test_a_directory_that_is_not_a_demo_is_refused_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    for force in (False, True):
        with pytest.raises(DemoError) as refused:
            generate_demo(tmp_path, 20, force=force)
        assert str(refused.value) == (
            f"{tmp_path} is not empty and is not a Casparian demo (no .casparian-demo.json); "
            "choose a new or empty directory"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_too_few_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DemoError) as refused:
        generate_demo(tmp_path / "demo", 9)
    assert str(refused.value) == "--files must be at least 10 (got 9)"
    assert not (tmp_path / "demo").exists()


def test_unreadable_manifest_is_refused_unless_forced(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    generate_demo(root, 20)
    (root / ".casparian-demo.json").write_text("{not json")
    with pytest.raises(DemoError) as refused:
        generate_demo(root, 20)
    assert str(refused.value).startswith(f"{root / '.casparian-demo.json'}: not valid JSON (")
    assert str(refused.value).endswith("); delete it or use --force")
    assert generate_demo(root, 20, force=True).file_count == 20


def test_damaged_tree_is_regenerated_identically(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    first = generate_demo(root, 20)
    before = _tree(first.files_dir)
    victim = first.files_dir / first.special_files["bom_crlf_csv"]
    victim.unlink()
    (first.files_dir / "stray.txt").write_text("left behind")
    again = generate_demo(root, 20)
    assert again.reused is False
    assert _tree(again.files_dir) == before


def test_a_cancelled_run_is_finished_by_the_next_run(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        generate_demo(root, 20, cancel=cancel)
    manifest = json.loads((root / ".casparian-demo.json").read_text())
    assert manifest["complete"] is False
    finished = generate_demo(root, 30)  # an incomplete demo is ours to redo, any arguments
    assert finished.reused is False and len(_tree(root / "files")) == 30


# --- The demo home: tag rules and a first scan ---


def test_demo_workspace_is_scanned_and_tagged_once(tmp_path: Path) -> None:
    made = create_demo_workspace(tmp_path / "demo", 40, seed=5)
    assert made.scan is not None and made.scan.new == 40
    counts = made.demo.files_by_format
    with Workspace.open(made.home_dir) as workspace:
        rules = {(rule.pattern, rule.tag) for rule in workspace.files.tag_rules()}
        assert rules == {(glob, tag) for glob, tag, _ in DEMO_TAG_RULES}
        assert workspace.files.count(tag="invoices") == counts["invoice_csv"]
        assert workspace.files.count(tag="sensors") == counts["sensor_csv"]
        assert workspace.files.count(tag="syslog") == counts["syslog"]
        assert workspace.files.count(tag="app_events") == counts["jsonl"]
        assert workspace.files.count(tag="legacy_accounts") == counts["fixed_width"]
        assert workspace.files.count(tag="bank_statements") == counts["statement_csv"]
    again = create_demo_workspace(tmp_path / "demo", 40, seed=5)
    assert again.demo.reused is True and again.scan is None


def test_cli_writes_the_demo_and_reports_refusal(tmp_path: Path) -> None:
    root = tmp_path / "cli-demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASPARIAN_")}
    made = subprocess.run(
        [CASPARIAN, "demo", str(root), "--files", "25", "--seed", "2", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    payload = json.loads(made.stdout)
    assert payload["file_count"] == 25 and payload["reused"] is False
    assert payload["scan"]["new"] == 25
    assert payload["home_dir"] == str(root / "home")
    refused = subprocess.run(
        [CASPARIAN, "demo", str(root), "--files", "26"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert refused.returncode == 1
    assert "already holds a demo made with --files 25 --seed 2" in " ".join(refused.stderr.split())


# --- Sample parsers, called in-process with plain Python ---


def _load_parser(demo_root: Path, directory: str, file_name: str) -> ModuleType:
    if str(GUEST_DIR) not in sys.path:
        sys.path.insert(0, str(GUEST_DIR))  # where the guest finds `casparian_parser`
    path = demo_root / "parsers" / directory / file_name
    spec = importlib.util.spec_from_file_location(f"demo_parser_{directory}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse_all(parse: Any, paths: list[Path]) -> list[tuple[Path, pa.Table]]:
    tables = []
    for path in paths:
        result = parse(str(path))
        table = result if isinstance(result, pa.Table) else pa.Table.from_batches(list(result))
        tables.append((path, table))
    return tables


def _contract_schema(demo_root: Path, directory: str, file_name: str) -> pa.Schema:
    from casparian_engine.contracts.model import SchemaContract

    path = demo_root / "parsers" / directory / file_name
    return SchemaContract.from_yaml(path.read_text(), str(path)).arrow_schema()


def _assert_matches_contract(table: pa.Table, contract: pa.Schema) -> None:
    data_fields = [f for f in table.schema if not f.name.startswith("_cf_")]
    assert [(f.name, f.type) for f in data_fields] == [(f.name, f.type) for f in contract]


def _error_rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.filter(pc.is_valid(table["_cf_row_error"])).to_pylist()


def test_invoice_parser_marks_bad_amounts_and_split_rows_at_their_lines(demo_root: Path) -> None:
    module = _load_parser(demo_root, "invoices", "invoices.py")
    parser = module.InvoiceParser()
    assert (parser.name, parser.version, parser.tags) == ("invoices", "1.0.0", ["invoices"])
    contract = _contract_schema(demo_root, "invoices", "invoices.contract.yaml")
    paths = _files(demo_root, "invoices/*/*/inv_*.csv")
    special = json.loads((demo_root / ".casparian-demo.json").read_text())["special_files"]
    total_rows = total_errors = 0
    for path, table in _parse_all(parser.parse, paths):
        source_lines = path.read_bytes().decode("utf-8-sig").splitlines()
        assert table.num_rows == len(source_lines) - 1
        _assert_matches_contract(table, contract)
        assert sorted(table["_cf_row"].to_pylist()) == list(range(2, len(source_lines) + 1))
        for row in _error_rows(table):
            source_line = source_lines[row["_cf_row"] - 1]
            if row["_cf_row_error"].startswith("expected 9 columns, got 10: "):
                assert row["_cf_row_error"] == f"expected 9 columns, got 10: {source_line}"
                assert row["invoice_id"] is None
            else:
                bad_value = re.fullmatch(r"amount is not a number: '(.*)'", row["_cf_row_error"])
                assert bad_value is not None and bad_value[1] in source_line
                assert row["amount"] is None and row["invoice_id"] in source_line
        good = table.filter(pc.is_null(table["_cf_row_error"]))
        assert good["amount"].null_count == 0
        total_rows += table.num_rows
        total_errors += len(_error_rows(table))
    assert 80 * 157 <= total_rows <= 120 * 157
    assert total_rows / 700 < total_errors < total_rows / 350
    extra_path = demo_root / "files" / special["extra_column_row"]
    extra_table = _parse_all(parser.parse, [extra_path])[0][1]
    assert [(r["_cf_row"], r["_cf_row_error"][:28]) for r in _error_rows(extra_table)][:1] == [
        (6, "expected 9 columns, got 10: ")
    ]


def test_sensor_parser_converts_decimal_commas_and_marks_not_available(demo_root: Path) -> None:
    module = _load_parser(demo_root, "sensors", "sensors.py")
    contract = _contract_schema(demo_root, "sensors", "sensors.contract.yaml")
    special = json.loads((demo_root / ".casparian-demo.json").read_text())["special_files"]
    results = _parse_all(module.SensorParser().parse, _files(demo_root, "sensors/*/*/TH-*.csv"))
    assert len(results) == 16
    for path, table in results:
        _assert_matches_contract(table, contract)
        assert table.num_rows == 96
        assert table["_cf_row"].to_pylist() == list(range(3, 99))
        source_line = path.read_text().splitlines()[2]
        expected_temperature = float(source_line.split(";")[2].replace(",", "."))
        assert table["temperature_c"][0].as_py() == expected_temperature
        errors = _error_rows(table)
        if path == demo_root / "files" / special["not_available_values"]:
            assert [(r["_cf_row"], r["_cf_row_error"]) for r in errors] == [
                (10, "humidity_pct is not a number: 'N/A'"),
                (11, "humidity_pct is not a number: 'N/A'"),
                (43, "humidity_pct is not a number: 'N/A'"),
            ]
            assert all(r["humidity_pct"] is None and r["temperature_c"] is not None for r in errors)
        else:
            assert errors == []


def test_fixed_width_parser_reads_cp1252_and_marks_the_short_record(demo_root: Path) -> None:
    module = _load_parser(demo_root, "legacy_accounts", "legacy_accounts.py")
    contract = _contract_schema(demo_root, "legacy_accounts", "legacy_accounts.contract.yaml")
    special = json.loads((demo_root / ".casparian-demo.json").read_text())["special_files"]
    paths = _files(demo_root, "legacy/erp/*.TXT")
    names: set[str] = set()
    for path, table in _parse_all(module.LegacyAccountsParser().parse, paths):
        _assert_matches_contract(table, contract)
        lines = path.read_bytes().decode("cp1252").split("\r\n")
        assert table.num_rows == sum(1 for line in lines if line.startswith("D"))
        names.update(table["name"].drop_null().to_pylist())
        errors = _error_rows(table)
        if path == demo_root / "files" / special["truncated_fixed_width_record"]:
            assert [(r["_cf_row"], r["_cf_row_error"]) for r in errors] == [
                (11, "record is 40 characters, expected 65")
            ]
            assert errors[0]["name"] == lines[10]  # the raw record is kept
        else:
            assert errors == []
    assert "MÜLLER & SÖHNE GMBH" in names


def test_fixed_width_parser_fails_a_file_whose_trailer_count_is_wrong(
    demo_root: Path, tmp_path: Path
) -> None:
    module = _load_parser(demo_root, "legacy_accounts", "legacy_accounts.py")
    source = _files(demo_root, "legacy/erp/*.TXT")[1].read_bytes().split(b"\r\n")
    cut = tmp_path / "cut.TXT"
    cut.write_bytes(b"\r\n".join(source[:3] + source[-2:]))  # header, 2 records, trailer
    trailer_count = int(source[-2][1:])
    with pytest.raises(ValueError) as failed:
        list(module.LegacyAccountsParser().parse(str(cut)))
    assert str(failed.value) == f"{cut}: trailer says {trailer_count} detail records, found 2"


def test_events_parser_reads_every_line_with_its_number(demo_root: Path) -> None:
    module = _load_parser(demo_root, "app_events", "app_events.py")
    contract = _contract_schema(demo_root, "app_events", "app_events.contract.yaml")
    for path, table in _parse_all(
        module.AppEventsParser().parse, _files(demo_root, "events/**/*.jsonl")
    ):
        _assert_matches_contract(table, contract)
        lines = path.read_text().splitlines()
        assert table.num_rows == len(lines)
        assert table["_cf_row"].to_pylist() == list(range(1, len(lines) + 1))
        assert table["user_id"].to_pylist() == [json.loads(line)["user_id"] for line in lines]


def test_syslog_level1_parser_keeps_continuation_lines_as_errors(demo_root: Path) -> None:
    module = _load_parser(demo_root, "syslog", "syslog_lines.py")
    assert callable(module.parse)  # a Level 1 module: a plain function
    continuation_total = 0
    for path, table in _parse_all(module.parse, _files(demo_root, "logs/*/*.log")):
        lines = path.read_text().splitlines()
        assert table.num_rows == len(lines)
        continuation = [n for n, line in enumerate(lines, 1) if line.startswith("\t")]
        errors = _error_rows(table)
        assert [r["_cf_row"] for r in errors] == continuation
        continuation_total += len(continuation)
        assert all(r["_cf_row_error"] == "line does not match the syslog format" for r in errors)
        assert [r["message"] for r in errors] == [lines[n - 1] for n in continuation]
        year = int(re.search(r"syslog-([0-9]{4})", path.name)[1])  # type: ignore[index]
        assert {ts.year for ts in table["logged_at"].drop_null().to_pylist()} == {year}
        assert table["host"].drop_null().unique().to_pylist() == [path.parent.name]
    assert continuation_total > 0


def test_invoice_parser_runs_through_casparian_run_with_the_same_counts(
    demo_root: Path, tmp_path: Path
) -> None:
    module = _load_parser(demo_root, "invoices", "invoices.py")
    invoices_dir = demo_root / "files" / "invoices"
    paths = _files(demo_root, "invoices/*/*/inv_*.csv")
    tables = [table for _, table in _parse_all(module.InvoiceParser().parse, paths)]
    emitted = sum(t.num_rows for t in tables)
    marked = sum(len(_error_rows(t)) for t in tables)
    assert marked > 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASPARIAN_")}
    parser_path = demo_root / "parsers" / "invoices" / "invoices.py"
    command = [CASPARIAN, "--home", str(tmp_path / "home"), "run", str(parser_path)]
    ran = subprocess.run(
        [*command, str(invoices_dir), "--sink", f"parquet://{tmp_path / 'out'}", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["files"] == len(tables)
    assert summary["outputs"]["invoices"] == {
        "emitted": emitted,
        "written": emitted - marked,
        "quarantined": marked,
    }
