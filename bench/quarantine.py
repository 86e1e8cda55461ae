"""Quarantine listing with millions of rows: `quarantine list` by parser, rule and job, and `show`.

Fills a fresh SQLite store (a temporary home) with quarantined rows through the real repository
(``QuarantineRepository.add``, batches as a worker writes them), spread over parsers, jobs and rule
combinations. Then times what ``casparian quarantine list`` does — one keyset page plus a count
capped at 10,000 — at the first page and at a deep page (``--after`` an id near the end), for each
filter, beside the exact count (a full read of the matches), and ``show`` of one row. Each
figure is the best of a few runs. Also runs the real CLI once for a page, and a replay of one
parser's rows (``ws.quarantine.replay``, all passing a relaxed contract) beside the
validation alone of the same rows as one in-memory table; and a SQL query over the quarantine
through the home's shared catalog (the quarantine copied once, for the first query only) beside
the same query on a catalog of its own (a copy per query, as before the catalog was shared).
Usage: ``python bench/quarantine.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from casparian_engine.cli.quarantine import COUNT_CAP
from casparian_engine.contracts import SchemaContract, validate
from casparian_engine.contracts.quarantine import contract_name_for
from casparian_engine.store.quarantine import QuarantineFilter
from casparian_engine.workspace import Workspace

PARSERS = 20
BATCH_ROWS = 50_000
RULE_SETS = ("cast:amount", "range:qty", "pattern:code", "cast:amount,range:qty", "not_null:id")


def _batch(start: int, row_count: int) -> pa.Table:
    """A validator-shaped quarantined table of ``row_count`` rows."""
    positions = pa.array(range(start, start + row_count), pa.int64())
    rule_index = pc.cast(pc.bit_wise_and(positions, 3), pa.int64())
    rules = pc.take(pa.array(RULE_SETS[:4]), rule_index)
    rules = pc.if_else(pc.equal(pc.bit_wise_and(positions, 1023), 0), RULE_SETS[4], rules)
    reason = pc.binary_join_element_wise(
        '[{"column": "amount", "rule": "cast", "reason": "not a valid float64: ', rules, '"}]', ""
    )
    values = pc.binary_join_element_wise(
        '{"id": "', pc.cast(positions, pa.string()), '", "amount": "x"}', ""
    )
    return pa.table(
        {"_cf_row": positions, "rules": rules, "violations": reason, "row_values": values}
    )


def fill(workspace: Workspace, row_count: int) -> float:
    """Insert ``row_count`` rows; each batch holds ten jobs of different parsers. Returns s."""
    started = time.perf_counter()
    batch_index = 0
    for start in range(0, row_count, BATCH_ROWS):
        size = min(BATCH_ROWS, row_count - start)
        # Every batch spreads over several jobs and parsers, as many workers' batches would.
        for part in range(10):
            low, high = part * size // 10, (part + 1) * size // 10
            job_id = batch_index * 10 + part + 1
            workspace.store.quarantine.add(
                job_id,
                f"parser_{job_id % PARSERS:02d}",
                "1.0.0",
                "orders",
                "c0ffee",
                f"/data/in/file_{job_id}.csv",
                "f00d",
                _batch(start + low, high - low),
            )
        batch_index += 1
    return time.perf_counter() - started


def best(runs: int, work: Callable[[], object]) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def catalog_figures(workspace: Workspace, runs: int) -> None:
    """A query over the quarantine: the first through the shared catalog (copies the rows), later
    ones (the copy kept: nothing changed), beside a catalog made for the one query."""
    from casparian_engine.catalog import ReadOnlyCatalog

    sql = "SELECT count(*) AS n FROM quarantine WHERE rules = 'range:qty'"

    def own_copy() -> None:
        rows = workspace.store.quarantine.arrow_reader()
        with ReadOnlyCatalog(workspace.config.output_dir, quarantine=rows) as catalog:
            catalog.query(sql)

    copied = best(1, own_copy)
    first = best(1, lambda: workspace.outputs.catalog().query(sql))
    later = best(runs, lambda: workspace.outputs.catalog().query(sql))
    with workspace.outputs.catalog() as catalog:
        (count,) = catalog.query("SELECT count(*) AS n FROM quarantine").rows
    print(
        f"SQL over the quarantine ({count['n']:,} rows copied): first query {first:.2f} s, "
        f"later queries {later * 1000:.1f} ms; a catalog of its own per query "
        f"{copied:.2f} s"
    )


def replay_figures(workspace: Workspace) -> None:
    """Replay parser_03's rows (each passes the relaxed contract) once; beside it, validating
    the same number of rows as one in-memory table of strings (the floor a replay adds I/O to)."""
    contract = SchemaContract.from_dict(
        {
            "name": contract_name_for("parser_03", "orders"),
            "columns": [
                {"name": "id", "type": "int64", "nullable": False},
                {"name": "amount", "type": "string"},
            ],
        }
    )
    workspace.contracts.approve(contract)
    where = QuarantineFilter(parser_name="parser_03")
    rows = workspace.quarantine.count(where)
    started = time.perf_counter()
    (result,) = workspace.quarantine.replay(where)
    replay_s = time.perf_counter() - started
    assert result.rows_moved == rows, result
    positions = pa.array(range(rows), pa.int64())
    table = pa.table(
        {
            "id": pc.cast(positions, pa.string()),
            "amount": pa.repeat("x", rows),
            "_cf_row": positions,
        }
    )
    started = time.perf_counter()
    validate(table, contract)
    validate_s = time.perf_counter() - started
    print(
        f"replay --parser parser_03: {rows:,} rows moved in {replay_s:.2f} s "
        f"({rows / replay_s:,.0f} rows/s); validate alone of {rows:,} rows in memory: "
        f"{validate_s * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cf-bench-quarantine-") as home:
        workspace = Workspace.open(Path(home))
        fill_s = fill(workspace, args.rows)
        total = workspace.quarantine.count(QuarantineFilter())
        jobs = -(-args.rows // BATCH_ROWS) * 10
        middle_job = jobs // 2
        print(
            f"rows: {total:,} in {PARSERS} parsers, {jobs} jobs; insert {fill_s:.1f} s "
            f"({total / fill_s:,.0f} rows/s through QuarantineRepository.add)"
        )
        last_id = workspace.store.db.query_one("SELECT MAX(id) FROM cf_quarantine")[0]
        deep_after = int(last_id * 0.95)
        filters = {
            "--parser parser_07": QuarantineFilter(parser_name="parser_07"),
            "--rule range:qty": QuarantineFilter(rule="range:qty"),
            "--rule not_null (prefix)": QuarantineFilter(rule="not_null"),
            f"--job {middle_job}": QuarantineFilter(job_id=middle_job),
            "(no filter)": QuarantineFilter(),
        }
        print(
            f"{'list':<28} {'matches':>10} {'page 1':>10} {'deep page':>10} "
            f"{'count<=10k':>10} {'exact count':>11}"
        )
        for label, where in filters.items():
            matches = workspace.quarantine.count(where)
            first = best(args.runs, lambda w=where: workspace.quarantine.list(w, limit=50))
            deep = best(
                args.runs,
                lambda w=where: workspace.quarantine.list(w, after_id=deep_after, limit=50),
            )
            capped = best(args.runs, lambda w=where: workspace.quarantine.count(w, cap=COUNT_CAP))
            exact = best(args.runs, lambda w=where: workspace.quarantine.count(w))
            print(
                f"{label:<28} {matches:>10,} {first * 1000:>8.2f}ms {deep * 1000:>8.2f}ms "
                f"{capped * 1000:>8.2f}ms {exact * 1000:>9.2f}ms"
            )
        show = best(args.runs, lambda: workspace.quarantine.get(deep_after + 1))
        print(f"{'show <id>':<28} {1:>10,} {show * 1000:>8.2f}ms")
        catalog_figures(workspace, args.runs)
        replay_figures(workspace)
        workspace.close()
        casparian = Path(sys.executable).parent / "casparian"
        command = [str(casparian), "quarantine", "list", "--parser", "parser_07", "--after"]
        started = time.perf_counter()
        subprocess.run(
            [*command, str(deep_after)],
            check=True,
            capture_output=True,
            env={**os.environ, "CASPARIAN_HOME": home},
        )
        cli_s = time.perf_counter() - started
        print(
            f"CLI `quarantine list --parser parser_07 --after {deep_after}` (new process, "
            f"with start-up): {cli_s * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
