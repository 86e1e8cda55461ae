"""The Inspect SQL history: kept per home, bounded, newest last, unreadable files moved aside."""

from __future__ import annotations

from pathlib import Path

from casparian_engine.query_history import MAX_QUERIES, MAX_QUERY_CHARS, QueryHistory


def test_queries_survive_a_reopen_newest_last_without_repeats(tmp_path: Path) -> None:
    history = QueryHistory(tmp_path)
    for sql in ("SELECT 1", "  SELECT 2\n", "SELECT 1", "", "x" * (MAX_QUERY_CHARS + 1)):
        history.add(sql)
    assert QueryHistory(tmp_path).queries == ("SELECT 2", "SELECT 1")


def test_only_the_newest_queries_are_kept(tmp_path: Path) -> None:
    history = QueryHistory(tmp_path)
    for number in range(MAX_QUERIES + 5):
        history.add(f"SELECT {number}")
    kept = QueryHistory(tmp_path).queries
    assert len(kept) == MAX_QUERIES and kept[0] == "SELECT 5" and kept[-1] == f"SELECT {204}"


def test_an_unreadable_file_is_moved_aside_and_named(tmp_path: Path) -> None:
    (tmp_path / "query_history.json").write_text("{not json")
    history = QueryHistory(tmp_path)
    aside = tmp_path / "query_history.json.unreadable"
    assert history.queries == () and aside.read_text() == "{not json"
    assert history.load_error.startswith(f"{tmp_path / 'query_history.json'}: the query history")
    assert history.load_error.endswith(f"moved to {aside} and a new one started")
