"""The SQL history and the assistant's conversation files: an unreadable file is moved aside with
a message saying why and where, and a new one starts; nothing is overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_engine.ai.history import History
from casparian_engine.query_history import QueryHistory
from casparian_engine.saved_lists import MAX_FILE_BYTES


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            "{not json",
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        ('{"version": 1}', "no 'queries' list"),
        ('{"queries": ["SELECT 1", 2]}', "no 'queries' list of text"),
        ("x" * (MAX_FILE_BYTES + 1), f"larger than {MAX_FILE_BYTES} bytes"),
    ],
)
def test_an_unreadable_query_history_is_moved_aside_and_a_new_one_starts(
    tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "query_history.json"
    path.write_text(content)
    history = QueryHistory(tmp_path)
    aside = tmp_path / "query_history.json.unreadable"
    assert history.load_error == (
        f"{path}: the query history could not be read ({reason}); it was moved to {aside} "
        "and a new one started"
    )
    assert history.queries == () and aside.read_text() == content
    history.add("SELECT 2")
    assert QueryHistory(tmp_path).queries == ("SELECT 2",)


def test_an_unreadable_conversation_is_moved_aside_and_a_new_one_starts(tmp_path: Path) -> None:
    path = tmp_path / "ai" / "history.json"
    path.parent.mkdir()
    path.write_text('{"messages": [{"text": "no role"}]}')
    history = History(tmp_path)
    aside = path.with_name("history.json.unreadable")
    assert history.load_error == (
        f"{path}: the saved conversation could not be read ('role'); it was moved to {aside} "
        "and a new one started"
    )
    assert history.messages == () and aside.exists() and not path.exists()
