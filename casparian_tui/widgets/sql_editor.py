"""The SQL editor of Inspect: a multi-line TextArea with SQL highlighting, run, history and name
completion. Keywords, table names, strings and numbers take the app theme's colours.

Ctrl+j (what most terminals send for Ctrl+Enter) or F5 runs the text; Ctrl+Up / Ctrl+Down walk
the history of queries run; Tab completes the table or column name being typed from the
catalog's names ('lines.' then Tab offers the columns of lines). Several candidates: the common
part is inserted and the candidates are posted for the status line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea
from tree_sitter import Language

from ..theme import sql_highlight_theme

PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TYPED_WORD = re.compile(r'(?:(?P<table>[A-Za-z0-9_]+|"[^"]*")\.)?(?P<prefix>"?[A-Za-z0-9_]*)$')
MAX_CANDIDATES_SHOWN = 8


def sql_language() -> Language:
    """The SQL grammar (tree-sitter-sql) the editor parses its text with, to highlight it."""
    import tree_sitter_sql

    return Language(tree_sitter_sql.language())


@cache
def sql_highlight_query() -> str:
    """Textual's SQL highlight query, with its digit class ``%d`` (a Lua pattern, which
    tree-sitter's regex predicates read as the letter d) written ``[0-9]``: numbers are drawn as
    numbers, not as strings."""
    query = (files("textual") / "tree-sitter" / "highlights" / "sql.scm").read_text("utf-8")
    return query.replace("%d", "[0-9]")


def sql_name(name: str) -> str:
    """``name`` as typed in SQL: plain when it can be, else double-quoted."""
    return name if PLAIN_NAME.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def common_prefix(names: Sequence[str]) -> str:
    if not names:
        return ""
    first, last = min(names), max(names)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def completions(before_cursor: str, names: dict[str, list[str]]) -> tuple[str, list[str]]:
    """What the word before the cursor completes to: (text to put in its place, candidates).

    ``names`` maps each table to its columns. After ``table.`` only that table's columns are
    offered; otherwise tables and every column. Matching ignores case; "" means no candidate.
    """
    found = TYPED_WORD.search(before_cursor)
    if found is None:
        return "", []
    typed = found.group("prefix").lstrip('"').lower()
    table = (found.group("table") or "").strip('"')
    if table:
        pool = next((cols for name, cols in names.items() if name.lower() == table.lower()), [])
    else:
        pool = [*names, *(column for columns in names.values() for column in columns)]
    candidates = sorted({name for name in pool if name.lower().startswith(typed)})
    if not candidates:
        return "", []
    if len(candidates) == 1:
        return sql_name(candidates[0]), candidates
    shared = common_prefix([name.lower() for name in candidates])
    return (candidates[0][: len(shared)] if shared else found.group("prefix")), candidates


class SqlEditor(TextArea):
    """A SQL text area that runs, remembers and completes."""

    BINDINGS = [
        Binding("ctrl+j,f5", "run", "Run", tooltip="Run the query"),
        Binding("ctrl+up", "history(-1)", "Older", show=False),
        Binding("ctrl+down", "history(1)", "Newer", show=False),
        Binding("tab", "complete", "Complete", show=False),
    ]

    @dataclass
    class RunRequested(Message):
        """The person asked to run the editor's text."""

        sql: str

    @dataclass
    class Completed(Message):
        """Tab found these names for the word being typed (several: the person picks)."""

        candidates: list[str]

    def __init__(self, **options: object) -> None:
        super().__init__(
            soft_wrap=False,
            show_line_numbers=False,
            tab_behavior="focus",
            **options,  # type: ignore[arg-type]
        )
        self.register_language("sql", sql_language(), sql_highlight_query())
        self.language = "sql"
        self.names: dict[str, list[str]] = {}
        """Each table the query may read, with its columns (from the catalog)."""
        self.queries: list[str] = []
        self._history_at = 0  # len(history) = the text being written, not a remembered one
        self._draft = ""

    def on_mount(self) -> None:
        self.follow_app_theme()
        self.watch(self.app, "theme", self.follow_app_theme, init=False)

    def follow_app_theme(self) -> None:
        """Colour the SQL with the app theme's colours (again when the person changes theme)."""
        highlight = sql_highlight_theme(self.app.current_theme)
        self.register_theme(highlight)
        self.theme = highlight.name

    def set_history(self, queries: Sequence[str]) -> None:
        self.queries = list(queries)
        self._history_at = len(self.queries)

    def action_run(self) -> None:
        self.post_message(self.RunRequested(self.text))

    def action_history(self, step: int) -> None:
        """Show an older (-1) or newer (+1) query; past the newest, the text being written."""
        if not self.queries:
            return
        if self._history_at == len(self.queries):
            self._draft = self.text
        self._history_at = max(0, min(len(self.queries), self._history_at + step))
        shown = (
            self._draft if self._history_at == len(self.queries) else self.queries[self._history_at]
        )
        self.load_text(shown)
        self.move_cursor(self.document.end)

    def action_complete(self) -> None:
        row, column = self.cursor_location
        before = self.document.get_line(row)[:column]
        replacement, candidates = completions(before, self.names)
        if candidates and replacement:
            typed = TYPED_WORD.search(before)
            start = column - len(typed.group("prefix")) if typed else column
            self.replace(replacement, (row, start), (row, column))
        self.post_message(self.Completed(candidates[:MAX_CANDIDATES_SHOWN]))
