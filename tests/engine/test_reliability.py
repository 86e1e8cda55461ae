"""Crash safety and exclusive claims, with real worker processes and real guests.

After repeated ``kill -9`` of a whole pool (pool and workers at once) at varying moments and a
final restart, the registered demo parser's output equals an uninterrupted run's (no duplicate,
none missing, checked with DuckDB) and no partial file is visible. Two pools on one store run
2,000 files through real guests and no file is ever parsed twice: each guest says in its job's log
which file it parses, and each file says so exactly once.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from casparian_engine.store import Store
from casparian_engine.workspace import Workspace

from .real_bundles import invoices, register

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_LIMIT_S = 120.0


def _start_pool(
    home: Path, workers: int, batch: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """A pool of real workers (the production handler: registered bundles in real guests)."""
    code = (
        "from casparian_engine.config import load_config\n"
        "from casparian_engine.runner.pool import PoolOptions, WorkerPool\n"
        f"options = PoolOptions(workers={workers}, claim_batch={batch})\n"
        f"WorkerPool(load_config({str(home)!r}), options).run()\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, start_new_session=True, cwd=REPO_ROOT
    )


def _wait_until(condition: object, what: str) -> None:
    """Poll the store for a condition (the work we wait for), failing after a generous limit."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


HOLD = "hold"  # while this file is beside the inputs, the parser waits before each file
PARSE_ONCE = f"""\
import os, time
hold = os.path.join(os.path.dirname(str(path)), "{HOLD}")
while os.path.exists(hold):
    time.sleep(0.01)
print("parsing", str(path).rsplit("/", 1)[-1])"""


def two_pools_parse_each_file_once(home: Path, data: Path, env: dict[str, str]) -> None:
    """Two pools of two workers each on one store (the home's, or ``CASPARIAN_STORE_URL`` of
    ``env``) parse ``FILES`` files through real guests: every job completes, every worker takes
    part, each file's log says it was parsed exactly once and the output holds each row once."""
    names = [f"input_{n:05d}.csv" for n in range(TWO_POOL_FILES)]
    invoices(data, *names, rows=2)
    hold = data / "invoices" / HOLD
    hold.write_text("")  # every worker's first file waits until all four hold a claim
    with Workspace.open(home) as workspace:
        register(workspace, data.parent / "parser", PARSE_ONCE)
        workspace.files.scan(data)
        workspace.jobs.enqueue("invoices")
        store = workspace.store
        pools = [_start_pool(home, 2, 16, env) for _ in range(2)]
        try:
            _wait_until(
                lambda: (
                    store.db.query_one(
                        "SELECT count(DISTINCT worker_id) FROM cf_jobs WHERE status = 'running'"
                    )[0]
                    == 4
                    or any(p.poll() is not None for p in pools)
                ),
                "both pools' workers to claim",
            )
        finally:
            hold.unlink()
        assert [p.wait(WAIT_LIMIT_S * 2) for p in pools] == [0, 0]
        assert store.jobs.counts().by_status == {"completed": TWO_POOL_FILES}
        logs = [path.read_text() for path in workspace.config.logs_dir.rglob("*.log")]
        output = workspace.config.output_dir / "invoices"
    parsed = Counter(
        line.rsplit(" ", 1)[1] for text in logs for line in text.splitlines() if " parsing " in line
    )
    assert sorted(parsed) == names and set(parsed.values()) == {1}
    workers = {
        line.rsplit("worker ", 1)[1].rstrip(")")
        for text in logs
        for line in text.splitlines()
        if "(attempt 1, worker " in line
    }
    assert len(workers) == 4  # both pools' workers took part
    with duckdb.connect() as connection:
        rows = connection.execute(
            f"SELECT count(*), count(DISTINCT id) FROM '{output}/**/*.parquet'"
        ).fetchone()
    assert rows == (2 * TWO_POOL_FILES, 2 * TWO_POOL_FILES)


TWO_POOL_FILES = 2_000


@pytest.mark.slow
def test_two_pools_never_parse_a_file_twice(home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CASPARIAN_HOME": str(home)}
    two_pools_parse_each_file_once(home, tmp_path / "data", env)


@pytest.mark.slow
def test_kill_minus_nine_with_the_real_handler_loses_and_duplicates_nothing(
    tmp_path: Path, home: Path
) -> None:
    """The registered demo parser through real guests, coalesced parts and the store quarantine:
    after repeated kill -9 and a restart, the output equals an uninterrupted run's."""
    from casparian_engine.demo.home import create_demo_workspace

    demo = create_demo_workspace(tmp_path / "demo", 700)
    homes = {"killed": tmp_path / "killed", "reference": tmp_path / "reference"}
    for copy in homes.values():
        shutil.copytree(demo.home_dir, copy, symlinks=True)
        with Workspace.open(copy) as workspace:
            assert len(workspace.jobs.enqueue("invoices")) == 1
    env_of = {
        name: {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CASPARIAN_HOME": str(path)}
        for name, path in homes.items()
    }
    reference = _start_pool(homes["reference"], 2, 64, env_of["reference"])
    assert reference.wait(WAIT_LIMIT_S) == 0
    store = Store(f"sqlite:///{homes['killed'] / 'state.db'}")
    with closing(store):
        total = store.jobs.counts().total
        assert total >= 500
        finished = lambda: store.jobs.counts().finished  # noqa: E731
        rng = random.Random(9)
        kills = 0
        for _ in range(5):
            if finished() >= total - 40:
                break
            target = min(total - 20, finished() + rng.randint(1, 120))
            pool = _start_pool(homes["killed"], 2, rng.choice([8, 16, 32]), env_of["killed"])
            _wait_until(
                lambda t=target, p=pool: finished() >= t or p.poll() is not None, "progress"
            )
            os.killpg(pool.pid, signal.SIGKILL)
            pool.wait()
            kills += 1
        assert kills >= 3
        final = _start_pool(homes["killed"], 2, 32, env_of["killed"])
        assert final.wait(WAIT_LIMIT_S) == 0
        jobs = store.jobs.find(limit=10_000)
        assert {j.status for j in jobs} <= {"completed", "completed_with_warnings"}
        assert len(jobs) == total
        quarantined = store.db.query_one("SELECT count(*) FROM cf_quarantine")[0]
        assert quarantined == sum(j.rows_quarantined for j in jobs)
    outputs = {name: path / "output" / "invoices" / "invoices" for name, path in homes.items()}
    assert not list(outputs["killed"].glob(".*"))  # no temp is left, and none is visible
    for part in outputs["killed"].glob("*.parquet"):
        pq.read_metadata(part)
    connection = duckdb.connect()
    columns = "_cf_source_hash, _cf_row, invoice_id, sku, amount"
    counts = [
        connection.execute(
            f"SELECT count(*), count(DISTINCT (_cf_source_hash, _cf_row)) "
            f"FROM '{outputs[name]}/*.parquet'"
        ).fetchone()
        for name in ("killed", "reference")
    ]
    assert counts[0] == counts[1] and counts[0][0] == counts[0][1]  # type: ignore[index]
    for first, second in (("killed", "reference"), ("reference", "killed")):
        difference = connection.execute(
            f"SELECT count(*) FROM (SELECT {columns} FROM '{outputs[first]}/*.parquet' "
            f"EXCEPT SELECT {columns} FROM '{outputs[second]}/*.parquet')"
        ).fetchone()
        assert difference == (0,)
