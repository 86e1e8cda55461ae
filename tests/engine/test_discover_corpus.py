"""Discovery on the real corpus: dialect accuracy against hand-checked truth; csv-spectrum rows."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from casparian_engine.contracts.discover import (
    DiscoveryError,
    discover,
    infer_column,
    read_text_table,
    sniff_file,
)

# Hand-checked by reading each file: (delimiter, header, preamble lines). Files whose dialect is
# ambiguous even to a person (ragged rows, space-delimited prose) are left out.
GROUND_TRUTH: dict[str, tuple[str, bool, int]] = {
    **{
        f"csv-spectrum/csvs/{name}.csv": (",", True, 0)
        for name in (
            "comma_in_quotes",
            "escaped_quotes",
            "json",
            "location_coordinates",
            "newlines",
            "newlines_crlf",
            "quotes_and_newlines",
            "simple",
            "simple_crlf",
            "utf8",
        )
    },
    "duckdb-csv/auto/duplicate_header_columns.csv": (",", True, 0),
    "duckdb-csv/auto/missing_header_col.csv": (",", True, 0),
    "duckdb-csv/auto/no_header.csv": (",", False, 0),
    "duckdb-csv/auto/pipe_delim.csv": ("|", False, 0),
    "duckdb-csv/auto/quote_escape.csv": ("|", False, 0),
    "duckdb-csv/auto/semicolon_delim.csv": (";", False, 0),
    "duckdb-csv/auto/tab.csv": ("\t", False, 0),
    "duckdb-csv/auto/utf8bom.csv": (",", True, 0),
    "duckdb-csv/auto/multiple_skip_row.csv": (",", True, 2),
    "duckdb-csv/decimal_separators/decimal_separators.csv": (";", True, 0),
    "duckdb-csv/dirty_line.csv": (",", True, 1),
    "duckdb-csv/ignore_errors.csv": (";", True, 0),
    "duckdb-csv/real/greek_utf8.csv": ("|", False, 0),
    "duckdb-csv/real/web_page.csv": ("|", False, 0),
    "duckdb-csv/real/ontime_sample.csv": (",", True, 0),
    "duckdb-csv/real/lineitem_sample.csv": ("|", False, 0),
    "duckdb-csv/rejects/multiple_errors/multiple_errors.csv": (",", True, 0),
    "duckdb-csv/small_bad.csv": (",", False, 0),
    "duckdb-csv/comments/mid_line_quote.csv": (";", True, 1),
    "duckdb-csv/encodings/latin1.csv": (",", True, 0),
    "duckdb-csv/encodings/utf16.csv": (",", True, 0),
    "duckdb-csv/encodings/shift_jis.csv": (",", True, 0),
    "duckdb-csv/one_r_two.csv": ("", True, 0),
}


def dialect_accuracy(corpus: Path) -> tuple[float, list[str]]:
    """Share of ground-truth files whose (delimiter, header, preamble) discovery gets right."""
    misses = []
    for relative, expected in GROUND_TRUTH.items():
        dialect = sniff_file(corpus / relative)
        found = (dialect.delimiter, dialect.header, dialect.preamble_lines)
        if found != expected:
            misses.append(f"{relative}: expected {expected}, found {found}")
    return 1 - len(misses) / len(GROUND_TRUTH), misses


def test_dialect_accuracy_on_the_corpus(corpus_dir: Path) -> None:
    accuracy, misses = dialect_accuracy(corpus_dir)
    print(f"dialect accuracy {accuracy:.1%} over {len(GROUND_TRUTH)} files; misses: {misses}")
    assert accuracy >= 0.9, misses


def test_encodings_are_sniffed(corpus_dir: Path) -> None:
    encodings = {
        "duckdb-csv/auto/utf8bom.csv": "utf-8-sig",
        "duckdb-csv/encodings/utf16.csv": "utf-16",
        "duckdb-csv/encodings/latin1.csv": "latin-1",
        "duckdb-csv/encodings/shift_jis.csv": "shift_jis",
    }
    for relative, encoding in encodings.items():
        assert sniff_file(corpus_dir / relative).encoding == encoding, relative


SPECTRUM = [
    "comma_in_quotes", "escaped_quotes", "json", "location_coordinates", "newlines",
    "newlines_crlf", "quotes_and_newlines", "simple", "simple_crlf", "utf8", "empty",
    "empty_crlf",
]  # fmt: skip


@pytest.mark.parametrize("name", SPECTRUM)
def test_csv_spectrum_rows_match_their_json(corpus_dir: Path, name: str) -> None:
    path = corpus_dir / "csv-spectrum" / "csvs" / f"{name}.csv"
    expected = json.loads((corpus_dir / "csv-spectrum" / "json" / f"{name}.json").read_text())
    if isinstance(expected, dict):  # location_coordinates.json holds its one row bare
        expected = [expected]
    table = read_text_table(path, sniff_file(path), max_rows=None)
    rows = table.to_pylist()
    normalise = lambda rows: [{k: v.replace("\r\n", "\n") for k, v in r.items()} for r in rows]  # noqa: E731
    if name == "location_coordinates":
        # Upstream's JSON has a different phone number than its CSV; every other field matches.
        for row in (*rows, *expected):
            row.pop("Contact Phone Number")
    assert normalise(rows) == normalise(expected)


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\n\n")
    with pytest.raises(DiscoveryError) as info:
        discover([path], "blank")
    assert str(info.value) == f"{path}: the file is empty"


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DiscoveryError) as info:
        discover([tmp_path / "nope.csv"], "x")
    assert str(info.value) == f"{tmp_path / 'nope.csv'}: no such file or folder"


def test_discover_types_a_real_file(corpus_dir: Path) -> None:
    found = discover(
        [corpus_dir / "duckdb-csv" / "auto" / "time_date_timestamp_dd-mm-yyyy.csv"], "t"
    )
    types = {c.name: (c.type, c.format) for c in found.contract.columns}
    assert any(t == "date" and f and f.startswith("%d") for t, f in types.values()), types


def test_one_day_first_value_proves_day_first() -> None:
    spec, formats = infer_column("d", pa.chunked_array([["01/02/24", "05/06/24", "31/05/24"]]))
    assert (spec.type, spec.format) == ("date", "%d/%m/%y")
    assert "%m/%d/%y" not in formats
    spec, formats = infer_column("d", pa.chunked_array([["01/02/24", "05/06/24"]]))
    assert formats[:2] == ["%d/%m/%y", "%m/%d/%y"]


def test_a_lone_null_token_among_numbers_is_a_null_token() -> None:
    spec, _ = infer_column("n", pa.chunked_array([["1", "2", "N/A", "4"]]))
    assert (spec.type, spec.nullable, spec.null_values) == ("int64", True, ("", "N/A"))
    spec, _ = infer_column("n", pa.chunked_array([["1", "2", "4"]]))
    assert (spec.type, spec.nullable, spec.null_values) == ("int64", False, None)
    spec, _ = infer_column("zip", pa.chunked_array([["01234", "12345"]]))
    assert spec.type == "string"
    spec, _ = infer_column("x", pa.chunked_array([["1,5", "1.234,75"]]))
    assert (spec.type, spec.decimal_comma) == ("float64", True)
