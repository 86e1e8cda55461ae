"""Backfill (spec FS-6): reprocess a parser's files with its current version, all or nothing.

``plan`` lists the files the parser matches whose processed version is older than the current one
(with ``force``: every matched file). ``execute`` queues them as one batch whose outputs go to
``<output>/.staging/<batch>/``; only when every file succeeded is the parser's output folder
swapped for the staged one in a single rename exchange (kept outputs of files not backfilled are
hard-linked in first), so a query sees the old dataset or the new one, never a mix. On failure,
cancellation or a crash the staging is removed, the batch's history is forgotten and the old
output stays as it was.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .errors import CasparianError
from .events import EventSink, ignore_events
from .job_states import SUCCEEDED_STATES
from .runner.matching import current_parsers, matching_jobs
from .runner.pool import PoolOptions, PoolSummary, WorkerPool
from .store import Store
from .store.jobs import Job, NewJob

BACKFILL_KIND = "backfill"
RENAME_EXCHANGE = 2
AT_FDCWD = -100


class BackfillError(CasparianError, RuntimeError):
    """A backfill cannot start (unknown parser, another backfill running)."""


class BackfillPlanChanged(BackfillError):
    """The plan a person confirmed is not what a backfill would redo now; ``plan`` is the new
    one and ``changes`` say how it differs (nothing was run)."""

    def __init__(self, plan: BackfillPlan, changes: list[str]) -> None:
        super().__init__(
            f"the backfill plan of {plan.parser_name} changed since it was shown: "
            + "; ".join(changes)
        )
        self.plan = plan
        self.changes = changes


@dataclass(frozen=True)
class StaleFile:
    """A file processed only by older versions of the parser."""

    path: str
    input_hash: str | None
    processed_versions: tuple[str, ...]


@dataclass(frozen=True)
class BackfillPlan:
    """What a backfill would reprocess: stale files and the jobs to queue for them."""

    parser_name: str
    current_version: str
    files: tuple[StaleFile, ...]
    jobs: tuple[NewJob, ...] = field(repr=False, default=())
    limit: int | None = None
    """At most this many files were planned (None: every stale file)."""
    force: bool = False
    """Files already processed by the current version were planned too."""


@dataclass(frozen=True)
class BackfillResult:
    """A finished backfill: its plan, batch, whether outputs were swapped in, and why not."""

    plan: BackfillPlan
    batch_id: str
    swapped: bool
    summary: PoolSummary | None
    output_dir: Path
    reason: str = ""


def plan_backfill(
    store: Store, parser_name: str, limit: int | None = None, force: bool = False
) -> BackfillPlan:
    """Files whose outputs come from an older version of the parser (all matches with force)."""
    try:
        (parser,) = current_parsers(store, parser_name)
    except KeyError as exc:
        raise BackfillError(str(exc.args[0])) from exc
    versions = store.history.versions_by_hash(parser_name)
    files: list[StaleFile] = []
    jobs: list[NewJob] = []
    for job in matching_jobs(store, parser, kind=BACKFILL_KIND):
        done = versions.get(job.input_hash or "", set())
        older = tuple(sorted(v for v in done if v != parser.version))
        if force or (older and parser.version not in done):
            files.append(StaleFile(job.input_path, job.input_hash, older))
            jobs.append(job)
            if limit is not None and len(files) >= limit:
                break
    return BackfillPlan(
        parser.name, parser.version, tuple(files), tuple(jobs), limit=limit, force=force
    )


def plan_changes(seen: BackfillPlan, now: BackfillPlan) -> list[str]:
    """How the plan a person saw differs from the plan as it stands now, in words ([] when
    they redo the same files, with the same content, by the same version)."""
    changes: list[str] = []
    if seen.current_version != now.current_version:
        changes.append(
            f"the current version of {now.parser_name} is now {now.current_version} "
            f"(was {seen.current_version})"
        )
    before = {(f.path, f.input_hash) for f in seen.files}
    after = {(f.path, f.input_hash) for f in now.files}
    if added := len(after - before):
        changes.append(
            f"{added:,} file{'s' if added != 1 else ''} to redo that the plan did not list"
        )
    if dropped := len(before - after):
        changes.append(
            f"{dropped:,} listed file{'s' if dropped != 1 else ''} no longer to redo "
            "(processed since, changed or gone)"
        )
    return changes


def _exchange(a: Path, b: Path) -> None:
    """Swap two directories atomically (Linux renameat2); elsewhere, two quick renames."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        result = renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
        if result == 0:
            return
    aside = a.with_name(a.name + ".swap")
    os.rename(a, aside)
    os.rename(b, a)
    os.rename(aside, b)


def _link_kept_outputs(live: Path, staged: Path, replaced: set[str]) -> None:
    """Hard-link every live output file not being replaced into the staged tree."""
    if not live.is_dir():
        return
    for directory, _, names in os.walk(live):
        for name in names:
            source = Path(directory) / name
            if str(source) in replaced or name.startswith("."):
                continue
            target = staged / source.relative_to(live)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source, target)


def _carry_over_kept_rows(live: Path, staged: Path, replaced_jobs: dict[str, set[int]]) -> None:
    """A replaced part shared with files not backfilled: stage a copy without the replaced rows."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    for path, job_ids in replaced_jobs.items():
        source = Path(path)
        if not source.is_file() or not source.is_relative_to(live):
            continue
        table = pq.read_table(source)
        if "_cf_job_id" not in table.column_names:
            continue
        replaced = pa.array(sorted(job_ids), pa.int64())
        kept = table.filter(pc.invert(pc.is_in(table.column("_cf_job_id"), replaced)))
        if kept.num_rows:
            target = staged / source.relative_to(live)
            target.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(kept, target)


def clean_abandoned(store: Store, staging_root: Path) -> None:
    """Undo what a crashed backfill left: its queued jobs, its history and its staging."""
    leftovers = store.jobs.cancel_unfinished(BACKFILL_KIND)
    if leftovers and staging_root.is_dir():
        batches = {j.batch_id for j in (store.jobs.get(i) for i in leftovers) if j and j.batch_id}
        for batch in batches:
            done = [j.id for j in store.jobs.find(batch_id=batch, limit=1_000_000)]
            store.history.forget_jobs(done)
            shutil.rmtree(staging_root / batch, ignore_errors=True)


def execute_backfill(
    store: Store,
    config: Config,
    plan: BackfillPlan,
    workers: int | None = None,
    force: bool = False,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> BackfillResult:
    """Run the plan into staging and swap it in only if every file succeeded."""
    live = config.output_dir / plan.parser_name
    staging_root = config.output_dir / ".staging"
    clean_abandoned(store, staging_root)
    batch_id = f"backfill-{uuid.uuid4().hex[:12]}"
    staging = staging_root / batch_id
    if not plan.jobs:
        return BackfillResult(plan, batch_id, False, None, live, "nothing to backfill")
    jobs = [
        NewJob(
            j.parser_name,
            j.parser_version,
            j.input_path,
            j.input_hash,
            j.file_id,
            BACKFILL_KIND,
            batch_id,
        )
        for j in plan.jobs
    ]
    job_ids = store.jobs.enqueue(jobs, skip_processed=not force)
    staging.mkdir(parents=True, exist_ok=True)
    options = PoolOptions(
        workers=workers,
        parser_names=(plan.parser_name,),
        kind=BACKFILL_KIND,
        output_root=staging,
    )
    summary = WorkerPool(config, options).run(on_event, cancel)
    finished = store.jobs.find(batch_id=batch_id, limit=len(job_ids) + 1)
    succeeded = [j for j in finished if j.status in SUCCEEDED_STATES]
    if summary.cancelled or len(succeeded) != len(job_ids):
        store.jobs.cancel_unfinished(BACKFILL_KIND)
        store.history.forget_jobs([j.id for j in finished])
        shutil.rmtree(staging, ignore_errors=True)
        reason = f"{len(job_ids) - len(succeeded)} of {len(job_ids)} files did not succeed"
        return BackfillResult(plan, batch_id, False, summary, live, reason)
    _swap_in(store, live, staging, batch_id, succeeded)
    store.audit.record(
        "parser.backfill", plan.parser_name, version=plan.current_version, files=len(job_ids)
    )
    return BackfillResult(plan, batch_id, True, summary, live)


def _swap_in(store: Store, live: Path, staging: Path, batch_id: str, succeeded: list[Job]) -> None:
    """Exchange the live outputs for the staged ones: rows of files the backfill did not redo
    are carried over, untouched outputs linked, then the folders are swapped at once and the
    jobs' output paths point at the live folder."""
    parser_name = live.name  # the live folder is <output_dir>/<parser>
    hashes = {j.input_hash for j in succeeded}
    replaced_jobs: dict[str, set[int]] = {}
    for old in store.jobs.find(parser_name=parser_name, limit=10_000_000):
        if old.batch_id != batch_id and old.input_hash in hashes:
            for path in old.output_paths:
                replaced_jobs.setdefault(path, set()).add(old.id)
    staged = staging / parser_name
    staged.mkdir(parents=True, exist_ok=True)
    _carry_over_kept_rows(live, staged, replaced_jobs)
    _link_kept_outputs(live, staged, set(replaced_jobs))
    live.mkdir(parents=True, exist_ok=True)
    _exchange(live, staged)
    shutil.rmtree(staging, ignore_errors=True)
    prefix = str(staged)
    store.jobs.set_output_paths(
        {
            j.id: tuple(
                str(live) + p[len(prefix) :] if p.startswith(prefix) else p for p in j.output_paths
            )
            for j in succeeded
        }
    )
