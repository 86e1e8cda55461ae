"""The scan: walk a folder, compare with the inventory, examine what may have changed, record it.

Per batch of a few thousand files: ONE lookup of the stored rows (by parent for folders listed
whole, by path for the rest); the examine step (``stat`` against the stored marker, SHA-256 + kind
when it differs — in worker processes for big scans, overlapped with walking the next batch); then
one transaction of ``executemany`` writes, several batches per commit window. Unchanged files cost
one ``UPDATE last_seen`` per batch and no rule matching. Files not seen by a complete scan are
soft-deleted; a rename (same device + inode, old path gone) keeps the row, so it keeps its tags.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ..events import Cancelled, EventSink, Throttle, check_cancel, ignore_events
from ..store import Store
from ..store.files import KnownRow
from .classify import kind_tag
from .hashing import Examined, ExamineJob, extension
from .rules import PathMatcher, RuleSet
from .summary import ScanCancelled, ScanProgress, ScanSummary
from .walk import SkippedEntry, WalkBatch, WalkedFile, check_root, display_path, walk_files
from .window import CommitWindow
from .workers import HashWorkerPool, InlineJob

__all__ = ["BATCH_SIZE", "ScanCancelled", "ScanProgress", "ScanSummary", "Scanner"]

BATCH_SIZE = 2000
SKIPPED_EXAMPLES_KEPT = 50
# Drop secondary indexes while inserting once this many files are new and they are at least a
# tenth of the table: rebuilding once (~1 µs/row) is then cheaper than maintaining them per row.
# The (device, inode) and parent indexes are dropped only when the store was empty: a scan into an
# existing inventory looks files up by them.
DEFER_INDEXES_AFTER = 20_000

ExamineResult = tuple[list[Examined], int]


@dataclass(slots=True)
class _Read:
    """A file the examine step read: new, changed or moved, with what the scan will write."""

    walked: WalkedFile
    path: str
    raw_path: bytes | None
    sha256: str
    kind: str
    size: int
    mtime_ns: int
    device: int
    inode: int
    known_id: int | None
    action: str  # "new" | "changed" | "renamed"


@dataclass
class _Plan:
    """A batch compared with the store, and the examine job running for it."""

    batch: WalkBatch
    shown: list[tuple[str, bytes | None]]
    known: list[KnownRow | None]
    examined: Future[ExamineResult]


class Scanner:
    """One scan of one root; ``run()`` returns the ``ScanSummary``."""

    def __init__(
        self,
        store: Store,
        root: str | os.PathLike[str],
        patterns: Sequence[str] = (),
        tags: Sequence[str] = (),
        on_event: EventSink = ignore_events,
        cancel: threading.Event | None = None,
        batch_size: int = BATCH_SIZE,
        hash_workers: int | None = None,
    ) -> None:
        self.store = store
        self.root = check_root(os.fspath(root))
        self.matcher = PathMatcher(patterns) if patterns else None
        self.tags = tuple(tags)
        self.on_event = on_event
        self.cancel = cancel
        self.batch_size = batch_size
        self.hash_workers = (
            hash_workers if hash_workers is not None else min(2, os.cpu_count() or 1)
        )
        self.rules = RuleSet(store.tags.list_rules())
        self.counts: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.skipped_examples: list[SkippedEntry] = []
        self.bytes_hashed = 0
        self.files_hashed = 0
        self._throttle = Throttle()
        self.files_walked = 0  # files in the batches walked so far, the one being planned included
        self._pool: HashWorkerPool | None = None
        self.worker_peak_rss_mb: float | None = None  # read when the workers are closed
        self._rows_at_start = 0
        self._inserted = 0
        self._dropped_indexes: list[str] = []

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> ScanSummary:
        """Walk the root, record new, changed, moved and deleted files, and summarise. A cancel
        raises ``ScanCancelled`` with the number of files committed before it stopped."""
        try:
            return self._run()
        except ScanCancelled:
            raise
        except Cancelled as exc:
            recorded = sum(self.counts[k] for k in ("new", "changed", "unchanged", "renamed"))
            raise ScanCancelled(recorded) from exc

    def _run(self) -> ScanSummary:
        started = time.monotonic()
        self.seen_at = time.time()
        files = self.store.files
        files.tune_for_scan()
        with self.store.db.transaction():
            self.source_id = files.upsert_source(self.root, self.seen_at)
            files.ensure_bulk_indexes()  # after a scan that was killed while they were dropped
            self._rows_at_start = files.last_id()
        pending: _Plan | None = None
        try:
            with CommitWindow(self.store.db) as window:
                for batch in walk_files(self.root, self.matcher, self.batch_size):
                    check_cancel(self.cancel)
                    self._note_skipped(batch.skipped)
                    self.counts["excluded"] += batch.excluded_count
                    self.files_walked += len(batch.files)
                    self._emit_progress(started)
                    window.open()
                    plan = self._plan(batch)
                    if pending is not None:
                        self._commit(pending)
                        window.tick()
                    pending = plan
                if pending is not None:
                    self._commit(pending)
                    pending = None
            deleted = self._soft_delete_unseen()
        finally:
            if pending is not None:
                self._commit(pending)  # keep the work of a cancelled scan
            if self._pool is not None:
                self.worker_peak_rss_mb = self._pool.peak_rss_mb()
                self._pool.close()
            if self._dropped_indexes:
                with self.store.db.transaction():
                    files.ensure_bulk_indexes()
        with self.store.db.transaction():
            files.refresh_source_count(self.source_id)
        summary = ScanSummary(
            root=self.root,
            source_id=self.source_id,
            new=self.counts["new"],
            changed=self.counts["changed"],
            unchanged=self.counts["unchanged"],
            renamed=self.counts["renamed"],
            deleted=deleted,
            excluded=self.counts["excluded"],
            skipped=dict(self.skipped),
            skipped_examples=tuple(self.skipped_examples),
            bytes_hashed=self.bytes_hashed,
            elapsed_s=time.monotonic() - started,
        )
        self.store.audit.record("files.scanned", self.root, **summary.to_dict())
        self.on_event(summary)
        return summary

    def _emit_progress(self, started: float) -> None:
        """Report the files walked so far. Not the files committed plus the batch being walked:
        the batch before it is still being examined while this one is walked (its commit waits),
        so that figure left the previous batch out and went backwards whenever a batch was
        smaller than the one before it (2,403 → 2,047 → 4,403)."""
        if self._throttle.ready():
            self.on_event(
                ScanProgress(
                    self.root,
                    self.files_walked,
                    self.files_hashed,
                    self.bytes_hashed,
                    sum(self.skipped.values()),
                    time.monotonic() - started,
                )
            )

    def _note_skipped(self, entries: list[SkippedEntry]) -> None:
        for entry in entries:
            self.skipped[entry.reason] += 1
            if len(self.skipped_examples) < SKIPPED_EXAMPLES_KEPT:
                self.skipped_examples.append(entry)
        unreadable_folders = [
            display_path(e.path)[0]
            for e in entries
            if e.reason in ("permission_denied", "unreadable") and os.path.isdir(e.path)
        ]
        if unreadable_folders:  # what we cannot see now is not gone: keep its rows alive
            with self.store.db.transaction():
                for folder in unreadable_folders:
                    ids = self.store.files.ids_under(folder)
                    self.store.files.touch(ids, self.seen_at, self.source_id)

    # -- compare -----------------------------------------------------------------------------
    def _plan(self, batch: WalkBatch) -> _Plan:
        """One lookup of the stored rows, then the examine job (stat, and hash if changed)."""
        shown = [display_path(w.path) for w in batch.files]
        by_path = self._lookup(batch, [path for path, _ in shown])
        known = [by_path.get(path) for path, _ in shown]
        job = ExamineJob(
            [w.path for w in batch.files],
            [-1 if row is None else row[3] for row in known],
            [0 if row is None else row[4] for row in known],
            [0 if row is None else row[5] for row in known],
            [0 if row is None else row[6] for row in known],
            bytes(w.follow for w in batch.files),
        )
        return _Plan(batch, shown, known, self._submit(job))

    def _lookup(self, batch: WalkBatch, paths: list[str]) -> dict[str, KnownRow]:
        """Stored rows for a batch: by parent for folders listed whole, by path for the rest.
        Into an empty store there is nothing to find (a scan lists each path once)."""
        if self._rows_at_start == 0:
            return {}
        files = self.store.files
        whole = batch.whole_folders
        rows = files.known_in_folders(sorted(whole))
        partial = [path for path in paths if path.rpartition("/")[0] not in whole]
        if partial:
            rows.extend(files.known_by_paths(partial))
        return {row[1]: row for row in rows}

    def _submit(self, job: ExamineJob) -> Future[ExamineResult]:
        if self._pool is None and self.hash_workers > 1 and len(job) * 2 >= self.batch_size:
            self._pool = HashWorkerPool(self.hash_workers)  # only big scans pay the start-up
        if self._pool is None:
            return InlineJob(job)
        return self._pool.submit(job)

    def _find_renames(self, fresh: list[_Read]) -> None:
        """Mark new paths whose (device, inode) belongs to a file stored before this scan whose
        path is gone (into an empty store nothing can have been renamed)."""
        if self._rows_at_start == 0:
            return
        inodes_by_device: dict[int, list[int]] = {}
        for item in fresh:
            inodes_by_device.setdefault(item.device, []).append(item.inode)
        gone_by_identity: dict[tuple[int, int], list[int]] = {}
        for device, inodes in inodes_by_device.items():
            for known in self.store.files.known_by_identity(device, inodes, self._rows_at_start):
                if not os.path.lexists(known.os_path):
                    gone_by_identity.setdefault((known.device, known.inode), []).append(known.id)
        for item in fresh:
            candidates = gone_by_identity.get((item.device, item.inode))
            if candidates:
                item.known_id = candidates.pop(0)
                item.action = "renamed"

    # -- record ------------------------------------------------------------------------------
    def _commit(self, plan: _Plan) -> None:
        outcomes, bytes_read = plan.examined.result()
        self.bytes_hashed += bytes_read
        source_id = self.source_id
        seen_ids: list[int] = []  # live, same source: last_seen only
        revived_ids: list[int] = []  # soft-deleted, from another source, or unreadable now
        read: list[_Read] = []
        fresh: list[_Read] = []
        # Into an empty store, with no rules or scan tags, a new file needs nothing but its row.
        direct = self._rows_at_start == 0 and not (self.rules or self.tags)
        inserts: list[tuple[Any, ...]] = []
        seen_at = self.seen_at
        files = plan.batch.files
        for index, outcome in enumerate(outcomes):
            row = plan.known[index]
            if outcome is None:  # unchanged
                assert row is not None
                if row[7] is None and row[8] == source_id:
                    seen_ids.append(row[0])
                else:
                    revived_ids.append(row[0])
                continue
            if len(outcome) == 3:  # (None, reason, detail): could not be read
                _, reason, detail = outcome
                walked = files[index]
                self._note_skipped([SkippedEntry(walked.path, reason, detail)])
                if row is not None and reason != "vanished":
                    revived_ids.append(row[0])  # still there, just unreadable now
                continue
            sha256, kind, size, mtime_ns, device, inode = outcome
            path, raw = plan.shown[index]
            if direct and row is None:
                parent, _, name = path.rpartition("/")
                inserts.append(
                    (source_id, path, raw, parent, name, extension(name), files[index].depth,
                     size, mtime_ns, device, inode, sha256, kind, seen_at, seen_at)
                )  # fmt: skip
                continue
            item = _Read(
                files[index], path, raw, sha256, kind, size, mtime_ns, device, inode,
                None if row is None else row[0], "new" if row is None else "changed",
            )  # fmt: skip
            read.append(item)
            if row is None:
                fresh.append(item)
        self.files_hashed += len(read) + len(inserts)
        self.counts["new"] += len(inserts)
        if fresh:
            self._find_renames(fresh)
        self.counts["unchanged"] += len(seen_ids) + len(revived_ids)
        self._write(read, seen_ids, revived_ids, inserts)

    def _write(
        self,
        read: list[_Read],
        seen_ids: list[int],
        revived_ids: list[int],
        inserts: list[tuple[Any, ...]],
    ) -> None:
        """One transaction for the batch; new files get their kind tags in SQL, not Python.
        ``inserts`` holds the rows of new files already built by ``_commit``."""
        files, tags = self.store.files, self.store.tags
        seen_at, source_id = self.seen_at, self.source_id
        moves, updates, known_kinds = self._rows_of_read(read, inserts)
        with self.store.db.transaction():
            last_id = files.last_id() if inserts else 0
            self._maybe_defer_indexes(len(inserts))
            files.insert(inserts)
            files.move(moves)
            files.update_content(updates)
            files.mark_seen(seen_ids, seen_at)
            files.touch(revived_ids, seen_at, source_id)
            if inserts:
                tags.add_auto_for_inserted(last_id, source_id, seen_at, seen_at)
            if known_kinds:
                tags.replace_auto(known_kinds, seen_at)
            if self.rules or self.tags:
                self._tag_batch(read, seen_ids + revived_ids, last_id if inserts else None)

    def _rows_of_read(
        self, read: list[_Read], inserts: list[tuple[Any, ...]]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[int, str]]]:
        """The store rows of the files read (counted by action): new ones appended to
        ``inserts``; for known ones the (moves, content updates, kind tags)."""
        seen_at, source_id = self.seen_at, self.source_id
        moves: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        known_kinds: list[tuple[int, str]] = []
        for item in read:
            self.counts[item.action] += 1
            parent, _, name = item.path.rpartition("/")
            depth = item.walked.depth
            if item.known_id is None:
                inserts.append(
                    (source_id, item.path, item.raw_path, parent, name, extension(name), depth,
                     item.size, item.mtime_ns, item.device, item.inode, item.sha256, item.kind,
                     seen_at, seen_at)
                )  # fmt: skip
                continue
            if item.action == "renamed":
                moves.append(
                    (item.path, item.raw_path, parent, name, extension(name), depth, item.size,
                     item.mtime_ns, seen_at, source_id, item.known_id)
                )  # fmt: skip
            updates.append(
                (item.size, item.mtime_ns, item.device, item.inode, item.sha256, item.kind,
                 seen_at, source_id, item.known_id)
            )  # fmt: skip
            known_kinds.append((item.known_id, kind_tag(item.kind)))
        return moves, updates, known_kinds

    def _tag_batch(
        self, read: list[_Read], unchanged_ids: list[int], inserted_after: int | None
    ) -> None:
        """Apply the tag rules to the files read (not to changed ones) and the scan's manual
        tags to every file of the batch (``inserted_after``: the last id before its inserts)."""
        tags, seen_at = self.store.tags, self.seen_at
        new_ids = (
            self.store.files.inserted_since(inserted_after, self.source_id, seen_at)
            if inserted_after is not None
            else {}
        )
        ids = {
            item.path: item.known_id if item.known_id is not None else new_ids[item.path]
            for item in read
            if item.known_id is not None or item.path in new_ids
        }
        if self.rules:
            self._apply_rules([i for i in read if i.action != "changed"], ids)
        if self.tags:
            tagged_ids = unchanged_ids + list(ids.values())
            for tag in self.tags:
                tags.add_manual(tagged_ids, tag, seen_at)

    def _maybe_defer_indexes(self, new_count: int) -> None:
        self._inserted += new_count
        if not self._dropped_indexes and self._inserted >= max(
            DEFER_INDEXES_AFTER, self._rows_at_start // 10
        ):
            names = ["ix_files_sha256", "ix_files_source"]
            if self._rows_at_start == 0:  # no lookups by identity or parent in this scan
                names += ["ix_files_identity", "ix_files_parent"]
            self._dropped_indexes = self.store.files.drop_bulk_indexes(names)

    def _apply_rules(self, ruled: list[_Read], ids: dict[str, int]) -> None:
        """Tag new and moved files by the first matching rule (moved files are re-evaluated)."""
        ruled = [item for item in ruled if item.path in ids]
        moved_ids = [ids[i.path] for i in ruled if i.known_id is not None]
        if moved_ids:
            self.store.tags.clear_rule_tags(moved_ids)
        matches = self.rules.first_matches([item.walked.rel_path for item in ruled])
        rows = [
            (ids[item.path], rule.tag, rule.id)
            for item, rule in zip(ruled, matches, strict=True)
            if rule is not None
        ]
        self.store.tags.add_rule_tags(rows, self.seen_at)

    def _soft_delete_unseen(self) -> int:
        files = self.store.files
        now = time.time()
        with self.store.db.transaction():
            if self.matcher is None:
                return files.soft_delete_unseen(self.source_id, self.seen_at, now)
            # With patterns, only files the patterns select can have gone missing.
            deleted = 0
            after_id = 0
            prefix_len = len(self.root.rstrip("/")) + 1
            while page := files.unseen_page(self.source_id, self.seen_at, after_id, 5000):
                after_id = page[-1][0]
                gone = [fid for fid, path in page if self.matcher.matches(path[prefix_len:])]
                files.soft_delete(gone, now)
                deleted += len(gone)
            return deleted
