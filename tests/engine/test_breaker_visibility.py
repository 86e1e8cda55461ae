"""A paused parser says so everywhere; files whose job failed are not queued twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.store.jobs import JobFailure
from casparian_engine.store.scopes import ScopeDefinition
from casparian_engine.tools.builtin import execute_pipeline
from casparian_engine.tools.registry import ToolContext, ToolGuard
from casparian_engine.workspace import Workspace
from tests.engine.registration_support import make_parser


@pytest.fixture
def invoices(workspace: Workspace, tmp_path: Path) -> Workspace:
    folder = tmp_path / "batch" / "invoices"
    folder.mkdir(parents=True)
    for number in range(3):
        (folder / f"inv{number}.csv").write_text(f"id,amount\n{number},1.5\n")
    workspace.parsers.register(make_parser(tmp_path / "parser"))
    workspace.files.scan(tmp_path / "batch")
    return workspace


def _trip(workspace: Workspace) -> str:
    health = workspace.store.health
    for _ in range(health.threshold):
        health.record_failure("invoices", "ParseError: bad header")
    paused = health.get("invoices")
    assert paused is not None and paused.paused_at is not None
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(paused.paused_at))
    return (
        f"paused (circuit breaker, since {since}, last failure: ParseError: bad header) — "
        "`casparian parser resume invoices`"
    )


def test_a_paused_parser_says_so_in_overview_list_show_and_jobs(invoices: Workspace) -> None:
    (running,) = invoices.parsers.overview()
    assert running.paused is None
    note = _trip(invoices)
    (overview,) = invoices.parsers.overview()
    assert overview.paused == note
    for command in (["parser", "list"], ["parser", "show", "invoices"], ["jobs"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0, result.output
        assert note in " ".join(result.output.split()), command
    listed = CliRunner().invoke(app, ["parser", "list", "--json"])
    assert '"paused": "paused (circuit breaker' in listed.output


def test_enqueue_does_not_queue_a_failed_file_again_and_says_to_replay(
    invoices: Workspace,
) -> None:
    (first,) = invoices.jobs.enqueue("invoices")
    assert first.queued == 3
    jobs = invoices.store.jobs
    lease = jobs.claim("w", limit=1)
    (job,) = lease.jobs
    assert jobs.fail(job.id, lease.token, JobFailure("ParseError", "bad")).status == "failed"
    (again,) = invoices.jobs.enqueue("invoices")
    assert (again.queued, again.with_failed_jobs) == (0, 1)
    assert again.why_nothing_queued() == (
        "invoices 1.0.0: 1 matched file has a failed job — replay them with `casparian jobs replay`"
    )
    assert jobs.counts(["invoices"])["queued"] == 2


def test_execute_pipeline_reports_the_pause_and_why_nothing_was_queued(
    invoices: Workspace, tmp_path: Path
) -> None:
    note = _trip(invoices)
    invoices.store.scopes.save(ScopeDefinition("inv", paths=(str(tmp_path / "batch"),)))
    context = ToolContext(invoices, ToolGuard(allowed_paths=(tmp_path,), read_write=True))
    first = execute_pipeline(context, parser="invoices", scope="inv")
    assert (first["paused"], first["not_queued"]) == (note, None)
    assert [job["status"] for job in first["jobs"]] == ["queued"] * 3  # paused: none ran
    second = execute_pipeline(context, parser="invoices", scope="inv")
    assert (second["paused"], second["jobs"]) == (note, [])
    assert second["not_queued"] == (
        "no job queued: every file of the scope already has a job for this parser version "
        "(processed, queued or failed; replay failed ones with `casparian jobs replay`)"
    )
