"""The daemon: files in a watched folder are scanned, queued and processed; stop ends it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from casparian_engine.runner.daemon import DaemonRound, run_daemon
from casparian_engine.workspace import Workspace

from .test_backfill import HANDLER, REPO_ROOT, _register

WAIT_LIMIT_S = 60.0


def test_daemon_processes_new_files_and_stops_gracefully(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    (watched / "first.csv").write_text("id\n1\n2\n")
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    monkeypatch.setenv("CASPARIAN_WATCH_FOLDERS", str(watched))
    monkeypatch.setenv("CASPARIAN_RESCAN_INTERVAL_S", "30")
    workspace = Workspace.open(home)
    _register(workspace, "1")
    stop = threading.Event()
    rounds: list[DaemonRound] = []

    def record(event: object) -> None:
        if isinstance(event, DaemonRound):
            rounds.append(event)

    daemon = threading.Thread(
        target=lambda: run_daemon(workspace, workers=1, handler=HANDLER, on_event=record, stop=stop)
    )
    daemon.start()
    try:
        _wait(lambda: workspace.job_stats()["completed"] == 1, "the first file")
        (watched / "second.csv").write_text("id\n3\n")
        _wait(lambda: workspace.job_stats()["completed"] == 2, "the file added while watching")
    finally:
        stop.set()
        daemon.join(WAIT_LIMIT_S)
    assert not daemon.is_alive()
    assert rounds[0].queued == 1 and sum(r.queued for r in rounds) == 2
    assert workspace.job_stats()["running"] == 0
    outputs = sorted(p.name for p in (workspace.config.output_dir / "csv").glob("*.parquet"))
    assert len(outputs) == 2
    workspace.close()


def _wait(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)
