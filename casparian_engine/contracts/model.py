"""The schema contract: ordered, typed columns with nullability, formats and value constraints.

Column ``pattern`` is a full match: the whole value must match the regex (anchored at both ends).
A key repeated within one YAML mapping is refused, naming file and line (never last-one-wins).

A contract has a YAML form that people edit and review, and a content hash over its canonical JSON
(sorted keys, no whitespace) that identifies it. Once approved a contract never changes; approving a
different body makes a new version (see ``store.contracts``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from ..errors import CasparianError

INTEGER_TYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOAT_TYPES = ("float32", "float64")
SIMPLE_TYPES = (*INTEGER_TYPES, *FLOAT_TYPES, "bool", "string", "binary", "date")
TEMPORAL_UNITS = ("s", "ms", "us", "ns")
DEFAULT_NULL_VALUES = ("",)

_TIMESTAMP_RE = re.compile(r"^timestamp(?:\((?P<unit>s|ms|us|ns)(?:,\s*(?P<tz>[^)]+))?\))?$")
_TIME_RE = re.compile(r"^time(?:\((?P<unit>s|ms|us|ns)\))?$")
_DECIMAL_RE = re.compile(r"^decimal\((?P<precision>\d+),\s*(?P<scale>\d+)\)$")

_COLUMN_KEYS = {
    "name",
    "type",
    "nullable",
    "format",
    "min",
    "max",
    "pattern",
    "allowed",
    "max_length",
    "null_values",
    "decimal_comma",
    "description",
}
_CONTRACT_KEYS = {"name", "description", "columns", "null_values"}


class ContractError(CasparianError, ValueError):
    """A contract file or dict is malformed; the message names the file, column and key."""


def arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type for a contract type name such as ``int32``, ``timestamp(us, UTC)``."""
    simple: dict[str, pa.DataType] = {
        "int8": pa.int8(),
        "int16": pa.int16(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "uint8": pa.uint8(),
        "uint16": pa.uint16(),
        "uint32": pa.uint32(),
        "uint64": pa.uint64(),
        "float32": pa.float32(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "string": pa.string(),
        "binary": pa.binary(),
        "date": pa.date32(),
    }
    if type_name in simple:
        return simple[type_name]
    if match := _TIMESTAMP_RE.match(type_name):
        return pa.timestamp(match["unit"] or "us", tz=(match["tz"] or None))
    if match := _TIME_RE.match(type_name):
        unit = match["unit"] or "us"
        return pa.time32(unit) if unit in ("s", "ms") else pa.time64(unit)
    if match := _DECIMAL_RE.match(type_name):
        precision, scale = int(match["precision"]), int(match["scale"])
        if not 1 <= precision <= 76 or scale > precision:
            raise ContractError(f"decimal({precision},{scale}): need 1 <= scale <= precision <= 76")
        return (pa.decimal128 if precision <= 38 else pa.decimal256)(precision, scale)
    raise ContractError(
        f"unknown type {type_name!r}: use one of {', '.join(SIMPLE_TYPES)}, time(unit), "
        "timestamp(unit[, tz]) or decimal(precision,scale)"
    )


def type_name_of(data_type: pa.DataType) -> str:
    """The contract type name for an Arrow type (the inverse of ``arrow_type``)."""
    if pa.types.is_timestamp(data_type):
        return (
            f"timestamp({data_type.unit}, {data_type.tz})"
            if data_type.tz
            else (f"timestamp({data_type.unit})")
        )
    if pa.types.is_time(data_type):
        return f"time({data_type.unit})"
    if pa.types.is_decimal(data_type):
        return f"decimal({data_type.precision},{data_type.scale})"
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_boolean(data_type):
        return "bool"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "string"
    if pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type):
        return "binary"
    if pa.types.is_dictionary(data_type):
        return type_name_of(data_type.value_type)
    name = str(data_type)
    mapping = {"float": "float32", "double": "float64", "halffloat": "float32"}
    name = mapping.get(name, name)
    if name in SIMPLE_TYPES:
        return name
    raise ContractError(f"Arrow type {data_type} has no contract type")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a contract: its type, nullability, text format and value constraints."""

    name: str
    type: str
    nullable: bool = True
    format: str | None = None
    min: Any = None
    max: Any = None
    pattern: str | None = None
    allowed: tuple[Any, ...] | None = None
    max_length: int | None = None
    null_values: tuple[str, ...] | None = None
    decimal_comma: bool = False
    description: str = ""

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type of this column."""
        return arrow_type(self.type)

    def to_dict(self) -> dict[str, Any]:
        """The YAML/JSON form: only keys that differ from the defaults."""
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if not self.nullable:
            out["nullable"] = False
        for key in ("format", "min", "max", "pattern", "max_length", "description"):
            value = getattr(self, key)
            if value not in (None, ""):
                out[key] = value
        if self.allowed is not None:
            out["allowed"] = list(self.allowed)
        if self.null_values is not None:
            out["null_values"] = list(self.null_values)
        if self.decimal_comma:
            out["decimal_comma"] = True
        return out

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> ColumnSpec:
        """Build from the YAML form; ``where`` (file and column index) prefixes every error."""
        if not isinstance(raw, dict):
            raise ContractError(f"{where}: a column must be a mapping with 'name' and 'type'")
        unknown = sorted(set(raw) - _COLUMN_KEYS)
        if unknown:
            raise ContractError(
                f"{where}: unknown key {unknown[0]!r} (known: {sorted(_COLUMN_KEYS)})"
            )
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise ContractError(f"{where}: key 'name' must be a non-empty string")
        where = f"{where} ({name!r})"
        if name.startswith("_cf_"):
            raise ContractError(f"{where}: names starting with '_cf_' are reserved for lineage")
        type_name = raw.get("type")
        if not isinstance(type_name, str):
            raise ContractError(f"{where}: key 'type' must be a string such as 'int64'")
        try:
            data_type = arrow_type(type_name.strip())
        except ContractError as exc:
            raise ContractError(f"{where}: key 'type': {exc}") from None
        spec = cls(
            name=name,
            type=type_name_of(data_type),
            nullable=_typed(raw, "nullable", bool, where, True),
            format=_typed(raw, "format", str, where, None),
            min=raw.get("min"),
            max=raw.get("max"),
            pattern=_typed(raw, "pattern", str, where, None),
            allowed=_tuple_of(raw, "allowed", where),
            max_length=_typed(raw, "max_length", int, where, None),
            null_values=_tuple_of(raw, "null_values", where, str),
            decimal_comma=_typed(raw, "decimal_comma", bool, where, False),
            description=_typed(raw, "description", str, where, ""),
        )
        spec.check(where)
        return spec

    def check(self, where: str) -> None:
        """Reject constraints that cannot apply to this column's type."""
        data_type = self.arrow_type
        is_text = pa.types.is_string(data_type) or pa.types.is_binary(data_type)
        if (self.pattern is not None or self.max_length is not None) and not is_text:
            raise ContractError(f"{where}: 'pattern' and 'max_length' apply to string/binary only")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ContractError(f"{where}: key 'pattern' is not a valid regex: {exc}") from None
        if self.max_length is not None and self.max_length < 0:
            raise ContractError(f"{where}: key 'max_length' must be >= 0")
        if self.format is not None and not (
            pa.types.is_temporal(data_type) and not pa.types.is_duration(data_type)
        ):
            raise ContractError(f"{where}: 'format' applies to date, time and timestamp only")
        if self.format is not None and self.format.count("%f") > 1:
            raise ContractError(f"{where}: key 'format': '%f' may appear only once")
        for key in ("min", "max"):
            value = getattr(self, key)
            if value is None:
                continue
            try:
                pa.scalar(value, type=pa.string()).cast(data_type) if isinstance(
                    value, str
                ) else pa.scalar(value).cast(data_type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError) as exc:
                raise ContractError(
                    f"{where}: key {key!r} = {value!r} is not a {self.type}: {exc}"
                ) from None


def _typed(raw: dict[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    value = raw.get(key, default)
    if value is None or value is default:
        return value
    if kind is int and isinstance(value, bool):
        raise ContractError(f"{where}: key {key!r} must be an integer, got {value!r}")
    if not isinstance(value, kind):
        raise ContractError(f"{where}: key {key!r} must be {kind.__name__}, got {value!r}")
    return value


def _tuple_of(
    raw: dict[str, Any], key: str, where: str, item_kind: type | None = None
) -> tuple[Any, ...] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ContractError(f"{where}: key {key!r} must be a list, got {value!r}")
    if item_kind is not None and not all(isinstance(v, item_kind) for v in value):
        raise ContractError(f"{where}: key {key!r} must be a list of {item_kind.__name__}")
    return tuple(value)


@dataclass(frozen=True)
class SchemaContract:
    """An ordered set of columns under a name; ``content_hash`` identifies the exact body."""

    name: str
    columns: tuple[ColumnSpec, ...]
    null_values: tuple[str, ...] = DEFAULT_NULL_VALUES
    description: str = ""
    _by_name: dict[str, ColumnSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({c.name: c for c in self.columns})

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        return self._by_name[name]

    def null_values_for(self, column: ColumnSpec) -> tuple[str, ...]:
        """The text tokens read as null in ``column`` (its own list, else the contract's)."""
        return column.null_values if column.null_values is not None else self.null_values

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        )

    def with_name(self, name: str) -> SchemaContract:
        return replace(self, name=name, _by_name={})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if tuple(self.null_values) != DEFAULT_NULL_VALUES:
            out["null_values"] = list(self.null_values)
        out["columns"] = [c.to_dict() for c in self.columns]
        return out

    def canonical_json(self) -> str:
        """The contract as compact, key-sorted JSON: what its content hash is taken over."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=str)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON body: equal contracts have equal hashes."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    @classmethod
    def from_dict(cls, raw: Any, source: str = "<contract>") -> SchemaContract:
        """Build and check a contract; errors name ``source``, the column and the key."""
        if not isinstance(raw, dict):
            raise ContractError(f"{source}: a contract must be a mapping with 'name' and 'columns'")
        unknown = sorted(set(raw) - _CONTRACT_KEYS)
        if unknown:
            raise ContractError(
                f"{source}: unknown key {unknown[0]!r} (known: {sorted(_CONTRACT_KEYS)})"
            )
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ContractError(f"{source}: key 'name' must be a non-empty string")
        raw_columns = raw.get("columns")
        if not isinstance(raw_columns, list) or not raw_columns:
            raise ContractError(f"{source}: key 'columns' must be a non-empty list")
        columns = tuple(
            ColumnSpec.from_dict(col, f"{source}: columns[{index}]")
            for index, col in enumerate(raw_columns)
        )
        seen: set[str] = set()
        for col in columns:
            if col.name in seen:
                raise ContractError(f"{source}: column {col.name!r} appears twice")
            seen.add(col.name)
        null_values = _tuple_of(raw, "null_values", source, str)
        return cls(
            name=name.strip(),
            columns=columns,
            null_values=DEFAULT_NULL_VALUES if null_values is None else null_values,
            description=_typed(raw, "description", str, source, ""),
        )

    @classmethod
    def from_yaml(cls, text: str, source: str = "<contract>") -> SchemaContract:
        """Parse the YAML form; a key repeated within one mapping is refused, not last-wins."""
        import yaml

        loader = _unique_key_loader()
        try:
            raw = yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
        except _DuplicateKeyError as exc:
            raise ContractError(
                f"{source}: line {exc.line}: key {exc.key!r} appears twice in the same mapping "
                f"(first on line {exc.first_line}); keep one"
            ) from None
        except yaml.YAMLError as exc:
            raise ContractError(f"{source}: not valid YAML: {exc}") from None
        return cls.from_dict(raw, source)

    @classmethod
    def from_json(cls, text: str, source: str = "<contract>") -> SchemaContract:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractError(f"{source}: not valid JSON: {exc}") from None
        return cls.from_dict(raw, source)


class _DuplicateKeyError(Exception):
    """A mapping repeats a key; carries the key and both 1-based line numbers."""

    def __init__(self, key: Any, line: int, first_line: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first_line = key, line, first_line


def _unique_key_loader() -> type:
    """A ``yaml.SafeLoader`` subclass whose mappings refuse a repeated key."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            first_lines: dict[Any, int] = {}
            for key_node, _value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # '<<' merges are flattened by the base class
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                try:
                    if key in first_lines:
                        raise _DuplicateKeyError(key, line, first_lines[key])
                except TypeError:
                    continue  # an unhashable key: the base class reports it
                first_lines[key] = line
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader
