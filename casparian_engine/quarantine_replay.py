"""Replay after a fix: re-validate unreplayed quarantined rows against the current approved
contract and move those that now pass into the output as one new Parquet file (written to a temp
name, renamed inside the transaction that marks them replayed), with an audit entry.

A use case over the store, the contracts and the registered bundles (it reads the contract a
parser declares for an output from its verified bundle).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .contracts.quarantine import contract_name_for

if TYPE_CHECKING:
    import pyarrow as pa

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


def _current_contract(store: Store, rows: list[Any]) -> tuple[str, SchemaContract, int]:
    """The newest approved contract for the rows' output.

    Its name comes from the contract the rows were checked against (by their stored hash), else
    from the contract the registered parser declares for the output, else from the naming rule.
    """
    first = rows[0]
    hashes = dict.fromkeys(r.contract_hash for r in rows if r.contract_hash)
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


def _rows_table(rows: list[Any]) -> pa.Table:
    """The quarantined rows' original text values as a table of strings, plus lineage."""
    import pyarrow as pa
    import pyarrow.json as pj

    names: list[str] = []
    for row in rows:
        for key in row.row_values:
            if key not in names:
                names.append(key)
    lines = "\n".join(json.dumps(row.row_values) for row in rows).encode()
    schema = pa.schema([pa.field(n, pa.string()) for n in names])
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    table = pj.read_json(pa.BufferReader(lines), parse_options=options)
    return table.append_column("_cf_row", pa.array([r.source_row for r in rows], pa.int64()))


def replay_quarantine(
    store: Store, output_dir: Path, where: QuarantineFilter, replay_job_id: int | None = None
) -> list[ReplayResult]:
    """Move quarantined rows that pass the current contract into the output; audit each move."""
    groups: dict[tuple[str, str], list[Any]] = {}
    after = 0
    while page := store.quarantine.list(where, after_id=after, limit=REPLAY_PAGE_ROWS):
        for row in page:
            groups.setdefault((row.parser_name, row.output_name), []).append(row)
        after = page[-1].id
    results: list[ReplayResult] = []
    for (parser_name, output_name), rows in sorted(groups.items()):
        try:
            name, contract, version = _current_contract(store, rows)
        except (LookupError, ValueError) as exc:  # this group cannot replay; the others still do
            results.append(
                ReplayResult(
                    parser_name, output_name, "", 0, len(rows), 0, len(rows), None, str(exc)
                )
            )
            continue
        valid = _passing_rows(_rows_table(rows), contract, rows)
        moved = valid.num_rows
        output_file: str | None = None
        if moved:
            target_dir = output_dir / parser_name / output_name
            audit = {"contract": name, "contract_version": version, "rows_checked": len(rows)}
            output_file = str(_move_out(store, target_dir, valid, replay_job_id, audit))
        results.append(
            ReplayResult(
                parser_name,
                output_name,
                name,
                version,
                len(rows),
                moved,
                len(rows) - moved,
                output_file,
            )
        )
    return results


def _move_out(
    store: Store,
    target_dir: Path,
    valid: pa.Table,
    replay_job_id: int | None,
    audit: dict[str, Any],
) -> Path:
    """Write the rows that now pass into a new Parquet file of the output and, in one store
    transaction, mark them replayed and audit the move; the file appears only if that commits."""
    import pyarrow.parquet as pq

    valid_ids = valid.column("_cf_quarantine_id").to_pylist()
    valid = valid.drop_columns(["_cf_quarantine_id"])
    target_dir.mkdir(parents=True, exist_ok=True)
    final = target_dir / f"replay-{int(time.time())}-{uuid.uuid4().hex[:8]}.parquet"
    temp = target_dir / f".{final.name}.tmp"
    pq.write_table(valid, temp)
    try:
        with store.db.transaction():
            store.quarantine.mark_replayed(valid_ids, replay_job_id)
            store.audit.record(
                "quarantine.replay",
                f"{target_dir.parent.name}/{target_dir.name}",
                contract=audit["contract"],
                contract_version=audit["contract_version"],
                rows_moved=valid.num_rows,
                rows_checked=audit["rows_checked"],
                output_file=str(final),
            )
            os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return final


def _passing_rows(table: pa.Table, contract: SchemaContract, rows: list[Any]) -> pa.Table:
    """Rows that pass ``contract`` now, typed, with their lineage columns and quarantine id."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .contracts.validate import validate

    # Number the rows by position so each valid row can be traced to its quarantine entry.
    position = table.column_names.index("_cf_row")
    numbered = table.set_column(position, "_cf_row", pa.array(range(len(rows)), pa.int64()))
    valid = validate(numbered, contract).valid
    positions = valid.column("_cf_row")

    def lineage(values: list[Any], data_type: pa.DataType) -> Any:
        return pc.take(pa.array(values, data_type), positions)

    valid = valid.set_column(
        valid.column_names.index("_cf_row"),
        "_cf_row",
        lineage([r.source_row for r in rows], pa.int64()),
    )
    valid = valid.append_column(
        "_cf_source_hash", lineage([r.source_hash for r in rows], pa.string())
    )
    valid = valid.append_column("_cf_job_id", lineage([r.job_id for r in rows], pa.int64()))
    valid = valid.append_column(
        "_cf_parser_version", lineage([r.parser_version for r in rows], pa.string())
    )
    return valid.append_column("_cf_quarantine_id", lineage([r.id for r in rows], pa.int64()))
