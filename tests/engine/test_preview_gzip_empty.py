"""preview of gzip files (their decompressed start, damage said) and of empty files."""

from __future__ import annotations

import gzip
from pathlib import Path

from casparian_engine.parsers.preview import HEAD_BYTES, preview_file


def test_a_gzip_csv_previews_as_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(b"id,name\n1,alpha\n2,beta\n", mtime=0))
    preview = preview_file(path)
    assert preview.format == "csv (gzip)"
    assert preview.size_bytes == path.stat().st_size
    assert [name for name, _ in preview.schema] == ["id", "name"]
    assert preview.rows == [["1", "alpha"], ["2", "beta"]]
    assert preview.notes[0] == "gzip: decompressed (23 bytes)"


def test_a_big_gzip_shows_its_start_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "big.log.gz"
    path.write_bytes(gzip.compress(b"2024-01-01 00:00:00 INFO hello\n" * 50_000, mtime=0))
    preview = preview_file(path, rows=3)
    assert preview.notes[0] == f"gzip: showing the decompressed start ({HEAD_BYTES:,} bytes)"
    assert len(preview.rows) == 3


def test_a_cut_gzip_says_where_it_ends(tmp_path: Path) -> None:
    whole = gzip.compress(b"id,name\n" + b"1,alpha\n" * 2000, mtime=0)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    preview = preview_file(path)
    assert preview.notes[0].startswith("the gzip stream ends early (cut off?) after ")
    assert preview.format == "csv (gzip)"


def test_empty_files_say_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    preview = preview_file(empty)
    assert (preview.format, preview.schema, preview.rows) == ("empty", [], [])
    assert preview.notes == ["the file is empty"]
    zipped = tmp_path / "empty.csv.gz"
    zipped.write_bytes(gzip.compress(b"", mtime=0))
    preview = preview_file(zipped)
    assert (preview.format, preview.notes) == (
        "empty (gzip)",
        ["the gzip file holds an empty file"],
    )
