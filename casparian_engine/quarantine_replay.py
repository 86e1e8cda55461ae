"""Replay after a fix: re-validate unreplayed quarantined rows against the current approved
contract and move those that now pass into the output as one new Parquet file (written to a temp
name, renamed inside the transaction that marks them replayed), with an audit entry.

A use case over the store, the contracts and the registered bundles (it reads the contract a
parser declares for an output from its verified bundle).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .contracts.quarantine import contract_name_for
from .quarantine_rows import ROW_COLUMN

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .contracts.model import SchemaContract
    from .store import Store
    from .store.quarantine import QuarantineFilter

REPLAY_PAGE_ROWS = 50_000


@dataclass(frozen=True)
class ReplayResult:
    """What a replay did, per (parser, output): rows re-checked, moved, still failing."""

    parser_name: str
    output_name: str
    contract_name: str
    contract_version: int
    rows_checked: int
    rows_moved: int
    rows_still_quarantined: int
    output_file: str | None
    error: str | None = None


def _declared_contract_name(
    store: Store, parser_name: str, version: str, output: str
) -> str | None:
    """The ``name:`` of the contract a registered parser declares for ``output`` (its version
    first, else its newest), read from the verified bundle; None when none is declared."""
    from .contracts.model import SchemaContract
    from .parsers.bundle import read_members
    from .parsers.registration import verified_bundle

    records = [store.parsers.get(parser_name, version), store.parsers.get(parser_name)]
    for record in (r for r in records if r is not None):
        entry = next((e for e in record.contracts if e.get("output") == output), None)
        if entry is None:
            continue
        _, blob = verified_bundle(store, record.name, record.version)
        text = read_members(blob, f"parser '{record.name}' {record.version}")[entry["file"]]
        source = f"{entry['file']} of parser '{record.name}' {record.version}"
        decoded = text.decode("utf-8")
        if entry["file"].endswith(".json"):
            return SchemaContract.from_json(decoded, source=source).name
        return SchemaContract.from_yaml(decoded, source=source).name
    return None


def _current_contract(store: Store, where: QuarantineFilter) -> tuple[str, SchemaContract, int]:
    """The newest approved contract for the output of the rows ``where`` selects (one group).

    Its name comes from the contract the rows were checked against (by their stored hash), else
    from the contract the registered parser declares for the output, else from the naming rule.
    """
    first = store.quarantine.list(where, limit=1)[0]
    hashes = store.quarantine.contract_hashes(where)
    known = next(filter(None, (store.contracts.by_hash(h) for h in hashes)), None)
    name = (
        known.name
        if known
        else _declared_contract_name(
            store, first.parser_name, first.parser_version, first.output_name
        )
        or contract_name_for(first.parser_name, first.output_name)
    )
    latest = store.contracts.latest(name)
    if latest is None:
        raise LookupError(
            f"no approved contract {name!r} for output {first.output_name!r} of parser "
            f"{first.parser_name!r}: approve one with `casparian schema approve`"
        )
    return name, latest.contract, latest.version


_KEYS_SQL = (
    "SELECT key FROM (SELECT id, unnest(json_keys(row_values)) AS key, "
    "generate_subscripts(json_keys(row_values), 1) AS i FROM page) "
    "GROUP BY key ORDER BY min([id, i])"
)


def _page_keys(con: duckdb.DuckDBPyConnection, page: pa.RecordBatch) -> list[str]:
    """The keys of a page's ``row_values`` objects in order of first appearance (DuckDB)."""
    import pyarrow as pa

    con.register("page", pa.Table.from_batches([page]))
    try:
        return [str(row[0]) for row in con.execute(_KEYS_SQL).fetchall()]
    finally:
        con.unregister("page")


def _rows_table(page: pa.RecordBatch, contract: SchemaContract) -> pa.Table:
    """The contract's columns of a page's original text values as strings (absent: null), and
    ``_cf_row`` numbering the rows by position in the page."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    # One JSON object a line: the values buffer of "<row_values>\n" is the whole document.
    text = pc.binary_join_element_wise(page.column("row_values"), "\n", "")
    offsets = pa.Array.from_buffers(
        pa.int32(), len(text) + 1, [None, text.buffers()[1]], offset=text.offset
    )
    start, stop = offsets[0].as_py(), offsets[-1].as_py()
    lines = text.buffers()[2].slice(start, stop - start)
    schema = pa.schema([pa.field(n, pa.string()) for n in contract.column_names])
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    table = pj.read_json(pa.BufferReader(lines), parse_options=options)
    positions = pa.array(range(page.num_rows), pa.int64())
    return table.append_column(ROW_COLUMN, positions)


def replay_quarantine(
    store: Store, output_dir: Path, where: QuarantineFilter, replay_job_id: int | None = None
) -> list[ReplayResult]:
    """Move quarantined rows that pass the current contract into the output; audit each move.

    Each (parser, output) is read in keyset pages of ``REPLAY_PAGE_ROWS`` rows and validated a
    page at a time; its passing rows stream into one Parquet file, and the whole group is one
    store transaction (rows marked replayed, audit entry, file renamed into place)."""
    results: list[ReplayResult] = []
    for parser_name, output_name in store.quarantine.groups(where):
        group = replace(where, parser_name=parser_name, output_name=output_name)
        try:
            name, contract, version = _current_contract(store, group)
        except (LookupError, ValueError) as exc:  # this group cannot replay; the others still do
            count = store.quarantine.count(group)
            results.append(
                ReplayResult(parser_name, output_name, "", 0, count, 0, count, None, str(exc))
            )
            continue
        target_dir = output_dir / parser_name / output_name
        audit = {"contract": name, "contract_version": version}
        checked, moved, output_file = _replay_group(
            store, group, contract, target_dir, replay_job_id, audit
        )
        results.append(
            ReplayResult(
                parser_name,
                output_name,
                name,
                version,
                checked,
                moved,
                checked - moved,
                output_file,
            )
        )
    return results


@dataclass(frozen=True)
class ReplayPreview:
    """What a replay would do, per (parser, output), found without writing anything: rows it
    would re-check, how many pass the current contract (and would move), how many still fail;
    ``error`` says why the group would not replay at all."""

    parser_name: str
    output_name: str
    contract_name: str
    contract_version: int
    rows_checked: int
    rows_passing: int
    rows_failing: int
    error: str | None = None


def preview_replay(store: Store, where: QuarantineFilter) -> list[ReplayPreview]:
    """A dry run of ``replay_quarantine``: the same groups, contracts, pages and validation,
    counting what would pass; no file is written, no row marked, nothing audited."""
    import duckdb

    from .contracts.validate import StructuralMismatch, validate

    previews: list[ReplayPreview] = []
    for parser_name, output_name in store.quarantine.groups(where):
        group = replace(where, parser_name=parser_name, output_name=output_name)
        try:
            name, contract, version = _current_contract(store, group)
        except (LookupError, ValueError) as exc:
            count = store.quarantine.count(group)
            previews.append(
                ReplayPreview(parser_name, output_name, "", 0, count, 0, count, str(exc))
            )
            continue
        names: dict[str, None] = {}
        checked = passing = 0
        con = duckdb.connect()
        try:
            after = 0
            while (page := store.quarantine.replay_page(group, after, REPLAY_PAGE_ROWS)).num_rows:
                after = int(page.column("id")[-1].as_py())
                checked += page.num_rows
                names.update(dict.fromkeys(_page_keys(con, page)))
                passing += validate(_rows_table(page, contract), contract).valid.num_rows
        finally:
            con.close()
        error = None
        try:
            _check_row_columns(list(names), contract)
        except StructuralMismatch as exc:  # the replay would stop here and move nothing
            error, passing = str(exc), 0
        previews.append(
            ReplayPreview(
                parser_name, output_name, name, version, checked, passing, checked - passing, error
            )
        )
    return previews


def _replay_group(
    store: Store,
    group: QuarantineFilter,
    contract: SchemaContract,
    target_dir: Path,
    replay_job_id: int | None,
    audit: dict[str, Any],
) -> tuple[int, int, str | None]:
    """Replay one (parser, output) page by page inside one store transaction: the rows that pass
    are written to a temp Parquet file and marked replayed; the file gets its final name only as
    the transaction commits. Returns (rows checked, rows moved, output file or None)."""
    import duckdb

    output = _ReplayOutput(target_dir)
    names: dict[str, None] = {}
    checked = moved = 0
    con = duckdb.connect()
    try:
        with store.db.transaction():
            after = 0
            while (page := store.quarantine.replay_page(group, after, REPLAY_PAGE_ROWS)).num_rows:
                after = int(page.column("id")[-1].as_py())
                checked += page.num_rows
                names.update(dict.fromkeys(_page_keys(con, page)))
                valid = _passing_rows(_rows_table(page, contract), contract, page)
                if valid.num_rows:
                    store.quarantine.mark_replayed(
                        valid.column("_cf_quarantine_id").to_pylist(), replay_job_id
                    )
                    output.write(valid.drop_columns(["_cf_quarantine_id"]))
                    moved += valid.num_rows
            _check_row_columns(list(names), contract)
            if not output.started:
                return checked, 0, None
            output.close()
            store.audit.record(
                "quarantine.replay",
                f"{target_dir.parent.name}/{target_dir.name}",
                contract=audit["contract"],
                contract_version=audit["contract_version"],
                rows_moved=moved,
                rows_checked=checked,
                output_file=str(output.final),
            )
            output.publish()
    except BaseException:
        output.abandon()
        raise
    finally:
        con.close()
    return checked, moved, str(output.final)


def _check_row_columns(names: list[str], contract: SchemaContract) -> None:
    """The rows' columns as a whole must fit the contract, as one table of them would."""
    import pyarrow as pa

    from .contracts.validate import check_structure

    fields = [pa.field(n, pa.string()) for n in names]
    check_structure(pa.schema([*fields, pa.field(ROW_COLUMN, pa.int64())]), contract)


class _ReplayOutput:
    """The one Parquet file a group's replayed rows stream into: written under a temp name
    (started by the first rows), renamed to its final name by ``publish``."""

    def __init__(self, target_dir: Path) -> None:
        self.target_dir = target_dir
        self.final = target_dir / f"replay-{int(time.time())}-{uuid.uuid4().hex[:8]}.parquet"
        self.temp = target_dir / f".{self.final.name}.tmp"
        self._writer: pq.ParquetWriter | None = None

    @property
    def started(self) -> bool:
        return self._writer is not None

    def write(self, rows: pa.Table) -> None:
        import pyarrow.parquet as pq

        if self._writer is None:
            self.target_dir.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.temp, rows.schema)
        self._writer.write_table(rows)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def publish(self) -> None:
        os.replace(self.temp, self.final)

    def abandon(self) -> None:
        """Close and remove the temp file (the transaction did not commit)."""
        if self._writer is not None:
            self._writer.close()
            self.temp.unlink(missing_ok=True)


def _passing_rows(table: pa.Table, contract: SchemaContract, page: pa.RecordBatch) -> pa.Table:
    """Rows of ``page`` that pass ``contract`` now, typed, with their lineage columns and
    quarantine id (``table``'s ``_cf_row`` is each row's position in ``page``)."""
    from .contracts.validate import validate

    valid = validate(table, contract).valid
    positions = valid.column(ROW_COLUMN).combine_chunks()
    lineage = page.select(["source_row", "source_hash", "job_id", "parser_version", "id"])
    picked = lineage.take(positions)
    valid = valid.set_column(
        valid.column_names.index(ROW_COLUMN), ROW_COLUMN, picked.column("source_row")
    )
    valid = valid.append_column("_cf_source_hash", picked.column("source_hash"))
    valid = valid.append_column("_cf_job_id", picked.column("job_id"))
    valid = valid.append_column("_cf_parser_version", picked.column("parser_version"))
    return valid.append_column("_cf_quarantine_id", picked.column("id"))
