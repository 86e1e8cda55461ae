"""Backfill: list stale files, reprocess into staging, swap in only when every file succeeded."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from casparian_engine.backfill import BackfillError
from casparian_engine.workspace import Workspace

from .jobs_support import write_csv_inputs

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLER = "tests.engine.job_handlers:csv_to_parquet"


def _register(workspace: Workspace, version: str) -> None:
    """A parser record matching ``*.csv`` (the test handler does the parsing)."""
    bundle = f"csv parser {version}".encode()
    workspace.store.parsers.insert(
        name="csv",
        version=version,
        identity_hash=hashlib.sha256(bundle).hexdigest(),
        bundle=bundle,
        bundle_sha256=hashlib.sha256(bundle).hexdigest(),
        lockfile_hash="",
        source_path=None,
        tags=(),
        patterns=("*.csv",),
        outputs={"csv": None},
        contracts=[],
        gatekeeper={},
    )


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


@pytest.fixture
def processed(workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    write_csv_inputs(tmp_path / "in", 6, rows_per_file=2)
    workspace.scan(tmp_path / "in")
    _register(workspace, "1")
    summary = workspace.process(handler=HANDLER, workers=1)
    assert summary.counts["completed"] == 6
    _register(workspace, "2")
    return workspace


def test_plan_lists_files_processed_by_an_older_version(processed: Workspace) -> None:
    plan = processed.backfill_plan("csv")
    assert (plan.current_version, len(plan.files)) == ("2", 6)
    assert {f.processed_versions for f in plan.files} == {("1",)}
    assert len(processed.backfill_plan("csv", limit=2).files) == 2
    # A plain `process` (or the daemon) does not redo them: backfill is manual only.
    (report,) = processed.enqueue_matching("csv")
    assert (report.parser_version, report.matched, report.queued) == ("2", 0, 0)
    with pytest.raises(BackfillError, match="no parser 'nope' is registered"):
        processed.backfill_plan("nope")


def test_failed_backfill_leaves_the_old_output_untouched(
    processed: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = processed.config.output_dir / "csv"
    before = _snapshot(live)
    monkeypatch.setenv("CASPARIAN_TEST_FAIL_NAME", "input_00003.csv")
    result = processed.backfill_execute("csv", handler=HANDLER, workers=1)
    assert not result.swapped
    assert result.reason == "1 of 6 files did not succeed"
    assert _snapshot(live) == before
    assert not (processed.config.output_dir / ".staging" / result.batch_id).exists()
    assert processed.store.history.versions_of("csv") == {"1": 6}
    assert len(processed.backfill_plan("csv").files) == 6


def test_successful_backfill_swaps_in_the_new_version_whole(processed: Workspace) -> None:
    live = processed.config.output_dir / "csv"
    result = processed.backfill_execute("csv", handler=HANDLER, workers=2)
    assert result.swapped and result.output_dir == live
    batch_ids = {j.id for j in processed.store.jobs.find(batch_id=result.batch_id)}
    rows = (
        duckdb.connect()
        .execute(
            "SELECT count(*), count(DISTINCT id), list(DISTINCT _cf_job_id) "
            f"FROM '{live}/*.parquet'"
        )
        .fetchone()
    )
    assert rows is not None and rows[:2] == (12, 12)
    assert set(rows[2]) == batch_ids  # every visible row comes from the new version
    assert not (processed.config.output_dir / ".staging" / result.batch_id).exists()
    assert processed.store.history.versions_of("csv") == {"1": 6, "2": 6}
    assert processed.backfill_plan("csv").files == ()
    job = processed.store.jobs.find(batch_id=result.batch_id, limit=1)[0]
    assert all(path.startswith(str(live)) for path in job.output_paths)


def test_backfill_command_lists_and_refuses_unknown_parsers(processed: Workspace) -> None:
    import json

    from typer.testing import CliRunner

    from casparian_engine.cli.main import app

    listed = CliRunner().invoke(app, ["backfill", "csv", "--json", "--limit", "3"])
    payload = json.loads(listed.stdout)
    assert (payload["current_version"], len(payload["files"])) == ("2", 3)
    assert payload["files"][0]["processed_versions"] == ["1"]
    unknown = CliRunner().invoke(app, ["backfill", "nope"])
    assert unknown.exit_code == 1 and "no parser 'nope' is registered" in unknown.stderr
