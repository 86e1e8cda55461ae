"""The ``process``, ``jobs`` and ``parser resume`` commands against a real store and workers."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.store import Store
from casparian_engine.store.jobs import JobFailure
from casparian_engine.workspace import Workspace

from .jobs_support import enqueue_files, write_csv_inputs
from .real_bundles import failing_on, invoices, register

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    monkeypatch.setenv("CASPARIAN_RETRY_BACKOFF_S", "0,0,0")
    return home


def _store(home: Path) -> closing[Store]:
    return closing(Store(f"sqlite:///{home / 'state.db'}"))


def test_process_drains_and_prints_a_json_summary(cli_home: Path, tmp_path: Path) -> None:
    folder = invoices(tmp_path / "in", *(f"input_{n:05d}.csv" for n in range(12)), rows=2)
    bad = folder / "invoices" / "permanent.csv"
    bad.write_text("id,amount\n1,1.5\n")
    with Workspace.open(cli_home) as workspace:
        workspace.files.scan(folder)
        register(workspace, tmp_path / "parser", body=failing_on("permanent"))
    result = CliRunner().invoke(
        app, ["process", "--workers", "2", "--json"], catch_exceptions=False
    )
    summary = json.loads(result.stdout)
    assert result.exit_code == 1  # one file failed
    assert summary["counts"] == {"completed": 12, "failed": 1, "queued": -13}
    assert (summary["jobs_finished"], summary["rows_written"]) == (13, 24)

    listed = CliRunner().invoke(app, ["jobs", "--status", "failed", "--json"])
    (failed,) = json.loads(listed.stdout)
    assert failed["input_path"] == str(bad)
    assert failed["error_message"].endswith(f"bad header in {bad}")
    log = CliRunner().invoke(app, ["jobs", "logs", str(failed["id"])])
    assert f"ValueError: bad header in {bad}" in log.stdout

    replay = CliRunner().invoke(app, ["jobs", "replay", str(failed["id"])])
    assert replay.exit_code == 0 and "queued again" in replay.stdout
    again = CliRunner().invoke(app, ["jobs", "replay", str(failed["id"])])
    assert again.exit_code == 1
    assert "is queued; only failed, dead_letter or cancelled jobs replay" in again.stderr
    cancel = CliRunner().invoke(app, ["jobs", "cancel", str(failed["id"])])
    assert cancel.exit_code == 0
    with _store(cli_home) as store:
        assert store.jobs.get(failed["id"]).status == "cancelled"  # type: ignore[union-attr]
        entries = [e.action for e in store.audit.list()]
    assert entries[:2] == ["job.cancel", "job.replay"]


def test_dead_letter_listing_and_bad_arguments(cli_home: Path, tmp_path: Path) -> None:
    with _store(cli_home) as store:
        store.jobs.max_retries = 0
        (job_id,) = enqueue_files(store, write_csv_inputs(tmp_path / "in", 1))
        lease = store.jobs.claim("w")
        store.jobs.fail(job_id, lease.token, JobFailure("timeout", "guest silent", True))
    listed = CliRunner().invoke(app, ["jobs", "--dead-letter", "--json"])
    (letter,) = json.loads(listed.stdout)
    assert (letter["job_id"], letter["error"]) == (job_id, "timeout: guest silent")
    bad_state = CliRunner().invoke(app, ["jobs", "--status", "done"])
    assert bad_state.exit_code == 1 and "unknown job state 'done'" in bad_state.stderr
    missing = CliRunner().invoke(app, ["jobs", "cancel", "999"])
    assert missing.exit_code == 1 and "no job 999" in missing.stderr
    not_paused = CliRunner().invoke(app, ["parser", "resume", "csv"])
    assert not_paused.exit_code == 1 and "parser 'csv' is not paused" in not_paused.stderr
