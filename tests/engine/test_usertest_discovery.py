"""New-user fixes in discovery: BOMs per file, metadata preambles, low confidence, names."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.contracts.discover import discover, sniff_file
from casparian_engine.contracts.grouping import discover_groups
from casparian_engine.scout.classify import classify
from casparian_engine.workspace import Workspace

INVOICE = "invoice_id,issued_on,amount\n1,2023-08-01,12.50\n2,2023-08-02,7.25\n"
SENSOR = (
    "SensorHub export v4.2;device={device};site=plant-a;timezone=UTC;"
    "exported=2023-01-01T23:59:30Z\n"
    "timestamp;sensor_id;temperature_c;humidity_pct;battery_v\n"
    "2023-01-01 00:00:00;{device};19,5;35,6;3,35\n"
    "2023-01-01 00:15:00;{device};16,0;32,5;3,37\n"
    "2023-01-01 00:30:00;{device};16,0;73,0;3,58\n"
)


def _write(path: Path, text: str, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode())
    return path


def test_a_folder_mixing_bom_and_plain_files_reads_one_header(tmp_path: Path) -> None:
    _write(tmp_path / "2023" / "01" / "inv_0.csv", INVOICE)
    _write(tmp_path / "2023" / "08" / "inv_1.csv", INVOICE, bom=True)
    found = discover([tmp_path / "2023"], "invoices")
    assert [c.name for c in found.contract.columns] == ["invoice_id", "issued_on", "amount"]
    assert found.rows_sampled == 4 and found.warnings == ()


def test_a_key_value_preamble_line_is_not_the_header(tmp_path: Path) -> None:
    first = _write(tmp_path / "a" / "TH-0001.csv", SENSOR.format(device="TH-0001"))
    _write(tmp_path / "b" / "TH-0002.csv", SENSOR.format(device="TH-0002"))
    dialect = sniff_file(first)
    assert (dialect.delimiter, dialect.preamble_lines, dialect.header) == (";", 1, True)
    found = discover([tmp_path], "sensors")
    assert [c.name for c in found.contract.columns] == [
        "timestamp", "sensor_id", "temperature_c", "humidity_pct", "battery_v",
    ]  # fmt: skip
    humidity = found.contract.columns[3]
    assert (humidity.type, humidity.decimal_comma) == ("float64", True)
    assert found.rows_sampled == 6


def test_space_delimited_file_is_flagged_low_confidence(corpus_dir: Path, home: Path) -> None:
    path = corpus_dir / "duckdb-csv/pollock/file_field_delimiter_0x20.csv"
    found = discover([path], "pollock")
    assert found.warnings[0] == (
        f"{path}: only 34 of 84 sampled lines split into 8 fields with delimiter ' '; "
        "the delimiter or the quoting is probably wrong"
    )
    assert "# WARNING (low confidence): " + found.warnings[0] in found.proposal_text()
    result = CliRunner().invoke(
        app, ["schema", "discover", str(path), "--json", "-o", str(home / "p.yaml")]
    )
    assert result.exit_code == 0
    (proposal,) = json.loads(result.output)["proposals"]
    assert proposal["warnings"] == list(found.warnings)


def test_unterminated_quote_is_flagged_low_confidence(corpus_dir: Path) -> None:
    path = corpus_dir / "duckdb-csv/test/unterminated.csv"
    found = discover([path], "unterminated")
    assert found.warnings == (
        f"{path}: no delimiter splits the lines into several fields consistently; "
        "the file was read as a single column",
        f"{path}: column name '\"hello' looks like data, not a header label",
        f"{path}: only 1 row sampled; the types are guesses",
    )


def test_groups_are_named_after_the_scope_or_the_folders_that_differ(
    tmp_path: Path, workspace: Workspace
) -> None:
    invoices = [
        _write(tmp_path / "files" / "invoices" / "2023" / month / f"inv_{month}.csv", INVOICE)
        for month in ("07", "08")
    ]
    sensors = [
        _write(tmp_path / "files" / "sensors" / site / "TH.csv", SENSOR.format(device="TH-1"))
        for site in ("plant-a", "plant-b")
    ]
    found = discover_groups([*invoices, *sensors])
    assert found.skipped == () and sorted(g.name for g in found.groups) == ["invoices", "sensors"]
    (only,) = discover_groups(invoices[1:]).groups
    assert only.name == "invoices_2023_08"
    (month,) = discover_groups([invoices[1].parent]).groups  # a folder named: the same
    assert month.name == "invoices_2023_08"
    named = discover_groups([*invoices, *sensors], base_name="Q3 scope").groups
    assert sorted(g.name for g in named) == ["q3_scope_invoices", "q3_scope_sensors"]
    (output,) = discover_groups(invoices, base_name="Invoices_2023").groups
    assert output.name == "Invoices_2023"  # already a name (a parser output's): kept as is
    report = workspace.contracts.discover(invoices, name="invoices-2023")
    assert [p.stored.name for p in report.proposals] == ["invoices_2023"]
    assert report.proposals[0].to_dict()["warnings"] == []


def test_sensor_export_with_preamble_is_csv_not_log() -> None:
    head = SENSOR.format(device="TH-0001").encode()
    assert classify(".csv", head, truncated=False) == "csv"
    assert classify(".dat", head, truncated=False) == "csv"
    syslog = b"2024-01-01T10:00:00Z INFO a, b\n2024-01-01T10:00:01Z WARN c, d\n"
    assert classify(".out", syslog, truncated=False) == "log"
