"""Coalesced Parquet parts: one part file per output per claimed batch, published in two phases.

A worker's batch of jobs writes each output's rows into one hidden temp file
``<root>/<output>/.part-<token>-<n>.parquet.tmp``. A file's rows are buffered while the executor
routes them and appended to the part only once that file succeeded, so a failed file never leaves
rows behind. Publishing is two-phase: the temp is fsynced, the store transaction completes the
batch's jobs naming the final path ``part-<token>-<n>.parquet``, and only then is the temp renamed.
``recover_parts`` finishes what a crash interrupted: a temp whose jobs completed is renamed into
place, a temp whose jobs are neither completed nor running is deleted.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..job_states import JobState
from ..sinks import SinkError, check_output_name
from ..sinks.files import huge_value_columns
from ..store import Store
from .quarantine import RowLineage

ROW_GROUP_ROWS = 128 * 1024
JOB_COLUMN = "_cf_job_id"
TEMP_PATTERN = re.compile(r"^\.(part-([0-9a-f]+)-\d+\.parquet)\.tmp(\.rewrite)?$")


@dataclass
class _Part:
    """One part file being written: its temp path, final path and writer."""

    temp: Path
    final: Path
    writer: pq.ParquetWriter
    job_ids: set[int] = field(default_factory=set)
    no_statistics: frozenset[str] = frozenset()  # columns written without min/max


@dataclass
class _OutputParts:
    """The parts of one output in this batch (a new part starts if the schema changes)."""

    directory: Path
    parts: list[_Part] = field(default_factory=list)
    buffer: list[pa.Table] = field(default_factory=list)
    buffer_rows: int = 0
    buffer_jobs: set[int] = field(default_factory=set)


class _QuarantineBuffer:
    """Keeps quarantined rows of unfinished files, by job, until they are settled or discarded."""

    def __init__(self, pending: dict[int, list[tuple[pa.Table, RowLineage]]]) -> None:
        self.pending = pending

    def write(self, quarantined: pa.Table, lineage: RowLineage) -> None:
        if quarantined.num_rows:
            self.pending.setdefault(lineage.job_id, []).append((quarantined, lineage))


class BatchParts:
    """The executor's sink and quarantine writer for one claimed batch of jobs."""

    def __init__(self, root: Path, token: str) -> None:
        self.root = root
        self.token = token
        self.uri = f"parquet://{root}"
        self._outputs: dict[str, _OutputParts] = {}
        self._pending: list[tuple[str, pa.Table]] = []
        self._pending_quarantine: dict[int, list[tuple[pa.Table, RowLineage]]] = {}
        self.quarantine: dict[int, list[tuple[pa.Table, RowLineage]]] = {}
        self.contract_hashes: dict[str, str] = {}
        self._part_count = 0

    # -- the Sink and QuarantineWriter protocols ---------------------------------------------
    def target(self, output: str) -> str:
        return str(self.root / check_output_name(output))

    def exists(self, output: str) -> bool:
        return False

    def write(self, output: str, table: pa.Table) -> None:
        """Hold rows of unfinished files (a packed table may hold several) until settled."""
        self._pending.append((output, table))

    @property
    def quarantine_writer(self) -> _QuarantineBuffer:
        """The executor's ``QuarantineWriter``: holds unfinished files' quarantined rows."""
        return _QuarantineBuffer(self._pending_quarantine)

    def settle(self, accepted: set[int], rejected: set[int] | None = None) -> None:
        """Files finished: append the accepted jobs' rows to the parts, drop the rejected jobs'
        rows (keeping their quarantined rows for the store); other rows stay pending."""
        rejected = rejected or set()
        if not accepted and not rejected:
            return
        accepted_ids = pa.array(sorted(accepted), pa.int64())
        rejected_ids = pa.array(sorted(rejected), pa.int64())
        kept: list[tuple[str, pa.Table]] = []
        for output, table in self._pending:
            if table.num_rows == 0 or JOB_COLUMN not in table.column_names:
                if accepted:
                    self._append(output, table, [])
                else:
                    kept.append((output, table))
                continue
            ids = table.column(JOB_COLUMN)
            mine = pc.is_in(ids, value_set=accepted_ids)
            taken = pc.sum(pc.cast(mine, pa.int64())).as_py() or 0
            if taken == table.num_rows:
                self._append(output, table, pc.unique(ids).to_pylist())
                continue
            rest = table
            if taken:
                chosen = table.filter(mine)
                self._append(output, chosen, pc.unique(chosen.column(JOB_COLUMN)).to_pylist())
                rest = table.filter(pc.invert(mine))
            if rejected:
                rest = rest.filter(
                    pc.invert(pc.is_in(rest.column(JOB_COLUMN), value_set=rejected_ids))
                )
            if rest.num_rows:
                kept.append((output, rest))
        self._pending = kept
        for job_id in accepted | rejected:
            items = self._pending_quarantine.pop(job_id, None)
            if items:
                self.quarantine.setdefault(job_id, []).extend(items)

    def _append(self, output: str, table: pa.Table, job_ids: list[int]) -> None:
        state = self._outputs.get(output)
        if state is None:
            state = _OutputParts(self.root / check_output_name(output))
            self._outputs[output] = state
        if state.buffer and state.buffer[0].schema != table.schema:
            self._flush(output, state)
        if table.num_rows == 0 and (state.parts or state.buffer):
            return
        state.buffer.append(table)
        state.buffer_rows += table.num_rows
        state.buffer_jobs.update(job_ids)
        if state.buffer_rows >= ROW_GROUP_ROWS:
            self._flush(output, state)

    def discard(self) -> None:
        """Forget every unsettled row (the files in flight are run again)."""
        self._pending = []
        self._pending_quarantine.clear()

    # -- part files ------------------------------------------------------------------------------
    def _flush(self, output: str, state: _OutputParts) -> None:
        if not state.buffer:
            return
        table = pa.concat_tables(state.buffer) if len(state.buffer) > 1 else state.buffer[0]
        part = state.parts[-1] if state.parts else None
        huge = huge_value_columns(table)
        if part is None or part.writer.schema != table.schema or huge - part.no_statistics:
            # a huge value's min/max copies cost several times its size: a part without them
            carried = part.no_statistics if part is not None else frozenset()
            part = self._open_part(state.directory, table.schema, carried | huge)
            state.parts.append(part)
        try:
            part.writer.write_table(table, row_group_size=max(1, table.num_rows))
        except OSError as exc:
            raise SinkError(f"{part.temp}: writing output {output!r} failed: {exc}") from exc
        part.job_ids |= state.buffer_jobs
        state.buffer, state.buffer_rows, state.buffer_jobs = [], 0, set()

    def _open_part(
        self, directory: Path, schema: pa.Schema, no_statistics: frozenset[str] = frozenset()
    ) -> _Part:
        directory.mkdir(parents=True, exist_ok=True)
        name = f"part-{self.token}-{self._part_count}.parquet"
        self._part_count += 1
        temp = directory / f".{name}.tmp"
        options: dict[str, object] = {}
        if no_statistics:
            options["write_statistics"] = [f.name for f in schema if f.name not in no_statistics]
            options["use_dictionary"] = [f.name for f in schema if f.name not in no_statistics]
        writer = pq.ParquetWriter(temp, schema, **options)
        return _Part(temp, directory / name, writer, no_statistics=no_statistics)

    def finish(self) -> dict[int, tuple[str, ...]]:
        """Write out buffered rows, close and fsync every temp; the final paths of each job."""
        paths: dict[int, list[str]] = {}
        for output, state in self._outputs.items():
            self._flush(output, state)
            for part in state.parts:
                part.writer.close()
                _fsync(part.temp)
                for job_id in part.job_ids:
                    paths.setdefault(job_id, []).append(str(part.final))
        return {job_id: tuple(found) for job_id, found in paths.items()}

    def files(self) -> dict[str, str]:
        """Final path -> temp path of every part still to publish."""
        return {
            str(part.final): str(part.temp)
            for state in self._outputs.values()
            for part in state.parts
        }

    def exclude(self, job_ids: set[int]) -> None:
        """Rewrite the (finished) temps without the rows of jobs whose lease was lost."""
        for state in self._outputs.values():
            kept: list[_Part] = []
            for part in state.parts:
                if not part.job_ids & job_ids:
                    kept.append(part)
                    continue
                table = pq.read_table(part.temp)
                mask = pc.invert(pc.is_in(table.column(JOB_COLUMN), pa.array(list(job_ids))))
                remaining = table.filter(mask)
                part.job_ids -= job_ids
                if remaining.num_rows == 0 and not part.job_ids:
                    part.temp.unlink(missing_ok=True)
                    continue
                rewrite = part.temp.with_name(part.temp.name + ".rewrite")
                pq.write_table(remaining, rewrite)
                _fsync(rewrite)
                os.replace(rewrite, part.temp)
                kept.append(part)
            state.parts = kept
        for job_id in job_ids:
            self.quarantine.pop(job_id, None)

    def publish(self) -> None:
        """Phase two: rename every temp to its final name (after the store committed)."""
        for state in self._outputs.values():
            for part in state.parts:
                publish_part(part.temp, part.final)

    def abort(self) -> None:
        """Close and delete every temp of this batch (nothing of it was committed)."""
        for state in self._outputs.values():
            for part in state.parts:
                with contextlib.suppress(Exception):
                    part.writer.close()
                part.temp.unlink(missing_ok=True)
            state.parts = []
        self._outputs.clear()
        self.discard()

    def commit(self) -> dict[str, str]:
        raise SinkError("batch parts are published by the worker after the store commits")


def publish_part(temp: Path, final: Path) -> None:
    """Rename a committed temp into place; a concurrent recovery may have done it already."""
    try:
        os.replace(temp, final)
    except FileNotFoundError:
        if not final.exists():
            raise


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class PartRecovery:
    """What start-up recovery did with leftover temps."""

    published: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    left_running: tuple[str, ...] = ()


def recover_parts(store: Store, output_root: Path) -> PartRecovery:
    """Rename temps whose jobs completed, delete temps of jobs that neither completed nor run."""
    published: list[str] = []
    deleted: list[str] = []
    running: list[str] = []
    if not output_root.is_dir():
        return PartRecovery()
    for temp in sorted(output_root.glob("*/*/.part-*.tmp*")):
        match = TEMP_PATTERN.match(temp.name)
        if match is None:
            continue
        final = temp.with_name(match.group(1))
        states = store.jobs.lease_outputs(match.group(2))
        if any(status == JobState.RUNNING for status, _ in states):
            running.append(str(temp))
        elif not match.group(3) and any(
            str(final) in paths for status, paths in states if status != JobState.RUNNING
        ):
            publish_part(temp, final)
            published.append(str(final))
        else:
            temp.unlink(missing_ok=True)
            deleted.append(str(temp))
    return PartRecovery(tuple(published), tuple(deleted), tuple(running))
