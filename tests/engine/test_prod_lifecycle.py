"""Two pools on one PostgreSQL store never parse a file twice; ``casparian start`` stops on
SIGTERM.

Both use real worker processes and real guests. The SIGTERM test runs the real CLI as a
subprocess on a watched folder with a registered parser, signals it while jobs are running, and
checks the exit code, that no job is left ``running`` (each finished or went back to the queue)
and that no worker process outlives it.
"""

from __future__ import annotations

import os
import signal
import subprocess
from contextlib import closing
from pathlib import Path

import psutil
import pytest

from casparian_engine.store import Store
from casparian_engine.workspace import Workspace

from .cli_support import CASPARIAN
from .real_bundles import invoices, register
from .test_reliability import REPO_ROOT, WAIT_LIMIT_S, _wait_until, two_pools_parse_each_file_once

FILES = 1_000
SLOW = "import time\ntime.sleep(0.01)"  # the parser's own work: a claim takes a few seconds


@pytest.mark.slow
def test_two_pools_on_postgresql_never_parse_a_file_twice(
    home: Path, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASPARIAN_STORE_URL", pg_url)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CASPARIAN_HOME": str(home)}
    two_pools_parse_each_file_once(home, tmp_path / "data", env)


@pytest.mark.slow
def test_start_stops_gracefully_on_sigterm(home: Path, tmp_path: Path) -> None:
    watched = invoices(tmp_path / "watched", *(f"input_{n:05d}.csv" for n in range(FILES)))
    with Workspace.open(home) as workspace:
        register(workspace, tmp_path / "parser", body=SLOW)
        workspace.files.scan(watched)  # the daemon's first round queues every file at once
    env = {
        **os.environ,
        "CASPARIAN_HOME": str(home),
        "CASPARIAN_WATCH_FOLDERS": str(watched),
    }
    daemon = subprocess.Popen(
        [CASPARIAN, "start", "--workers", "2"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    store = Store(f"sqlite:///{home / 'state.db'}")
    with closing(store):
        _wait_until(lambda: store.jobs.counts()["completed"] >= 10, "jobs to complete")
        workers = psutil.Process(daemon.pid).children(recursive=True)
        assert len(workers) >= 2
        daemon.send_signal(signal.SIGTERM)
        stdout, stderr = daemon.communicate(timeout=WAIT_LIMIT_S)
        assert daemon.returncode == 0, stderr.decode()
        counts = store.jobs.counts()
        assert counts["running"] == 0  # running jobs finished, claimed ones went back
        assert counts["queued"] > 0 and counts["completed"] + counts["queued"] == FILES
    assert b"jobs finished" in stdout
    assert not [p.pid for p in workers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
