"""Crash safety and exclusive claims, with real worker processes killed by SIGKILL.

After repeated ``kill -9`` of a whole pool (pool and workers at once) at varying moments and a
final restart, every file has exactly one terminal job, the Parquet outputs hold exactly the input
rows (no duplicate, none missing, checked with DuckDB) and no partial file is visible. Two pools on
one store run 10,000 jobs and no job is ever run twice.
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

from .jobs_support import enqueue_files, write_csv_inputs

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_LIMIT_S = 120.0


def _start_pool(
    home: Path, handler: str, workers: int, batch: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    code = (
        "from casparian_engine.config import load_config\n"
        "from casparian_engine.runner.pool import PoolOptions, WorkerPool\n"
        f"options = PoolOptions(workers={workers}, claim_batch={batch}, handler_spec={handler!r})\n"
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


@pytest.fixture
def pool_env(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CASPARIAN_HOME": str(home)}


@pytest.mark.slow
def test_kill_minus_nine_loses_and_duplicates_nothing(
    home: Path, tmp_path: Path, pool_env: dict[str, str]
) -> None:
    inputs = write_csv_inputs(tmp_path / "in", 500, rows_per_file=4)
    store = Store(f"sqlite:///{home / 'state.db'}")
    with closing(store):
        job_ids = enqueue_files(store, inputs)
        completed = lambda: store.jobs.counts()["completed"]  # noqa: E731
        rng = random.Random(6)
        kills = 0
        kills_with_work_left = 0
        for _ in range(5):
            already = completed()
            if already >= 450:
                break
            target = min(490, already + rng.randint(1, 90))
            pool = _start_pool(home, HANDLER, workers=2, batch=rng.choice([1, 4, 8]), env=pool_env)
            _wait_until(
                lambda t=target, p=pool: completed() >= t or p.poll() is not None, "progress"
            )
            os.killpg(pool.pid, signal.SIGKILL)
            pool.wait()
            kills += 1
            # A batch can complete the last files just before the kill lands: count the kills
            # that really interrupted work.
            kills_with_work_left += completed() < 500
        assert kills >= 3
        assert kills_with_work_left >= 1  # the crashes left work behind for the restart
        final = _start_pool(home, HANDLER, workers=2, batch=8, env=pool_env)
        assert final.wait(WAIT_LIMIT_S) == 0
        counts = store.jobs.counts()
        assert counts.by_status == {"completed": 500}
        assert sorted(j.id for j in store.jobs.find(limit=1000)) == sorted(job_ids)
    output = home / "output" / "csv"
    parquet_files = sorted(output.glob("*.parquet"))
    assert len(parquet_files) == 500
    for path in parquet_files:
        pq.read_metadata(path)  # every visible file is whole
    connection = duckdb.connect()
    expected = connection.execute(
        f"SELECT count(*), count(DISTINCT id), sum(id) FROM read_csv('{tmp_path}/in/*.csv')"
    ).fetchone()
    written = connection.execute(
        f"SELECT count(*), count(DISTINCT id), sum(id) FROM '{output}/*.parquet'"
    ).fetchone()
    assert expected == (2000, 2000, sum(range(2000)))
    assert written == expected
    missing = connection.execute(
        f"SELECT count(*) FROM read_csv('{tmp_path}/in/*.csv') i "
        f"ANTI JOIN '{output}/*.parquet' o USING (id)"
    ).fetchone()
    assert missing == (0,)


@pytest.mark.slow
def test_two_pools_never_run_a_job_twice(
    home: Path, tmp_path: Path, pool_env: dict[str, str]
) -> None:
    claims_dir = tmp_path / "claims"
    env = {**pool_env, "CASPARIAN_TEST_CLAIMS_DIR": str(claims_dir)}
    store = Store(f"sqlite:///{home / 'state.db'}")
    with closing(store):
        from casparian_engine.store.jobs import NewJob

        ids = store.jobs.enqueue(
            [NewJob("noop", "1", f"/virtual/{i}.csv", f"hash{i}") for i in range(10_000)]
        )
        pools = [_start_pool(home, CLAIMS_HANDLER, 2, 16, env) for _ in range(2)]
        assert [p.wait(WAIT_LIMIT_S * 2) for p in pools] == [0, 0]
        assert store.jobs.counts().by_status == {"completed": 10_000}
    runs = Counter(
        int(line) for path in claims_dir.glob("*.txt") for line in path.read_text().splitlines()
    )
    assert len(list(claims_dir.glob("*.txt"))) == 4  # both pools' workers took part
    assert sorted(runs) == sorted(ids)
    assert max(runs.values()) == 1


HANDLER = "tests.engine.job_handlers:csv_to_parquet"
CLAIMS_HANDLER = "tests.engine.job_handlers:record_claims"


@pytest.mark.slow
def test_kill_minus_nine_with_the_real_handler_loses_and_duplicates_nothing(
    tmp_path: Path, home: Path
) -> None:
    """The registered demo parser through real guests, coalesced parts and the store quarantine:
    after repeated kill -9 and a restart, the output equals an uninterrupted run's."""
    from casparian_engine.demo.home import create_demo_workspace
    from casparian_engine.workspace import Workspace

    demo = create_demo_workspace(tmp_path / "demo", 700)
    homes = {"killed": tmp_path / "killed", "reference": tmp_path / "reference"}
    for copy in homes.values():
        shutil.copytree(demo.home_dir, copy, symlinks=True)
        with Workspace.open(copy) as workspace:
            assert len(workspace.enqueue_matching("invoices")) == 1
    env_of = {
        name: {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CASPARIAN_HOME": str(path)}
        for name, path in homes.items()
    }
    reference = _start_pool(homes["reference"], REAL_HANDLER, 2, 64, env_of["reference"])
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
            pool = _start_pool(
                homes["killed"], REAL_HANDLER, 2, rng.choice([8, 16, 32]), env_of["killed"]
            )
            _wait_until(
                lambda t=target, p=pool: finished() >= t or p.poll() is not None, "progress"
            )
            os.killpg(pool.pid, signal.SIGKILL)
            pool.wait()
            kills += 1
        assert kills >= 3
        final = _start_pool(homes["killed"], REAL_HANDLER, 2, 32, env_of["killed"])
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


REAL_HANDLER = "casparian_engine.runner.prod:make_handler"
