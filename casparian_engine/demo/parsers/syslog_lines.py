"""Syslog-style logs (Level 1): one row per line, fields split with one vectorised regex.

The year is not in a syslog line; it comes from the file name (``syslog-YYYYMMDD.log``). A line
that does not match (e.g. a continuation line) keeps its text in ``message`` and is marked with
``_cf_row_error``. ``_cf_row`` is the line number.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

SYSLOG_LINE = (
    r"^(?P<month>[A-Z][a-z]{2}) +(?P<day>[0-9]{1,2}) (?P<clock>[0-9]{2}:[0-9]{2}:[0-9]{2}) "
    r"(?P<host>\S+) (?P<program>[^\s\[:]+)(?:\[(?P<pid>[0-9]+)\])?: (?P<message>.*)$"
)
FILE_DATE = re.compile(r"(?P<year>[0-9]{4})[0-9]{4}")


def parse(path: str) -> pa.Table:
    """Return the log as a table: logged_at, host, program, pid, message."""
    file_date = FILE_DATE.search(Path(path).name)
    if file_date is None:
        raise ValueError(f"{path}: file name has no YYYYMMDD date, so the year is unknown")
    lines = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=["line"], use_threads=False),
        parse_options=pacsv.ParseOptions(
            delimiter="\x1f", quote_char=False, escape_char=False, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={"line": pa.string()}, strings_can_be_null=False
        ),
    ).column("line")
    parts = pc.extract_regex(lines, SYSLOG_LINE)
    matched = pc.is_valid(parts)
    stamp_text = pc.binary_join_element_wise(
        file_date["year"],
        pc.struct_field(parts, "month"),
        pc.struct_field(parts, "day"),
        pc.struct_field(parts, "clock"),
        " ",
    )
    logged_at = pc.strptime(stamp_text, format="%Y %b %d %H:%M:%S", unit="s", error_is_null=True)
    pid_text = pc.struct_field(parts, "pid")
    ones = pc.fill_null(pa.nulls(len(lines), pa.int64()), 1)
    return pa.table(
        {
            "logged_at": logged_at.cast(pa.timestamp("us")),
            "host": pc.struct_field(parts, "host"),
            "program": pc.struct_field(parts, "program"),
            "pid": pc.if_else(pc.equal(pid_text, ""), None, pid_text).cast(pa.int64()),
            "message": pc.if_else(matched, pc.struct_field(parts, "message"), lines),
            "_cf_row_error": pc.if_else(matched, None, "line does not match the syslog format"),
            "_cf_row": pc.cumulative_sum(ones),
        }
    )
