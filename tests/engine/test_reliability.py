"""Crash safety and exclusive claims, with real worker processes killed by SIGKILL.

After repeated ``kill -9`` of a whole pool (pool and workers at once) at varying moments and a
final restart, every file has exactly one terminal job, the Parquet outputs hold exactly the input
rows (no duplicate, none missing, checked with DuckDB) and no partial file is visible. Two pools on
one store run 10,000 jobs and no job is ever run twice.
"""

from __future__ import annotations

import os
import random
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
        assert kills >= 3
        assert store.jobs.counts()["running"] > 0 or completed() < 500  # crashes left work behind
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
