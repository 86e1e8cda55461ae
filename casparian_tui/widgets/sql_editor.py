"""The SQL editor of Inspect: a multi-line TextArea with SQL highlighting, run, history and name
completion. Keywords, table names, strings and numbers take the app theme's colours.

Ctrl+j (what most terminals send for Ctrl+Enter) or F5 runs the text; Ctrl+Up / Ctrl+Down walk
the history of queries run. Typing a name opens a list under the cursor of the tables or
columns that fit there (``sql_completion``, from names cached from the catalog): Up/Down move in
it, Tab/Enter take a name, Esc closes it. Tab with no list open completes the word: one name is
written, several show the list, none is said on the status line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from textual import events
from textual.binding import Binding
from textual.geometry import Offset
from textual.message import Message
from textual.widgets import TextArea
from tree_sitter import Language

from ..theme import sql_highlight_theme
from .sql_completion import CompletionList, Offer, names_to_offer

PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NAME_CHARACTER = re.compile(r'[A-Za-z0-9_."]')  # typing one opens or narrows the list
WORD_REST = re.compile(r'[A-Za-z0-9_]*"?')  # a name's part after the cursor (and its closing quote)


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

    class NothingToComplete(Message):
        """Tab found no table or column that fits the word being typed."""

    def __init__(self, **options: object) -> None:
        super().__init__(
            soft_wrap=False,
            show_line_numbers=False,
            tab_behavior="focus",
            **options,  # type: ignore[arg-type]
        )
        self.names: dict[str, list[str]] = {}
        """Each table the query may read, with its columns (from the catalog)."""
        self.queries: list[str] = []
        self._history_at = 0  # len(history) = the text being written, not a remembered one
        self._draft = ""
        self.completion_list = CompletionList(self.take_completion)
        self._offer_at: tuple[int, int] | None = None  # the cursor the list was made for

    def on_mount(self) -> None:
        self.screen.mount(self.completion_list)  # over the screen, so no box clips it
        self.follow_app_theme()
        self.watch(self.app, "theme", self.follow_app_theme, init=False)

    def highlight_sql(self) -> None:
        """Parse the text as SQL and colour it, from now on. The screen calls this when it first
        shows the editor: compiling the highlight query takes 40-130 ms, which a screen that
        never opens its editor should not pay when it is built."""
        if self.language != "sql":
            self.register_language("sql", sql_language(), sql_highlight_query())
            self.language = "sql"

    def set_text(self, text: str) -> None:
        """Replace the whole text with ``text`` and put the cursor at its end, as one edit
        (Ctrl+z brings the text before back). Unlike ``load_text``, the document and its
        compiled highlight query are kept."""
        self.replace(text, (0, 0), self.document.end, maintain_selection_offset=False)

    def follow_app_theme(self) -> None:
        """Colour the SQL with the app theme's colours (again when the person changes theme)."""
        highlight = sql_highlight_theme(self.app.current_theme)
        self.register_theme(highlight)
        self.theme = highlight.name

    def set_history(self, queries: Sequence[str]) -> None:
        self.queries = list(queries)
        self._history_at = len(self.queries)

    def action_run(self) -> None:
        self.hide_completions()
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
        self.hide_completions()
        self.set_text(shown)

    # --- completion ------------------------------------------------------------------------
    def current_offer(self) -> Offer | None:
        """The names that fit the word at the cursor (from the cached catalog names)."""
        if not self.names or self.selection.start != self.selection.end:
            return None
        before = self.get_text_range((0, 0), self.cursor_location)
        return names_to_offer(before, self.text, self.names)

    def offer_while_typing(self) -> Offer | None:
        """What the list shows as the person types: once a name is begun (a letter, a quote,
        or 'table.'), not on an empty word."""
        found = self.current_offer()
        row, column = self.cursor_location
        begun = self.document.get_line(row)[:column].endswith(".")
        return found if found is not None and (found.typed or begun) else None

    def show_offer(self, found: Offer | None) -> None:
        """Show ``found`` in the list under the start of the word (or hide the list)."""
        if found is None:
            self.hide_completions()
            return
        self.completion_list.show(found)
        x, y = self.cursor_screen_offset
        self.completion_list.absolute_offset = Offset(max(x - len(found.typed), 0), y + 1)
        self._offer_at = self.cursor_location

    def hide_completions(self) -> None:
        self.completion_list.display = False
        self._offer_at = None

    @property
    def completing(self) -> bool:
        """Whether the completion list is shown."""
        return bool(self.completion_list.display)

    def take_completion(self, name: str | None = None) -> None:
        """Put ``name`` (default: the highlighted one) in place of the whole word at the cursor:
        its typed part and, when the cursor is inside the word, the rest of it (taking
        ``amount`` at ``am|ount`` gives ``amount``, not ``amountount``)."""
        found = self.current_offer()
        chosen = name or self.completion_list.chosen
        self.hide_completions()
        if found is None or chosen is None:
            return
        row, column = self.cursor_location
        start = (row, column - len(found.typed))
        rest = WORD_REST.match(self.document.get_line(row), column)
        end = (row, rest.end() if rest is not None else column)
        self.replace(sql_name(chosen), start, end, maintain_selection_offset=False)

    async def _on_key(self, event: events.Key) -> None:
        """While the list shows, Up/Down move in it, Tab/Enter take a name and Esc closes it
        (without leaving the editor); typing a name's letters opens or narrows it."""
        if self.completing and event.key in ("up", "down", "tab", "enter", "escape"):
            event.stop()
            event.prevent_default()
            if event.key in ("up", "down"):
                move = self.completion_list.action_cursor_up
                (move if event.key == "up" else self.completion_list.action_cursor_down)()
            elif event.key == "escape":
                self.hide_completions()
            else:
                self.take_completion()
            return
        await super()._on_key(event)
        if event.is_printable and event.character is not None:
            if NAME_CHARACTER.fullmatch(event.character):
                self.show_offer(self.offer_while_typing())
            else:
                self.hide_completions()

    def action_delete_left(self) -> None:
        """Backspace narrows the list back (it stays open while a word is left to complete)."""
        super().action_delete_left()
        if self.completing:
            self.show_offer(self.offer_while_typing())

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        """The cursor moved away from the word the list completes (a click, an arrow): hide it."""
        if self.completing and self.cursor_location != self._offer_at:
            self.hide_completions()

    def on_blur(self) -> None:
        self.hide_completions()

    def action_complete(self) -> None:
        """Tab with no list shown: one name fits, it is written; several, their common start
        is written and the list shows them; none, the status line says so."""
        found = self.current_offer()
        if found is None:
            self.post_message(self.NothingToComplete())
            return
        names = [name for name, _ in found.names]
        if len(names) == 1:
            self.take_completion(names[0])
            return
        shared = common_prefix([name.lower() for name in names])
        if len(shared) > len(found.typed.lstrip('"')):
            row, column = self.cursor_location
            self.replace(names[0][: len(shared)], (row, column - len(found.typed)), (row, column))
        self.show_offer(self.current_offer())
