"""Backfill: list stale files, reprocess into staging, swap in only when every file succeeded.

Real bundles run by real guests: version 1.0.0 of the invoices parser processes six files, then
version 2.0.0 (or a 2.0.0 failing on the third file) is registered and backfilled."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from casparian_engine.backfill import BackfillError
from casparian_engine.workspace import Workspace

from .real_bundles import failing_on, invoices, register

FILES = tuple(f"input_{n:05d}.csv" for n in range(6))


def _register(workspace: Workspace, version: str) -> None:
    """A bare parser record named ``csv`` matching ``*.csv``, for tests that only queue (it has
    no real bundle: nothing can run it)."""
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
def processed(workspace: Workspace, tmp_path: Path) -> Workspace:
    workspace.files.scan(invoices(tmp_path / "in", *FILES, rows=2))
    register(workspace, tmp_path / "v1")
    summary = workspace.jobs.process(workers=1)
    assert summary.counts["completed"] == 6
    return workspace


def _register_v2(workspace: Workspace, tmp_path: Path, body: str = "") -> None:
    register(workspace, tmp_path / "v2", body=body, version="2.0.0")


def test_plan_lists_files_processed_by_an_older_version(
    processed: Workspace, tmp_path: Path
) -> None:
    _register_v2(processed, tmp_path)
    plan = processed.outputs.backfill_plan("invoices")
    assert (plan.current_version, len(plan.files)) == ("2.0.0", 6)
    assert {f.processed_versions for f in plan.files} == {("1.0.0",)}
    assert len(processed.outputs.backfill_plan("invoices", limit=2).files) == 2
    # A plain `process` (or the daemon) does not redo them: backfill is manual only.
    (report,) = processed.jobs.enqueue("invoices")
    assert (report.parser_version, report.matched, report.queued) == ("2.0.0", 0, 0)
    with pytest.raises(BackfillError, match="no parser 'nope' is registered"):
        processed.outputs.backfill_plan("nope")


def test_a_backfill_whose_third_file_fails_leaves_the_old_outputs_in_place(
    processed: Workspace, tmp_path: Path
) -> None:
    live = processed.config.output_dir / "invoices"
    before = _snapshot(live)
    assert before
    _register_v2(processed, tmp_path, body=failing_on(FILES[2]))
    result = processed.outputs.backfill("invoices", workers=1)
    assert not result.swapped
    assert result.reason == "1 of 6 files did not succeed"
    assert _snapshot(live) == before
    assert not (processed.config.output_dir / ".staging" / result.batch_id).exists()
    assert processed.store.history.versions_of("invoices") == {"1.0.0": 6}
    assert len(processed.outputs.backfill_plan("invoices").files) == 6


def test_successful_backfill_swaps_in_the_new_version_whole(
    processed: Workspace, tmp_path: Path
) -> None:
    _register_v2(processed, tmp_path)
    live = processed.config.output_dir / "invoices"
    result = processed.outputs.backfill("invoices", workers=2)
    assert result.swapped and result.output_dir == live
    batch_ids = {j.id for j in processed.store.jobs.find(batch_id=result.batch_id)}
    rows = (
        duckdb.connect()
        .execute(
            "SELECT count(*), count(DISTINCT id), list(DISTINCT _cf_job_id) "
            f"FROM '{live}/**/*.parquet'"
        )
        .fetchone()
    )
    assert rows is not None and rows[:2] == (12, 12)
    assert set(rows[2]) == batch_ids  # every visible row comes from the new version
    assert not (processed.config.output_dir / ".staging" / result.batch_id).exists()
    assert processed.store.history.versions_of("invoices") == {"1.0.0": 6, "2.0.0": 6}
    assert processed.outputs.backfill_plan("invoices").files == ()
    job = processed.store.jobs.find(batch_id=result.batch_id, limit=1)[0]
    assert all(path.startswith(str(live)) for path in job.output_paths)


def test_backfill_command_lists_and_refuses_unknown_parsers(
    processed: Workspace, tmp_path: Path
) -> None:
    _register_v2(processed, tmp_path)
    import json

    from typer.testing import CliRunner

    from casparian_engine.cli.main import app

    listed = CliRunner().invoke(app, ["backfill", "invoices", "--json", "--limit", "3"])
    payload = json.loads(listed.stdout)
    assert (payload["current_version"], len(payload["files"])) == ("2.0.0", 3)
    assert payload["files"][0]["processed_versions"] == ["1.0.0"]
    unknown = CliRunner().invoke(app, ["backfill", "nope"])
    assert unknown.exit_code == 1 and "no parser 'nope' is registered" in unknown.stderr


def test_a_confirmed_plan_runs_as_seen_or_is_refused_with_the_new_plan(
    processed: Workspace, tmp_path: Path
) -> None:
    from casparian_engine.backfill import BackfillPlanChanged

    _register_v2(processed, tmp_path)
    seen = processed.outputs.backfill_plan("invoices", limit=2)
    assert (seen.limit, seen.force, len(seen.files)) == (2, False, 2)
    assert processed.outputs.backfill_changes(seen) == (seen, [])
    changed = Path(seen.files[0].path)
    changed.write_text(changed.read_text() + "999999,1.5\n")  # new content: no version made it
    processed.files.scan(tmp_path / "in")
    live = processed.config.output_dir / "invoices"
    before = _snapshot(live)
    with pytest.raises(BackfillPlanChanged) as refused:
        processed.outputs.backfill("invoices", confirmed=seen)
    assert refused.value.changes == [
        "1 file to redo that the plan did not list",
        "1 listed file no longer to redo (processed since, changed or gone)",
    ]
    now = refused.value.plan
    assert (now.limit, len(now.files)) == (2, 2)
    assert str(changed) not in {f.path for f in now.files}
    assert processed.outputs.backfill_changes(seen) == (now, refused.value.changes)
    assert _snapshot(live) == before  # nothing ran
    assert processed.audit.entries(action="parser.backfill") == []
    result = processed.outputs.backfill("invoices", workers=1, confirmed=now)
    assert result.swapped and result.plan == now
    assert processed.store.history.versions_of("invoices") == {"1.0.0": 6, "2.0.0": 2}
    assert processed.outputs.backfill_changes(now)[1] == [
        "2 files to redo that the plan did not list",
        "2 listed files no longer to redo (processed since, changed or gone)",
    ]
    register(processed, tmp_path / "v3", version="3.0.0")
    assert processed.outputs.backfill_changes(now)[1][0] == (
        "the current version of invoices is now 3.0.0 (was 2.0.0)"
    )
