"""Processing runs side by side, stopped and cancelled, with real guests and real worker pools.

Each parser is a real, uv-locked folder whose contract is approved; its guest runs sandboxed
as in production, writes a marker file in its private temp dir when it starts a file it was told
to hold, and holds it until a release file lies beside the input (the sandbox shows the input's
folder, read-only), so a test acts while a job is really running in a guest. Both stores: the
queue SQL changed with these fixes (row totals per parser, requeueing a killed worker's jobs, a
worker letting go of a cancelled job).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from casparian_engine.contracts import SchemaContract
from casparian_engine.events import Event
from casparian_engine.runner.pool import PoolStopping, PoolSummary
from casparian_engine.workspace import Workspace

from .hold_support import guest_gone, guest_pids, held, marker_name
from .registration_support import uv_lock

WAIT_LIMIT_S = 120.0  # how long a helper waits for a condition before the test fails

PARSER = """\
import os
import time

import pyarrow.csv as pv
from casparian_parser import Parser


class {cls}(Parser):
    name = "{name}"
    version = "1.0.0"
    patterns = ["{name}/*.csv"]
    outputs = {{"{name}": "{name}.contract.yaml"}}

    def parse(self, path):
        name = os.path.basename(path)
        if name.startswith("{hold}"):
            open("{marker}." + name, "w").close()  # in the cwd: the guest's private temp dir
            while not os.path.exists(os.path.join(os.path.dirname(path), "release")):
                time.sleep(0.05)
        return pv.read_csv(path)
"""

CONTRACT = """\
name: {name}
columns:
  - name: id
    type: int64
    nullable: false
  - name: amount
    type: float64
"""

PYPROJECT = """\
[project]
name = "{name}-parser"
version = "1.0.0"
requires-python = ">=3.11"
dependencies = []
"""


@pytest.fixture
def workspace(workspace_on_each_store: Workspace) -> Workspace:
    return workspace_on_each_store


def add_parser(workspace: Workspace, tmp_path: Path, name: str, hold: str = "-never-") -> str:
    """Register and approve parser ``name`` (files ``<data>/<name>/*.csv``); its guest holds
    files whose name starts with ``hold`` until ``<data>/<name>/release`` exists. Returns the
    marker's name (``hold_support``)."""
    folder = tmp_path / f"{name}-parser"
    folder.mkdir()
    marker = marker_name(name)
    (folder / f"{name}_parser.py").write_text(
        PARSER.format(cls=name.title() + "Parser", name=name, hold=hold, marker=marker)
    )
    (folder / f"{name}.contract.yaml").write_text(CONTRACT.format(name=name))
    (folder / "pyproject.toml").write_text(PYPROJECT.format(name=name))
    uv_lock(folder)
    workspace.parsers.register(folder)
    contract_file = folder / f"{name}.contract.yaml"
    workspace.contracts.approve(
        SchemaContract.from_yaml(contract_file.read_text(), str(contract_file))
    )
    return marker


def write_inputs(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


class Run:
    """``ws.jobs.process`` for one parser on a thread of its own (as the TUI runs it), on
    its own workspace: the summary and every event it reported."""

    def __init__(self, home: Path, parser: str, **options: object) -> None:
        self.home = home
        self.parser = parser
        self.options = options
        self.cancel = threading.Event()
        self.events: list[Event] = []
        self.summary: PoolSummary | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with Workspace.open(self.home) as workspace:
                self.summary = workspace.jobs.process(
                    self.parser,
                    workers=1,
                    on_event=self.events.append,
                    cancel=self.cancel,
                    **self.options,  # type: ignore[arg-type]
                )
        except BaseException as exc:  # noqa: BLE001 - reported by ``result``
            self.error = exc

    def result(self) -> PoolSummary:
        self.thread.join(WAIT_LIMIT_S)
        assert not self.thread.is_alive(), f"the {self.parser} run did not end"
        if self.error is not None:
            raise self.error
        assert self.summary is not None
        return self.summary


def wait_for(condition: object, what: str, run: Run | None = None) -> None:
    """Wait until ``condition()`` is true (fails the test only if it never becomes true, or
    if ``run`` ended first)."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        if run is not None and not run.thread.is_alive():
            raise AssertionError(f"the run ended before {what}: {run.error or run.summary}")
        time.sleep(0.05)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def jobs_of(workspace: Workspace, parser: str) -> dict[str, tuple[str, str | None, str | None]]:
    """file name -> (status, error kind, error message) of the parser's jobs."""
    return {
        Path(job.input_path).name: (job.status, job.error_kind, job.error_message)
        for job in workspace.jobs.list(parser=parser)
    }


@pytest.mark.slow
def test_two_runs_side_by_side_each_report_their_own_parsers_figures(
    workspace: Workspace, tmp_path: Path, data: Path
) -> None:
    # alpha holds its first file until beta's whole run is over: beta's rows are written while
    # alpha's pool runs, which once counted them as its own
    alpha_marker = add_parser(workspace, tmp_path, "alpha", hold="a0")
    add_parser(workspace, tmp_path, "beta")
    write_inputs(
        data / "alpha",
        {
            "a0.csv": "id,amount\n1,1.5\n2,2.5\n",
            "a1.csv": "id,amount\n3,1.0\n4,x\n5,2.0\n6,3.0\n",
        },
    )
    write_inputs(
        data / "beta",
        {
            f"b{i}.csv": "id,amount\n" + "".join(f"{i}{n},{n}.5\n" for n in range(10))
            for i in range(3)
        }
        | {"b3.csv": "id,amount\n1,1.0\n2,y\n3,z\n4,4.0\n5,5.0\n6,6.0\n7,7.0\n"},
    )
    workspace.files.scan(data)
    workspace.jobs.enqueue()
    alpha = Run(workspace.home, "alpha", queue_matching=False)
    wait_for(lambda: held(alpha_marker), "alpha to hold a0.csv", alpha)
    beta = Run(workspace.home, "beta", queue_matching=False).result()
    (data / "alpha" / "release").touch()
    first = alpha.result()

    assert (beta.counts, beta.rows_written, beta.rows_quarantined, beta.jobs_finished) == (
        {"completed": 3, "completed_with_warnings": 1, "queued": -4},
        35,
        2,
        4,
    )
    assert (first.counts, first.rows_written, first.rows_quarantined, first.jobs_finished) == (
        {"completed": 1, "completed_with_warnings": 1, "queued": -2},
        5,
        1,
        2,
    )


@pytest.mark.slow
def test_a_stop_requeues_jobs_still_running_when_the_grace_ends(
    workspace: Workspace, tmp_path: Path, data: Path
) -> None:
    marker = add_parser(workspace, tmp_path, "gamma", hold="g")  # never released
    write_inputs(data / "gamma", {"g0.csv": "id,amount\n1,1.5\n", "g1.csv": "id,amount\n2,2.5\n"})
    workspace.files.scan(data)
    run = Run(workspace.home, "gamma", stop_grace_s=1.0)
    wait_for(lambda: held(marker), "the guest to hold a file", run)  # whichever came first
    (holding,) = held(marker)
    guest = guest_pids(holding)
    assert guest
    run.cancel.set()
    summary = run.result()

    message = (
        "requeued: the run was stopped and the job was still running after the 1 s grace, "
        "so its worker was stopped"
    )
    assert jobs_of(workspace, "gamma") == {
        "g0.csv": ("queued", "interrupted", message),  # one in the guest, one claimed with it
        "g1.csv": ("queued", "interrupted", message),
    }
    assert (summary.cancelled, summary.jobs_interrupted, summary.jobs_finished) == (True, 2, 0)
    assert summary.counts == {}  # every job is back where it was: queued
    stopping = [e for e in run.events if isinstance(e, PoolStopping)]
    assert stopping and (stopping[0].running, stopping[0].workers) == (2, 1)
    assert stopping[0].in_progress == 1  # one file in the guest; the other claimed with it
    assert all(map(guest_gone, guest))  # the guest was killed with its worker, not left sleeping
    assert workspace.jobs.counts().by_status == {"queued": 2}


@pytest.mark.slow
def test_cancelling_a_running_job_stops_its_guest_and_the_rest_of_the_run_goes_on(
    workspace: Workspace, tmp_path: Path, data: Path
) -> None:
    marker = add_parser(workspace, tmp_path, "delta", hold="d0")  # never released
    write_inputs(
        data / "delta",
        {
            "d0.csv": "id,amount\n1,1.5\n",
            "d1.csv": "id,amount\n2,2.5\n3,3.5\n",
            "d2.csv": "id,amount\n4,4.5\n",
        },
    )
    workspace.files.scan(data)
    run = Run(workspace.home, "delta")
    wait_for(lambda: held(marker), "the guest to start d0.csv", run)
    (holding,) = held(marker)
    assert holding.name.endswith(".d0.csv")
    guest = guest_pids(holding)
    assert guest
    (job,) = [j for j in workspace.jobs.list(parser="delta") if j.input_path.endswith("d0.csv")]
    assert job.status == "running"

    assert workspace.jobs.cancel(job.id) is True
    # cancel_job returned once the worker said the job's work stopped: its guest is gone
    assert workspace.jobs.get(job.id).worker_id is None  # type: ignore[union-attr]
    assert all(map(guest_gone, guest))
    summary = run.result()

    assert jobs_of(workspace, "delta") == {
        "d0.csv": ("cancelled", None, None),
        "d1.csv": ("completed", None, None),
        "d2.csv": ("completed", None, None),
    }
    assert (summary.cancelled, summary.jobs_finished, summary.rows_written) == (False, 3, 3)
    assert summary.counts == {"cancelled": 1, "completed": 2, "queued": -3}
