"""Pilot tests of stopping a run (s in Process) and cancelling a running job (c in Jobs) while a
real guest holds a file: the panel says what a stop waits for, no job is left looking
``running`` afterwards, and a cancel returns only once the job's guest is gone."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from casparian_engine.workspace import Workspace
from casparian_tui import services
from casparian_tui.app import CasparianApp
from casparian_tui.screens.jobs import JobsScreen
from casparian_tui.screens.process import ProcessScreen
from tests.engine.hold_support import guest_gone, guest_pids, held, marker_name

from .conftest import approve_contract

SIZE = (120, 36)
WAIT_LIMIT_S = 120.0  # how long a wait may last before the test fails

HOLD = """\
import os
import time
if os.path.basename(path).startswith({prefix!r}):
    open({marker!r} + "." + os.path.basename(path), "w").close()  # in its private temp dir
    while True:
        time.sleep(0.05)
"""


def holding_workspace(workspace: Workspace, tmp_path: Path, prefix: str) -> str:
    """The invoices parser over three files; its guest (sandboxed) holds forever the files whose
    name starts with ``prefix``, after writing the returned marker (``hold_support``)."""
    from tests.engine.registration_support import make_parser

    invoices = tmp_path / "batch" / "invoices"
    invoices.mkdir(parents=True)
    for number in range(3):
        (invoices / f"inv{number}.csv").write_text(f"id,amount\n{number},1.5\n")
    marker = marker_name("invoices")
    parser = make_parser(tmp_path / "parser", body=HOLD.format(prefix=prefix, marker=marker))
    workspace.parsers.register(parser)
    approve_contract(workspace, parser / "invoices.contract.yaml")
    workspace.files.scan(tmp_path / "batch")
    return marker


async def wait_until(pilot: Pilot[None], condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await pilot.pause(0.05)


def held_guests(marker: str) -> list[int]:
    """The processes of the guests holding a file."""
    return [pid for holding in held(marker) for pid in guest_pids(holding)]


async def test_a_stop_says_what_it_waits_for_and_requeues_what_still_ran(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "RUN_STOP_GRACE_S", 2.0)  # the test need not wait 10 s
    marker = holding_workspace(workspace, tmp_path, "inv")
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+p")
        await wait_until(pilot, lambda: isinstance(app.screen, ProcessScreen), "Process")
        await pilot.press("r")
        await wait_until(pilot, lambda: len(held(marker)) == 2, "both guests to hold")
        guests = held_guests(marker)
        state = app.service.runs["invoices"]
        await pilot.press("s")  # two workers, each in a file; one holds a second file claimed
        await wait_until(
            pilot,
            lambda: state.outcome.startswith("stopping… waiting for"),
            "the stop to say what it waits for",
        )
        assert state.outcome in {
            f"stopping… waiting for 2 running jobs (requeued in {s} s if not done)"
            for s in (0, 1, 2)
        }
        await wait_until(pilot, lambda: not state.running, "the run to end")
        assert state.outcome == (
            "stopped: 0 files, 0 rows, 0 failed, 0 quarantined, "
            "3 requeued (still running 2 s after the stop)"
        )
        assert guests and all(guest_gone(guest) for guest in guests)
        jobs = workspace.jobs.list(parser="invoices")
        assert {(j.status, j.error_kind) for j in jobs} == {("queued", "interrupted")}
        assert app.service.home_stats()["process"] == "0 running, 3 pending"  # Home's card


async def test_c_on_a_running_job_stops_its_guest_and_the_next_jobs_run(
    workspace: Workspace, tmp_path: Path
) -> None:
    marker = holding_workspace(workspace, tmp_path, "inv1")
    app = CasparianApp(workspace)
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        app.notify = lambda message, **_: notes.append(message)  # type: ignore[method-assign]
        await pilot.press("alt+p")
        await wait_until(pilot, lambda: isinstance(app.screen, ProcessScreen), "Process")
        await pilot.press("r")
        await wait_until(pilot, lambda: held(marker), "the guest to hold")
        guest = held_guests(marker)
        assert guest
        (job,) = [j for j in workspace.jobs.list() if j.input_path.endswith("inv1.csv")]
        await pilot.press("alt+j")
        await wait_until(pilot, lambda: isinstance(app.screen, JobsScreen), "Jobs")
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        await wait_until(pilot, lambda: any(j.id == job.id for j in screen.jobs), "the list")
        row = next(i for i, j in enumerate(screen.jobs) if j.id == job.id)
        await pilot.press(*["j"] * row)
        assert screen.current_job is not None and screen.current_job.id == job.id
        assert screen.current_job.status == "running"
        await pilot.press("c")
        await wait_until(pilot, lambda: notes, "the cancel to be reported")
        assert notes == [f"job {job.id} cancelled"]
        assert all(map(guest_gone, guest))  # reported once the work had stopped, not before
        state = app.service.runs["invoices"]
        await wait_until(pilot, lambda: not state.running, "the run to end")
        statuses = {Path(j.input_path).name: j.status for j in workspace.jobs.list()}
        assert statuses == {
            "inv0.csv": "completed",
            "inv1.csv": "cancelled",
            "inv2.csv": "completed",
        }
        assert state.outcome == "done: 3 files, 2 rows, 0 failed, 0 quarantined"
