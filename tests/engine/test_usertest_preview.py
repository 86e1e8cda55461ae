"""New-user fixes in `casparian preview`: discovery's engine, clear errors, wide files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.contracts.discover import discover
from casparian_engine.parsers.preview import preview_file

SENSOR = (
    "SensorHub export v4.2;device=TH-0001;site=plant-a;timezone=UTC;exported=2023-01-01T23:59:30Z\n"
    "timestamp;sensor_id;temperature_c;humidity_pct\n"
    "2023-01-01 00:00:00;TH-0001;19,5;35,6\n"
    "2023-01-01 00:15:00;TH-0001;16,0;N/A\n"
    "2023-01-01 00:30:00;TH-0001;16,0;73,0\n"
)


def test_preview_agrees_with_discover_on_preamble_and_decimal_comma(tmp_path: Path) -> None:
    path = tmp_path / "TH-0001.csv"
    path.write_text(SENSOR)
    found = discover([path], "sensors")
    shown = preview_file(path)
    assert shown.format == "csv" and shown.error is None
    assert shown.dialect["preamble_lines"] == found.dialect.preamble_lines == 1
    assert [name for name, _ in shown.schema] == [c.name for c in found.contract.columns]
    assert shown.schema == [
        ("timestamp", "timestamp(us) (format %Y-%m-%d %H:%M:%S)"),
        ("sensor_id", "string"),
        ("temperature_c", "float64 (decimal comma)"),
        ("humidity_pct", "float64 (decimal comma)"),
    ]
    assert shown.rows[1] == ["2023-01-01 00:15:00", "TH-0001", "16,0", "N/A"]


def test_unterminated_quote_shows_the_raw_lines(corpus_dir: Path, home: Path) -> None:
    path = corpus_dir / "duckdb-csv/test/unterminated.csv"
    result = CliRunner().invoke(app, ["preview", str(path)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert (
        f"{path}: no delimiter splits the lines into fields; showing the raw lines" in result.output
    )
    assert preview_file(path).rows == [['"hello'], [""], [" world"]]


def test_one_line_without_a_delimiter_shows_its_line(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("x=1")
    result = CliRunner().invoke(app, ["preview", str(path)])
    assert result.exit_code == 0
    assert "│ x=1      │" in result.output
    assert f"{path}: no delimiter splits the lines into fields; showing the raw lines" in (
        result.output
    )
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["preview", str(path), "--json"])
    payload = json.loads(result.output)
    assert result.exit_code == 0 and payload["rows"] == [["x=1"]]
    assert payload["error"] is None


def test_wide_file_shows_the_columns_that_fit(corpus_dir: Path, home: Path) -> None:
    path = corpus_dir / "duckdb-csv/real/ontime_sample.csv"
    result = CliRunner().invoke(app, ["preview", str(path), "-n", "2"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    table_lines = [line for line in result.output.splitlines() if line.startswith("┃ Year")]
    assert table_lines and all(len(line) <= 80 for line in table_lines)
    assert "+104 more columns (use --json)" in result.output
    piped = CliRunner().invoke(app, ["preview", str(path), "-n", "2"])
    assert "more columns" not in piped.output and "Div5TailNum" in piped.output


def test_json_previews_objects_as_columns_and_anything_else_as_json_values(
    tmp_path: Path,
) -> None:
    objects = tmp_path / "objects.jsonl"
    objects.write_text('{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n')
    shown = preview_file(objects)
    assert (shown.format, shown.schema, shown.rows) == (
        "jsonl",
        [("a", "int64"), ("b", "string")],
        [[1, "x"], [2, "y"]],
    )
    scalars = tmp_path / "scalars.json"
    scalars.write_text('[1, 2, "three"]')
    shown = preview_file(scalars)
    assert (shown.format, shown.schema, shown.rows, shown.notes) == (
        "json",
        [("value", "json")],
        [["1"], ["2"], ['"three"']],
        [],
    )


def test_json_objects_of_mixed_types_are_shown_whole_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"a": 1}\n{"a": "one"}\n')
    shown = preview_file(path)
    assert shown.error is None
    assert shown.schema == [("value", "json")]
    assert shown.rows == [['{"a": 1}'], ['{"a": "one"}']]
    assert shown.notes == ["objects have mixed types; shown as JSON"]
