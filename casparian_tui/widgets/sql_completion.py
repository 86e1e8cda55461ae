"""What the SQL editor offers for the word being typed, and the small list that shows it.

``names_to_offer`` reads the query around the cursor the way a person means it: after ``FROM``
or ``JOIN`` (or a comma in a FROM list) tables; after ``table.`` or ``alias.`` that table's
columns; in ``SELECT``, ``WHERE``, ``ON``, ``GROUP BY``, ``ORDER BY``, ``HAVING`` the columns of
the tables the query names in its FROM and JOIN clauses (every table's columns, and the tables,
while it names none). Nothing inside a string or a comment, nor where a new name is being made
(an alias after ``AS``, after a table, or a number after ``LIMIT``).

It reads only the text and the names the editor caches from the catalog: no query per keystroke.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

MAX_TEXT_READ = 100_000  # a longer query is offered nothing as it is typed (Tab says so)
MAX_OFFERED = 200  # names in the list at most (it scrolls; the prefix narrows it)

TOKEN = re.compile(
    r"""
    (?P<comment>--[^\n]*|/\*(?:.|\n)*?(?:\*/|$))
    | (?P<string>'(?:[^']|'')*(?:'|$))
    | (?P<quoted>"(?:[^"]|"")*(?:"|$))
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<number>[0-9][0-9.]*)
    | (?P<mark>\S)
    """,
    re.VERBOSE,
)
CLOSED_STRING = re.compile(r"'(?:[^']|'')*'")
TYPED_WORD = re.compile(r'(?:(?P<table>[A-Za-z0-9_]+|"[^"]*")\.)?(?P<prefix>"?[A-Za-z0-9_]*)$')
COLUMN_CLAUSES = {"SELECT", "WHERE", "ON", "GROUP", "ORDER", "BY", "HAVING", "QUALIFY", "USING"}
TABLE_CLAUSES = {"FROM", "JOIN"}
NO_NAME_CLAUSES = {"LIMIT", "OFFSET", "WITH", "WINDOW"}
CLAUSES = COLUMN_CLAUSES | TABLE_CLAUSES | NO_NAME_CLAUSES
# Words that end a table reference: what follows a table is its alias only if not one of these.
NOT_AN_ALIAS = CLAUSES | {
    "INNER", "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "NATURAL", "POSITIONAL", "ASOF", "ANTI",
    "SEMI", "LATERAL", "UNION", "EXCEPT", "INTERSECT", "TABLESAMPLE", "SAMPLE", "AS",
}  # fmt: skip


@dataclass(frozen=True)
class Token:
    kind: str  # comment, string, quoted, word, number or mark
    text: str
    start: int = 0  # where it starts in the text read

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else self.text

    @property
    def name(self) -> str:
        """The name a word or a quoted identifier stands for."""
        if self.kind == "quoted":
            return self.text[1:].removesuffix('"').replace('""', '"')
        return self.text


@dataclass(frozen=True)
class Offer:
    """The names to offer for the word before the cursor, and how much of it is typed."""

    typed: str  # the word's typed part as written (maybe starting with '"'): the list replaces it
    names: list[tuple[str, str]]  # (name, what it is: 'table' or the table of a column)


def tokens(text: str) -> list[Token]:
    return [
        Token(found.lastgroup or "mark", found.group(), found.start())
        for found in TOKEN.finditer(text)
    ]


def tables_named(query: list[Token], names: dict[str, list[str]]) -> dict[str, str]:
    """The tables a query reads in its FROM and JOIN clauses, by the name or alias it uses
    for them (lower case) → the table's catalog name."""
    by_lower = {name.lower(): name for name in names}
    found: dict[str, str] = {}
    in_from = False
    index = 0
    while index < len(query):
        token = query[index]
        index += 1
        if token.kind == "word" and token.upper in CLAUSES:
            in_from = token.upper in TABLE_CLAUSES
            continue
        if not in_from or token.kind not in ("word", "quoted"):
            continue
        table = by_lower.get(token.name.lower())
        if table is None:
            continue
        found[token.name.lower()] = table
        after = index + 1 if index < len(query) and query[index].upper == "AS" else index
        if after < len(query) and query[after].kind in ("word", "quoted"):
            if query[after].upper not in NOT_AN_ALIAS:
                found[query[after].name.lower()] = table
                index = after + 1
    return found


def in_literal(query: list[Token], cursor: int) -> bool:
    """Whether ``cursor`` is inside a string or a comment (no name is offered there)."""
    last = next((token for token in reversed(query) if token.start < cursor), None)
    if last is None or last.kind not in ("comment", "string") or last.end < cursor:
        return False
    if last.end > cursor or last.text.startswith("--"):  # a -- comment runs to the line's end
        return True
    if last.kind == "comment":
        return len(last.text) < 4 or not last.text.endswith("*/")
    return not CLOSED_STRING.fullmatch(last.text)


def names_to_offer(before_cursor: str, query: str, names: dict[str, list[str]]) -> Offer | None:
    """What to offer for the word ending at the cursor, or None when nothing fits there.

    ``before_cursor`` is the text up to the cursor (``query``'s start), ``query`` the whole
    text: a FROM after the cursor still names the tables whose columns a SELECT list may take.
    A query longer than ``MAX_TEXT_READ`` characters is offered nothing as it is typed.
    """
    if len(query) > MAX_TEXT_READ:
        return None
    cursor = len(before_cursor)
    line_start = before_cursor.rfind("\n") + 1
    typed_word = TYPED_WORD.search(before_cursor, line_start)  # the word is on the cursor's line
    read = tokens(query)
    if typed_word is None or in_literal(read, cursor):
        return None
    typed, qualifier = typed_word.group("prefix"), typed_word.group("table")
    prefix = typed.lstrip('"').lower()
    in_query = tables_named(read, names)
    if qualifier is not None:
        named = qualifier.strip('"').lower()
        table = in_query.get(named) or next((t for t in names if t.lower() == named), None)
        if table is None:
            return None
        return offer(typed, [(column, table) for column in names[table]], prefix)
    ahead = [token for token in read if token.end <= typed_word.start()]
    clause, previous = clause_at(ahead)
    if clause in TABLE_CLAUSES:
        if previous is not None and previous.upper not in TABLE_CLAUSES and previous.text != ",":
            return None  # an alias after the table, or a keyword being typed
        return offer(typed, [(table, "table") for table in names], prefix)
    if clause in NO_NAME_CLAUSES or (previous is not None and previous.upper == "AS"):
        return None  # a number, or a new name (an alias, a CTE)
    tables = sorted(set(in_query.values()), key=str.lower)
    if tables:
        columns = [(column, table) for table in tables for column in names[table]]
        return offer(typed, columns, prefix)
    every = [(column, table) for table, columns in names.items() for column in columns]
    return offer(typed, [*[(table, "table") for table in names], *every], prefix)


def clause_at(ahead: list[Token]) -> tuple[str, Token | None]:
    """The clause keyword the cursor is in (at its own bracket depth) and the token before it."""
    depth = 0
    meaningful = [token for token in ahead if token.kind != "comment"]
    previous = meaningful[-1] if meaningful else None
    for token in reversed(meaningful):
        if token.text == ")":
            depth += 1
        elif token.text == "(":
            if depth == 0:
                break  # the bracket the cursor is in: the clause is one inside it, or none
            depth -= 1
        elif depth == 0 and token.kind == "word" and token.upper in CLAUSES:
            return token.upper, previous
    return "", previous


def offer(typed: str, pool: list[tuple[str, str]], prefix: str) -> Offer | None:
    """The pool's names starting with ``prefix`` (any case), each once with where it is from,
    sorted; None when no name fits, or when the only one is the word exactly as typed."""
    where: dict[str, list[str]] = {}
    for name, source in pool:
        if name.lower().startswith(prefix) and source not in where.setdefault(name, []):
            where[name].append(source)
    matched = sorted(where, key=lambda name: (name.lower(), name))[:MAX_OFFERED]
    if not matched or (len(matched) == 1 and matched[0] == typed):
        return None
    return Offer(typed, [(name, ", ".join(where[name])) for name in matched])


class CompletionList(OptionList):
    """The names that complete the word at the editor's cursor, shown just under it.

    It never takes the focus: the editor keeps it and moves the highlight (Up/Down), takes the
    name (Tab/Enter, or a click) or closes the list (Esc).
    """

    DEFAULT_CSS = """
    CompletionList {
        overlay: screen;
        constrain: inside inflect;
        width: auto;
        min-width: 16;
        max-width: 48;
        height: auto;
        max-height: 8;
        padding: 0;
        border: none;
        background: $panel;
        display: none;
        scrollbar-size-vertical: 1;
        & > .option-list--option-highlighted {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
    }
    """

    can_focus = False

    def __init__(self, take: Callable[[str | None], None]) -> None:
        super().__init__()
        self.take = take
        """Called with the name clicked: the editor puts it in place of the typed word."""

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.take(event.option.id)

    def show(self, found: Offer) -> None:
        """List ``found``'s names, the first highlighted."""
        self.set_options(
            Option(Content.assemble(name, (f"  {where}", "dim")), id=name)
            for name, where in found.names
        )
        self.highlighted = 0
        self.display = True

    @property
    def chosen(self) -> str | None:
        """The highlighted name, if the list is shown."""
        if not self.display or self.highlighted is None:
            return None
        return self.get_option_at_index(self.highlighted).id
