"""Text casts on the fast validation path: integers, %f fractions, %z offsets, short %Y years."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from casparian_engine.contracts import ContractError, SchemaContract, validate
from casparian_engine.contracts.casting import apply_null_tokens, null_unless


def _one_column(type_name: str, values: list[str | None], **extra: object) -> tuple[list, list]:
    """(valid values, quarantined rule labels) for ``values`` in a one-column contract."""
    contract = SchemaContract.from_dict(
        {"name": "c", "columns": [{"name": "v", "type": type_name, **extra}]}
    )
    result = validate(pa.table({"v": pa.array(values, pa.string())}), contract)
    assert result.rows_in == len(values)
    return result.valid.column("v").to_pylist(), result.quarantined.column("rules").to_pylist()


def test_integers_accept_only_plain_decimal_text() -> None:
    values = ["7", "-5", "0x1F", "+5", "1e3", " 5", "-", "007"]
    valid, rules = _one_column("int64", values)
    assert valid == [7, -5, 7]
    assert rules == ["cast:v"] * 5


def test_integers_beyond_eighteen_digits_use_the_wide_path_and_still_check_range() -> None:
    values = ["9223372036854775807", "9223372036854775808", "0000000000000000000042"]
    valid, rules = _one_column("int64", values)
    assert valid == [9223372036854775807, 42]
    assert rules == ["cast:v"]
    valid, rules = _one_column("uint64", ["18446744073709551615", "-1"])
    assert valid == [18446744073709551615]
    assert rules == ["cast:v"]


def test_narrow_integers_quarantine_overflow_without_losing_the_rest() -> None:
    valid, rules = _one_column("int8", ["127", "128", "-128", "-129"])
    assert valid == [127, -128]
    assert rules == ["cast:v", "cast:v"]


def test_fractional_seconds_follow_the_unit_and_reject_finer_text() -> None:
    values = [
        "2024-01-01 10:00:00.5",
        "2024-01-01 10:00:00.123456",
        "2024-01-01 10:00:00.1234567",
        "2024-01-01 10:00:00.",
        "2024-02-30 10:00:00.5",
    ]
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    valid, rules = _one_column("timestamp(us)", values, format=fmt)
    assert valid == [datetime(2024, 1, 1, 10, 0, 0, 500000), datetime(2024, 1, 1, 10, 0, 0, 123456)]
    assert rules == ["cast:v"] * 3
    nanosecond_contract = SchemaContract.from_dict(
        {"name": "c", "columns": [{"name": "v", "type": "timestamp(ns)", "format": fmt}]}
    )
    result = validate(pa.table({"v": values[2:3]}), nanosecond_contract)
    assert result.valid.column("v").cast(pa.int64()).to_pylist() == [1704103200123456700]


def test_fractional_seconds_with_a_zone_read_both() -> None:
    valid, rules = _one_column(
        "timestamp(ms, UTC)", ["2024-03-01T00:30:00.25+0100"], format="%Y-%m-%dT%H:%M:%S.%f%z"
    )
    assert valid == [datetime(2024, 2, 29, 23, 30, 0, 250000, tzinfo=UTC)]
    assert rules == []


def test_zone_offsets_do_not_fake_or_hide_a_rolled_over_date() -> None:
    values = [
        "2024-03-01T00:30:00+0100",  # 29 Feb in UTC: a real date, kept
        "2024-03-02T00:30:00+03:00",  # 1 Mar in UTC: a real date, kept
        "2024-02-30T10:00:00+0100",  # no 30 Feb: rejected
        "2024-04-31T23:00:00-0500",  # no 31 Apr (2 May in UTC): rejected
        "2024-06-15T12:00:00Z",
    ]
    valid, rules = _one_column("timestamp(s, UTC)", values, format="%Y-%m-%dT%H:%M:%S%z")
    assert valid == [
        datetime(2024, 2, 29, 23, 30, tzinfo=UTC),
        datetime(2024, 3, 1, 21, 30, tzinfo=UTC),
        datetime(2024, 6, 15, 12, 0, tzinfo=UTC),
    ]
    assert rules == ["cast:v", "cast:v"]


@pytest.mark.parametrize(
    ("text", "kept"),
    [("2023-02-29", False), ("2024-02-29", True), ("2023-04-31", False), ("2023-12-31", True)],
)
def test_rolled_over_dates_are_rejected_on_every_month_edge(text: str, kept: bool) -> None:
    valid, rules = _one_column("date", [text], format="%Y-%m-%d")
    assert (len(valid), rules) == ((1, []) if kept else (0, ["cast:v"]))


def test_a_four_digit_year_format_rejects_two_digit_years() -> None:
    valid, rules = _one_column("date", ["01/02/24", "01/02/0999"], format="%d/%m/%Y")
    assert [str(day) for day in valid] == ["0999-02-01"]
    assert rules == ["cast:v"]


def test_a_second_fraction_directive_is_a_contract_error() -> None:
    with pytest.raises(ContractError) as info:
        _one_column("timestamp(us)", ["1.2"], format="%S.%f.%f")
    assert (
        str(info.value) == "<contract>: columns[0] ('v'): key 'format': '%f' may appear only once"
    )


def test_null_unless_keeps_values_of_sliced_chunks() -> None:
    base = pa.array(["a", "b", "c", "d", "e"])
    chunked = pa.chunked_array([base.slice(1, 2), base.slice(0, 3)])
    nulled = null_unless(chunked, pa.array([True, False, True, True, False]))
    assert nulled.to_pylist() == ["b", None, "a", "b", None]


def test_null_tokens_of_any_length_become_null() -> None:
    text = pa.chunked_array([["", "N/A", "NA", "n/a", "x"]])
    assert apply_null_tokens(text, ("", "N/A")).to_pylist() == [None, None, "NA", "n/a", "x"]
    assert apply_null_tokens(text, ("-",)).to_pylist() == ["", "N/A", "NA", "n/a", "x"]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_landing_day_lookup_agrees_with_the_calendar(unit: str) -> None:
    from casparian_engine.contracts.temporal import _IS_ROLLOVER_LANDING_DAY, _on_landing_days

    days = pa.array(range(-4000, 22000), pa.int32()).cast(pa.date32())  # 1959 to 2030
    stamps = pc.add(days.cast(pa.timestamp(unit)), pa.scalar(45_296, pa.duration("s")))
    expected = pc.take(_IS_ROLLOVER_LANDING_DAY, pc.day_of_year(stamps))
    assert _on_landing_days(stamps).to_pylist() == expected.to_pylist()


def test_rolled_over_dates_before_1970_are_rejected() -> None:
    valid, rules = _one_column(
        "date", ["1969-02-30", "1969-03-01", "1900-04-31"], format="%Y-%m-%d"
    )
    assert [str(day) for day in valid] == ["1969-03-01"]
    assert rules == ["cast:v", "cast:v"]


def test_null_unless_on_slices_keeps_existing_nulls_and_alignment() -> None:
    base = pa.array(["a", None, "c", "d", "e", None, "g", "h", "i", "j", "k"])
    for start in range(0, 6):
        piece = base.slice(start, 5)
        keep = pa.array([True, False, True, True, False])
        expected = [
            v if k else None for v, k in zip(piece.to_pylist(), keep.to_pylist(), strict=True)
        ]
        assert null_unless(piece, keep).to_pylist() == expected


def test_parallel_row_slices_give_the_same_split_as_one_thread() -> None:
    contract = SchemaContract.from_dict(
        {
            "name": "c",
            "columns": [
                {"name": "n", "type": "int32", "nullable": False},
                {"name": "day", "type": "date", "format": "%Y-%m-%d"},
            ],
        }
    )
    pattern_rows = 140_001
    n = pc.cast(pa.array(range(pattern_rows), pa.int64()), pa.string())
    n = pc.if_else(pc.equal(pc.bit_wise_and(pa.array(range(pattern_rows)), 4095), 7), "x", n)
    day = pc.if_else(
        pc.equal(pc.bit_wise_and(pa.array(range(pattern_rows)), 8191), 9),
        "2023-02-29",
        "2023-03-01",
    )
    table = pa.table({"n": n, "day": day, "_cf_row": pa.array(range(1, pattern_rows + 1))})
    serial = validate(table, contract, parallel=False)
    threaded = validate(table, contract)
    assert threaded.valid.equals(serial.valid)
    assert threaded.quarantined.equals(serial.quarantined)
    assert serial.quarantined.num_rows == 35 + 18
    assert serial.rows_in == pattern_rows


def test_discovery_proposes_a_fractional_seconds_format() -> None:
    from casparian_engine.contracts.discover import infer_column

    text = pa.chunked_array([["31/05/2024 10:00:00.25", "01/06/2024 23:59:59.999999"]])
    spec, formats = infer_column("at", text)
    assert (spec.type, spec.format) == ("timestamp(us)", "%d/%m/%Y %H:%M:%S.%f")
    assert formats == ["%d/%m/%Y %H:%M:%S.%f"]
    spec, _ = infer_column("t", pa.chunked_array([["10:00:00.5", "23:59:59.125"]]))
    assert (spec.type, spec.format) == ("time(us)", "%H:%M:%S.%f")


def test_time_columns_read_fractions() -> None:
    valid, rules = _one_column("time(us)", ["10:00:00.5", "25:00:00.1"], format="%H:%M:%S.%f")
    assert [str(value) for value in valid] == ["10:00:00.500000"]
    assert rules == ["cast:v"]
