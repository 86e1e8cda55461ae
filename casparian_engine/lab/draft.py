"""The deterministic draft: a parser folder written from what discovery finds in sample files.

Delimited text gets a streaming pyarrow CSV parser with the sniffed dialect and the discovered
contract (types, formats, decimal commas, null spellings); whitespace-aligned tables a line
splitter; line-oriented logs a parser that applies one regex inferred from the sample lines (or
one per key for ``key=value`` lines); JSON lines a reader with the samples' schema; anything else
a skeleton that yields the lines. Drafting never runs the samples through the parser: ``trial``
does that, through the same executor as ``casparian run``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..contracts.discover import DiscoveryError, discover, infer_contract
from ..contracts.model import ColumnSpec, ContractError, SchemaContract, type_name_of
from ..wording import counted
from . import templates
from .patterns import infer_key_values, infer_line_pattern, key_regex
from .samples import SAMPLE_BYTES, LabError, SampleFacts, gather_facts

PARSER_FILE = "parser.py"
ORIGIN_INFERRED = "inferred"
ORIGIN_MODEL = "model"
ORIGIN_PROJECT = "project"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
Built = tuple[str, str, dict[str, str], SchemaContract, list[str], list[str]]
"""(kind, template body, template values, contract, findings, notes) of one kind of draft."""


@dataclass(frozen=True)
class DraftFile:
    """One file of a draft folder: its name inside the folder, its text and where it came from."""

    name: str
    text: str
    origin: str
    """``inferred`` (from discovery), ``model`` (written by a model) or ``project``."""


@dataclass(frozen=True)
class Draft:
    """A parser folder not yet written: the files, what they came from, what to know."""

    name: str
    kind: str
    """delimited, whitespace, log-pattern, key-value, json-lines or lines."""
    facts: SampleFacts
    files: tuple[DraftFile, ...]
    contracts: dict[str, SchemaContract]
    findings: tuple[str, ...] = ()
    """What discovery found, in words (also in the parser's docstring)."""
    notes: tuple[str, ...] = field(default=())
    """What the person should know: warnings, a model's fallback, columns left out."""

    def file(self, name: str) -> DraftFile:
        return next(f for f in self.files if f.name == name)

    @property
    def parser_origin(self) -> str:
        return self.file(PARSER_FILE).origin

    def with_contracts(self, contracts: dict[str, SchemaContract], origin: str, note: str) -> Draft:
        """The same draft with other contract proposals (e.g. following a model's column names);
        their files are written again, the note in them and in the draft's notes."""
        notes = self.notes + (note,)
        texts = {
            f"{output}.contract.yaml": _contract_text(
                contract, self.facts, list(self.findings), list(notes)
            )
            for output, contract in contracts.items()
        }
        files = tuple(
            DraftFile(f.name, texts[f.name], origin) if f.name in texts else f for f in self.files
        )
        return replace(self, files=files, contracts=dict(contracts), notes=notes)

    def with_parser(self, text: str, origin: str, note: str | None = None) -> Draft:
        """The same draft with another parser.py (e.g. a model's), and a note if given."""
        files = tuple(
            DraftFile(f.name, text, origin) if f.name == PARSER_FILE else f for f in self.files
        )
        return replace(self, files=files, notes=self.notes + ((note,) if note else ()))


def parser_name_for(paths: list[Path], given: str | None) -> str:
    """A parser name: the given one, else the samples' folder (or first file) in snake case."""
    if given is not None:
        if not _NAME.match(given):
            raise LabError(
                f"parser name {given!r}: use lower-case letters, digits and '_' "
                "(starting with a letter), at most 64 characters"
            )
        return given
    first = paths[0]
    base = first.name if first.is_dir() else (first.parent.name or first.stem)
    if not first.is_dir() and len(paths) == 1:
        base = first.stem
    name = re.sub(r"[^a-z0-9]+", "_", base.lower()).strip("_") or "draft"
    if name[0].isdigit():
        name = f"p_{name}"
    return name[:64]


def name_from_tag(tag: str | None) -> str | None:
    """A parser name from a tag ('kind:csv' and odd characters aside), or None."""
    if not tag:
        return None
    name = re.sub(r"[^a-z0-9]+", "_", tag.lower()).strip("_")
    if not name or not name[0].isalpha():
        return None
    return name[:64]


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part) + "Parser"


def _column_facts(contract: SchemaContract) -> list[str]:
    described = []
    for column in contract.columns:
        words = [column.type]
        if column.format:
            words.append(f"format {column.format}")
        if column.decimal_comma:
            words.append("decimal comma")
        if column.null_values:
            spelled = ", ".join(repr(v) for v in column.null_values if v)
            words.append(f"nulls spelled {spelled}")
        if not column.nullable:
            words.append("never empty")
        described.append(f"{column.name} ({', '.join(words)})")
    return [f"columns: {'; '.join(described)}"]


def _sources(facts: SampleFacts) -> str:
    first = facts.paths[0].name
    if len(facts.paths) == 1:
        return f"the sample file {first}"
    return f"{counted(len(facts.paths), 'sample file')} ({first}, ...)"


def _delimited(facts: SampleFacts, name: str) -> Built:
    """(kind, template, values, contract, findings, notes) for a delimited or spaced table."""
    assert facts.dialect is not None
    try:
        found = discover(list(facts.paths), name)
    except DiscoveryError as exc:
        raise LabError(str(exc)) from None
    dialect = found.dialect
    contract = found.contract
    columns = list(contract.column_names)
    findings = [
        f"{facts.kind}: {dialect.describe()}",
        f"{counted(found.rows_sampled, 'row')} sampled",
        *_column_facts(contract),
    ]
    notes = [f"low confidence: {warning}" for warning in found.warnings]
    for column, formats in found.candidate_formats.items():
        if len(formats) > 1:
            notes.append(f"column {column!r} also parses as {', '.join(formats[1:])}")
    if dialect.whitespace:
        values = {
            "ENCODING": repr(dialect.encoding),
            "SKIP": repr(dialect.preamble_lines + (1 if dialect.header else 0)),
            "COLUMNS": repr(columns),
        }
        return "whitespace", templates.WHITESPACE, values, contract, findings, notes
    header = _raw_header(facts.paths[0], dialect) if dialect.header else None
    values = {
        "ENCODING": repr(dialect.encoding),
        "DELIMITER": repr(dialect.delimiter or ONE_COLUMN),
        "QUOTE": repr(dialect.read_quote),
        "ESCAPE": repr(dialect.escape),
        "PREAMBLE": repr(dialect.preamble_lines),
        "HEADER": repr(header),
        "COLUMNS": repr(columns),
    }
    return "delimited", templates.DELIMITED, values, contract, findings, notes


ONE_COLUMN = "\x1f"  # the delimiter a one-column file is read with: no text line holds it


def _raw_header(path: Path, dialect: object) -> list[str]:
    """The header cells of the first sample as written (stripped of spaces and a BOM)."""
    from ..contracts.dialect import Dialect, read_head

    assert isinstance(dialect, Dialect)
    text = read_head(path).decode(dialect.encoding, errors="replace").lstrip("\ufeff")
    records = dialect.records(text)
    for index, record in enumerate(records):
        if index == dialect.preamble_lines:
            return [cell.strip() for cell in record]
    return []


def _text_table(columns: dict[str, pa.Array]) -> pa.Table:
    return pa.table({name: values.cast(pa.string()) for name, values in columns.items()})


def _log(facts: SampleFacts, name: str) -> Built | None:
    """A key=value or single-regex log draft when the sample lines share a pattern, else None."""
    lines = pa.array(list(facts.lines), pa.string())
    pairs = infer_key_values(list(facts.lines))
    if pairs is not None:
        keys = [(column, key_regex(key)) for key, column in pairs.keys]
        extracted: dict[str, pa.Array] = {}
        for column, regex in keys:
            parts = pc.extract_regex(lines, regex)
            value = pc.binary_join_element_wise(
                pc.struct_field(parts, "q"), pc.struct_field(parts, "v"), ""
            )
            extracted[column] = pc.if_else(pc.is_valid(parts), value, None)
        contract, _ = infer_contract(_text_table(extracted), name)
        contract = _all_nullable(contract)
        findings = [
            f"{facts.kind}: key=value lines ({pairs.matched} of {pairs.sampled} sampled lines), "
            f"encoding {facts.encoding}",
            f"keys: {', '.join(key for key, _ in pairs.keys)}",
            *_column_facts(contract),
        ]
        values = {"ENCODING": repr(facts.encoding), "KEYS": _pretty_list(keys)}
        return "key-value", templates.KEY_VALUE, values, contract, findings, []
    pattern = infer_line_pattern(list(facts.lines))
    if pattern is None:
        return None
    parts = pc.extract_regex(lines, pattern.regex)
    matched = pc.is_valid(parts)
    table = _text_table(
        {column: pc.filter(pc.struct_field(parts, column), matched) for column in pattern.columns}
    )
    contract, _ = infer_contract(table, name)
    contract = _all_nullable(contract) if pattern.matched < pattern.sampled else contract
    findings = [
        f"{facts.kind}: lines of the form {pattern.described} "
        f"({pattern.matched} of {pattern.sampled} sampled lines match), encoding {facts.encoding}",
        *_column_facts(contract),
    ]
    values = {
        "ENCODING": repr(facts.encoding),
        "REGEX": repr(pattern.regex),
        "COLUMNS": repr(list(pattern.columns)),
    }
    return "log-pattern", templates.LOG_PATTERN, values, contract, findings, []


def _all_nullable(contract: SchemaContract) -> SchemaContract:
    """Every column nullable: a line may lack a key, or match only partly."""
    columns = tuple(replace(column, nullable=True) for column in contract.columns)
    return replace(contract, columns=columns, _by_name={})


def _pretty_list(items: list[tuple[str, str]]) -> str:
    inner = "".join(f"\n    {item!r}," for item in items)
    return f"[{inner}\n]"


def _json_lines(facts: SampleFacts, name: str) -> Built:
    """A JSON-lines reader with the schema pyarrow infers from the samples' whole lines."""
    import pyarrow.json as pajson

    with open(facts.paths[0], "rb") as stream:
        head = stream.read(SAMPLE_BYTES)
    head = head[: head.rfind(b"\n") + 1] or head
    try:
        sample = pajson.read_json(pa.BufferReader(head))
    except pa.ArrowInvalid as exc:
        raise LabError(
            f"{facts.paths[0]}: the first lines do not read as JSON lines: {exc}"
        ) from None
    columns: list[ColumnSpec] = []
    fields: list[str] = []
    left_out: list[str] = []
    for column_field in sample.schema:
        try:
            type_name = type_name_of(column_field.type)
        except ContractError:
            left_out.append(f"{column_field.name} ({column_field.type})")
            continue
        if pa.types.is_null(column_field.type):
            left_out.append(f"{column_field.name} (always null in the samples)")
            continue
        nullable = sample.column(column_field.name).null_count > 0
        columns.append(ColumnSpec(name=column_field.name, type=type_name, nullable=nullable))
        fields.append(f"        ({column_field.name!r}, {_arrow_expression(column_field.type)}),")
    if not columns:
        raise LabError(f"{facts.paths[0]}: the JSON objects have no field of a plain type")
    contract = SchemaContract(name=name, columns=tuple(columns))
    findings = [
        f"jsonl: one JSON object per line, {counted(sample.num_rows, 'line')} sampled",
        *_column_facts(contract),
    ]
    notes = []
    if left_out:
        notes.append(
            "left out (nested or untyped; add them by hand if you need them): "
            + ", ".join(left_out)
        )
    values = {"FIELDS": "\n".join(fields)}
    return "json-lines", templates.JSON_LINES, values, contract, findings, notes


def _arrow_expression(data_type: pa.DataType) -> str:
    """Source text that builds ``data_type`` (the plain types a contract can name)."""
    if pa.types.is_timestamp(data_type):
        tz = f", tz={data_type.tz!r}" if data_type.tz else ""
        return f"pa.timestamp({data_type.unit!r}{tz})"
    simple = {
        pa.int64(): "pa.int64()",
        pa.float64(): "pa.float64()",
        pa.bool_(): "pa.bool_()",
        pa.string(): "pa.string()",
        pa.date32(): "pa.date32()",
    }
    if data_type in simple:
        return simple[data_type]
    return f"pa.type_for_alias({str(data_type)!r})"


def _skeleton(facts: SampleFacts, name: str) -> Built:
    contract = SchemaContract(name=name, columns=(ColumnSpec(name="line", type="string"),))
    findings = [f"{facts.kind}: no table and no line pattern shared by the sample lines"]
    notes = ["a skeleton: it yields each line as it is; split the lines in parser.py"]
    values = {"ENCODING": repr(facts.encoding)}
    return "lines", templates.SKELETON, values, contract, findings, notes


HOW = {
    "delimited": (
        "Rows are read as text block by block (pyarrow.csv.open_csv: memory stays bounded) and "
        "typed by the contract beside this file: column types, date formats, decimal commas and "
        "null spellings live there. A row with the wrong number of fields is kept as an error "
        "row (_cf_row_error) with its text; rows with every field empty (blank lines) are "
        "dropped; _cf_row is the row's line in the file."
    ),
    "whitespace": (
        "Each line is split on runs of spaces (pyarrow.compute, block by block); a line with "
        "another number of fields is kept as an error row (_cf_row_error). The contract beside "
        "this file types the columns; _cf_row is the line number."
    ),
    "log-pattern": (
        "Every line is matched against LINE_PATTERN with pyarrow.compute.extract_regex, block by "
        "block; a line that does not match (a continuation line, another format) is kept as an "
        "error row (_cf_row_error). The contract beside this file types the fields; _cf_row is "
        "the line number."
    ),
    "key-value": (
        "Each key's value is found with its own regex (pyarrow.compute.extract_regex), block by "
        "block; a line without any pair is kept as an error row (_cf_row_error). The contract "
        "beside this file types the columns; _cf_row is the line number."
    ),
    "json-lines": (
        "Objects are read block by block with the samples' schema (pyarrow.json.open_json); "
        "fields the schema does not name are ignored, missing ones are null."
    ),
    "lines": "Each line becomes a row with its line number (_cf_row).",
}


def deterministic_draft(
    paths: list[Path], name: str | None = None, tag: str | None = None
) -> Draft:
    """Draft a parser folder for sample files from discovery alone (no model involved)."""
    parser_name = parser_name_for(paths, name)
    facts = gather_facts(paths)
    output = parser_name
    built: Built | None
    if facts.kind == "jsonl":
        built = _json_lines(facts, output)
    elif facts.dialect is not None:
        built = _delimited(facts, output)
    else:
        built = _log(facts, output) if facts.kind in ("log", "text") else None
        if built is None:
            built = _skeleton(facts, output)
    kind, body, values, contract, findings, notes = built
    contract_file = f"{output}.contract.yaml"
    common = templates.ParserText(
        class_name=_class_name(parser_name),
        name=parser_name,
        output=output,
        contract_file=contract_file,
        tags=[tag or parser_name],
        patterns=[],
        title=f"{parser_name}: {kind.replace('-', ' ')} files, drafted from samples.",
        origin="deterministic draft, no model",
        sources=_sources(facts),
        facts=findings,
        how=HOW[kind],
    )
    line_based = kind in ("whitespace", "log-pattern", "key-value", "lines")
    source = templates.render(common, body, values, lines=line_based)
    contract_text = _contract_text(contract, facts, findings, notes)
    files = (
        DraftFile(PARSER_FILE, source, ORIGIN_INFERRED),
        DraftFile(contract_file, contract_text, ORIGIN_INFERRED),
        DraftFile("pyproject.toml", _pyproject(parser_name), ORIGIN_PROJECT),
    )
    return Draft(
        name=parser_name,
        kind=kind,
        facts=facts,
        files=files,
        contracts={output: contract},
        findings=tuple(findings),
        notes=tuple(notes),
    )


def _pyproject(name: str) -> str:
    from ..parsers.project import parser_pyproject

    return parser_pyproject(f"casparian-lab-{name.replace('_', '-')}", "0.1.0")


def _contract_text(
    contract: SchemaContract, facts: SampleFacts, findings: list[str], notes: list[str]
) -> str:
    lines = [f"# Proposed by Casparian's Parser Lab from {_sources(facts)}."]
    lines += [f"# {finding}" for finding in findings[:2]]
    lines += [f"# NOTE: {note}" for note in notes]
    lines.append("# Review and edit; a person approves it (the lab never does).")
    return "\n".join(lines) + "\n" + contract.to_yaml()


@dataclass(frozen=True)
class WrittenDraft:
    """Where a draft went: the folder and the files written (``uv.lock`` included)."""

    folder: Path
    written: tuple[Path, ...]


def existing_files(draft: Draft, folder: Path) -> list[Path]:
    """The draft's files that already exist in ``folder`` (writing would replace them)."""
    names = [f.name for f in draft.files] + ["uv.lock"]
    return [folder / name for name in names if (folder / name).exists()]


def _inside(folder: Path, name: str) -> Path:
    """``folder/name``, refusing any name that would land outside the folder."""
    if not name or os.path.isabs(name) or "\\" in name or name.startswith("~"):
        raise LabError(f"{name!r}: a draft file name must be a plain name inside the folder")
    target = (folder / name).resolve()
    if target.parent != folder.resolve() or target.name != name:
        raise LabError(f"{name!r}: a draft file may only be written directly inside {folder}")
    return target


def write_draft(draft: Draft, folder: Path, overwrite: bool = False) -> WrittenDraft:
    """Write the draft's files into ``folder`` (created if needed) and lock it with uv.

    An existing file is never replaced unless ``overwrite`` (the person was asked); nothing is
    written then. Every name must land directly inside the folder.
    """
    from ..parsers.project import LockError, lock_parser

    folder = folder.expanduser()
    if folder.exists() and not folder.is_dir():
        raise LabError(f"{folder}: exists and is not a folder")
    targets = [(_inside(folder, f.name), f) for f in draft.files]
    existing = existing_files(draft, folder)
    if existing and not overwrite:
        listed = ", ".join(path.name for path in existing)
        raise LabError(f"{folder}: would replace {listed}; choose another folder or allow it")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for target, draft_file in targets:
        if target.is_symlink():
            raise LabError(f"{target}: is a symbolic link; the lab does not write through links")
        target.write_text(draft_file.text, encoding="utf-8")
        written.append(target)
    try:
        lock_parser(folder.resolve())
    except LockError as exc:
        raise LabError(str(exc)) from None
    written.append(folder.resolve() / "uv.lock")
    return WrittenDraft(folder.resolve(), tuple(written))
