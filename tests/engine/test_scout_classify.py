"""Kind detection from first bytes, with the extension as a tie-breaker."""

from __future__ import annotations

import gzip

import pytest

from casparian_engine.scout.classify import classify


@pytest.mark.parametrize(
    ("ext", "head", "kind"),
    [
        (".csv", b"", "empty"),
        (".parquet", b"PAR1\x15\x04", "parquet"),
        (".csv", gzip.compress(b"a,b\n1,2\n", mtime=0), "compressed"),
        (".xlsx", b"PK\x03\x04\x14\x00", "compressed"),
        (".dat", b"\x00\x01\x02binary\x00", "binary"),
        (".txt", b"Export 2024\nid;name;amount\n1;a;2,50\n2;b;3,75\n3;c;1,00\n", "csv"),
        (".dat", b"id\tname\n1\ta\n2\tb\n", "csv"),
        (".csv", b"single column\n", "csv"),
        (".json", b'  {"a": [1, 2], "b": {"c": 3}}', "json"),
        (".txt", b'{"a": 1}\n{"a": 2}\n{"a": 3}\n', "jsonl"),
        (".ndjson", b'{"a": 1}', "jsonl"),
        (".txt", b"Mar  3 14:02:01 host sshd[42]: ok\nMar  3 14:02:02 host cron[7]: run\n", "log"),
        (".out", b"2024-01-01T10:00:00Z INFO a\n2024-01-01T10:00:01Z WARN b\n", "log"),
        (".log", b"anything at all\n", "log"),
        (".txt", "naïve café text, just prose\n".encode("latin-1"), "text"),
        (".md", b"# Title\n\nSome prose here.\n", "text"),
        # UTF-16 with a byte-order mark is read as text (its NUL bytes made it "binary").
        (".csv", "name,age\r\nJosé,30\r\nMüller,25\r\n".encode("utf-16"), "csv"),
        (".txt", b"\xfe\xff" + "id\tname\n1\ta\n2\tb\n".encode("utf-16-be"), "csv"),
        (".log", "2024-01-01 10:00:00 INFO a\n".encode("utf-16")[:-1], "log"),  # cut mid-character
        (".dat", b"\xff\xfe\x00\xd8\x00\x00\x01\x02", "binary"),  # a BOM, then not text
    ],
)
def test_classify(ext: str, head: bytes, kind: str) -> None:
    assert classify(ext, head, truncated=False) == kind
