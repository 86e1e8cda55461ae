"""What kind of file is this? Decided from its first bytes, with the extension as a tie-breaker.

Kinds: ``csv`` (any delimited text), ``json``, ``jsonl``, ``log``, ``parquet``, ``compressed``,
``binary``, ``text`` and ``empty``. Magic numbers win over extensions, so a ``.csv`` that is really
gzip is ``compressed``; among text formats the content decides and the extension breaks ties.
"""

from __future__ import annotations

import codecs
import re

KINDS = ("csv", "json", "jsonl", "log", "parquet", "compressed", "binary", "text", "empty")
KIND_TAG_PREFIX = "kind:"

_COMPRESSED_MAGIC = (
    b"\x1f\x8b",  # gzip
    b"PK\x03\x04",  # zip (also xlsx/docx)
    b"BZh",  # bzip2
    b"\xfd7zXZ\x00",  # xz
    b"(\xb5/\xfd",  # zstd
    b"7z\xbc\xaf\x27\x1c",  # 7-zip
    b"\x04\x22\x4d\x18",  # lz4 frame
)
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITED_EXTS = frozenset({".csv", ".tsv", ".psv", ".tab", ".dsv"})
_JSONL_EXTS = frozenset({".jsonl", ".ndjson"})
_LOG_LINE = re.compile(
    r"^\s*(?:\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}"  # ISO timestamp
    r"|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}"  # syslog "Mar  3 14:02:01"
    r"|<\d{1,3}>"  # syslog priority
    r"|\[?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL)\b)"
)
_SAMPLE_LINES = 20


def kind_tag(kind: str) -> str:
    """The automatic tag recorded for a kind, e.g. ``kind:csv``."""
    return KIND_TAG_PREFIX + kind


_NOT_CONTROL = bytes(c for c in range(256) if c >= 32 or c in (9, 10, 12, 13, 27))


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    control_count = len(head.translate(None, _NOT_CONTROL))
    return control_count * 10 > len(head)


def _sample_lines(text: str, truncated: bool) -> list[str]:
    lines = text.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the last line was cut by the head limit
    return [line for line in lines if line.strip()][:_SAMPLE_LINES]


def _is_delimited(lines: list[str], min_fields: int = 2) -> bool:
    """Whether most lines (one preamble line aside) split into ``min_fields`` or more fields by
    one delimiter; from 3 fields on only ';', tab and '|' count (commas are common in prose)."""
    if len(lines) < 2:
        return False
    body = lines[1:] if len(lines) > 2 else lines  # tolerate one preamble line
    for delimiter in _DELIMITERS if min_fields < 3 else _DELIMITERS[1:]:
        counts = [line.count(delimiter) for line in body]
        common = max(set(counts), key=counts.count)
        if common >= min_fields - 1 and counts.count(common) * 5 >= len(counts) * 4:
            return True
    return False


def _utf16_as_utf8(head: bytes) -> bytes:
    """A head that starts with a UTF-16 byte-order mark, as UTF-8 (a cut last character left
    out), so UTF-16 text is classified by what it says instead of as binary."""
    decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
    return decoder.decode(head, final=False).encode("utf-8")


def classify(ext: str, head: bytes, truncated: bool) -> str:
    """The kind of a file from its lower-case extension and its first bytes."""
    if not head:
        return "empty"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = _utf16_as_utf8(head)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(_COMPRESSED_MAGIC):
        return "compressed"
    if _looks_binary(head):
        return "binary"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = _sample_lines(text, truncated)
    if not lines:
        return "text"
    first = lines[0].lstrip()
    if first.startswith(("{", "[")):
        rest_are_objects = all(line.lstrip().startswith("{") for line in lines)
        if ext in _JSONL_EXTS or (len(lines) >= 2 and rest_are_objects and first.endswith("}")):
            return "jsonl"
        return "json"
    # Delimited records that start with a timestamp (sensor exports, with or without a preamble
    # line) are csv: a .csv name or 2+ non-comma delimiters per line outweigh the log look.
    if _is_delimited(lines) and (ext in _DELIMITED_EXTS or _is_delimited(lines, min_fields=3)):
        return "csv"
    log_lines = sum(1 for line in lines if _LOG_LINE.match(line))
    if ext == ".log" or (len(lines) >= 2 and log_lines * 5 >= len(lines) * 3):
        return "log"
    if ext in _DELIMITED_EXTS or _is_delimited(lines):
        return "csv"
    return "text"
