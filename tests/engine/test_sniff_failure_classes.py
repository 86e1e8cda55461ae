"""One test per class of sniffing failure seen on real-world corpora (issue 15), each on a file
written here that shows the class, asserting the exact dialect found."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_engine.contracts.dialect import SNIFF_BYTES, read_text_table, sniff_file


def split(path: Path) -> tuple[str, str, str | None, bool, int]:
    dialect = sniff_file(path)
    return dialect.delimiter, dialect.quote, dialect.escape, dialect.header, dialect.preamble_lines


def test_doubled_quotes_win_over_a_stray_backslash(tmp_path: Path) -> None:
    """Class 1: one backslash before a quote must not switch a doubled-quote file to escapes."""
    path = tmp_path / "paths.csv"
    path.write_text(
        "id,path,comment\n"
        '1,"C:\\Users\\ann\\","she said ""hi"""\n'
        '2,"D:\\data\\x.txt",plain\n'
        '3,"E:\\tmp","a ""quoted"" word, with a comma"\n'
        '4,"\\\\share\\docs","none"\n'
        '5,"F:\\",""""\n'
    )
    assert split(path) == (",", '"', None, True, 0)
    rows = read_text_table(path, sniff_file(path)).to_pylist()
    assert rows[0] == {"id": "1", "path": "C:\\Users\\ann\\", "comment": 'she said "hi"'}
    assert rows[4]["comment"] == '"'
    escaped = tmp_path / "escaped.csv"  # quotes escaped with backslashes, never doubled
    escaped.write_text(
        'id,quote\n1,"say \\"hi\\""\n2,"a \\"b\\", c"\n3,"plain"\n4,"\\"x\\" and \\"y\\""\n'
    )
    assert split(escaped) == (",", '"', "\\", True, 0)


def test_nothing_quoted_means_no_quote_character_and_a_later_quoted_field_still_reads(
    tmp_path: Path,
) -> None:
    """Class 2: no quoted field in the sample: no quote character; a quoted field past the
    sniffed bytes is still read as one value."""
    path = tmp_path / "plain.csv"
    rows = [f"{n},item {n},{n * 1.5}" for n in range(SNIFF_BYTES // 16)]
    path.write_text("id,name,amount\n" + "\n".join(rows) + '\n99999,"Smith, John",2.5\n')
    assert split(path) == (",", "", None, True, 0)
    table = read_text_table(path, sniff_file(path), max_rows=None)
    assert table.num_rows == len(rows) + 1
    assert table.slice(table.num_rows - 1).to_pylist() == [
        {"id": "99999", "name": "Smith, John", "amount": "2.5"}
    ]


def test_apostrophes_are_not_quote_characters(tmp_path: Path) -> None:
    """Class 3: possessives, names and byte-string literals hold apostrophes, not quotes."""
    path = tmp_path / "names.csv"
    path.write_text(
        "id,name,payload,comment\n"
        "1,'t Hooft,b'\\x00abc',Bob's diner\n"
        "2,O'Brien,b'',it's fine\n"
        "3,D'Angelo,b'\\xff',don't\n"
        "4,Smith,b'ok',the '90s\n"
        "5,N'Diaye,b'a b',rock 'n' roll\n"
    )
    assert split(path) == (",", "", None, True, 0)


@pytest.mark.parametrize("delimiter", [":", "#", "+", "^", "~", "!", "&"])
def test_delimiters_beyond_the_usual_five(tmp_path: Path, delimiter: str) -> None:
    """Class 4: real files are separated by ``:``, ``#``, ``+``, ``^``, ``~`` and others."""
    rows = [
        ["code", "city", "opened", "staff", "rating"],
        ["A01", "Lyon", "2019-03-01", "12", "4.5"],
        ["B22", "Porto", "2020-11-15", "8", "3.9"],
        ["C03", "Graz", "2018-07-30", "21", "4.1"],
        ["D47", "Turku", "2021-01-04", "5", "4.8"],
        ["E15", "Cork", "2017-09-12", "17", "3.2"],
    ]
    path = tmp_path / "odd.txt"
    path.write_text("".join(delimiter.join(row) + "\n" for row in rows))
    assert split(path) == (delimiter, "", None, True, 0)


def test_a_single_column_file_gets_no_delimiter(tmp_path: Path) -> None:
    """Class 5: one value a line, some holding commas or spaces: no delimiter is invented."""
    path = tmp_path / "cities.csv"
    path.write_text(
        "city\nParis\nNew York, NY\nTokyo\nSão Paulo\nBerlin\nLos Angeles, CA\nLagos\nLima\n"
        "Cairo\nOslo\n"
    )
    assert split(path) == ("", "", None, True, 0)
    table = read_text_table(path, sniff_file(path))
    assert table.column_names == ["city"] and table.column("city").to_pylist()[1] == "New York, NY"


def test_a_header_one_field_off_is_still_the_header(tmp_path: Path) -> None:
    """Class 6: a header one field short (R's row names; rows with a trailing delimiter) or one
    field long (a trailing delimiter on the header) is the header, not a preamble line."""
    row_names = tmp_path / "r.csv"
    row_names.write_text(
        '"height","weight","group"\n"1",1.72,65.1,"a"\n"2",1.80,80.3,"b"\n"3",1.65,55.0,"a"\n'
    )
    assert split(row_names) == (",", '"', None, True, 0)
    table = read_text_table(row_names, sniff_file(row_names))
    assert table.column_names == ["column_1", "height", "weight", "group"]
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("a;b;c\n1;2;3;\n4;5;6;\n7;8;9;\n10;11;12;\n")
    assert split(trailing) == (";", "", None, True, 0)
    assert read_text_table(trailing, sniff_file(trailing)).column_names == [
        "a", "b", "c", "column_4",
    ]  # fmt: skip
    long_header = tmp_path / "long.csv"
    long_header.write_text("x,y,z,\n1,2,3\n4,5,6\n7,8,9\n")
    assert split(long_header) == (",", "", None, True, 0)
    assert read_text_table(long_header, sniff_file(long_header)).column_names == ["x", "y", "z"]


def test_preamble_lines_padded_with_delimiters_are_preamble(tmp_path: Path) -> None:
    """Class 7: title lines padded to the table's width (``Title,,,,``) are not rows."""
    path = tmp_path / "report.csv"
    path.write_text(
        "Quarterly sales report,,,,\n"
        "Generated 2024-03-01 by finance,,,,\n"
        ",,,,\n"
        "region,q1,q2,q3,q4\n"
        "north,10,12,9,14\n"
        "south,7,8,11,6\n"
        "east,15,13,12,18\n"
        "west,4,6,5,9\n"
    )
    assert split(path) == (",", "", None, True, 3)
    assert read_text_table(path, sniff_file(path)).column_names == [
        "region",
        "q1",
        "q2",
        "q3",
        "q4",
    ]


def test_a_close_runner_up_is_named_in_the_proposal(tmp_path: Path) -> None:
    """Every answer carries a confidence; when another reading scores close, the proposal names
    it so a person decides."""
    from casparian_engine.contracts.discover import discover

    path = tmp_path / "both.csv"
    path.write_text("a,b;c\n1,x;2\n3,y;4\n5,z;6\n")
    found = discover([path], "both")
    dialect = found.dialect
    assert dialect.runner_up is not None and dialect.runner_up_close
    assert {dialect.delimiter, dialect.runner_up.delimiter} == {",", ";"}
    assert 0 < dialect.confidence < 0.75
    text = found.proposal_text()
    assert f"# Dialect confidence: {dialect.confidence:.2f}; runner-up: delimiter " in text
    assert f"# WARNING (low confidence): {path}: close call between dialects: " in text


def test_a_wide_file_is_typed_from_a_byte_budget_then_checked_whole(tmp_path: Path) -> None:
    """Class 8 (cost): a 300-column file over the sampling budget is typed from its first bytes,
    then every column is checked against the whole file in one vectorised pass; a value past the
    sample that breaks a column's type widens it, and the proposal says so."""
    from casparian_engine.contracts import discover as discovery

    width = 300
    header = ",".join(f"c{i}" for i in range(width))
    row = ",".join(("7", "2.5", "2024-01-31", "alpha", "true", "31/01/2024 10:30")[i % 6]
                   for i in range(width))  # fmt: skip
    rows = (discovery.SAMPLE_BYTES // len(row)) * 2
    late = row.replace("7", "seven", 1)  # column c0 stops being an integer past the sample
    path = tmp_path / "wide.csv"
    path.write_text(header + "\n" + (row + "\n") * rows + late + "\n")
    assert split(path) == (",", "", None, True, 0)
    found = discovery.discover([path], "wide")
    assert found.rows_sampled < rows
    types = [(c.type, c.format) for c in found.contract.columns]
    assert types[0] == ("string", None)
    assert types[1:6] == [
        ("float64", None), ("date", None), ("string", None), ("bool", None),
        ("timestamp(us)", "%d/%m/%Y %H:%M"),
    ]  # fmt: skip
    assert types[6] == ("int64", None)
    assert found.warnings == (
        "column 'c0': a value past the sample is not int64; proposed string from the whole file",
    )


def test_quoted_values_full_of_delimiters_keep_their_quotes(tmp_path: Path) -> None:
    """A quoted value holding the same number of delimiters on every row splits consistently
    without quotes too; the split quotes (one field opening, a later one closing) rule it out."""
    path = tmp_path / "notes.csv"
    note = '"' + "red, green, blue, " * 20 + 'end"'
    path.write_text("id,note\n" + "".join(f"{n},{note}\n" for n in range(30)))
    assert split(path) == (",", '"', None, True, 0)
