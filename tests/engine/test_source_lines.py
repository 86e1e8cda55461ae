"""Reading line N of a source file for the quarantine view: chunk boundaries, CRLF, long lines,
and the exact messages for a moved file, a shrunken file and a bad line number."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_engine import source_lines
from casparian_engine.source_lines import SourceLineError, read_source_line


def test_lines_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_lines, "CHUNK_BYTES", 7)  # many boundaries in a small file
    path = tmp_path / "data.csv"
    path.write_bytes(b"id,amount\r\n1,2.5\r\n\r\n22,abcdefghijklmnop\r\nlast")
    assert read_source_line(path, 1).text == "id,amount"
    assert read_source_line(path, 2).text == "1,2.5"
    assert read_source_line(path, 3).text == ""
    assert read_source_line(path, 4).text == "22,abcdefghijklmnop"
    assert read_source_line(path, 5).text == "last"
    with pytest.raises(SourceLineError) as shorter:
        read_source_line(path, 6)
    assert str(shorter.value) == (
        f"{path}: has only 5 lines, so line 6 is gone (the file changed since it was processed)"
    )


def test_past_the_end_of_a_file_ending_in_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("a\nb\n")
    assert read_source_line(path, 2).text == "b"
    with pytest.raises(SourceLineError, match=r"has only 2 lines, so line 3 is gone"):
        read_source_line(path, 3)


def test_long_lines_are_cut_and_non_utf8_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    path.write_bytes(b"x" * (source_lines.MAX_LINE_BYTES + 10) + b"\nab\xffc\n")
    first = read_source_line(path, 1)
    assert first.truncated and len(first.text) == source_lines.MAX_LINE_BYTES
    second = read_source_line(path, 2)
    assert (second.text, second.truncated) == ("ab\ufffdc", False)


def test_a_moved_file_and_a_bad_line_number_say_so(tmp_path: Path) -> None:
    gone = tmp_path / "moved.csv"
    with pytest.raises(SourceLineError) as moved:
        read_source_line(gone, 3)
    assert str(moved.value) == (
        f"{gone}: the source file is no longer there (moved or deleted since it was processed); "
        "the quarantined values are still kept"
    )
    present = tmp_path / "here.csv"
    present.write_text("a\n")
    with pytest.raises(SourceLineError) as zero:
        read_source_line(present, 0)
    assert str(zero.value) == f"{present}: line numbers start at 1, got 0"
