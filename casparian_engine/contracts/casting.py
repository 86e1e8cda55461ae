"""Per-column typing for validation: structural compatibility and vectorised text → type casts.

Every function here works on whole (chunked) arrays with ``pyarrow.compute``. A text cast never
raises on a bad value: it returns the typed array with null where the text did not parse, and the
caller derives the ``cast`` violation mask as "text present, typed value null".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from .model import ColumnSpec
from .temporal import ISO_TIMESTAMP_RE, strptime_strict

# pa.Array or pa.ChunkedArray; pyarrow ships no type information, so mypy sees Any either way.
AnyArray: TypeAlias = Any

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
_FLOAT_RE = (
    r"^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|Inf|INF|infinity|Infinity|"
    r"nan|NaN|NAN)$"
)
_INT64_SAFE_DIGITS = 18
_SIGNED_DIGITS_RE = rf"^-?[0-9]{{1,{_INT64_SAFE_DIGITS}}}$"
_LONG_DIGITS_RE = rf"^-?[0-9]{{{_INT64_SAFE_DIGITS + 1},38}}$"
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
    return null_unless(values, pc.invert(pc.fill_null(mask, True)))


def _keep_where(mask: AnyArray, values: AnyArray) -> AnyArray:
    return null_unless(values, mask)


def _flat(values: AnyArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _null_unless_array(values: pa.Array, keep: pa.Array) -> pa.Array:
    validity = pc.and_(pc.is_valid(values), keep)
    data_type = values.type
    shares_buffers = (
        validity.offset == 0
        and data_type.num_fields == 0
        and not pa.types.is_dictionary(data_type)
        and len(values.buffers()) == data_type.num_buffers
    )
    if not shares_buffers:
        return pc.if_else(keep, values, pa.scalar(None, data_type))
    if values.offset:  # a slice: its validity bits start ``offset`` bits into the bitmap
        validity = pa.concat_arrays([pa.repeat(False, values.offset), validity])
    buffers = [validity.buffers()[1], *values.buffers()[1:]]
    return pa.Array.from_buffers(data_type, len(values), buffers, offset=values.offset)


def null_unless(values: AnyArray, keep: AnyArray) -> AnyArray:
    """``values`` with null wherever ``keep`` is false or null, reusing the value buffers.

    Only the validity bitmap is rebuilt, so nulling a few strings of a big text column copies no
    text (``if_else`` would copy every value).
    """
    keep = _flat(pc.fill_null(keep, False))
    if not isinstance(values, pa.ChunkedArray):
        return _null_unless_array(values, keep)
    chunks = []
    start = 0
    for chunk in values.chunks:
        chunks.append(_null_unless_array(chunk, keep.slice(start, len(chunk))))
        start += len(chunk)
    return pa.chunked_array(chunks, values.type)


def apply_null_tokens(text: AnyArray, tokens: tuple[str, ...]) -> AnyArray:
    """Text with every null token (e.g. '', 'N/A') replaced by a real null."""
    if not tokens:
        return text
    if pa.types.is_dictionary(text.type):
        text = pc.cast(text, pa.string())
    # Masks only (bitmaps): a per-value length array would be a large temporary on big tables.
    is_token: AnyArray | None = None
    if "" in tokens:
        is_token = pc.equal(text, "")
    word_tokens = [token for token in tokens if token]
    if word_tokens:
        listed = pc.is_in(text, value_set=pa.array(word_tokens, text.type))
        is_token = listed if is_token is None else pc.or_(is_token, listed)
    if is_token is None or not pc.any(is_token).as_py():
        return text
    return null_unless(text, pc.invert(pc.fill_null(is_token, False)))


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
    """Decimal integer text to ``target``; anything else (hex, '+5', '1e3', overflow) is null.

    Plain digit strings are recognised with a cheap byte-class kernel; only the rest (signs, long
    numbers, junk) go through a regex, so a column with a few bad values stays on the fast path.
    """
    plain = _flat(pc.fill_null(pc.ascii_is_decimal(text), False))
    leftover = _flat(pc.and_(pc.is_valid(text), pc.invert(plain)))
    has_leftover = pc.any(leftover).as_py()
    if not has_leftover:
        try:
            return pc.cast(text, target)  # only plain digits: the one-pass cast fails on overflow
        except pa.ArrowInvalid:
            pass
    small = plain  # text the int64 cast reads: plain digits, and '-' + digits found by regex
    if has_leftover:
        signed = pc.match_substring_regex(pc.filter(text, leftover), _SIGNED_DIGITS_RE)
        small = pc.replace_with_mask(plain, leftover, _flat(signed))
    try:
        typed = pc.cast(null_unless(text, small), pa.int64())
    except pa.ArrowInvalid:  # rare: a plain digit string too long for int64
        short = pc.less_equal(pc.binary_length(text), _INT64_SAFE_DIGITS)
        small = _flat(pc.and_(small, pc.or_(leftover, short)))
        typed = pc.cast(null_unless(text, small), pa.int64())
    big: AnyArray | None = None
    rest = _flat(pc.and_(pc.is_valid(text), pc.invert(small)))
    if target.bit_width == 64 and pc.any(rest).as_py():
        long_digits = pc.match_substring_regex(pc.filter(text, rest), _LONG_DIGITS_RE)
        if pc.any(long_digits).as_py():
            big = pc.replace_with_mask(pc.and_(rest, False), rest, _flat(long_digits))
    if target != pa.int64():
        low, high = _INT_BOUNDS[target]
        in_range = pc.and_(
            pc.greater_equal(typed, max(low, -(2**63))), pc.less_equal(typed, min(high, 2**63 - 1))
        )
        typed = pc.cast(null_unless(typed, in_range), target)
    if big is not None:
        low, high = _INT_BOUNDS[target]
        wide = pc.cast(null_unless(text, big), pa.decimal128(38, 0))
        wide_in_range = pc.and_(
            pc.greater_equal(wide, pa.scalar(Decimal(low), pa.decimal128(38, 0))),
            pc.less_equal(wide, pa.scalar(Decimal(high), pa.decimal128(38, 0))),
        )
        wide_typed = pc.cast(null_unless(wide, wide_in_range), target)
        typed = pc.coalesce(typed, wide_typed)
    return typed


def _cast_time(text: AnyArray, fmt: str | None, target: pa.DataType) -> AnyArray:
    formats = [fmt] if fmt else ["%H:%M:%S", "%H:%M"]
    parsed = strptime_strict(text, formats[0], target.unit)
    for other in formats[1:]:
        parsed = pc.coalesce(parsed, strptime_strict(text, other, target.unit))
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
    pattern = ISO_TIMESTAMP_RE.replace("{zone}", zone)

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
