"""Line patterns inferred from sample lines: one regex for a log format, or the keys of key=value.

Each sample line is cut into tokens (a timestamp, a ``[bracketed]`` or ``"quoted"`` group, or a
run of non-spaces) and each token is given a class (timestamp, IP address, level, integer, number,
``program[pid]:``, word). The longest run of leading positions where every line agrees on the
class becomes named groups of one regex; a position holding the same word on every line becomes a
literal; whatever follows is the ``message``. Lines that are mostly ``key=value`` pairs get one
small regex per key instead. This runs at draft time on at most a few hundred lines; the parser it
writes applies the regex to whole files with ``pyarrow.compute.extract_regex``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

ISO_TIMESTAMP = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
SYSLOG_TIMESTAMP = r"[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}"
_TOKEN = re.compile(
    rf"(?P<iso>{ISO_TIMESTAMP})(?=\s|$)"
    rf"|(?P<syslog>{SYSLOG_TIMESTAMP})(?=\s|$)"
    r"|(?P<bracket>\[(?:[^\[\]]|\[[^\]]*\])*\])(?=\s|$)"
    r'|(?P<quoted>"(?:[^"\\]|\\.)*")(?=\s|$)'
    r"|(?P<word>\S+)"
)
_KV_TOKEN = re.compile(r'(?P<key>[A-Za-z_][\w.\-]*)=(?:"(?:[^"\\]|\\.)*"|\S*)')
LEVELS = frozenset(
    "TRACE DEBUG INFO NOTICE WARN WARNING ERROR ERR CRITICAL CRIT FATAL ALERT EMERG".split()
    + ["V", "D", "I", "W", "E", "F"]  # Android logcat's one-letter levels
)
MIN_MATCH_SHARE = 0.9  # a pattern must match at least this share of the sample lines
KV_SHARE = 0.6  # a line is key=value when at least this share of its tokens are pairs
MAX_KEYS = 60
MAX_FIELDS = 40

CLASS_PATTERNS = {
    "timestamp": ISO_TIMESTAMP,
    "syslog_time": SYSLOG_TIMESTAMP,
    "ip": r"\d{1,3}(?:\.\d{1,3}){3}",
    "date": r"\d{2,4}[-/]\d{1,2}(?:[-/]\d{2,4})?",
    "time": r"\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?",
    "level": r"[A-Za-z]+",
    "int": r"-?\d+",
    "number": r"-?\d+(?:\.\d+)?",
    "word": r"\S+",
}
CLASS_NAMES = {
    "timestamp": "timestamp",
    "syslog_time": "timestamp",
    "ip": "ip",
    "date": "date",
    "time": "time",
    "level": "level",
    "program": "program",
    "bracket": "field",
    "quoted": "field",
    "int": "field",
    "number": "field",
    "word": "field",
}


@dataclass(frozen=True)
class LinePattern:
    """A regex with one named group per output column, and what the columns are."""

    regex: str
    columns: tuple[str, ...]
    described: str
    """The fields in words, for the parser's docstring and the lab's report."""
    matched: int
    sampled: int


@dataclass(frozen=True)
class KeyValuePattern:
    """Keys found in ``key=value`` lines, each with its column name, in order of appearance."""

    keys: tuple[tuple[str, str], ...]
    matched: int
    sampled: int


def _token_class(kind: str, text: str) -> str:
    if kind in ("iso", "syslog"):
        return "timestamp" if kind == "iso" else "syslog_time"
    if kind in ("bracket", "quoted"):
        return kind
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", text):
        return "ip"
    if re.fullmatch(CLASS_PATTERNS["date"], text):
        return "date"
    if re.fullmatch(CLASS_PATTERNS["time"], text):
        return "time"
    if text.upper().strip("[]:") in LEVELS and text.strip("[]:").isalpha():
        return "level" if text.isalpha() else "word"
    if re.fullmatch(r"-?\d+", text):
        return "int"
    if re.fullmatch(r"-?\d+\.\d+", text):
        return "number"
    if re.fullmatch(r"[^\s\[:]+(?:\[\d+\])?:", text):
        return "program"
    return "word"


def tokens(line: str) -> list[tuple[str, str]]:
    """(class, text) of each token of one line."""
    found: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(line):
        kind = match.lastgroup or "word"
        found.append((_token_class(kind, match.group()), match.group()))
    return found


def _merge(classes: set[str]) -> str | None:
    """The one class that fits every line's token at a position, or None."""
    if len(classes) == 1:
        return next(iter(classes))
    if classes <= {"int", "number"}:
        return "number"
    if classes <= {"int", "number", "ip", "level", "word"} and "word" in classes:
        return "word"
    if classes <= {"int", "ip", "level", "word"}:
        return "word"
    return None


def _group(cls: str, name: str, optional_pid: str | None = None) -> str:
    if cls == "bracket":
        return rf"\[(?P<{name}>(?:[^\[\]]|\[[^\]]*\])*)\]"
    if cls == "quoted":
        return rf'"(?P<{name}>(?:[^"\\]|\\.)*)"'
    if cls == "program":
        return rf"(?P<{name}>[^\s\[:]+)(?:\[(?P<{optional_pid}>\d+)\])?:"
    return f"(?P<{name}>{CLASS_PATTERNS[cls]})"


def _unique(name: str, taken: set[str]) -> str:
    candidate, count = name, 1
    while candidate in taken:
        count += 1
        candidate = f"{name}_{count}"
    taken.add(candidate)
    return candidate


def _bracket_name(texts: set[str], columns: list[str]) -> str:
    """A ``[bracketed]`` field's name from what it holds: a level, a time, else a field."""
    inner = {text[1:-1].strip() for text in texts}
    if all(value.upper() in LEVELS for value in inner) and "level" not in columns:
        return "level"
    if all(re.search(r"\d{1,2}:\d{2}:\d{2}", value) for value in inner):
        return "timestamp" if "timestamp" not in columns else "time"
    return "field"


def infer_line_pattern(lines: list[str]) -> LinePattern | None:
    """The regex that the sample lines share (at least two fields), or None."""
    if not lines:
        return None
    split = [tokens(line) for line in lines]
    active = list(range(len(split)))  # lines that fit every position so far
    built = _PatternParts()
    position = 0
    typed = False  # a timestamp, number, address... among the fields: not prose
    longest = max(len(t) for t in split)
    needed = MIN_MATCH_SHARE * len(lines)
    while position < min(longest, MAX_FIELDS):
        column = _position_class(split, active, position, needed)
        if column is None:
            break
        merged, present = column
        texts = {split[i][position][1] for i in present}
        if merged == "word" and position > 0 and built.message_starts(split, present, texts):
            break  # free text from here on: the message
        active = present
        typed = typed or merged not in ("word", "level")
        built.add(merged, texts, position)
        position += 1
    if not built.columns or not typed:
        return None  # words only: prose, not a log format
    rest = any(len(split[i]) > position for i in active)
    return built.pattern(lines, rest)


def _position_class(
    split: list[list[tuple[str, str]]], active: list[int], position: int, needed: float
) -> tuple[str, list[int]] | None:
    """The class of the token at ``position`` on enough of the ``active`` lines, and those
    lines; None where too few lines reach it or agree on it."""
    present = [i for i in active if len(split[i]) > position]
    if len(present) < needed:
        return None
    merged = _merge({split[i][position][0] for i in present})
    if merged is None:  # a few odd lines (continuations): follow the most common class
        common, count = Counter(split[i][position][0] for i in present).most_common(1)[0]
        if count < needed:
            return None
        present = [i for i in present if split[i][position][0] == common]
        merged = common
    return merged, present


@dataclass
class _PatternParts:
    """A line pattern as it is built, position by position: the regex pieces, the column names
    (each unique), and the words that describe it to a person."""

    parts: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)

    def message_starts(
        self, split: list[list[tuple[str, str]]], present: list[int], texts: set[str]
    ) -> bool:
        """Whether a position of words starts the free-text message: lines of different
        lengths, and words that vary or follow a literal separator or the level."""
        ragged = len({len(split[i]) for i in present}) > 1
        varied = len(texts) > len(present) // 2
        words = self.words
        after_separator = bool(words) and (words[-1].startswith("'") or words[-1] == "level")
        return ragged and (varied or after_separator)

    def add(self, merged: str, texts: set[str], position: int) -> None:
        """The position's piece: a literal where every line holds the same punctuation, else
        a named group (``program[pid]:`` gives two)."""
        literal = next(iter(texts))
        if len(texts) == 1 and not any(char.isalnum() for char in literal):
            self.parts.append(re.escape(literal))
            self.words.append(f"'{literal}'")
            return
        after_time = position == 1 and self.parts and self.columns == ["timestamp"]
        base = "host" if after_time and merged == "word" else CLASS_NAMES[merged]
        if merged == "bracket":
            base = _bracket_name(texts, self.columns)
        name = _unique(base, self.taken)
        if name.startswith("field"):
            self.taken.discard(name)
            name = _unique(f"field_{position + 1}", self.taken)
        if merged == "program":
            pid = _unique("pid", self.taken)
            self.parts.append(_group(merged, name, pid))
            self.columns.extend([name, pid])
            self.words.append(f"{name}[{pid}]:")
        else:
            self.parts.append(_group(merged, name))
            self.columns.append(name)
            self.words.append(name)

    def pattern(self, lines: list[str], rest: bool) -> LinePattern | None:
        """The finished pattern (``rest``: a trailing ``message`` takes what follows), or None
        when it has fewer than two columns or matches too few of ``lines``."""
        regex = "^" + r"\s+".join(self.parts)
        if rest:
            message = _unique("message", self.taken)
            regex += rf"(?:\s+(?P<{message}>.*))?$"
            self.columns.append(message)
            self.words.append(f"{message} (the rest of the line)")
        else:
            regex += r"\s*$"
        if len(self.columns) < 2:
            return None
        compiled = re.compile(regex)
        matched = sum(1 for line in lines if compiled.match(line))
        if matched < MIN_MATCH_SHARE * len(lines):
            return None
        return LinePattern(regex, tuple(self.columns), " ".join(self.words), matched, len(lines))


def column_name(key: str, taken: set[str]) -> str:
    """A column name for a key: lower case, non-word characters as ``_``."""
    name = re.sub(r"\W+", "_", key).strip("_").lower() or "key"
    if name[0].isdigit():
        name = f"k_{name}"
    return _unique(name, taken)


def infer_key_values(lines: list[str]) -> KeyValuePattern | None:
    """The keys of ``key=value`` lines, when most sample lines are mostly pairs; else None."""
    if not lines:
        return None
    keys: dict[str, None] = {}
    matched = 0
    for line in lines:
        pairs = list(_KV_TOKEN.finditer(line))
        all_tokens = len(line.split())
        if pairs and len(pairs) >= KV_SHARE * all_tokens:
            matched += 1
            for pair in pairs:
                keys.setdefault(pair.group("key"), None)
    if matched < MIN_MATCH_SHARE * len(lines) or len(keys) < 2:
        return None
    taken: set[str] = set()
    named = tuple((key, column_name(key, taken)) for key in list(keys)[:MAX_KEYS])
    return KeyValuePattern(named, matched, len(lines))


def key_regex(key: str) -> str:
    """The regex that finds one key's value anywhere in a line (quoted or bare)."""
    return rf'(?:^|\s){re.escape(key)}=(?:"(?P<q>(?:[^"\\]|\\.)*)"|(?P<v>\S*))'
