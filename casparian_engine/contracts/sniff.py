"""Choosing a delimited file's dialect by how consistently each candidate parses its first lines.

Every plausible (delimiter, quote, escape) is parsed over the sample and scored on two things:

- **shape**: the share of records that have the table's most common width (cubed, so a split
  fitting four lines in five is already doubtful), weighted up a little for wider tables; a row
  where one field opens a quote that a later field closes does not fit (its quoted value was
  split). One column explains anything, so it must be clearly better to win;
- **cells**: the share of cells that read as a value of some kind (a number, date, time, boolean,
  null word, URL, e-mail, path or plain words), not as a fragment of a wrongly split line (a cell
  still holding another delimiter or a tab, or opening with a quote the candidate did not strip).

Comment lines (``#`` or ``//`` first) are left out of the sample unless ``#`` itself is tried; a
rare delimiter must occur outside dates, times and URLs (``28/01/2018 10:30`` holds no
delimiter), and counts a little less than ``,`` ``;`` tab ``|`` and space before the sample
speaks.

The score is their product. Candidates that parse the sample into exactly the same records are one
reading; among those the plainest wins (no quote character when nothing is quoted, quote doubling
unless a backslash escape changes the records). The best reading of another kind is the runner-up,
and the confidence says how far ahead the winner is.

The header and preamble are decided on the records of the chosen dialect: the table starts at the
first run of records of the table's width that are not padded titles (``Title,,,,``), metadata
(``key=value``) or comments; a row of labels just above it is the header even when it has one
field more or fewer than the records (a trailing delimiter, an unnamed row-name column); otherwise
the first row is a header when its cells differ in kind from the columns below them (a label
over numbers or dates; a label written unlike the values below it, not ``AD`` over ``AF``).
Ragged tables, whose rows leave optional trailing fields out, start at their first row.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

SCORE_RECORDS = 120  # records parsed per candidate: enough to see the shape, cheap to redo
SCORE_CELLS = 6000  # cells typed per candidate at most (wide tables: fewer rows)
LAYOUT_RECORDS = 300  # records the header/preamble decision looks at
MAX_PREAMBLE = 40
CLOSE_RUNNER_UP = 0.85  # a runner-up scoring this share of the winner is named in the proposal
DELIMITER_CANDIDATES = (",", ";", "\t", "|", ":", "#", "+", "^", "~", " ", "/", "!", "&")
"""Single characters tried as delimiters, in the order ties are broken."""
ONE_COLUMN = "\x1f"  # the delimiter a one-column file is read with: no text line holds it
PRIOR = {",": 1.0, ";": 1.0, "\t": 1.0, "|": 1.0, " ": 0.9}
"""How much a delimiter's score counts before the sample speaks (others: ``RARE_PRIOR``)."""
RARE_PRIOR = 0.8
COMMON_DELIMITERS = ",;\t| "
QUOTE_CANDIDATES = ("", '"', "'", "~")
"""Quote characters tried, plainest first: none, double, single quotes, then tildes (USDA's
``~01001~^~Butter~`` files)."""
SINGLE_COLUMN_SHAPE = 0.8  # the shape score of reading every line as one value
UNKNOWN_CELL = 0.2  # what a cell of no known kind counts (one with a stray quote counts 0)

_NUMBER = r"[+-]?[$€£¥]?\s?(?:\d{1,3}(?:[,. ']\d{3})+|\d+)?(?:[.,]\d+)?(?:[eE][+-]?\d+)?\s?%?"
_DATE = r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s?(?:[AaPp]\.?[Mm]\.?)?"
_ZONE = r"(?:Z|UTC|[+-]\d{2}:?\d{2})?"
_KNOWN_CELL = re.compile(
    "|".join(
        (
            rf"{_NUMBER}",
            rf"(?:{_DATE})(?:[T ]{_TIME}{_ZONE})?",
            rf"{_TIME}{_ZONE}",
            r"(?i:true|false|yes|no|null|none|nan|n/?a|#n/a|-+|\.)",
            r"(?i:[a-z][a-z0-9+.-]*://\S+|www\.\S+)",  # URL
            r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail
            r"(?:[/~.]|[A-Za-z]:\\)[\w./\\ -]*",  # path
            r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?",  # IPv4
            # Words: letters, digits, spaces (not tabs) and in-word marks; a comma, semicolon or
            # colon only as in prose (followed by a space), never gluing two values together.
            r"[^\W_]?(?:[\w '’\".()\[\]&/@#$€£=%*°+\-]|[,;:](?= )|\?|!)*[\w.)\]%?!'’\"]?",
        )
    ),
    re.UNICODE,
)
_METADATA_CELL = re.compile(r"^\s*[A-Za-z_][\w .-]{0,40}?\s*(?:=|: )\s*\S")
_TYPED = re.compile(
    rf"\s*(?:{_NUMBER}|(?:{_DATE})(?:[T ]{_TIME}{_ZONE})?|{_TIME}{_ZONE}|(?i:true|false))\s*"
)


@dataclass(frozen=True)
class Candidate:
    """One way of splitting the sample, and how well it did."""

    delimiter: str
    quote: str
    escape: str | None
    score: float
    width: int
    consistency: float


@dataclass(frozen=True)
class Layout:
    """Where the table starts in the records of a dialect, and whether it has a header."""

    header: bool
    preamble: int


def records(text: str, delimiter: str, quote: str, escape: str | None) -> Iterator[list[str]]:
    """Python's csv reader over ``text`` with one candidate (``""`` delimiter: one column;
    ``""`` quote: nothing is quoted)."""
    stream = io.StringIO(text, newline="")
    if not quote:
        if not delimiter:
            return ([line.rstrip("\r\n")] if line.strip("\r\n") else [] for line in stream)
        return csv.reader(
            stream, delimiter=delimiter, quoting=csv.QUOTE_NONE, escapechar=escape, strict=False
        )
    return csv.reader(
        stream,
        delimiter=delimiter or ONE_COLUMN,
        quotechar=quote,
        escapechar=escape,
        doublequote=escape is None,
        strict=False,
    )


def _parse(text: str, delimiter: str, quote: str, escape: str | None) -> list[list[str]]:
    """The first ``SCORE_RECORDS`` non-blank records of one candidate (a bad quote ends them)."""
    parsed: list[list[str]] = []
    try:
        for record in records(text, delimiter, quote, escape):
            if record and (len(record) > 1 or record[0].strip()):
                parsed.append(record)
                if len(parsed) >= SCORE_RECORDS:
                    break
    except csv.Error:
        pass
    return parsed


def _modal_width(widths: list[int]) -> int:
    """The most common width (the wider on a tie)."""
    counts = Counter(widths)
    return max(counts, key=lambda width: (counts[width], width))


class _CellTypes:
    """Whether a cell reads as a value, remembered across candidates (cells repeat)."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, str, bool], float] = {}

    def share(self, rows: list[list[str]], quote: str, escape: str | None) -> float:
        """The mean worth of the non-empty cells: 1 for a value of a known kind, ``UNKNOWN_CELL``
        for other text, 0 for a cell still holding a quote the candidate should have consumed
        (one opening or closing it, or an unconsumed backslash escape before the quote)."""
        marks = "\"'" if not quote else ("'" if quote == '"' else '"') + quote
        ends = marks if escape is None else marks.replace(quote, "")
        width = max(len(row) for row in rows)
        rows = rows[: max(2, SCORE_CELLS // max(1, width))]
        seen = 0
        good = 0.0
        known = self.known
        for row in rows:
            for cell in row:
                value = cell.strip()
                if not value:
                    continue
                seen += 1
                key = (value, marks, escape is None)
                verdict = known.get(key)
                if verdict is None:
                    if value[0] in marks or value[-1] in ends:
                        verdict = 0.0  # a quote the candidate left in: a wrong quote character
                    elif quote and escape is None and f"\\{quote}" in value:
                        verdict = 0.0  # a backslash-escaped quote read as text
                    elif len(value) > 2000 or _KNOWN_CELL.fullmatch(value) is not None:
                        verdict = 1.0
                    else:
                        verdict = UNKNOWN_CELL
                    known[key] = verdict
                good += verdict
        return good / seen if seen else 1.0


_INSIDE_VALUES = re.compile(
    rf"{_DATE}(?:[T ]{_TIME}{_ZONE})?|{_TIME}{_ZONE}|(?i:[a-z][a-z0-9+.-]*://[^\s,;|\t\"']+)"
)
"""Dates, times and URLs: a ``/``, ``:`` or ``+`` inside them is part of a value."""


def _delimiters(text: str) -> list[str]:
    """Candidate delimiters: each that occurs on a good share of the sample's lines outside
    dates, times, URLs and numbers (the ``/`` and ``:`` of ``28/01/2018 10:30`` are not)."""
    lines = [line for line in text.splitlines()[:SCORE_RECORDS] if line.strip()]
    if not lines:
        return []
    masked = [_INSIDE_VALUES.sub("0", line) for line in lines]
    found = []
    for delimiter in DELIMITER_CANDIDATES:
        looked_at = lines if delimiter in COMMON_DELIMITERS else masked
        on = sum(1 for line in looked_at if delimiter in line)
        if on >= max(1, len(lines) // 3) or (on and on >= len(lines) - MAX_PREAMBLE // 4):
            found.append(delimiter)
    return found


def _escapes(text: str, quote: str, delimiter: str) -> list[str | None]:
    marks = (quote or "") + (delimiter or "")
    if marks and any(f"\\{mark}" in text for mark in marks):
        return [None, "\\"]
    return [None]


def _score(
    rows: list[list[str]], cells: _CellTypes, quote: str, escape: str | None
) -> tuple[float, int, float]:
    """(score, width, consistency) of one candidate's records."""
    if not rows:
        return 0.0, 0, 0.0
    widths = [len(row) for row in rows]
    width = _modal_width(widths)
    # A header or trailing-delimiter row one field off still counts half: it is the same table.
    near = sum(0.5 for w in widths if abs(w - width) == 1 and width > 1)
    # A row where a quoted value was split (one field opens a quote a later one closes) does not
    # fit, whatever its width: the quote character was wrong.
    marks = [m for m in "\"'" if m != quote]
    split = sum(1 for row, w in zip(rows, widths, strict=True) if w == width and _split(row, marks))
    consistency = (widths.count(width) - split + near) / len(widths)
    # Consistency counts cubed: a split that fits four lines in five is already doubtful. More
    # columns count for a little more, but not much: many fields of one line prove nothing.
    shape = consistency**3 * (2 - 1 / width) if width > 1 else SINGLE_COLUMN_SHAPE
    return shape * cells.share(rows, quote, escape), width, consistency


def _split(row: list[str], marks: list[str]) -> bool:
    """Whether a field of ``row`` opens a quote (``mark``) that a later field closes."""
    for mark in marks:
        opened = False
        for cell in row:
            value = cell.strip()
            if not value:
                continue
            once = value.count(mark) == 1  # the mark only opens or only closes this field
            if opened and once and value.endswith(mark):
                return True
            if once and value.startswith(mark):
                opened = True
    return False


def _reading(rows: list[list[str]]) -> int:
    return hash(tuple(tuple(row) for row in rows))


_COMMENT_LINE = re.compile(r"^[ \t]*(?:#|//).*(?:\r\n|\r|\n)?", re.MULTILINE)
"""A comment line (``#`` or ``//`` first): left out of the sample unless ``#`` is tried as the
delimiter."""


def rank_candidates(text: str) -> list[Candidate]:
    """Every candidate's score, best first; candidates reading the sample the same way as a
    better-placed (plainer) one are left out, so the second is a different reading."""
    cells = _CellTypes()
    delimiters = _delimiters(text)
    quotes = [q for q in QUOTE_CANDIDATES if not q or q in text]
    scored: list[tuple[float, tuple[int, int, int], Candidate]] = []
    readings: dict[int, int] = {}
    order = 0
    uncommented = _COMMENT_LINE.sub("", text)
    for delimiter in [*delimiters, ""]:
        sample = text if delimiter == "#" else uncommented
        for quote in quotes:
            for escape in _escapes(text, quote, delimiter):
                rows = _parse(sample, delimiter, quote, escape)
                reading = _reading(rows)
                order += 1
                if reading in readings:
                    continue  # the same records as a plainer candidate
                score, width, consistency = _score(rows, cells, quote, escape)
                if delimiter and width < 2:
                    continue  # splits nothing: the one-column candidate stands for it
                readings[reading] = order
                score *= PRIOR.get(delimiter, RARE_PRIOR) if delimiter else 1.0
                candidate = Candidate(delimiter, quote, escape, score, width, consistency)
                scored.append((-score, _plainness(candidate), candidate))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [candidate for _, _, candidate in scored]


def _plainness(candidate: Candidate) -> tuple[int, int, int]:
    """Tie-break: no quote before ``"`` before ``'``, no escape first, delimiters in list order."""
    delimiter_rank = (
        DELIMITER_CANDIDATES.index(candidate.delimiter)
        if candidate.delimiter in DELIMITER_CANDIDATES
        else len(DELIMITER_CANDIDATES)
    )
    quote_rank = QUOTE_CANDIDATES.index(candidate.quote)
    return quote_rank, candidate.escape is not None, delimiter_rank


def confidence(best: Candidate, runner_up: Candidate | None) -> float:
    """How far the winner is ahead, in 0..1: its consistency times its lead over the runner-up."""
    if best.score <= 0:
        return 0.0
    lead = 1.0 if runner_up is None else max(0.0, 1 - runner_up.score / best.score)
    return round(min(1.0, best.consistency) * (0.5 + 0.5 * math.sqrt(lead)), 3)


# -- header and preamble -------------------------------------------------------------------------


def _filled(row: list[str]) -> int:
    return sum(1 for cell in row if cell.strip())


def _is_metadata(row: list[str]) -> bool:
    """Whether at least half of a line's non-empty cells are ``key=value`` / ``key: value``."""
    cells = [cell for cell in row if cell.strip()]
    matches = sum(1 for cell in cells if _METADATA_CELL.match(cell))
    return bool(cells) and 2 * matches >= len(cells)


def _is_comment(row: list[str], delimiter: str) -> bool:
    return bool(row) and delimiter != "#" and row[0].lstrip().startswith(("#", "//"))


def is_typed(value: str) -> bool:
    """Whether a cell reads as a number, date, time or boolean (data rather than a label)."""
    return bool(value.strip()) and _TYPED.fullmatch(value) is not None


def layout(rows: list[list[str]], delimiter: str) -> Layout:
    """The header and preamble of the records ``rows`` (blank records are ``[]``)."""
    content = [i for i, row in enumerate(rows) if _filled(row) and not _is_comment(row, delimiter)]
    if not content:
        return Layout(False, 0)
    body = content[len(content) // 4 :] if len(content) > 4 else content
    width = _modal_width([len(rows[i]) for i in body])
    counts = Counter(len(rows[i]) for i in body)
    # Widths a good share of the rows have (ragged tables leave trailing fields out).
    common = {width} | {
        w for w, n in counts.items() if n >= 3 and 5 * n >= len(body) and abs(w - width) <= 2
    }
    fills = sorted(_filled(rows[i]) for i in body if len(rows[i]) == width)
    typical_fill = fills[len(fills) // 2] if fills else width

    def solid(index: int) -> bool:
        row = rows[index]
        if len(row) not in common or _is_comment(row, delimiter) or _is_metadata(row):
            return False
        filled = _filled(row)
        return not (width >= 3 and filled <= 1 < typical_fill) and 2 * filled >= typical_fill

    start_at = 0
    for position in range(min(len(content), MAX_PREAMBLE)):
        following = content[position + 1 : position + 4]
        fitting = sum(1 for i in following if len(rows[i]) in common)
        if solid(content[position]) and (fitting or not following):
            start_at = position
            break
    start = content[start_at]
    if _has_header(rows[start], [rows[i] for i in content[start_at + 1 : start_at + 60]]):
        return Layout(True, start)
    above = rows[content[start_at - 1]] if start_at > 0 else []
    below = [rows[i] for i in content[start_at : start_at + 60]]
    if above and _header_above(above, width, delimiter) and _has_header(above, below):
        return Layout(True, content[start_at - 1])
    return Layout(False, start)


def _header_above(row: list[str], width: int, delimiter: str) -> bool:
    """Whether the record above the table's first row is its header one field off (a trailing
    delimiter on either, or an unnamed first column) rather than a preamble line."""
    if abs(len(row) - width) != 1 or _is_comment(row, delimiter) or _is_metadata(row):
        return False
    labels = [cell for cell in row if cell.strip()]
    if len(labels) < max(1, min(len(row), width) - 1) or any(is_typed(c) for c in labels):
        return False
    return len(set(labels)) == len(labels)


_LETTERS = re.compile(r"[^\W\d_]+")
_DIGITS = re.compile(r"\d+")


def _shape(value: str) -> str:
    """A value's outline: each run of letters as ``A``, ``a`` or ``Aa`` (upper, lower, mixed
    case), each run of digits as ``9``, other characters as they are."""

    def letters(match: re.Match[str]) -> str:
        word = match.group()
        return "A" if word.isupper() else "a" if word.islower() else "Aa"

    return _DIGITS.sub("9", _LETTERS.sub(letters, value))


def _kind(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        return "empty"
    if _TYPED.fullmatch(stripped):
        return "typed"
    return "text"


def _has_header(first: list[str], rest: list[list[str]]) -> bool:
    """A first row of labels above columns that differ from it in kind."""
    if not any(cell.strip() for cell in first):
        return False
    labels = [cell.strip() for cell in first if cell.strip()]
    if not rest:
        return not any(is_typed(c) for c in labels) and len(set(labels)) == len(labels)
    votes = 0.0
    for column, label in enumerate(first):
        values = [row[column] for row in rest if column < len(row) and row[column].strip()]
        if not values or not label.strip():
            continue
        kinds = Counter(_kind(v) for v in values)
        typed_share = kinds["typed"] / len(values)
        label_typed = is_typed(label)
        if typed_share >= 0.9:
            votes += -1.0 if label_typed else 1.0
        elif label_typed:
            votes -= 0.5 if typed_share < 0.5 else 1.0
        else:
            stripped = label.strip()
            if any(v.strip() == stripped for v in values):
                votes -= 0.5
            lengths = {len(v.strip()) for v in values}
            if len(lengths) == 1 and len(stripped) not in lengths:
                votes += 0.5
            # A label written like the values below it (same run of cases, digits and marks:
            # ``AD`` over ``AF``, ``anagrams`` over ``brain_networks``) reads as data.
            alike = sum(1 for v in values if _shape(v.strip()) == _shape(stripped))
            votes += -0.5 if 2 * alike >= len(values) else 0.5 if alike == 0 else 0.0
    if votes != 0:
        return votes > 0
    return not any(is_typed(c) for c in labels) and len(set(labels)) == len(labels) == len(first)
