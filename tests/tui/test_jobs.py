"""Pilot tests of Jobs: status icons, j/k, Enter detail, r retry, c cancel, refused actions."""

from __future__ import annotations

from textual.pilot import Pilot

from casparian_engine.store.job_models import JobFailure, NewJob
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.jobs import JobsScreen

SIZE = (120, 36)


async def settle(app: CasparianApp, pilot: Pilot[None]) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def make_jobs(workspace: Workspace) -> tuple[int, int]:
    """One failed job (a real claim + permanent failure) and one queued job, in the real store."""
    jobs = workspace.store.jobs
    failed_id, queued_id = jobs.enqueue(
        [NewJob("invoices", "1.0", "/data/a.csv"), NewJob("invoices", "1.0", "/data/b.csv")],
        skip_processed=False,
    )
    lease = jobs.claim("test-worker", limit=1)
    jobs.fail(failed_id, lease.token, JobFailure("ParseError", "bad header in a.csv", trace="T"))
    return failed_id, queued_id


async def open_jobs(app: CasparianApp, pilot: Pilot[None]) -> JobsScreen:
    await pilot.press("alt+j")
    await settle(app, pilot)
    assert isinstance(app.screen, JobsScreen)
    return app.screen


async def test_list_expand_retry_and_cancel(workspace: Workspace) -> None:
    failed_id, queued_id = make_jobs(workspace)
    app = CasparianApp(workspace, clock=lambda: 0.0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        assert [(j.id, j.status) for j in screen.jobs] == [
            (queued_id, "queued"),
            (failed_id, "failed"),
        ]
        assert str(screen.query_one("#jobs-status").render()) == "1 failed, 1 queued"
        await pilot.press("j", "enter")
        await settle(app, pilot)
        detail = str(screen.query_one("#job-detail").render())
        assert detail.splitlines()[0] == f"job {failed_id} ✗ failed"
        assert "ParseError: bad header in a.csv" in detail
        await pilot.press("r")
        await settle(app, pilot)
        assert workspace.job_detail(failed_id).status == "queued"
        await pilot.press("k", "c")
        await settle(app, pilot)
        assert workspace.job_detail(queued_id).status == "cancelled"


async def test_retrying_a_queued_job_is_refused_with_a_red_error(workspace: Workspace) -> None:
    _failed_id, queued_id = make_jobs(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        assert screen.error_text == f"✗ job {queued_id} is queued: only failed jobs can be retried"
        assert workspace.job_detail(queued_id).status == "queued"
