"""Text → date, time and timestamp, strictly: no rolled-over dates, fractional seconds via ``%f``.

Arrow's ``strptime`` rolls an impossible day over into the next month (30 Feb → 1 Mar) and knows
no ``%f``. ``strptime_strict`` fixes both with whole-array kernels: rolled-over values are found
among the few rows that land where a rollover can land and compared with the day the text
actually says (in the text's own UTC offset for ``%z``); a ``%f`` fraction is cut out with one
regex pass and added back in the target unit, and a fraction finer than the unit is a failure, not
a silent truncation.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

AnyArray: TypeAlias = Any

ISO_TIMESTAMP_RE = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r"(?::[0-5][0-9](?:\.[0-9]{1,9})?)?)?{zone}$"
)
_DIRECTIVE_PATTERNS = {
    "Y": "[0-9]{4}",
    "y": "[0-9]{2}",
    "m": "[0-9]{1,2}",
    "d": "[0-9]{1,2}",
    "e": " ?[0-9]{1,2}",
    "H": "[0-9]{1,2}",
    "I": "[0-9]{1,2}",
    "M": "[0-9]{1,2}",
    "S": "[0-9]{1,2}",
    "j": "[0-9]{1,3}",
    "p": "[AaPp][Mm]",
    "b": "[A-Za-z]+",
    "B": "[A-Za-z]+",
    "a": "[A-Za-z]+",
    "A": "[A-Za-z]+",
    "f": "[0-9]{1,9}",
    "z": "(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)",
    "%": "%",
}
_GROUP_NAMES = {"d": "day", "e": "day", "z": "zone", "f": "fraction", "Y": "year"}
# Seconds from 1970 to 1000-01-01: '%Y' reads '24' as year 24, so earlier values are re-checked.
_YEAR_1000_SECONDS = -30_610_224_000
_UNIT_NANOSECONDS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def _rollover_landing_days() -> pa.Array:
    """Indexed by day of year: can Arrow land a too-big day of month there (30 Feb → 1 Mar)?"""
    landing: set[int] = set()
    for year in (2023, 2024):
        for month in range(1, 12):
            month_length = calendar.monthrange(year, month)[1]
            for overshoot in range(1, 32 - month_length):
                landing.add(date(year, month + 1, overshoot).timetuple().tm_yday)
    return pa.array([day in landing for day in range(367)], pa.bool_())


# A lookup by ``take`` is several times faster than ``is_in`` on a column of days.
_IS_ROLLOVER_LANDING_DAY = _rollover_landing_days()


def _pieces(fmt: str) -> list[tuple[str | None, str | None]]:
    """(regex, directive) for each directive and literal of ``fmt``; regex None if unknown."""
    pieces: list[tuple[str | None, str | None]] = []
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char == "%" and index + 1 < len(fmt):
            directive = fmt[index + 1]
            pieces.append((_DIRECTIVE_PATTERNS.get(directive), directive))
            index += 2
            continue
        pieces.append((r"\s+" if char.isspace() else re.escape(char), None))
        index += 1
    return pieces


def _regex_of(pieces: list[tuple[str | None, str | None]], captured: set[str]) -> str | None:
    parts: list[str] = []
    for pattern, directive in pieces:
        if pattern is None:
            return None
        if directive in captured:
            optional_space = " ?" if directive == "e" else ""
            core = pattern.removeprefix(optional_space)
            pattern = f"{optional_space}(?P<{_GROUP_NAMES[directive]}>{core})"
        parts.append(pattern)
    return "".join(parts)


def format_regex(fmt: str, captured: set[str], whole: bool = False) -> str | None:
    """A regex for the text ``fmt`` reads, with named groups for the ``captured`` directives.

    Without ``whole`` the regex stops after the last captured directive (the rest is not needed
    to find it). None when a directive it must pass is unknown or a group would repeat.
    """
    pieces = _pieces(fmt)
    hits = [i for i, (_, directive) in enumerate(pieces) if directive in captured]
    names = [_GROUP_NAMES[str(pieces[i][1])] for i in hits]
    if not hits or len(set(names)) != len(names):
        return None
    regex = _regex_of(pieces if whole else pieces[: hits[-1] + 1], captured)
    return None if regex is None else "^" + regex + ("$" if whole else "")


def strptime_strict(text: AnyArray, fmt: str, unit: str) -> AnyArray:
    """``strptime`` that rejects impossible dates and reads ``%f``; null where text fails."""
    if "%f" in fmt:
        return _strptime_with_fraction(text, fmt, unit)
    parsed = pc.strptime(text, fmt, unit, error_is_null=True)
    parsed = _reject_short_years(text, parsed, fmt, unit)
    return _reject_rolled_over(text, parsed, fmt, unit)


def _flat(values: AnyArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _reject_short_years(text: AnyArray, parsed: AnyArray, fmt: str, unit: str) -> AnyArray:
    """Null values whose '%Y' text is not four digits (Arrow reads '24' as the year 24)."""
    pattern = format_regex(fmt, {"Y"})
    if pattern is None or len(parsed) == 0:
        return parsed
    ticks = pc.cast(parsed, pa.int64())
    year_1000 = _YEAR_1000_SECONDS * (_UNIT_NANOSECONDS["s"] // _UNIT_NANOSECONDS[unit])
    earliest = pc.min(ticks).as_py()
    if earliest is None or earliest >= year_1000:
        return parsed
    suspect = _flat(pc.fill_null(pc.less(ticks, year_1000), False))
    four_digits = _flat(pc.match_substring_regex(pc.filter(text, suspect), pattern))
    short_year = pc.replace_with_mask(suspect, suspect, pc.invert(four_digits))
    return pc.if_else(short_year, pa.scalar(None, parsed.type), parsed)


def _reject_rolled_over(text: AnyArray, parsed: AnyArray, fmt: str, unit: str) -> AnyArray:
    """Null every parsed value whose day of month differs from the day its text says."""
    has_zone = "%z" in fmt
    pattern = format_regex(fmt, {"d", "e", "z"} if has_zone else {"d", "e"})
    if pattern is None or "(?P<day>" not in pattern:
        return parsed
    if has_zone:
        # A UTC offset moves the day by at most one: a local day 1-3 is a UTC day 28-31 or 1-4.
        utc_day = pc.day(parsed)
        suspect = pc.or_(pc.less_equal(utc_day, 4), pc.greater_equal(utc_day, 28))
    else:
        suspect = _on_landing_days(parsed)
    suspect = _flat(pc.fill_null(suspect, False))
    if not pc.any(suspect).as_py():
        return parsed
    positions = pc.indices_nonzero(suspect)
    groups = pc.extract_regex(pc.take(text, positions), pattern)
    day_read = pc.cast(pc.struct_field(groups, "day"), pa.int64())
    suspect_parsed = pc.take(parsed, positions)
    if has_zone:
        offset = _offset_seconds(pc.struct_field(groups, "zone"))
        shift = pc.multiply(offset, _UNIT_NANOSECONDS["s"] // _UNIT_NANOSECONDS[unit])
        suspect_parsed = pc.cast(
            pc.add(pc.cast(suspect_parsed, pa.int64()), shift), pa.timestamp(unit)
        )
    same_day = pc.equal(day_read, pc.cast(pc.day(suspect_parsed), pa.int64()))
    rolled_over = pc.replace_with_mask(
        suspect, suspect, _flat(pc.fill_null(pc.invert(same_day), True))
    )
    return pc.if_else(rolled_over, pa.scalar(None, parsed.type), parsed)


def _on_landing_days(parsed: AnyArray) -> AnyArray:
    """Mask of values on a day where a rollover can land (1-3 March, 1 May, ...).

    Values become day numbers (a cast to date), and the few distinct days of the data's span are
    looked up once: cheaper than a calendar kernel per value. A span beyond ~550 years falls back
    to ``day_of_year``.
    """
    day_numbers = pc.cast(pc.cast(parsed, pa.date32()), pa.int32())
    bounds = pc.min_max(day_numbers).as_py()
    if bounds["min"] is None:
        return pc.is_valid(parsed)  # all null: nothing to check
    first_day, day_count = bounds["min"], bounds["max"] - bounds["min"] + 1
    if day_count > 200_000:
        return pc.take(_IS_ROLLOVER_LANDING_DAY, pc.day_of_year(parsed))
    counting = pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int32()), day_count))
    span_days = pc.cast(pc.add(counting, pa.scalar(first_day - 1, pa.int32())), pa.date32())
    landing_in_span = pc.take(_IS_ROLLOVER_LANDING_DAY, pc.day_of_year(span_days))
    return pc.take(landing_in_span, pc.subtract(day_numbers, pa.scalar(first_day, pa.int32())))


def _offset_seconds(zone: AnyArray) -> AnyArray:
    """Seconds east of UTC for '%z' text: 'Z', '+01', '+0100' or '+01:00'."""
    digits = pc.utf8_rpad(pc.replace_substring(zone, ":", ""), 5, "0")
    digits = pc.if_else(pc.equal(zone, "Z"), "+0000", digits)
    hours = pc.cast(pc.utf8_slice_codeunits(digits, 1, 3), pa.int64())
    minutes = pc.cast(pc.utf8_slice_codeunits(digits, 3, 5), pa.int64())
    magnitude = pc.add(pc.multiply(hours, 3600), pc.multiply(minutes, 60))
    negative = pc.starts_with(digits, "-")
    return pc.if_else(negative, pc.negate(magnitude), magnitude)


def _strptime_with_fraction(text: AnyArray, fmt: str, unit: str) -> AnyArray:
    """Parse a format with one ``%f`` (1-9 digits); a fraction finer than ``unit`` fails."""
    before, _, after = fmt.partition("%f")
    head, tail = _regex_of(_pieces(before), set()), _regex_of(_pieces(after), set())
    if "%f" in after or head is None or tail is None:
        raise ValueError(f"format {fmt!r}: '%f' may appear once, beside known directives only")
    pattern = f"^(?P<head>{head})(?P<fraction>[0-9]{{1,9}})(?P<tail>{tail})$"
    groups = pc.extract_regex(text, pattern)
    base_text = pc.binary_join_element_wise(
        pc.struct_field(groups, "head"), pc.struct_field(groups, "tail"), ""
    )
    base_fmt = before + after
    base = pc.strptime(base_text, base_fmt, unit, error_is_null=True)
    base = _reject_short_years(base_text, base, base_fmt, unit)
    base = _reject_rolled_over(base_text, base, base_fmt, unit)
    nanoseconds = pc.cast(pc.utf8_rpad(pc.struct_field(groups, "fraction"), 9, "0"), pa.int64())
    per_unit = _UNIT_NANOSECONDS[unit]
    whole_units = pc.divide(nanoseconds, per_unit)
    exact = pc.fill_null(pc.equal(pc.multiply(whole_units, per_unit), nanoseconds), False)
    combined = pc.cast(pc.add(pc.cast(base, pa.int64()), whole_units), base.type)
    return pc.if_else(exact, combined, pa.scalar(None, base.type))
