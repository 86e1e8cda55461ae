"""Per-column typing for validation: structural compatibility and vectorised text → type casts.

Every function here works on whole (chunked) arrays with ``pyarrow.compute``. A text cast never
raises on a bad value: it returns the typed array with null where the text did not parse, and the
caller derives the ``cast`` violation mask as "text present, typed value null".
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from .model import ColumnSpec

# pa.Array or pa.ChunkedArray; pyarrow ships no type information, so mypy sees Any either way.
AnyArray: TypeAlias = Any

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
_FLOAT_RE = (
    r"^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|Inf|INF|infinity|Infinity|"
    r"nan|NaN|NAN)$"
)
_ISO_TIMESTAMP_RE = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r"(?::[0-5][0-9](?:\.[0-9]{1,9})?)?)?{zone}$"
)
_INT64_SAFE_DIGITS = 18
_INT_BOUNDS = {
    pa.int8(): (-(2**7), 2**7 - 1),
    pa.int16(): (-(2**15), 2**15 - 1),
    pa.int32(): (-(2**31), 2**31 - 1),
    pa.int64(): (-(2**63), 2**63 - 1),
    pa.uint8(): (0, 2**8 - 1),
    pa.uint16(): (0, 2**16 - 1),
    pa.uint32(): (0, 2**32 - 1),
    pa.uint64(): (0, 2**64 - 1),
}
_TEMPORAL_UNIT_ORDER = {"s": 0, "ms": 1, "us": 2, "ns": 3}


def is_text_type(data_type: pa.DataType) -> bool:
    return (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or (pa.types.is_dictionary(data_type) and is_text_type(data_type.value_type))
    )


def compatibility(actual: pa.DataType, expected: pa.DataType) -> str | None:
    """How ``actual`` reaches ``expected``: 'same', 'text', 'widen', or None if incompatible."""
    if actual == expected:
        return "same"
    if is_text_type(actual):
        return "text"
    if pa.types.is_null(actual):
        return "widen"
    if pa.types.is_dictionary(actual):
        return "widen" if actual.value_type == expected else None
    if pa.types.is_integer(actual) and pa.types.is_integer(expected):
        low, high = _INT_BOUNDS[actual]
        new_low, new_high = _INT_BOUNDS[expected]
        return "widen" if new_low <= low and high <= new_high else None
    if pa.types.is_integer(actual) and pa.types.is_floating(expected):
        exact_bits = 24 if expected == pa.float32() else 53
        return "widen" if actual.bit_width < exact_bits else None
    if pa.types.is_floating(actual) and pa.types.is_floating(expected):
        return "widen" if actual.bit_width <= expected.bit_width else None
    if pa.types.is_decimal(actual) and pa.types.is_decimal(expected):
        keeps_digits = expected.precision - expected.scale >= actual.precision - actual.scale
        return "widen" if keeps_digits and expected.scale >= actual.scale else None
    if pa.types.is_large_binary(actual) and pa.types.is_binary(expected):
        return "widen"
    if pa.types.is_timestamp(actual) and pa.types.is_timestamp(expected):
        finer = _TEMPORAL_UNIT_ORDER[expected.unit] >= _TEMPORAL_UNIT_ORDER[actual.unit]
        return "widen" if finer and (actual.tz is None) == (expected.tz is None) else None
    if pa.types.is_time(actual) and pa.types.is_time(expected):
        finer = _TEMPORAL_UNIT_ORDER[expected.unit] >= _TEMPORAL_UNIT_ORDER[actual.unit]
        return "widen" if finer else None
    if pa.types.is_date(actual) and pa.types.is_date(expected):
        return "widen"
    return None


def _null_where(mask: AnyArray, values: AnyArray) -> AnyArray:
    return pc.if_else(mask, pa.scalar(None, values.type), values)


def _keep_where(mask: AnyArray, values: AnyArray) -> AnyArray:
    return pc.if_else(mask, values, pa.scalar(None, values.type))


def apply_null_tokens(text: AnyArray, tokens: tuple[str, ...]) -> AnyArray:
    """Text with every null token (e.g. '', 'N/A') replaced by a real null."""
    if not tokens:
        return text
    is_token = pc.is_in(text, value_set=pa.array(tokens, text.type))
    if not pc.any(is_token).as_py():
        return text
    return _null_where(is_token, text)


def cast_text(text: AnyArray, spec: ColumnSpec) -> AnyArray:
    """Typed values from text per the column's type and format; null where a value did not parse."""
    target = spec.arrow_type
    if pa.types.is_dictionary(text.type):
        text = pc.cast(text, pa.string())
    if pa.types.is_string(target):
        return pc.cast(text, target)
    if pa.types.is_binary(target):
        return pc.cast(text, target)
    if pa.types.is_boolean(target):
        lowered = pc.utf8_lower(text)
        is_true = pc.is_in(lowered, value_set=pa.array(TRUE_WORDS))
        is_false = pc.is_in(lowered, value_set=pa.array(FALSE_WORDS))
        typed = pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))
        return typed
    if pa.types.is_integer(target):
        return _cast_integer(text, target)
    if pa.types.is_floating(target) or pa.types.is_decimal(target):
        if spec.decimal_comma:
            text = pc.replace_substring(pc.replace_substring(text, ".", ""), ",", ".")
        if pa.types.is_floating(target):
            return _try_cast(text, target, lambda: pc.match_substring_regex(text, _FLOAT_RE))
        return _try_cast(text, target, lambda: _decimal_ok(text, target))
    if pa.types.is_date(target):
        if not spec.format:
            try:
                return pc.cast(text, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        return pc.cast(strptime_strict(text, spec.format or "%Y-%m-%d", "s"), target)
    if pa.types.is_time(target):
        return _cast_time(text, spec.format, target)
    if pa.types.is_timestamp(target):
        return _cast_timestamp(text, spec.format, target)
    raise TypeError(f"no text cast to {target}")


def _try_cast(text: AnyArray, target: pa.DataType, ok_mask: object) -> AnyArray:
    """Cast in one pass when every value parses; otherwise cast only the rows ``ok_mask`` admits."""
    try:
        return pc.cast(text, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    assert callable(ok_mask)
    admitted = pc.fill_null(ok_mask(), False)
    return pc.cast(_keep_where(admitted, text), target)


def _decimal_ok(text: AnyArray, target: pa.DataType) -> AnyArray:
    integer_digits = target.precision - target.scale
    fraction = rf"(?:\.[0-9]{{0,{target.scale}}})?" if target.scale else r"\.?"
    pattern = rf"^[+-]?0*(?:[0-9]{{1,{integer_digits}}}{fraction}|\.[0-9]{{1,{target.scale}}})$"
    if integer_digits == 0:
        pattern = rf"^[+-]?0*\.[0-9]{{1,{target.scale}}}$"
    return pc.match_substring_regex(text, pattern)


def _cast_integer(text: AnyArray, target: pa.DataType) -> AnyArray:
    try:
        return pc.cast(text, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    low, high = _INT_BOUNDS[target]
    digits_only = pc.utf8_ltrim(text, "-")
    sign_length = pc.subtract(pc.utf8_length(text), pc.utf8_length(digits_only))
    digit_count = pc.utf8_length(digits_only)
    well_formed = pc.and_(pc.ascii_is_decimal(digits_only), pc.less_equal(sign_length, 1))
    small = pc.fill_null(
        pc.and_(well_formed, pc.less_equal(digit_count, _INT64_SAFE_DIGITS)), False
    )
    as_int64 = pc.cast(_keep_where(small, text), pa.int64())
    in_range = pc.and_(
        pc.greater_equal(as_int64, max(low, -(2**63))),
        pc.less_equal(as_int64, min(high, 2**63 - 1)),
    )
    typed = pc.cast(_keep_where(pc.fill_null(in_range, False), as_int64), target)
    big = pc.fill_null(
        pc.and_(
            well_formed,
            pc.and_(pc.greater(digit_count, _INT64_SAFE_DIGITS), pc.less_equal(digit_count, 38)),
        ),
        False,
    )
    if pc.any(big).as_py() and target.bit_width == 64:
        wide = pc.cast(_keep_where(big, text), pa.decimal128(38, 0))
        wide_in_range = pc.and_(
            pc.greater_equal(wide, pa.scalar(Decimal(low), pa.decimal128(38, 0))),
            pc.less_equal(wide, pa.scalar(Decimal(high), pa.decimal128(38, 0))),
        )
        wide_typed = pc.cast(_keep_where(pc.fill_null(wide_in_range, False), wide), target)
        typed = pc.coalesce(typed, wide_typed)
    return typed


_DIRECTIVE_PATTERNS = {
    "Y": "[0-9]{4}",
    "y": "[0-9]{2}",
    "m": "[0-9]{1,2}",
    "d": "(?P<day>[0-9]{1,2})",
    "e": " ?(?P<day>[0-9]{1,2})",
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
    "%": "%",
}


def _day_pattern(fmt: str) -> str | None:
    """A regex that captures the day-of-month text a strptime format reads, if it can say."""
    parts = ["^"]
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char == "%" and index + 1 < len(fmt):
            directive = fmt[index + 1]
            if directive not in _DIRECTIVE_PATTERNS:
                return None
            parts.append(_DIRECTIVE_PATTERNS[directive])
            index += 2
            continue
        parts.append(r"\s+" if char.isspace() else re.escape(char))
        index += 1
    pattern = "".join(parts)
    return pattern if pattern.count("(?P<day>") == 1 else None


def strptime_strict(text: AnyArray, fmt: str, unit: str) -> AnyArray:
    """``strptime`` that also rejects impossible days (Arrow rolls 2024-02-30 over to March 1).

    A rolled-over date always lands on day 1-3, so only those rows have their day-of-month text
    extracted and compared with the parsed day; a mismatch becomes null, i.e. a failed cast.
    """
    parsed = pc.strptime(text, fmt, unit, error_is_null=True)
    day_pattern = _day_pattern(fmt)
    if day_pattern is None:
        return parsed
    suspect = pc.fill_null(pc.less_equal(pc.day(parsed), 3), False)
    if not pc.any(suspect).as_py():
        return parsed
    if isinstance(suspect, pa.ChunkedArray):
        suspect = suspect.combine_chunks()
    suspect_text = pc.filter(text, suspect)
    day_text = pc.struct_field(pc.extract_regex(suspect_text, day_pattern), "day")
    day_read = pc.cast(day_text, pa.int64())
    same_day = pc.equal(day_read, pc.cast(pc.day(pc.filter(parsed, suspect)), pa.int64()))
    mismatch = pc.fill_null(pc.invert(same_day), True)
    if isinstance(mismatch, pa.ChunkedArray):
        mismatch = mismatch.combine_chunks()
    rolled_over = pc.replace_with_mask(suspect, suspect, mismatch)
    return _null_where(rolled_over, parsed)


def _cast_time(text: AnyArray, fmt: str | None, target: pa.DataType) -> AnyArray:
    formats = [fmt] if fmt else ["%H:%M:%S", "%H:%M"]
    parsed = pc.strptime(text, formats[0], target.unit, error_is_null=True)
    for other in formats[1:]:
        parsed = pc.coalesce(parsed, pc.strptime(text, other, target.unit, error_is_null=True))
    return pc.cast(parsed, target)


def _cast_timestamp(text: AnyArray, fmt: str | None, target: pa.DataType) -> AnyArray:
    if fmt:
        parsed = strptime_strict(text, fmt, target.unit)
        if target.tz is None:
            return pc.cast(pc.cast(parsed, pa.timestamp(target.unit)), target)
        if parsed.type.tz is None:
            parsed = pc.assume_timezone(
                parsed, timezone=target.tz, ambiguous="earliest", nonexistent="earliest"
            )
        return pc.cast(parsed, target)
    zone = r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?" if target.tz else ""
    pattern = _ISO_TIMESTAMP_RE.replace("{zone}", zone)

    def admitted() -> AnyArray:
        shaped = pc.match_substring_regex(text, pattern)
        date_part = pc.utf8_slice_codeunits(text, 0, 10)
        real_date = pc.is_valid(strptime_strict(date_part, "%Y-%m-%d", "s"))
        return pc.and_(shaped, real_date)

    return _try_cast(text, target, admitted)


def values_as_text(column: AnyArray) -> AnyArray:
    """Values as strings, the form quarantine keeps; binary that is not UTF-8 shows its size."""
    data_type = column.type
    if pa.types.is_string(data_type):
        return column
    if pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type):
        try:
            return pc.cast(column, pa.string())
        except pa.ArrowInvalid:
            sizes = pc.cast(pc.binary_length(column), pa.string())
            return pc.binary_join_element_wise("<", sizes, " bytes>", "")
    return pc.cast(column, pa.string())
