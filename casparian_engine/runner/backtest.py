"""Backtest: run a registered parser over files and report per-file outcomes, writing nothing.

Files that failed before (failed or dead-lettered jobs of this parser) go first, so a fix is
confirmed where it matters. Each file runs through the same executor and validator as production;
rows are counted, not written. A file ends ``pass`` (every row valid), ``quarantine`` (some rows
would be quarantined) or ``fail`` (the parser or the contract failed the file).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ..bridge.host import GuestError, GuestOptions, GuestProcess, start_guest
from ..config import Config
from ..events import check_cancel
from ..job_states import ERROR_STATES
from ..parsers.runtime import ParserRuntime
from ..store import Store
from ..store.parsers import ParserRecord
from .contracts_seam import contract_validator
from .executor import ExecutionError, Executor, FileTask
from .quarantine import RowLineage, Validator


class _CountingSink:
    """A sink that keeps nothing: it counts rows per output so a backtest writes no outputs."""

    uri = "backtest://"

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}

    def target(self, output: str) -> str:
        return f"backtest://{output}"

    def exists(self, output: str) -> bool:
        return False

    def write(self, output: str, table: pa.Table) -> None:
        self.rows[output] = self.rows.get(output, 0) + table.num_rows

    def commit(self) -> dict[str, str]:
        return {}

    def abort(self) -> None:
        self.rows.clear()


@dataclass
class _CountingQuarantine:
    rows: int = 0
    rules: dict[str, int] = field(default_factory=dict)

    def write(self, quarantined: pa.Table, lineage: RowLineage) -> None:
        self.rows += quarantined.num_rows
        for rule_list in quarantined.column("rules").to_pylist():
            for rule in str(rule_list).split(","):
                if rule:
                    self.rules[rule] = self.rules.get(rule, 0) + 1


@dataclass(frozen=True)
class BacktestFile:
    path: str
    status: str  # pass | quarantine | fail
    rows_emitted: int
    rows_valid: int
    rows_quarantined: int
    failed_before: bool
    error: str = ""


@dataclass(frozen=True)
class BacktestReport:
    parser_name: str
    parser_version: str
    files: tuple[BacktestFile, ...]

    def counts(self) -> dict[str, int]:
        totals = {"pass": 0, "quarantine": 0, "fail": 0}
        for item in self.files:
            totals[item.status] += 1
        return totals


def backtest(
    store: Store,
    config: Config,
    parser_name: str,
    paths: Sequence[str],
    cancel: threading.Event | None = None,
) -> BacktestReport:
    """Run ``parser_name`` (the current registered version) over ``paths``, failed-before first."""
    run = _BacktestRun.prepare(store, config, parser_name, paths)
    results: list[BacktestFile] = []
    try:
        for path in run.ordered:
            check_cancel(cancel)
            results.append(run.run_file(path, cancel))
    finally:
        run.stop_guest()
    return BacktestReport(run.record.name, run.record.version, tuple(results))


@dataclass
class _BacktestRun:
    """One backtest: the parser version, its files in order, and the warm guest that parses
    them one at a time (started again after a file fails)."""

    store: Store
    config: Config
    record: ParserRecord
    ordered: list[str]  # files that failed before first
    failed_before: set[str]
    entry: Path
    python: str
    guest: GuestProcess | None = None
    validator: Validator | None = None

    @classmethod
    def prepare(
        cls, store: Store, config: Config, parser_name: str, paths: Sequence[str]
    ) -> _BacktestRun:
        """The current version's bundle and environment, and the files in backtest order."""
        from ..parsers.bundle import collect_source, read_metadata

        runtime = ParserRuntime(store, config)
        record = runtime.record(parser_name)
        if record is None:
            raise ValueError(f"parser {parser_name!r} is not registered")
        failed_before = {
            job.input_path
            for status in ERROR_STATES
            for job in store.jobs.find(status, parser_name, limit=100_000)
        }
        ordered = sorted(paths, key=lambda p: (p not in failed_before, p))
        source_dir = runtime.load_bundle(record.name, record.version)
        entry = source_dir / read_metadata(collect_source(source_dir)[0]).entry_file
        python = str(runtime.environment_for(record))
        return cls(store, config, record, ordered, failed_before, entry, python)

    def _start_guest(self) -> tuple[GuestProcess, Validator]:
        """The warm guest (started if none runs) and its outputs' contract validator."""
        if self.guest is None:
            allowed_rules = self.record.gatekeeper.get("allowed_rules") or []
            options = GuestOptions(
                python=self.python,
                inputs=self.ordered,
                hidden=[self.config.home],
                allow_network="network" in allowed_rules,
            )
            self.guest = start_guest(self.entry, self.config.settings, options)
            assert self.guest.info is not None
            self.validator = contract_validator(
                self.entry.parent, self.guest.info.outputs, approved=self.store.contracts.latest
            )
        assert self.validator is not None
        return self.guest, self.validator

    def run_file(self, path: str, cancel: threading.Event | None) -> BacktestFile:
        """Parse and validate one file, counting rows and writing nothing."""
        guest, validator = self._start_guest()
        sink, quarantine = _CountingSink(), _CountingQuarantine()
        executor = Executor(
            guest,
            sink,
            parser_name=self.record.name,
            parser_version=self.record.version,
            validator=validator,
            quarantine=quarantine,
            cancel=cancel,
            pipeline_depth=1,
        )
        failed_before = path in self.failed_before
        try:
            (result,) = list(executor.run([FileTask(path)]))
        except (ExecutionError, GuestError) as exc:
            self.stop_guest()
            return BacktestFile(path, "fail", 0, 0, 0, failed_before, exc.message)
        emitted = sum(c.emitted for c in result.outputs.values())
        status = "quarantine" if quarantine.rows else "pass"
        return BacktestFile(
            path, status, emitted, sum(sink.rows.values()), quarantine.rows, failed_before
        )

    def stop_guest(self) -> None:
        """Stop the warm guest, if one runs (the next file starts a new one)."""
        if self.guest is not None:
            with contextlib.suppress(Exception):
                self.guest.stop()
            self.guest = None
