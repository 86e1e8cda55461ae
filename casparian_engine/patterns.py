"""``PathPatterns``: the one pattern language that selects files, everywhere.

Scan patterns, tag rules, scopes, parser ``patterns``, Discover's filter, ``files --pattern`` and
the MCP tools all read patterns with this module, so the same lines select the same files.

The language is gitignore's, matched against a file's path relative to its source root (see
``relative_path``):

- a pattern without a ``/`` (a trailing one aside) matches a name at any depth; one with a
  ``/`` at the start or in the middle is anchored at the source root;
- a pattern matches a file by its name or by the name of any folder above it, and a trailing
  ``/`` makes it match folders only (so every file below them);
- ``*`` and ``?`` stay inside one name, ``[a-z]`` / ``[!a-z]`` are one character of a name,
  ``**`` as a whole name crosses folders (``**/x``, ``x/**``, ``a/**/b``); ``\\`` escapes the
  next character;
- ``!`` negates, and the last pattern that matches decides (a file no pattern matches is not
  selected);
- blank lines and lines starting with ``#`` select nothing (write ``\\#`` for a name starting
  with ``#``); trailing spaces are dropped unless escaped.

Two rules of git's own ``.gitignore`` are not followed, because here patterns select files rather
than hide them: a later ``!folder/`` deselects the files below it even when an earlier pattern
matched their names (``*.csv``, ``!invoices/`` selects no CSV under ``invoices``), and a file
below a matched folder can be selected again by a later pattern (``invoices/2024/a.csv``).

Each pattern is translated once, by this module, to a regular expression in the subset that
Python's ``re``, RE2 (``pyarrow.compute``) and PostgreSQL's ``~`` read alike, so matching can run
in Python, in Arrow over whole columns, or in PostgreSQL; SQLite has no regex operator, so there
the store reads paths in chunks and Arrow matches them (``store.path_match``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa
import pyarrow.compute as pc

from .errors import CasparianError

MAX_PATTERNS = 1_000
"""Most patterns one list may hold (a bound on user input)."""
MAX_PATTERN_LENGTH = 4_096
"""Longest pattern accepted, in characters (a path is at most this long on Linux)."""

_REGEX_SPECIAL = set(".^$*+?()[]{}|\\")
_CLASS_SPECIAL = set("\\]^-[")
# A filter's pattern runs up to an unescaped comma ("\" keeps the next character); spaces are
# part of a pattern (a folder named 'sub (2)'), those around it are not.
_FILTER_TOKEN = re.compile(r"(?:\\.|\\$|[^,\\])+")


class PatternError(CasparianError, ValueError):
    """A pattern that cannot be read; the message names it and says why."""


def relative_path(path: str, root: str | None) -> str:
    """The path patterns are matched against: ``path`` below its source ``root`` when it lies
    under it, otherwise the whole path without its leading ``/``. ``RELATIVE_SQL`` is the same
    rule in SQL."""
    if root is not None:
        prefix = root.rstrip("/") + "/"
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path.lstrip("/")


def relative_sql(path: str = "f.path", root: str = "s.root") -> str:
    """``relative_path`` as a SQL expression (SQLite and PostgreSQL) over two columns."""
    trimmed = f"rtrim({root}, '/')"
    return (
        f"CASE WHEN {root} IS NOT NULL AND substr({path}, 1, length({trimmed}) + 1) = "
        f"{trimmed} || '/' THEN substr({path}, length({trimmed}) + 2) "
        f"ELSE ltrim({path}, '/') END"
    )


RELATIVE_SQL = relative_sql()
"""A file's relative path over ``cf_files f LEFT JOIN cf_sources s ON s.id = f.source_id``."""


@dataclass(frozen=True)
class PathPattern:
    """One pattern: as written, whether it selects (or, with ``!``, deselects), its regular
    expression, and runs of plain text every path it matches contains."""

    text: str
    include: bool
    regex: str
    literals: tuple[str, ...]

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)


class PathPatterns:
    """An ordered list of gitignore-style patterns; the last one that matches a path decides."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self.lines = tuple(lines)
        if len(self.lines) > MAX_PATTERNS:
            raise PatternError(
                f"too many patterns: {len(self.lines):,} (at most {MAX_PATTERNS:,} in one list)"
            )
        parsed = (parse_pattern(line) for line in self.lines)
        self.patterns = tuple(pattern for pattern in parsed if pattern is not None)

    @classmethod
    def from_filter(cls, text: str) -> PathPatterns:
        """Patterns typed on one line (Discover's filter): separated by commas (spaces around
        each are dropped, spaces inside kept), ``\\`` keeping a comma. Each must select
        something (a lone comment is an error here, as it is surely a mistake)."""
        tokens = filter_tokens(text)
        found = cls(tokens)
        if len(found.patterns) != len(tokens):
            comment = next(token for token in tokens if parse_pattern(token) is None)
            raise PatternError(
                f"cannot read pattern {comment!r}: it names no file "
                "(a leading # makes a comment; write \\# for a name starting with #)"
            )
        return found

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __repr__(self) -> str:
        return f"PathPatterns({list(self.lines)!r})"

    @property
    def starts_selected(self) -> bool:
        """Whether a path no pattern matches is selected: only when the first pattern negates
        (a list opening with ``!`` removes from every file)."""
        return bool(self.patterns) and not self.patterns[0].include

    def matches(self, rel_path: str) -> bool:
        """Whether the patterns select ``rel_path`` (a path relative to its source root)."""
        for pattern in reversed(self.patterns):
            if pattern.compiled.fullmatch(rel_path):
                return pattern.include
        return self.starts_selected

    def mask(self, rel_paths: pa.Array | pa.ChunkedArray | Sequence[str]) -> pa.Array:
        """Whether each relative path is selected, as an Arrow boolean array (RE2, no Python
        loop over the paths)."""
        values = rel_paths if isinstance(rel_paths, pa.Array | pa.ChunkedArray) else (
            pa.array(list(rel_paths), pa.string())
        )  # fmt: skip
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        selected = pa.repeat(pa.scalar(self.starts_selected), len(values))
        for pattern in self.patterns:
            hits = pc.fill_null(pc.match_substring_regex(values, pattern.regex), False)
            selected = pc.if_else(hits, pa.scalar(pattern.include), selected)
        return selected

    def sql_condition(self, rel_expr: str = RELATIVE_SQL) -> tuple[str, list[str]]:
        """A PostgreSQL condition (``~``) selecting the rows whose ``rel_expr`` the patterns
        select, and its parameters. SQLite has no regex: use ``store.path_match`` there."""
        if not self.patterns:
            return "FALSE", []
        start = "TRUE" if self.starts_selected else "FALSE"
        ordered = list(reversed(self.patterns))
        decide = " ".join(
            f"WHEN ({rel_expr}) ~ ? THEN {'TRUE' if p.include else 'FALSE'}" for p in ordered
        )
        return f"(CASE {decide} ELSE {start} END)", [p.regex for p in ordered]

    def narrowing(self, path_expr: str, dialect: str) -> tuple[str, list[str]]:
        """A cheap SQL condition every path the patterns can select meets (``""`` when none
        narrows): the plain text of one of the selecting patterns appears in ``path_expr``."""
        if not self.patterns or self.starts_selected:
            return "", []
        contains = "instr({}, ?) > 0" if dialect == "sqlite" else "strpos({}, ?) > 0"
        alternatives: list[str] = []
        params: list[str] = []
        for pattern in self.patterns:
            if not pattern.include:
                continue
            if not pattern.literals:
                return "", []
            tests = [contains.format(path_expr) for _ in pattern.literals]
            alternatives.append("(" + " AND ".join(tests) + ")")
            params += pattern.literals
        return "(" + " OR ".join(alternatives) + ")", params


def filter_tokens(text: str) -> list[str]:
    """The patterns of a one-line filter, in order, split at commas: ``'logs/, sub (2)/'`` →
    ``['logs/', 'sub (2)/']``."""
    tokens = []
    for token in _FILTER_TOKEN.findall(text):
        trimmed = token.strip()
        if trimmed.endswith("\\") and token.rstrip() != token:
            trimmed += " "  # "\ " at the end keeps its space, as in a pattern file
        if trimmed:
            tokens.append(trimmed)
    return tokens


def validate_patterns(lines: Iterable[str]) -> tuple[str, ...]:
    """The lines, unchanged, when every one can be read; ``PatternError`` naming one otherwise."""
    return PathPatterns(lines).lines


def parse_pattern(text: str) -> PathPattern | None:
    """One pattern line as a ``PathPattern``; None for a blank line or a comment;
    ``PatternError`` (naming it and why) when it cannot be read."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(
            f"cannot read pattern {text[:40]!r}…: longer than {MAX_PATTERN_LENGTH:,} characters"
        )
    body = _strip_trailing_spaces(text)
    if not body or body.startswith("#"):
        return None
    include = not body.startswith("!")
    if not include:
        body = body[1:]
        if not body:
            raise PatternError(f"cannot read pattern {text!r}: '!' alone negates nothing")
    try:
        regex, literals = _translate(body)
    except PatternError as exc:
        raise PatternError(f"cannot read pattern {text!r}: {exc.message}", hint=exc.hint) from None
    return PathPattern(text, include, regex, literals)


def _strip_trailing_spaces(text: str) -> str:
    """Trailing spaces go unless the last one is escaped with ``\\``."""
    body = text.rstrip(" ")
    if len(body) < len(text) and not _ends_in_escape_pair(body):
        body += " "
    return body


def _ends_in_escape_pair(text: str) -> bool:
    """Whether the trailing backslashes of ``text`` pair up (``\\\\`` is a literal backslash)."""
    count = len(text) - len(text.rstrip("\\"))
    return count % 2 == 0


def _translate(body: str) -> tuple[str, tuple[str, ...]]:
    """The regular expression of one pattern (without ``!``) and its plain-text runs."""
    folders_only = body.endswith("/")
    names = body.rstrip("/").split("/") if folders_only else body.split("/")
    if not any(names):
        raise PatternError("it names no file (a pattern of slashes only)")
    anchored = len(names) > 1
    if names[0] == "":
        names = names[1:]
    if any(name == "" for name in names):
        raise PatternError("it has an empty folder name ('//')")
    collapsed: list[str] = []
    for name in names:
        if not (name == "**" and collapsed and collapsed[-1] == "**"):
            collapsed.append(name)
    if not anchored and collapsed[0] != "**":
        collapsed.insert(0, "**")
    parts: list[str] = []
    literals: list[str] = []
    last = len(collapsed) - 1
    open_end = False
    need_slash = False
    for index, name in enumerate(collapsed):
        if name == "**":
            if index == 0 and index == last:
                parts.append(".+")
                open_end = True
            elif index == 0:
                parts.append("(?:.+/)?")
            elif index == last:
                parts.append("/.*")
                open_end = True
            else:
                parts.append("(?:/.+)?")
            continue
        if need_slash:
            parts.append("/")
        regex, runs = _name_regex(name)
        parts.append(regex)
        literals += runs
        need_slash = True
    if folders_only:
        parts.append("/.*" if not open_end else "")
    elif not open_end:
        parts.append("(?:/.*)?")
    return "(?s)^" + "".join(parts) + "$", tuple(run for run in literals if run)


def _name_regex(name: str) -> tuple[str, list[str]]:
    """One folder or file name of a pattern as a regex (never matching ``/``), and its runs."""
    out: list[str] = []
    runs: list[str] = []
    run = ""
    index = 0
    while index < len(name):
        char = name[index]
        if char == "\\":
            if index + 1 == len(name):
                raise PatternError("it ends in a lone '\\'", hint="write '\\\\' for a backslash")
            literal = name[index + 1]
            out.append(_literal(literal))
            run += literal
            index += 2
            continue
        if char in "*?":
            runs.append(run)
            run = ""
            if char == "*":
                while index < len(name) and name[index] == "*":
                    index += 1
                out.append("[^/]*")
            else:
                out.append("[^/]")
                index += 1
            continue
        if char == "[":
            parsed = _class_regex(name, index)
            if parsed is not None:
                regex, index = parsed
                runs.append(run)
                run = ""
                out.append(regex)
                continue
        out.append(_literal(char))
        run += char
        index += 1
    runs.append(run)
    return "".join(out), runs


def _literal(char: str) -> str:
    return "\\" + char if char in _REGEX_SPECIAL else char


def _class_regex(name: str, start: int) -> tuple[str, int] | None:
    """``[...]`` starting at ``name[start]`` as a regex class that never matches ``/``, and the
    index after it; None when the ``[`` is not closed (it is then a literal ``[``)."""
    index = start + 1
    negate = index < len(name) and name[index] in "!^"
    if negate:
        index += 1
    members: list[str] = []  # single characters, or "a-z" ranges as 3-character strings
    first = True
    while index < len(name):
        char = name[index]
        if char == "]" and not first:
            break
        first = False
        if char == "\\":
            if index + 1 == len(name):
                return None
            char = name[index + 1]
            index += 1
        index += 1
        if index + 1 < len(name) and name[index] == "-" and name[index + 1] != "]":
            high = name[index + 1]
            step = 2
            if high == "\\" and index + 2 < len(name):
                high, step = name[index + 2], 3
            if high < char:
                raise PatternError(f"it has a range '{char}-{high}' that runs backwards")
            members.append(char + "-" + high)
            index += step
        else:
            members.append(char)
    else:
        return None
    pieces = []
    for member in members:
        low, high = (member[0], member[2]) if len(member) == 3 else (member, member)
        for lo, hi in _without_slash(low, high):
            pieces.append(_class_char(lo) if lo == hi else f"{_class_char(lo)}-{_class_char(hi)}")
    if negate:
        return "[^" + "".join(pieces) + "/]", index + 1
    return "[" + "".join(pieces) + "]", index + 1


def _without_slash(low: str, high: str) -> list[tuple[str, str]]:
    """The range ``low``…``high`` without ``/`` (which a name never holds)."""
    if not low <= "/" <= high:
        return [(low, high)]
    below = [(low, ".")] if low < "/" else []
    above = [("0", high)] if high > "/" else []
    return below + above


def _class_char(char: str) -> str:
    return "\\" + char if char in _CLASS_SPECIAL else char
