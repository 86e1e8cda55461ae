"""Vectorised validation of a parser's output against its contract.

``validate(table, contract)`` splits the rows into ``valid`` (typed exactly per the contract) and
``quarantined`` (original values as text, the violated rules and why). Every input row lands in
exactly one of the two. Per-row reasons come from a bitmask of violated rules, mapped through a
small table of the distinct combinations that occur — no Python loop ever runs per row.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ..quarantine_rows import QUARANTINE_SCHEMA, ROW_COLUMN, ROW_ERROR_COLUMN
from .casting import AnyArray, apply_null_tokens, cast_text, compatibility, values_as_text
from .model import ColumnSpec, SchemaContract

_BITS_PER_WORD = 63
# A big table is cut into contiguous slices of rows, at least one per pool thread, and each slice
# is validated whole (Arrow kernels release the GIL): every thread gets the same mix of work, and
# nothing runs serially but the zero-copy concatenation. Small tables stay on the calling thread.
_PARALLEL_MIN_ROWS = 65_536
# Slices of at most this many rows keep each temporary small enough for the allocator to reuse
# its memory from slice to slice; one huge table would fault in fresh pages for every temporary.
_SLICE_ROWS = 1 << 20
_WORKERS = max(1, min(8, pa.cpu_count()))
_POOL = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="cf-validate")


class StructuralMismatch(Exception):
    """The output's shape breaks the contract (missing/extra column, bad type); permanent."""

    def __init__(self, contract_name: str, diff: list[dict[str, str]]) -> None:
        self.contract_name = contract_name
        self.diff = diff
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"output does not match contract {self.contract_name!r}:"]
        for item in self.diff:
            lines.append(f"  - column {item['column']!r}: {item['problem']}")
        return "\n".join(lines)


@dataclass(frozen=True)
class ValidationResult:
    """Rows that satisfy the contract, and rows quarantined with their reasons."""

    valid: pa.Table
    quarantined: pa.Table

    @property
    def rows_in(self) -> int:
        return int(self.valid.num_rows + self.quarantined.num_rows)


@dataclass(frozen=True)
class _RuleSlot:
    """One (column, rule) check: its bit in the violation mask and its fixed reason."""

    column: str
    rule: str
    reason: str

    @property
    def label(self) -> str:
        return f"{self.rule}:{self.column}"

    @property
    def violation_json(self) -> str:
        return json.dumps({"column": self.column, "rule": self.rule, "reason": self.reason})


def check_structure(schema: pa.Schema, contract: SchemaContract) -> dict[str, str]:
    """Raise ``StructuralMismatch`` unless ``schema`` fits; return how each column gets typed."""
    diff: list[dict[str, str]] = []
    seen: set[str] = set()
    for name in schema.names:
        if name in seen:
            diff.append({"column": name, "problem": "appears more than once in the output"})
        seen.add(name)
    if ROW_COLUMN in seen and not pa.types.is_integer(schema.field(ROW_COLUMN).type):
        diff.append({"column": ROW_COLUMN, "problem": "must be an integer line number"})
    paths: dict[str, str] = {}
    for spec in contract.columns:
        if spec.name not in seen:
            diff.append({"column": spec.name, "problem": f"missing (contract expects {spec.type})"})
            continue
        actual = schema.field(spec.name).type
        path = compatibility(actual, spec.arrow_type)
        if path is None:
            diff.append(
                {
                    "column": spec.name,
                    "problem": f"type {actual} cannot become {spec.type} without loss",
                }
            )
        else:
            paths[spec.name] = path
    for name in schema.names:
        if name in (ROW_COLUMN, ROW_ERROR_COLUMN) or name in paths:
            continue
        if name.startswith("_cf_"):
            diff.append({"column": name, "problem": "uses the reserved prefix '_cf_'"})
        elif name not in contract.column_names:
            diff.append({"column": name, "problem": "extra column, not in the contract"})
    if diff:
        raise StructuralMismatch(contract.name, diff)
    return paths


def _column_checks(
    original: AnyArray, path: str, spec: ColumnSpec, contract: SchemaContract
) -> tuple[AnyArray, list[tuple[_RuleSlot, AnyArray]]]:
    """The typed column and each (rule slot, violation mask) for it."""
    target = spec.arrow_type
    checks: list[tuple[_RuleSlot, AnyArray]] = []
    cast_failed: AnyArray | None = None
    if path == "text":
        text = apply_null_tokens(original, contract.null_values_for(spec))
        typed = cast_text(text, spec)
        if not pa.types.is_string(target) and not pa.types.is_binary(target):
            cast_failed = pc.and_(pc.is_valid(text), pc.is_null(typed))
            hint = f" with format {spec.format!r}" if spec.format else ""
            reason = f"not a valid {spec.type}{hint}"
            checks.append((_RuleSlot(spec.name, "cast", reason), cast_failed))
    elif path == "same":
        typed = original
    else:
        typed = pc.cast(original, target)
    if not spec.nullable:
        missing = pc.is_null(typed)
        if cast_failed is not None:
            missing = pc.and_(missing, pc.invert(cast_failed))
        checks.append((_RuleSlot(spec.name, "not_null", "null in a non-nullable column"), missing))
    for key, compare, words in (
        ("min", pc.less, "below minimum"),
        ("max", pc.greater, "above maximum"),
    ):
        bound = getattr(spec, key)
        if bound is not None:
            scalar = pa.scalar(bound, pa.string() if isinstance(bound, str) else None).cast(target)
            checks.append(
                (_RuleSlot(spec.name, "range", f"{words} {bound}"), compare(typed, scalar))
            )
    if spec.pattern is not None:
        matched = pc.match_substring_regex(typed, f"^(?:{spec.pattern})$")
        checks.append(
            (
                _RuleSlot(spec.name, "pattern", f"does not match /{spec.pattern}/"),
                pc.invert(matched),
            )
        )
    if spec.allowed is not None:
        value_set = pa.array(list(spec.allowed)).cast(target)
        unlisted = pc.invert(pc.is_in(typed, value_set=value_set, skip_nulls=True))
        shown = ", ".join(str(v) for v in spec.allowed[:10])
        more = ", ..." if len(spec.allowed) > 10 else ""
        reason = f"not one of the allowed values [{shown}{more}]"
        checks.append(
            (_RuleSlot(spec.name, "allowed", reason), pc.and_(pc.is_valid(typed), unlisted))
        )
    if spec.max_length is not None:
        reason = f"longer than {spec.max_length} characters"
        checks.append(
            (_RuleSlot(spec.name, "max_length", reason), _too_long(typed, spec.max_length))
        )
    return typed, [(slot, pc.fill_null(mask, False)) for slot, mask in checks]


def _too_long(values: AnyArray, max_length: int) -> AnyArray:
    """Mask of values longer than ``max_length`` characters (bytes for binary).

    A UTF-8 string never has more characters than bytes, so characters are counted only for the
    few values whose byte length is over the limit.
    """
    over = pc.greater(pc.binary_length(values), max_length)
    if not pa.types.is_string(values.type) or not pc.any(over).as_py():
        return over
    over = pc.fill_null(over, False)
    if isinstance(over, pa.ChunkedArray):
        over = over.combine_chunks()
    char_counts = pc.utf8_length(pc.filter(values, over))
    too_many = pc.greater(char_counts, max_length)
    if isinstance(too_many, pa.ChunkedArray):
        too_many = too_many.combine_chunks()
    return pc.replace_with_mask(over, over, too_many)


def _json_string(text: AnyArray) -> AnyArray:
    """Each value as a JSON string literal (``null`` for null), built with vectorised replaces."""
    escaped = text
    if pc.any(pc.match_substring_regex(text, '["\\\\\\x00-\\x1f\\x7f]')).as_py():
        escaped = pc.replace_substring(text, "\\", "\\\\")
        for raw, replacement in (('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
            escaped = pc.replace_substring(escaped, raw, replacement)
        if pc.any(pc.match_substring_regex(escaped, "[\\x00-\\x1f\\x7f]")).as_py():
            for code in (*range(0x20), 0x7F):
                escaped = pc.replace_substring(escaped, chr(code), f"\\u{code:04x}")
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    return pc.fill_null(quoted, "null")


def _row_values(table: pa.Table) -> AnyArray:
    """Each row's original values as a JSON object of text."""
    parts: list[object] = []
    for name in table.column_names:
        if name in (ROW_COLUMN, ROW_ERROR_COLUMN):
            continue
        key = json.dumps(name) + ":"
        parts.append(("," if parts else "{") + key)
        parts.append(_json_string(values_as_text(table.column(name))))
    if not parts:
        return pa.repeat(pa.scalar("{}", pa.string()), table.num_rows)
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def _violation_words(masks: list[AnyArray]) -> list[AnyArray]:
    """Per-row bit words (63 rules per word) for rows already filtered to the quarantined ones."""
    words: list[AnyArray] = []
    zero = pa.scalar(0, pa.int64())
    for start in range(0, len(masks), _BITS_PER_WORD):
        word: AnyArray | None = None
        for bit, mask in enumerate(masks[start : start + _BITS_PER_WORD]):
            term = pc.if_else(mask, pa.scalar(1 << bit, pa.int64()), zero)
            word = term if word is None else pc.bit_wise_or(word, term)
        assert word is not None
        words.append(word)
    return words


def _any_violation(masks: list[AnyArray], num_rows: int) -> AnyArray:
    """The mask of rows that break at least one rule (bitmap ORs, no per-row integers)."""
    if not masks:
        return pa.repeat(False, num_rows)
    any_violation = masks[0]
    for mask in masks[1:]:
        any_violation = pc.or_(any_violation, mask)
    return any_violation


def _reason_columns(words: list[AnyArray], slots: list[_RuleSlot]) -> tuple[pa.Array, pa.Array]:
    """(rules, violations-inner) strings for rows already filtered to the quarantined ones."""
    if len(words) == 1:
        key = words[0]
    else:
        key = pc.binary_join_element_wise(*[pc.cast(w, pa.string()) for w in words], "|")
    distinct = pc.unique(key)
    rules_table: list[str] = []
    violations_table: list[str] = []
    for combination in distinct.to_pylist():
        word_values = [combination] if len(words) == 1 else [int(v) for v in combination.split("|")]
        hit = [
            slot
            for word_index, word_value in enumerate(word_values)
            for bit, slot in enumerate(slots[word_index * _BITS_PER_WORD :][:_BITS_PER_WORD])
            if word_value >> bit & 1
        ]
        rules_table.append(",".join(slot.label for slot in hit))
        violations_table.append(",".join(slot.violation_json for slot in hit))
    positions = pc.index_in(key, value_set=distinct)
    rules = pc.take(pa.array(rules_table, pa.string()), positions)
    violations = pc.take(pa.array(violations_table, pa.string()), positions)
    return rules, violations


def _with_parser_errors(
    rules: AnyArray, violations: AnyArray, errors: AnyArray | None
) -> tuple[AnyArray, AnyArray]:
    """Prefix each quarantined row's parser-reported error (``_cf_row_error``) to its reasons."""
    empty = pa.scalar("", pa.string())
    if errors is None:
        return rules, pc.binary_join_element_wise("[", violations, "]", "")
    has_error = pc.is_valid(errors)
    error_json = pc.binary_join_element_wise(
        '{"column": null, "rule": "parser_error", "reason": ', _json_string(errors), "}", ""
    )
    error_json = pc.if_else(has_error, error_json, empty)
    separator = pc.if_else(pc.and_(has_error, pc.not_equal(violations, "")), ",", empty)
    rule_label = pc.if_else(has_error, "parser_error", empty)
    rules = pc.binary_join_element_wise(rule_label, separator, rules, "")
    violations = pc.binary_join_element_wise("[", error_json, separator, violations, "]", "")
    return rules, violations


def validate(
    table: pa.Table | pa.RecordBatch, contract: SchemaContract, *, parallel: bool = True
) -> ValidationResult:
    """Split ``table`` into rows that satisfy ``contract`` and rows quarantined with reasons.

    ``parallel=False`` keeps every kernel on the calling thread (benchmarks compare both).
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    paths = check_structure(table.schema, contract)
    threaded = parallel and _WORKERS > 1 and table.num_rows >= 2 * _PARALLEL_MIN_ROWS
    if not threaded and table.num_rows <= _SLICE_ROWS:
        return _validate_rows(table, contract, paths)
    slice_rows = _SLICE_ROWS
    if threaded:
        slice_rows = min(slice_rows, -(-table.num_rows // _WORKERS))
    slices = [table.slice(start, slice_rows) for start in range(0, table.num_rows, slice_rows)]

    def validate_slice(rows: pa.Table) -> ValidationResult:
        """Validate one slice of rows (run on the pool)."""
        return _validate_rows(rows, contract, paths)

    results = list(_POOL.map(validate_slice, slices) if threaded else map(validate_slice, slices))
    return ValidationResult(
        pa.concat_tables([result.valid for result in results]),
        pa.concat_tables([result.quarantined for result in results]),
    )


def _validate_rows(
    table: pa.Table, contract: SchemaContract, paths: dict[str, str]
) -> ValidationResult:
    """``validate`` for one slice of rows, on the calling thread."""
    typed_columns: list[AnyArray] = []
    slots: list[_RuleSlot] = []
    masks: list[AnyArray] = []
    for spec in contract.columns:
        typed, checks = _column_checks(table.column(spec.name), paths[spec.name], spec, contract)
        typed_columns.append(typed)
        for slot, mask in checks:
            slots.append(slot)
            masks.append(mask)
    schema = contract.arrow_schema()
    fields = list(schema)
    if ROW_COLUMN in table.column_names:
        typed_columns.append(pc.cast(table.column(ROW_COLUMN), pa.int64()))
        fields.append(pa.field(ROW_COLUMN, pa.int64()))
    typed_table = pa.Table.from_arrays(typed_columns, schema=pa.schema(fields))
    bad = _any_violation(masks, table.num_rows)
    errors = table.column(ROW_ERROR_COLUMN) if ROW_ERROR_COLUMN in table.column_names else None
    if errors is not None:
        bad = pc.or_(bad, pc.is_valid(errors))
    quarantined_count = pc.sum(bad).as_py() or 0
    if quarantined_count == 0:
        return ValidationResult(typed_table, QUARANTINE_SCHEMA.empty_table())
    if isinstance(bad, pa.ChunkedArray):
        bad = bad.combine_chunks()
    good = pc.invert(bad)
    valid = pa.Table.from_arrays(
        [pc.filter(column, good) for column in typed_table.columns], schema=typed_table.schema
    )
    # The few quarantined rows are gathered by index: filtering a bitmap per mask is far slower.
    bad_positions = pc.indices_nonzero(bad)
    words = _violation_words([pc.take(mask, bad_positions) for mask in masks])
    if words:
        rules, inner = _reason_columns(words, slots)
    else:
        rules = inner = pa.repeat(pa.scalar("", pa.string()), quarantined_count)
    bad_errors = pc.take(errors, bad_positions) if errors is not None else None
    rules, violations = _with_parser_errors(rules, inner, bad_errors)
    bad_rows = table.take(bad_positions)
    if ROW_COLUMN in table.column_names:
        source_rows = pc.cast(bad_rows.column(ROW_COLUMN), pa.int64())
    else:
        source_rows = pa.nulls(quarantined_count, pa.int64())
    quarantined = pa.Table.from_arrays(
        [source_rows, rules, violations, _row_values(bad_rows)], schema=QUARANTINE_SCHEMA
    )
    return ValidationResult(valid, quarantined)
