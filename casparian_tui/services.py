"""App-level service: the open workspace plus long-lived state (running scans and runs).

Workers started here belong to the app, not to a screen, so switching modes loses nothing.
Screens subscribe to ``changed`` and re-read the state when it fires.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.signal import Signal

from casparian_engine.config import Settings
from casparian_engine.errors import describe
from casparian_engine.events import Event, EventSink
from casparian_engine.job_states import ERROR_STATES, SUCCEEDED_STATES, JobState
from casparian_engine.wording import counted, plural
from casparian_engine.workspace import Workspace

from .messages import RunFinished, RunProgressed, RunStopping, ScanFinished, ScanProgressed
from .scan_process import CANCEL, GO, ScanChild

if TYPE_CHECKING:
    from casparian_engine.workspace.results import BackfillPlan

    from .ai_service import AIService

BACKGROUND_NICENESS = 10
"""How much lower than the TUI's own CPU priority its scans and processing runs work: on a busy
machine the screen gets the CPU first, and the work uses every cycle the screen leaves."""

RUN_STOP_GRACE_S = 10.0
"""How long the TUI's stop (``s``) waits for a run's running jobs to finish before their workers
are killed and the jobs requeued: a stop is a request to end soon, and the panel counts down."""

NO_WORK = "no work: "
"""Prefix of a run's outcome when nothing was queued or waiting; the engine's reason follows."""


def compact_count(value: int) -> str:
    """12345 → '12K', 1234567 → '1.2M' (Home figures are glanced at, not read)."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value // 1000}K"
    return f"{value:,}"


@dataclass
class ScanState:
    """A folder scan in progress (or the last one finished)."""

    root: str
    files_seen: int = 0
    running: bool = True
    outcome: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)
    child: Any = None  # the ScanChild process doing the work, once started


@dataclass
class RunState:
    """A parser's processing run: progress, errors, quarantine and how to stop it."""

    parser_name: str
    done: int = 0
    total: int = 0
    failed: int = 0
    quarantined_rows: int = 0
    running: bool = True
    outcome: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)


class EngineService:
    """Holds the workspace and the work that must survive mode switches."""

    def __init__(self, app: App[Any], workspace: Workspace) -> None:
        self.app = app
        self.workspace = workspace
        self.changed: Signal[str] = Signal(app, "engine-changed")
        self.scan: ScanState | None = None
        self.runs: dict[str, RunState] = {}
        self.other_work: set[threading.Event] = set()
        """Cancel events of short work a screen started (a dev run): set when the app closes."""

    @functools.cached_property
    def ai(self) -> AIService:
        """The app's one assistant (provider chosen at first use; no model loads until asked)."""
        from .ai_service import AIService

        return AIService(self.workspace)

    @property
    def settings(self) -> Settings:
        return self.workspace.config.settings

    @property
    def home_label(self) -> str:
        return str(self.workspace.home)

    @property
    def config_hint(self) -> str:
        return str(self.workspace.home / "config.toml")

    # --- scans ---------------------------------------------------------------------------------
    def start_scan(self, root: str) -> None:
        """Scan ``root`` in an app-level worker; progress arrives as ``ScanProgressed``."""
        if self.scan is not None and self.scan.running:
            self.app.notify("A scan is already running; press x to cancel it first.")
            return
        self.scan = ScanState(root)
        self.publish("scan")
        self.app.run_worker(
            partial(self._run_scan, self.scan),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group="scan",
        )

    def cancel_scan(self) -> None:
        if self.scan is not None and self.scan.running:
            self._stop_scan(self.scan)

    @staticmethod
    def _stop_scan(state: ScanState) -> None:
        state.cancel.set()
        if state.child is not None:
            state.child.answer(CANCEL)

    def _run_scan(self, state: ScanState) -> None:
        """Worker body: run the scan in a child process (its work never holds this process's
        GIL), show each progress report before the child goes on, report the outcome."""
        child = state.child = ScanChild(self.workspace, state.root, BACKGROUND_NICENESS)
        if state.cancel.is_set():
            child.answer(CANCEL)
        outcome: dict[str, Any] = {}
        for message in child.messages():
            if "progress" in message:
                self._deliver_scan_progress(ScanProgressed(state.root, int(message["progress"])))
                child.answer(CANCEL if state.cancel.is_set() else GO)
            else:
                outcome = message
        problem = child.finish()
        if "found" in outcome:
            found = int(outcome["found"])
            self.app.post_message(ScanFinished(state.root, found, cancelled=outcome["cancelled"]))
        elif outcome.get("cancelled"):
            self.app.post_message(ScanFinished(state.root, state.files_seen, cancelled=True))
        else:
            error = str(outcome.get("error") or problem or "the scan process ended without a word")
            self.app.post_message(ScanFinished(state.root, state.files_seen, error=error))

    def _deliver_scan_progress(self, message: ScanProgressed) -> None:
        """Apply throttled scan progress on the app thread and wait until it is shown, so a stop
        pressed while it is on screen takes effect before the engine's next batch."""
        try:
            self.app.call_from_thread(self.scan_progressed, message)
        except RuntimeError:  # the app is closing; cancel_all has already stopped the scan
            pass

    def scan_progressed(self, message: ScanProgressed) -> None:
        if self.scan is not None and self.scan.root == message.root:
            self.scan.files_seen = message.files_seen
            self.publish("scan")

    def scan_finished(self, message: ScanFinished) -> None:
        if self.scan is None or self.scan.root != message.root:
            return
        self.scan.running = False
        self.scan.files_seen = message.files_seen
        if message.error:
            self.scan.outcome = f"failed: {message.error}"
        elif message.cancelled:
            self.scan.outcome = f"cancelled after {counted(message.files_seen, 'file')} (kept)"
        else:
            self.scan.outcome = f"done, {counted(message.files_seen, 'file')}"
        self.publish("scan")

    # --- processing runs (one per parser) -----------------------------------------------------
    def start_run(self, parser_name: str, queue_matching: bool = True) -> bool:
        """Process a parser's queue in an app-level worker, first queueing its matched files
        not yet processed (unless ``queue_matching`` is False: a retry runs what is queued).
        False when a run of it is already under way (its pool takes newly queued jobs too)."""
        current = self.runs.get(parser_name)
        if current is not None and current.running:
            return False
        state = self.runs[parser_name] = RunState(parser_name)
        self.publish("run")
        self.app.run_worker(
            partial(self._run_process, state, queue_matching),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group=f"run-{parser_name}",
        )
        return True

    def stop_run(self, parser_name: str) -> bool:
        """Ask a running parser's pool to stop (running jobs finish, claimed ones return)."""
        state = self.runs.get(parser_name)
        if state is None or not state.running:
            return False
        state.cancel.set()
        state.outcome = "stopping…"
        self.publish("run")
        return True

    def busy_text(self) -> str:
        """What work is under way, as a person says it ('a run of invoices'), or ''."""
        running = [name for name, state in self.runs.items() if state.running]
        parts = [f"a run of {', '.join(running)}"] if running else []
        if self.scan is not None and self.scan.running:
            parts.insert(0, f"a scan of {self.scan.root}")
        return (" and ".join(parts) + " is under way") if parts else ""

    def cancel_all(self) -> None:
        """Stop every scan and run (the app is closing)."""
        if self.scan is not None:
            self._stop_scan(self.scan)
        for state in self.runs.values():
            state.cancel.set()
        for cancel in self.other_work:
            cancel.set()

    def _forward_pool_events(self, state: RunState) -> EventSink:
        """The worker pool's events for a run (processing or backfill) as the app's messages."""
        from casparian_engine.events import PoolProgress, PoolStopping

        def forward(event: Event) -> None:
            if isinstance(event, PoolStopping):
                # posted, never awaited: a stop while the app closes must not wait on its loop
                self.app.post_message(RunStopping(state.parser_name, event))
            elif isinstance(event, PoolProgress):
                self.app.post_message(
                    RunProgressed(
                        state.parser_name,
                        event.finished,
                        event.total,
                        event.failed,
                        event.rows_quarantined,
                    )
                )

        return forward

    def _run_process(self, state: RunState, queue_matching: bool = True) -> None:
        """Worker body: ``ws.jobs.process`` for one parser, progress forwarded as messages."""
        forward = self._forward_pool_events(state)
        try:
            reports = self.workspace.jobs.enqueue(state.parser_name) if queue_matching else []
            summary = self.workspace.jobs.process(
                state.parser_name,
                on_event=forward,
                cancel=state.cancel,
                queue_matching=False,
                niceness=BACKGROUND_NICENESS,
                stop_grace_s=RUN_STOP_GRACE_S,
            )
        except Exception as exc:
            self.app.post_message(RunFinished(state.parser_name, "", error=describe(exc)))
            return
        counts = {k: v for k, v in summary.counts.items() if v > 0}
        failed = sum(counts.get(state, 0) for state in ERROR_STATES)
        text = (
            f"{'stopped' if summary.cancelled else 'done'}: "
            f"{counted(summary.jobs_finished, 'file')}, {counted(summary.rows_written, 'row')}, "
            f"{failed:,} failed, {summary.rows_quarantined:,} quarantined"
        )
        if summary.jobs_interrupted:
            text += (
                f", {summary.jobs_interrupted:,} requeued (still running "
                f"{RUN_STOP_GRACE_S:g} s after the stop)"
            )
        reasons = [reason for r in reports if (reason := r.why_nothing_queued())]
        if summary.jobs_finished == 0 and not summary.cancelled and reasons:
            text = NO_WORK + "; ".join(reasons)  # say why nothing ran, and what would redo it
        self.app.post_message(
            RunProgressed(
                state.parser_name,
                summary.jobs_finished,
                max(state.total, summary.jobs_finished),
                failed,
                summary.rows_quarantined,
            )
        )
        self.app.post_message(RunFinished(state.parser_name, text))

    def run_stopping(self, message: RunStopping) -> None:
        """Say what a stop is waiting for (on the app thread): the running jobs, and how long
        before they are interrupted and requeued."""
        state, event = self.runs.get(message.parser_name), message.event
        if state is None or not state.running:
            return
        left = f"{event.grace_left_s:.0f} s"
        if event.in_progress:
            state.outcome = (
                f"stopping… waiting for {counted(event.in_progress, 'running job')} "
                f"(requeued in {left} if not done)"
            )
        else:
            state.outcome = f"stopping… waiting for {counted(event.workers, 'worker')} to exit"
        self.publish("run")

    def run_progressed(self, message: RunProgressed) -> None:
        state = self.runs.get(message.parser_name)
        if state is None:
            return
        state.done, state.total = message.done, message.total
        state.failed, state.quarantined_rows = message.failed, message.quarantined_rows
        self.publish("run")

    def run_finished(self, message: RunFinished) -> None:
        state = self.runs.get(message.parser_name)
        if state is None:
            return
        state.running = False
        state.outcome = f"failed: {message.error}" if message.error else message.summary
        self.publish("run")

    # --- backfill (a run of the parser's redo, shown and stopped like any run) -----------------
    def start_backfill(self, parser_name: str, plan: BackfillPlan) -> bool:
        """Backfill a parser (``ws.outputs.backfill``) in an app-level worker, as its
        run: its bar shows progress, s stops it, quitting asks first. False while a run of it
        is under way. Call only after a person confirmed ``plan``: exactly it runs, or nothing
        does and the run's line says the plan changed."""
        current = self.runs.get(parser_name)
        if current is not None and current.running:
            return False
        state = self.runs[parser_name] = RunState(parser_name)
        self.publish("run")
        self.app.run_worker(
            partial(self._run_backfill, state, plan),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group=f"run-{parser_name}",
        )
        return True

    def _run_backfill(self, state: RunState, plan: BackfillPlan) -> None:
        from casparian_engine.backfill import BackfillPlanChanged

        try:
            result = self.workspace.outputs.backfill(
                state.parser_name,
                on_event=self._forward_pool_events(state),
                cancel=state.cancel,
                confirmed=plan,
            )
        except BackfillPlanChanged as exc:
            error = f"{describe(exc)}; nothing was run: b shows the new plan"
            self.app.post_message(RunFinished(state.parser_name, "", error=error))
            return
        except Exception as exc:
            self.app.post_message(RunFinished(state.parser_name, "", error=describe(exc)))
            return
        files = counted(len(result.plan.files), "file")
        if result.swapped:
            text = (
                f"backfilled: {files} redone by version {result.plan.current_version}; "
                f"{result.output_dir} holds its outputs"
            )
        else:
            text = f"backfill not swapped: {result.reason}; the outputs are as they were"
        self.app.post_message(RunFinished(state.parser_name, text))

    def publish(self, what: str) -> None:
        """Tell subscribed screens that ``what`` changed (call on the app thread)."""
        self.changed.publish(what)

    # --- Home figures (called from a thread worker) -------------------------------------------
    def home_stats(self) -> dict[str, str]:
        """One short live figure per mode card, from the engine's typed results."""
        process, jobs = self._queue_figures()
        return {
            "discover": self._discover_figure(),
            "process": process,
            "inspect": self._inspect_figure(),
            "jobs": jobs,
        }

    def _discover_figure(self) -> str:
        stats = self.workspace.files.stats()
        files, sources = stats.total_files, stats.source_count
        return f"{compact_count(files)} {plural(files, 'file')}, {counted(sources, 'source')}"

    def _queue_figures(self) -> tuple[str, str]:
        """Process's and Jobs' figures, from one read of the queue's counts."""
        jobs = self.workspace.jobs.counts()
        failed = sum(jobs[state] for state in ERROR_STATES)
        complete = sum(jobs[state] for state in SUCCEEDED_STATES)
        return (
            f"{jobs[JobState.RUNNING]} running, {jobs[JobState.QUEUED]} pending",
            f"{failed} failed, {complete} complete",
        )

    def _inspect_figure(self) -> str:
        tables = self.workspace.outputs.tables(with_sources=False)  # footers only: no DuckDB
        rows = sum(t.row_count for t in tables)
        return f"{counted(len(tables), 'table')}, {compact_count(rows)} {plural(rows, 'row')}"
