"""validate(): typing, every value rule, structural mismatches and conservation (hypothesis)."""

from __future__ import annotations

import json
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casparian_engine.contracts import SchemaContract, StructuralMismatch, validate

ORDERS = SchemaContract.from_dict(
    {
        "name": "orders",
        "null_values": ["", "N/A"],
        "columns": [
            {"name": "id", "type": "int32", "nullable": False},
            {"name": "amount", "type": "float64", "min": 0, "max": 1000},
            {"name": "code", "type": "string", "pattern": "[A-Z]{3}", "max_length": 3},
            {"name": "status", "type": "string", "allowed": ["ok", "bad"]},
            {"name": "at", "type": "timestamp(us)", "format": "%d/%m/%Y %H:%M"},
            {"name": "day", "type": "date"},
            {"name": "flag", "type": "bool"},
            {"name": "price", "type": "decimal(6,2)", "decimal_comma": True},
        ],
    }
)


def _row(**overrides: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "id": "1",
        "amount": "1.5",
        "code": "ABC",
        "status": "ok",
        "at": "31/05/2024 10:00",
        "day": "2024-01-01",
        "flag": "yes",
        "price": "1.234,5",
    }
    row.update(overrides)
    return row


def _table(rows: list[dict[str, str | None]]) -> pa.Table:
    columns = {name: pa.array([r[name] for r in rows], pa.string()) for name in rows[0]}
    columns["_cf_row"] = pa.array(range(1, len(rows) + 1), pa.int64())
    return pa.table(columns)


def test_a_clean_row_is_typed_per_the_contract() -> None:
    result = validate(_table([_row()]), ORDERS)
    assert result.quarantined.num_rows == 0
    assert result.valid.schema.names == [*ORDERS.column_names, "_cf_row"]
    (row,) = result.valid.to_pylist()
    assert row["id"] == 1 and row["amount"] == 1.5 and row["flag"] is True
    assert row["at"] == datetime(2024, 5, 31, 10, 0)
    assert str(row["price"]) == "1234.50"
    assert result.valid.schema.field("id").type == pa.int32()


@pytest.mark.parametrize(
    ("overrides", "rules", "reason"),
    [
        ({"id": "x"}, "cast:id", "not a valid int32"),
        ({"id": "99999999999"}, "cast:id", "not a valid int32"),
        ({"id": None}, "not_null:id", "null in a non-nullable column"),
        ({"id": "N/A"}, "not_null:id", "null in a non-nullable column"),
        ({"amount": "-2"}, "range:amount", "below minimum 0"),
        ({"amount": "1e9"}, "range:amount", "above maximum 1000"),
        ({"code": "ABCD"}, "pattern:code,max_length:code", "does not match /[A-Z]{3}/"),
        ({"status": "lost"}, "allowed:status", "not one of the allowed values [ok, bad]"),
        ({"at": "30/02/2024 10:00"}, "cast:at", "not a valid timestamp(us) with format"),
        ({"day": "2024-02-30"}, "cast:day", "not a valid date"),
        ({"flag": "maybe"}, "cast:flag", "not a valid bool"),
        ({"price": "12,345"}, "cast:price", "not a valid decimal(6,2)"),
    ],
)
def test_each_violation_quarantines_the_row_with_its_rule_and_reason(
    overrides: dict[str, str | None], rules: str, reason: str
) -> None:
    rows = [_row(), _row(**overrides), _row()]
    result = validate(_table(rows), ORDERS)
    assert result.valid.num_rows == 2
    (bad,) = result.quarantined.to_pylist()
    assert bad["_cf_row"] == 2
    assert bad["rules"] == rules
    violations = json.loads(bad["violations"])
    assert reason in violations[0]["reason"]
    assert json.loads(bad["row_values"]) == rows[1]


def test_null_token_in_a_number_column_is_null_not_a_failure() -> None:
    result = validate(_table([_row(amount="N/A")]), ORDERS)
    assert result.valid.column("amount").to_pylist() == [None]


def test_parser_reported_row_errors_are_quarantined_first() -> None:
    table = _table([_row(), _row(price="x")]).append_column(
        "_cf_row_error", pa.array([None, 'bad "line"'], pa.string())
    )
    result = validate(table, ORDERS)
    (bad,) = result.quarantined.to_pylist()
    assert bad["rules"] == "parser_error,cast:price"
    assert json.loads(bad["violations"])[0] == {
        "column": None,
        "rule": "parser_error",
        "reason": 'bad "line"',
    }


def test_safe_widening_is_allowed_and_narrowing_is_structural() -> None:
    contract = SchemaContract.from_dict(
        {"name": "w", "columns": [{"name": "n", "type": "int64"}, {"name": "x", "type": "float64"}]}
    )
    table = pa.table({"n": pa.array([1], pa.int32()), "x": pa.array([2.5], pa.float32())})
    assert validate(table, contract).valid.schema.field("n").type == pa.int64()
    narrow = SchemaContract.from_dict({"name": "w", "columns": [{"name": "n", "type": "int8"}]})
    with pytest.raises(StructuralMismatch) as info:
        validate(pa.table({"n": pa.array([1], pa.int64())}), narrow)
    assert info.value.diff == [
        {"column": "n", "problem": "type int64 cannot become int8 without loss"}
    ]


def test_missing_extra_and_reserved_columns_are_one_structured_diff() -> None:
    table = pa.table({"id": ["1"], "extra": ["x"], "_cf_job_id": [1]})
    with pytest.raises(StructuralMismatch) as info:
        validate(table, ORDERS.with_name("orders"))
    problems = {item["column"]: item["problem"] for item in info.value.diff}
    assert problems["amount"] == "missing (contract expects float64)"
    assert problems["extra"] == "extra column, not in the contract"
    assert problems["_cf_job_id"] == "uses the reserved prefix '_cf_'"
    assert "output does not match contract 'orders':" in str(info.value)
    assert "  - column 'extra': extra column, not in the contract" in str(info.value)


def test_control_characters_and_quotes_survive_in_row_values() -> None:
    nasty = 'a"b\\c\nd\x01e'
    result = validate(_table([_row(status=nasty)]), ORDERS)
    (bad,) = result.quarantined.to_pylist()
    assert json.loads(bad["row_values"])["status"] == nasty


def test_rows_without_cf_row_get_null_source_rows() -> None:
    table = _table([_row(id="x")]).drop_columns(["_cf_row"])
    result = validate(table, ORDERS)
    assert result.quarantined.column("_cf_row").to_pylist() == [None]
    assert "_cf_row" not in result.valid.column_names


def test_more_than_63_rules_use_several_mask_words() -> None:
    columns = [{"name": f"c{i}", "type": "int64", "nullable": False} for i in range(40)]
    contract = SchemaContract.from_dict({"name": "wide", "columns": columns})
    table = pa.table({f"c{i}": ["x" if i % 2 else None, "1"] for i in range(40)})
    result = validate(table, contract)
    assert result.valid.num_rows == 1
    (bad,) = result.quarantined.to_pylist()
    expected = [f"{'cast' if i % 2 else 'not_null'}:c{i}" for i in range(40)]
    assert bad["rules"].split(",") == expected


NUMBERISH = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True).map(str),
    st.sampled_from(["", "N/A", "x", " 5", "--1", "+7", "1e400", "٣", "0x10", "1,5"]),
    st.none(),
)
TEXTISH = st.one_of(st.text(max_size=6), st.sampled_from(["ABC", "ok", "bad"]), st.none())
DATEISH = st.one_of(
    st.dates().map(lambda d: d.strftime("%d/%m/%Y 10:00")),
    st.sampled_from(["31/02/2024 10:00", "29/02/2023 00:00", "00/01/2024 00:00", "x"]),
    st.none(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "id": NUMBERISH,
                "amount": NUMBERISH,
                "code": TEXTISH,
                "status": TEXTISH,
                "at": DATEISH,
                "day": st.one_of(st.dates().map(str), st.sampled_from(["2023-02-29", "x"])),
                "flag": st.sampled_from(["yes", "no", "1", "maybe", None]),
                "price": NUMBERISH,
            }
        ),
        min_size=1,
        max_size=40,
    )
)
def test_property_conservation_reasons_and_no_bad_written_row(rows: list[dict]) -> None:
    result = validate(_table(rows), ORDERS)
    assert result.valid.num_rows + result.quarantined.num_rows == len(rows)
    positions = sorted(
        result.valid.column("_cf_row").to_pylist()
        + result.quarantined.column("_cf_row").to_pylist()
    )
    assert positions == list(range(1, len(rows) + 1))
    for bad in result.quarantined.to_pylist():
        assert bad["rules"] and json.loads(bad["violations"])
        assert json.loads(bad["row_values"]) == rows[bad["_cf_row"] - 1]
    valid = result.valid
    assert valid.column("id").null_count == 0
    amounts = valid.column("amount")
    assert not pc.any(pc.or_(pc.less(amounts, 0), pc.greater(amounts, 1000))).as_py()
    codes = valid.column("code")
    assert pc.all(pc.fill_null(pc.match_substring_regex(codes, "^[A-Z]{3}$"), True)).as_py() in (
        True,
        None,
    )
    assert set(valid.column("status").to_pylist()) <= {"ok", "bad", None}
    for row in valid.to_pylist():
        source = rows[row["_cf_row"] - 1]
        if row["at"] is not None:
            assert row["at"].strftime("%d/%m/%Y %H:%M") == source["at"]
        if row["day"] is not None:
            assert str(row["day"]) == source["day"]
