"""Pilot tests of Jobs: status icons, j/k, Enter detail, r retry, c cancel, refused actions,
dead-letter replay, click and mouse wheel."""

from __future__ import annotations

import time

from textual.pilot import Pilot
from textual.widgets import DataTable

from casparian_engine.store.job_models import JobFailure, NewJob
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.jobs import STATUS_FILTERS as JOB_FILTERS
from casparian_tui.screens.jobs import JobQueueRead, JobsScreen

from .conftest import scroll_wheel, settle

SIZE = (120, 36)


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
        assert workspace.jobs.get(failed_id).status == "queued"
        await pilot.press("k", "c")
        await settle(app, pilot)
        assert workspace.jobs.get(queued_id).status == "cancelled"


async def test_retrying_a_queued_job_is_refused_with_a_red_error(workspace: Workspace) -> None:
    _failed_id, queued_id = make_jobs(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        assert screen.error_text == (
            f"✗ job {queued_id} is queued: only failed, dead-lettered or cancelled jobs can be "
            "retried"
        )
        assert workspace.jobs.get(queued_id).status == "queued"


def make_dead_letter(workspace: Workspace) -> int:
    """A job whose transient failures spent every retry: the queue moves it to dead letter."""
    jobs = workspace.store.jobs
    [job_id] = jobs.enqueue([NewJob("invoices", "1.0", "/data/flaky.csv")], skip_processed=False)
    for attempt in range(jobs.max_retries + 1):
        lease = jobs.claim("test-worker", limit=1, now=time.time() + 1000.0 * (attempt + 1))
        failure = JobFailure("Timeout", "guest did not answer", transient=True)
        jobs.fail(job_id, lease.token, failure)
    return job_id


async def test_cancelling_a_finished_job_is_refused_with_a_red_error(
    workspace: Workspace,
) -> None:
    failed_id, _queued_id = make_jobs(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        await pilot.press("j", "c")
        await settle(app, pilot)
        assert (
            screen.error_text == f"✗ job {failed_id} is failed: only queued or running jobs cancel"
        )
        assert workspace.jobs.get(failed_id).status == "failed"
        assert workspace.store.audit.list(action="job.cancel") == []


async def test_a_dead_letter_is_shown_and_replayed(workspace: Workspace) -> None:
    dead_id = make_dead_letter(workspace)
    assert [d.job_id for d in workspace.store.jobs.dead_letters()] == [dead_id]
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        table = screen.query_one(DataTable)
        assert [str(c) for c in table.get_row_at(0)][:2] == ["☠ dead letter", str(dead_id)]
        assert str(screen.query_one("#jobs-status").render()) == "1 dead_letter"
        await pilot.press("enter")
        await settle(app, pilot)
        detail = str(screen.query_one("#job-detail").render()).splitlines()
        assert detail[0] == f"job {dead_id} ☠ dead_letter"
        assert detail[3] == f"retries  {workspace.store.jobs.max_retries}"
        assert "Timeout: guest did not answer" in detail
        await pilot.press("r")
        await settle(app, pilot)
        replayed = workspace.jobs.get(dead_id)
        assert (replayed.status, replayed.retry_count) == ("queued", 0)
        assert workspace.store.jobs.dead_letters() == []  # replayed letters are hidden
        assert len(workspace.store.jobs.dead_letters(include_replayed=True)) == 1
        assert [str(c) for c in table.get_row_at(0)][:1] == ["⏳ queued"]
        assert screen.error_text == ""


async def test_click_selects_a_job_and_the_wheel_scrolls(workspace: Workspace) -> None:
    ids = workspace.store.jobs.enqueue(
        [NewJob("invoices", "1.0", f"/data/f{n:02d}.csv") for n in range(60)],
        skip_processed=False,
    )
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        table = screen.query_one(DataTable)
        await pilot.click("#jobs-table", offset=(5, 3))  # the header is line 0
        await pilot.pause()
        assert table.has_focus and table.cursor_row == 2
        assert screen.current_job.id == ids[-3]  # newest first
        await scroll_wheel(pilot, "#jobs-table")
        assert table.scroll_y > 0
        assert table.cursor_row == 2


async def test_a_refresh_keeps_the_scrolled_view_and_the_cursor_on_its_job(
    workspace: Workspace,
) -> None:
    ids = workspace.store.jobs.enqueue(
        [NewJob("invoices", "1.0", f"/data/f{n:02d}.csv") for n in range(60)],
        skip_processed=False,
    )
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        table = screen.query_one(DataTable)
        await pilot.click("#jobs-table", offset=(5, 3))
        await scroll_wheel(pilot, "#jobs-table")
        scrolled = table.scroll_y
        assert scrolled > 0 and screen.current_job.id == ids[-3]
        (newer,) = workspace.store.jobs.enqueue(
            [NewJob("invoices", "1.0", "/data/newer.csv")], skip_processed=False
        )
        screen.refresh_if_shown()  # what the periodic refresh runs
        await settle(app, pilot)
        assert screen.jobs[0].id == newer  # the new job is listed first …
        assert screen.current_job.id == ids[-3]  # … and the cursor stayed on its job
        assert table.scroll_y == scrolled


async def test_the_detail_follows_a_retry_and_a_cancel(workspace: Workspace) -> None:
    failed_id, queued_id = make_jobs(workspace)
    app = CasparianApp(workspace, clock=lambda: 0.0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        await pilot.press("j", "enter")
        await settle(app, pilot)
        detail = screen.query_one("#job-detail")
        assert str(detail.render()).splitlines()[0] == f"job {failed_id} ✗ failed"
        await pilot.press("r")
        await settle(app, pilot)
        assert str(detail.render()).splitlines()[0] == f"job {failed_id} ⏳ queued"
        await pilot.press("k", "enter")
        await settle(app, pilot)
        assert str(detail.render()).splitlines()[0] == f"job {queued_id} ⏳ queued"
        await pilot.press("c")
        await settle(app, pilot)
        assert str(detail.render()).splitlines()[0] == f"job {queued_id} ⊘ cancelled"
        assert workspace.jobs.get(queued_id).status == "cancelled"


async def test_job_rows_fit_their_columns_and_the_status_key_filters(workspace: Workspace) -> None:
    jobs = workspace.store.jobs
    long_path = "/data/plant/2023/TH-9111_20230203_000512_line4_sensor_readings.csv"
    failed_id, queued_id, cancelled_id = jobs.enqueue(
        [
            NewJob("invoices", "1.0", long_path),
            NewJob("invoices", "1.0", "/data/b.csv"),
            NewJob("invoices", "1.0", "/data/c.csv"),
        ],
        skip_processed=False,
    )
    lease = jobs.claim("test-worker", limit=1)
    jobs.fail(failed_id, lease.token, JobFailure("ParseError", "bad header", trace="T"))
    workspace.jobs.cancel(cancelled_id)
    queued_at = workspace.jobs.get(queued_id).created_at
    app = CasparianApp(workspace, clock=lambda: queued_at + 12.4)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        table = screen.query_one(DataTable)
        rows = {int(key.value or 0): table.get_row(key) for key in table.rows}
        assert [c.label.plain for c in table.columns.values()] == [
            "state",
            "job",
            "parser",
            "file",
            "time",
        ]
        assert rows[failed_id][0] == "✗ failed"
        assert rows[cancelled_id][0] == "⊘ cancelled"
        assert rows[cancelled_id][4] == "—"
        assert rows[queued_id][0] == "⏳ queued"
        assert rows[queued_id][4] == "queued 12s"
        file_cell = str(rows[failed_id][3])
        assert file_cell.startswith("…") and file_cell.endswith("_sensor_readings.csv")
        assert len(file_cell) == screen.file_width
        await pilot.press("s")  # failed only
        await settle(app, pilot)
        assert [j.id for j in screen.jobs] == [failed_id]
        status = str(screen.query_one("#jobs-status").render())
        assert status == "showing ✗ failed only (s: next) · 1 failed"
        # A read begun before s (a replaced thread worker still posts it) arrives late: ignored.
        every_job = workspace.jobs.list(limit=500)
        screen.post_message(JobQueueRead(every_job, frozenset(), None))
        await settle(app, pilot)
        assert [j.id for j in screen.jobs] == [failed_id]
        for _ in range(len(JOB_FILTERS) - 1):  # around the cycle, back to every job
            await pilot.press("s")
            await settle(app, pilot)
        assert screen.status_filter is None
        assert {j.id for j in screen.jobs} == {failed_id, queued_id, cancelled_id}


def test_times_read_in_minutes_hours_and_days() -> None:
    from types import SimpleNamespace

    from casparian_tui.screens.jobs import job_duration, readable_span

    spans = (0.4, 12.4, 59.4, 60, 528, 3599, 3600, 7530, 86_400 * 3 + 4 * 3600)
    assert [readable_span(s) for s in spans] == [
        "0s", "12s", "59s", "1m 00s", "8m 48s", "59m 59s", "1h 00m", "2h 05m", "3d 04h"
    ]  # fmt: skip
    queued = SimpleNamespace(status="queued", created_at=1000.0, started_at=None, finished_at=None)
    assert job_duration(queued, 1528.0) == "queued 8m 48s"
    ran = SimpleNamespace(status="completed", created_at=0.0, started_at=10.0, finished_at=12.5)
    assert job_duration(ran, 99.0) == "2.5s"
    assert [readable_span(s, tenths=True) for s in (0.0843, 0.0008, 0.0001)] == [
        "84 ms", "1 ms", "<1 ms"
    ]  # fmt: skip
    long_run = SimpleNamespace(status="failed", created_at=0.0, started_at=0.0, finished_at=754.0)
    assert job_duration(long_run, 999.0) == "12m 34s"


async def test_a_queued_job_shows_its_wait_in_minutes(workspace: Workspace) -> None:
    [job_id] = workspace.store.jobs.enqueue(
        [NewJob("invoices", "1.0", "/data/a.csv")], skip_processed=False
    )
    queued_at = workspace.jobs.get(job_id).created_at
    app = CasparianApp(workspace, clock=lambda: queued_at + 528.2)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        row = screen.query_one(DataTable).get_row_at(0)
        assert [str(c) for c in row][4] == "queued 8m 48s"


async def test_an_error_clears_when_the_filter_changes_and_on_return(workspace: Workspace) -> None:
    failed_id, _queued_id = make_jobs(workspace)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        await pilot.press("j", "c")
        await settle(app, pilot)
        refused = f"✗ job {failed_id} is failed: only queued or running jobs cancel"
        assert screen.error_text == refused
        await pilot.press("s")
        await settle(app, pilot)
        assert screen.error_text == ""
        await pilot.press("c")  # the failed job again, in the failed-only view
        await settle(app, pilot)
        assert screen.error_text == refused
        await pilot.press("escape")
        await settle(app, pilot)
        await open_jobs(app, pilot)
        assert screen.error_text == ""


async def test_an_expanded_detail_follows_j_and_k(workspace: Workspace) -> None:
    failed_id, queued_id = make_jobs(workspace)
    app = CasparianApp(workspace, clock=lambda: 0.0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        detail = screen.query_one("#job-detail")
        await pilot.press("j")  # not expanded yet: the pane keeps its hint
        await settle(app, pilot)
        assert str(detail.render()) == "Enter shows a job's logs, error trace and outputs."
        await pilot.press("enter")
        await settle(app, pilot)
        assert str(detail.render()).splitlines()[0] == f"job {failed_id} ✗ failed"
        await pilot.press("k")
        await settle(app, pilot)
        assert str(detail.render()).splitlines()[0] == f"job {queued_id} ⏳ queued"
        await pilot.press("j")
        await settle(app, pilot)
        assert str(detail.render()).splitlines()[0] == f"job {failed_id} ✗ failed"


async def test_on_return_a_job_that_moved_on_is_re_read(workspace: Workspace) -> None:
    """The detail of a queued job that became a dead letter while another mode was shown says
    dead_letter on return, even when the list filter hides the job."""
    [job_id] = workspace.store.jobs.enqueue(
        [NewJob("invoices", "1.0", "/data/flaky.csv")], skip_processed=False
    )
    app = CasparianApp(workspace, clock=lambda: 0.0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        detail = screen.query_one("#job-detail")
        assert str(detail.render()).splitlines()[0] == f"job {job_id} ⏳ queued"
        screen.status_filter = "queued"  # a view the dead letter is not in
        await pilot.press("escape")
        await settle(app, pilot)
        jobs = workspace.store.jobs
        for attempt in range(jobs.max_retries + 1):
            lease = jobs.claim("test-worker", limit=1, now=time.time() + 1000.0 * (attempt + 1))
            jobs.fail(job_id, lease.token, JobFailure("Timeout", "no answer", transient=True))
        await open_jobs(app, pilot)
        assert screen.jobs == []
        assert str(detail.render()).splitlines()[0] == f"job {job_id} ☠ dead_letter"


async def test_queued_jobs_of_a_paused_parser_say_they_are_blocked(workspace: Workspace) -> None:
    failed_id, queued_id = make_jobs(workspace)
    health = workspace.store.health
    for _ in range(health.threshold):
        health.record_failure("invoices", "ParseError: bad header")
    app = CasparianApp(workspace, clock=lambda: 0.0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        table = screen.query_one(DataTable)
        assert [str(c) for c in table.get_row_at(0)][:2] == ["⏸ blocked", str(queued_id)]
        assert str(screen.query_one("#jobs-status").render()) == (
            "1 failed, 1 queued (1 blocked: their parser is paused, u in Process resumes)"
        )
        await pilot.press("enter")
        await settle(app, pilot)
        lines = str(screen.query_one("#job-detail").render()).splitlines()
        assert lines[:2] == [
            f"job {queued_id} ⏳ queued",
            "⏸ blocked: invoices is paused; press u on invoices in Process to resume",
        ]
        notes: list[str] = []
        app.notify = lambda message, **_: notes.append(message)  # type: ignore[method-assign]
        await pilot.press("j", "r")
        await settle(app, pilot)
        assert notes == [
            f"job {failed_id} requeued; invoices is paused: press u on invoices in Process "
            "to resume it, then r to run it"
        ]
        assert workspace.parsers.resume("invoices")
        await pilot.press("escape")
        await settle(app, pilot)
        await open_jobs(app, pilot)  # resumed meanwhile: nothing is blocked any more
        assert [str(table.get_row_at(row)[0]) for row in range(2)] == ["⏳ queued"] * 2
        assert str(screen.query_one("#jobs-status").render()) == "2 queued"


async def test_retry_runs_the_job(registered: Workspace) -> None:
    """r on a failed job requeues it and runs it (it used to wait for the parser's next run)."""
    registered.jobs.enqueue("invoices")
    jobs = registered.store.jobs
    lease = jobs.claim("test-worker", limit=1)
    failed_id = lease.jobs[0].id
    jobs.fail(failed_id, lease.token, JobFailure("ParseError", "a passing glitch", trace="T"))
    app = CasparianApp(registered, clock=lambda: 0.0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        notes: list[str] = []
        app.notify = lambda message, **_: notes.append(message)  # type: ignore[method-assign]
        screen.query_one(DataTable).move_cursor(row=[j.id for j in screen.jobs].index(failed_id))
        await pilot.press("r")
        await settle(app, pilot)
        assert notes[0] == (
            f"job {failed_id} requeued and running: invoices processes it now (see Process)"
        )
        state = app.service.runs["invoices"]
        assert not state.running and state.outcome.startswith("done: ")
        retried = registered.jobs.get(failed_id)
        assert retried is not None and retried.status in ("completed", "completed_with_warnings")


def test_only_a_failed_job_shows_its_stored_error_as_its_own() -> None:
    from types import SimpleNamespace

    from casparian_tui.screens.jobs import error_lines

    stored = {"error_kind": "interrupted", "error_message": "requeued: the run was stopped",
              "error_trace": None}  # fmt: skip
    failed = SimpleNamespace(status="failed", **stored)
    cancelled = SimpleNamespace(status="cancelled", **stored)
    assert error_lines(failed) == ["", "[b red]interrupted[/]: requeued: the run was stopped"]
    assert error_lines(cancelled) == [
        "",
        "[dim]earlier attempt: interrupted: requeued: the run was stopped[/dim]",
    ]
    assert error_lines(SimpleNamespace(status="completed", error_kind=None, error_message=None,
                                       error_trace=None)) == []  # fmt: skip


async def test_the_worker_hosts_line_shows_live_hosts_and_hides_without_them(
    workspace: Workspace,
) -> None:
    from casparian_engine.store.workers import WorkerRecord
    from casparian_tui.widgets.workers_line import WorkersLine

    registry = workspace.store.workers
    workspace.store.jobs.enqueue([NewJob("invoices", "1.0", "/data/a.csv")])
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_jobs(app, pilot)
        line = screen.query_one(WorkersLine)
        assert line.text == "" and not line.display  # nothing serves the queue: no line
        workspace.store.jobs.claim("node-[b]7:4242:cafe", limit=1)
        now = registry.clock() + 3600  # ahead of the line's clock: reads '0 s ago' however slow
        for pid in (4242, 4243):
            registry.beat(WorkerRecord(f"node-[b]7:{pid}:cafe", "node-[b]7", pid, "/o", now, now))
        registry.beat(WorkerRecord("gone:1:dead", "gone", 1, "/o", 0.0, 0.0), now - 7200)
        screen.refresh_if_shown()
        await settle(app, pilot)
        assert line.display
        assert line.text == "worker hosts: node-[b]7 2 workers, 1 job, 0 s ago"
