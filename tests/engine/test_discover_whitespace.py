"""Whitespace-delimited tables (columns separated by runs of spaces) are sniffed as such when
they clearly are tables, read into the right columns by discovery and `casparian preview`, and
prose or ragged comma files are not mistaken for them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.contracts.dialect import read_text_table, sniff_file
from casparian_engine.contracts.discover import discover
from casparian_engine.parsers.preview import preview_file

LISTING = """\
total 48
-rw-r--r--  1 root root  1234 Nov 26 02:18 Makefile
-rw-r--r--  1 root root   581 Nov 26 02:18 README.md
drwxr-xr-x  4 root root  4096 Nov 26 02:18 bench
drwxr-xr-x 12 root root  4096 Nov 26 02:18 casparian_engine
-rw-r--r--  1 root root 30211 Nov 25 11:02 pyproject.toml
"""
REPORT = (
    "Disk report\r\n"
    "\r\n"
    "host         cpu_pct   mem_mb   status\r\n"
    "web-01          12.5     2048   ok\r\n"
    "web-02          97.1     8192   degraded\r\n"
    "\r\n"
    "db-01            3.0    16384   ok\r\n"
    "db-02           45.25   16384   ok\r\n"
)
PROSE = """\
The quick brown fox jumps over the lazy dog.
It was the best of times, it was the worst of times.
Call me Ishmael.
Some years ago, never mind how long precisely, having little money in my purse,
and nothing particular to interest me on shore, I thought I would sail about a little.
"""
EVEN_PROSE = "red green blue\nthe sea shore\nsome more words\nwhat a day\n"  # 3 words a line


def test_an_ls_listing_is_whitespace_delimited(tmp_path: Path) -> None:
    path = tmp_path / "listing.txt"
    path.write_text(LISTING)
    dialect = sniff_file(path)
    assert dialect.whitespace and (dialect.header, dialect.preamble_lines) == (False, 1)
    assert dialect.describe() == (
        "encoding utf-8, delimiter runs of whitespace, header no, preamble lines 1"
    )
    table = read_text_table(path, dialect)
    assert table.column_names == [f"column_{n}" for n in range(1, 10)]
    assert table.to_pylist()[3] == dict(
        zip(
            table.column_names,
            ["drwxr-xr-x", "12", "root", "root", "4096", "Nov", "26", "02:18", "casparian_engine"],
            strict=True,
        )
    )
    found = discover([path], "listing")
    assert [c.type for c in found.contract.columns] == [
        "string", "int64", "string", "string", "int64", "string", "int64", "time(us)", "string",
    ]  # fmt: skip
    assert found.warnings == ()
    assert (
        "# Dialect: encoding utf-8, delimiter runs of whitespace, header no, preamble lines 1"
        in (found.proposal_text())
    )


def test_an_aligned_report_keeps_its_header_past_a_title_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "report.dat"
    path.write_bytes(REPORT.encode())
    dialect = sniff_file(path)
    assert dialect.whitespace and (dialect.header, dialect.preamble_lines) == (True, 2)
    assert read_text_table(path, dialect).to_pylist() == [
        {"host": "web-01", "cpu_pct": "12.5", "mem_mb": "2048", "status": "ok"},
        {"host": "web-02", "cpu_pct": "97.1", "mem_mb": "8192", "status": "degraded"},
        {"host": "db-01", "cpu_pct": "3.0", "mem_mb": "16384", "status": "ok"},
        {"host": "db-02", "cpu_pct": "45.25", "mem_mb": "16384", "status": "ok"},
    ]
    columns = discover([path], "report").contract.columns
    assert [(c.name, c.type) for c in columns] == [
        ("host", "string"), ("cpu_pct", "float64"), ("mem_mb", "int64"), ("status", "string"),
    ]  # fmt: skip


def test_prose_is_not_taken_for_a_whitespace_table(tmp_path: Path) -> None:
    path = tmp_path / "prose.txt"
    path.write_text(PROSE)
    dialect = sniff_file(path)
    assert not dialect.whitespace and dialect.delimiter == ""
    # Prose has no delimiter to find: one column, and the proposal says so.
    assert discover([path], "prose").warnings[0] == (
        f"{path}: no delimiter splits the lines into several fields consistently; "
        "the file was read as a single column"
    )
    even = tmp_path / "even.txt"
    even.write_text(EVEN_PROSE)  # as many words on every line, but no numbers and no alignment
    assert not sniff_file(even).whitespace


def test_comma_files_stay_comma_files(tmp_path: Path) -> None:
    spaced_commas = tmp_path / "spaced.csv"
    spaced_commas.write_text("id, name, amount\n1, ann, 10\n2, bob, 20\n3, cy, 30\n")
    dialect = sniff_file(spaced_commas)
    assert (dialect.delimiter, dialect.whitespace) == (",", False)
    ragged = tmp_path / "ragged.csv"  # commas split unevenly; spaces split evenly: still commas
    ragged.write_text(
        "2024-01-01 10:00:00,5\n2024-01-01 10:01:00,6,x\n2024-01-01 10:02:00,7,y,z\n"
        "2024-01-01 10:03:00,8\n2024-01-01 10:04:00,9,,\n"
    )
    assert sniff_file(ragged).whitespace is False
    uneven = tmp_path / "uneven.txt"  # one file name with a space breaks the columns: not clear
    uneven.write_text(LISTING + "-rw-r--r--  1 root root   12 Nov 25 11:02 my notes.txt\n")
    assert not sniff_file(uneven).whitespace


def test_preview_shows_the_columns_of_a_whitespace_table(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "report.dat"
    path.write_bytes(REPORT.encode())
    result = CliRunner().invoke(app, ["preview", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        f"{path}: whitespace-delimited (delimiter='whitespace', header=True, preamble_lines=2, "
        "encoding='utf-8')"
    )
    assert lines[1] == (
        "Schema guess: host: string, cpu_pct: float64, mem_mb: int64, status: string"
    )
    listing = tmp_path / "listing.txt"  # a .txt shows its lines unless they clearly are a table
    listing.write_text(LISTING)
    shown = preview_file(listing)
    assert shown.format == "whitespace-delimited" and shown.notes == []
    assert shown.rows[0] == [
        "-rw-r--r--", "1", "root", "root", "1234", "Nov", "26", "02:18", "Makefile",
    ]  # fmt: skip


def test_preview_of_prose_still_shows_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "prose.txt"
    path.write_text(PROSE)
    shown = preview_file(path)
    assert (shown.format, shown.schema, shown.error) == ("text", [("line", "string")], None)
    assert shown.rows[2] == ["Call me Ishmael."]
