"""Which scanned files each registered parser should process: by tag or by gitignore pattern."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ..patterns import PathPatterns, relative_path
from ..store import Store
from ..store.jobs import NewJob
from ..store.parsers import ParserRecord

PAGE_SIZE = 5000  # files a page of the queue's matching reads
PAGE_ROWS = 50_000  # files a page of the column-wise selection reads


@dataclass(frozen=True)
class EnqueueReport:
    """Per parser: files matched, jobs queued, and files skipped (already processed or queued)."""

    parser_name: str
    parser_version: str
    matched: int
    queued: int
    processed_by_this_version: int = 0
    processed_by_older_versions: int = 0
    selects_files: bool = True
    with_failed_jobs: int = 0

    @property
    def skipped(self) -> int:
        return self.matched - self.queued

    def failed_jobs_note(self) -> str | None:
        """Matched files not queued again because their job failed (None if there are none)."""
        count = self.with_failed_jobs
        if not count:
            return None
        has = "file has a failed job" if count == 1 else "files have failed jobs"
        return (
            f"{self.parser_name} {self.parser_version}: {count:,} matched {has} — replay "
            "them with `casparian jobs replay`"
        )

    def why_nothing_queued(self) -> str | None:
        """Why no job was queued for this parser, in words a user can act on (None if queued)."""
        label = f"{self.parser_name} {self.parser_version}"
        if self.queued:
            return None
        if not self.selects_files:
            return (
                f"{label}: matches no files: it declares no tags or patterns "
                f"(add them and register a new version)"
            )
        if self.processed_by_this_version:
            count = self.processed_by_this_version
            return (
                f"{label}: {count:,} matched {'file' if count == 1 else 'files'} already "
                f"processed by this version — use `casparian backfill {self.parser_name} "
                "--force` to redo them"
            )
        if self.processed_by_older_versions:
            count = self.processed_by_older_versions
            return (
                f"{label}: {count:,} matched {'file was' if count == 1 else 'files were'} "
                f"processed by an older version — use `casparian backfill {self.parser_name}` "
                "to reprocess them with this one"
            )
        if self.with_failed_jobs:
            return self.failed_jobs_note()
        if self.matched:
            return f"{label}: {self.matched:,} matched files are already queued"
        return f"{label}: no scanned file has its tags or matches its patterns"


def current_parsers(store: Store, name: str | None = None) -> list[ParserRecord]:
    """The highest registered version of each parser (or of the one named)."""
    if name is not None:
        record = store.parsers.get(name)
        if record is None:
            raise KeyError(f"no parser '{name}' is registered")
        return [record]
    latest: dict[str, ParserRecord] = {}
    for record in store.parsers.all():  # sorted by name, then version
        latest[record.name] = record
    return list(latest.values())


def selected_files(store: Store, parser: ParserRecord) -> Iterator[pa.RecordBatch]:
    """The live files the parser selects (one of its tags, or its patterns over the path
    relative to the scanned folder), a page at a time in file id order: ``path`` and ``sha256``,
    column-wise with no loop over the rows in Python (the Process view's matched files and
    Home's unprocessed count read it from the TUI's worker threads)."""
    patterns = PathPatterns(parser.patterns)
    if not parser.tags and not patterns:
        return
    after_id = 0
    while page := store.files.tagged_page(parser.tags, after_id, PAGE_ROWS):
        after_id = page[-1][0]
        _ids, paths, relative, tagged, hashes = zip(*page, strict=True)  # columns
        selected = pc.not_equal(pa.array(tagged, pa.int64()), 0)
        if patterns:
            selected = pc.or_(selected, patterns.mask(pa.array(relative, pa.string())))
        columns = [pa.array(paths, pa.string()), pa.array(hashes, pa.string())]
        yield pa.RecordBatch.from_arrays(columns, names=["path", "sha256"]).filter(selected)


def matching_jobs(store: Store, parser: ParserRecord, kind: str = "process") -> Iterator[NewJob]:
    """Jobs for every live file the parser's tags or patterns select (``selected_files``
    selects the same files column-wise; ``test_parser_overview_matching`` holds them equal)."""
    spec = PathPatterns(parser.patterns)
    wanted_tags = set(parser.tags)
    after_id = 0
    while page := store.jobs.live_files(after_id, PAGE_SIZE):
        after_id = page[-1][0]
        tags = store.files.tags_of([row[0] for row in page]) if wanted_tags else {}
        by_pattern = (
            spec.mask([relative_path(path, root) for _, path, _, root in page]).to_pylist()
            if spec
            else [False] * len(page)
        )
        for (file_id, path, sha256, _root), matched in zip(page, by_pattern, strict=True):
            if matched or wanted_tags.intersection(tags.get(file_id, ())):
                yield NewJob(parser.name, parser.version, path, sha256, file_id, kind)


def enqueue_matching(store: Store, parser_name: str | None = None) -> list[EnqueueReport]:
    """Queue every matching file no version of its parser has processed yet.

    Files an older version processed are left to ``casparian backfill`` (manual by design).
    """
    reports = []
    for parser in current_parsers(store, parser_name):
        processed = store.history.versions_by_hash(parser.name)
        jobs: list[NewJob] = []
        by_this = by_older = 0
        for job in matching_jobs(store, parser):
            versions = processed.get(job.input_hash) if job.input_hash else None
            if versions is None:
                jobs.append(job)
            elif parser.version in versions:
                by_this += 1
            else:
                by_older += 1
        queued = store.jobs.enqueue(jobs)
        selects = bool(parser.tags or parser.patterns)
        failed = store.jobs.failed_inputs(parser.name, parser.version)
        with_failed = sum(
            1 for job in jobs if (job.input_hash or "path:" + job.input_path) in failed
        )
        reports.append(
            EnqueueReport(
                parser.name,
                parser.version,
                len(jobs),
                len(queued),
                by_this,
                by_older,
                selects,
                with_failed,
            )
        )
    return reports
