"""The scan: walk a folder, compare with the inventory, hash what is new or changed, record it all.

Per batch of a few thousand files: one ``IN`` lookup by path, one by inode for rename candidates,
hashing (in worker processes for big scans, overlapped with walking the next batch), then one
transaction of ``executemany`` writes. Unchanged files (same size, mtime and inode) are not re-read.
Files not seen by a complete scan are soft-deleted; a rename keeps the row, so it keeps its tags.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ..events import Event, EventSink, Throttle, check_cancel, ignore_events
from ..store import Store
from ..store.files import KnownFile, KnownRow
from .classify import kind_tag
from .hashing import HashOutcome, hash_batch
from .rules import PathMatcher, RuleSet
from .walk import (
    SkippedEntry,
    WalkBatch,
    WalkedFile,
    check_root,
    display_path,
    walk_files,
)
from .window import CommitWindow
from .workers import HashWorkerPool

BATCH_SIZE = 2000
# Drop the SHA-256 index while inserting once this many files are new and they are at least a
# tenth of the table: rebuilding it once (~1 µs/row) is then cheaper than random inserts.
DEFER_HASH_INDEX_AFTER = 20_000
SKIPPED_EXAMPLES_KEPT = 50
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class ScanProgress(Event):
    """Throttled progress of a running scan."""

    root: str
    files_seen: int
    files_hashed: int
    bytes_hashed: int
    skipped_count: int
    elapsed_s: float


@dataclass(frozen=True)
class ScanSummary(Event):
    """What a finished scan found; ``skipped`` counts entries per reason."""

    root: str
    source_id: int
    new: int
    changed: int
    unchanged: int
    renamed: int
    deleted: int
    excluded: int
    skipped: dict[str, int]
    skipped_examples: tuple[SkippedEntry, ...]
    bytes_hashed: int
    elapsed_s: float

    @property
    def files_seen(self) -> int:
        return self.new + self.changed + self.unchanged + self.renamed

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "source_id": self.source_id,
            "files_seen": self.files_seen,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "renamed": self.renamed,
            "deleted": self.deleted,
            "excluded": self.excluded,
            "skipped": self.skipped_total,
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "skipped_examples": [
                {"path": display_path(e.path)[0], "reason": e.reason, "detail": e.detail}
                for e in self.skipped_examples
            ],
            "bytes_hashed": self.bytes_hashed,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def _int64(value: int) -> int:
    """Device and inode numbers are unsigned 64-bit; store the ones past int64 as negatives."""
    return value - 2**64 if value > _INT64_MAX else value


@dataclass(slots=True)
class _Item:
    """One new, changed or moved file and what the scan will write for it."""

    walked: WalkedFile
    path: str
    raw_path: bytes | None
    parent: str
    ext: str
    device: int
    inode: int
    known: KnownFile | None = None
    action: str = "new"  # "new" | "changed" | "renamed"
    needs_hash: bool = True


@dataclass
class _Plan:
    """A batch compared with the store: what to hash and write, and which ids were seen as is."""

    items: list[_Item] = field(default_factory=list)
    seen_ids: list[int] = field(default_factory=list)  # live, same source: last_seen only
    revived_ids: list[int] = field(default_factory=list)  # deleted or from another source
    hashes: Future[tuple[list[HashOutcome], int]] | None = None

    @property
    def unchanged_count(self) -> int:
        return len(self.seen_ids) + len(self.revived_ids)


class _InlineFuture(Future[tuple[list[HashOutcome], int]]):
    """A hash job run in this process when it is asked for (small scans)."""

    def __init__(self, paths_and_exts: list[tuple[str, str]]) -> None:
        super().__init__()
        self._work = paths_and_exts

    def result(self, timeout: float | None = None) -> tuple[list[HashOutcome], int]:
        return hash_batch(self._work)


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
        self._pool: HashWorkerPool | None = None

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> ScanSummary:
        started = time.monotonic()
        self.seen_at = time.time()
        with self.store.db.transaction():
            self.source_id = self.store.files.upsert_source(self.root, self.seen_at)
        files = self.store.files
        files.tune_for_scan()
        with self.store.db.transaction():
            files.ensure_hash_index()  # after a scan that was killed while it was dropped
            self._rows_at_start = files.last_id()
        self._inserted = 0
        self._hash_index_dropped = False
        pending: _Plan | None = None
        try:
            with CommitWindow(self.store.db) as window:
                for batch in walk_files(self.root, self.matcher, self.batch_size):
                    check_cancel(self.cancel)
                    self._note_skipped(batch.skipped)
                    self.counts["excluded"] += batch.excluded_count
                    self._emit_progress(started, len(batch.files))
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
                self._pool.close()
            if self._hash_index_dropped:
                with self.store.db.transaction():
                    files.ensure_hash_index()
        with self.store.db.transaction():
            self.store.files.refresh_source_count(self.source_id)
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

    def _emit_progress(self, started: float, batch_files: int) -> None:
        if self._throttle.ready():
            seen = sum(self.counts[k] for k in ("new", "changed", "unchanged", "renamed"))
            self.on_event(
                ScanProgress(
                    self.root,
                    seen + batch_files,
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
        """Compare a batch with the store: one lookup, then set and dict work only."""
        plan = _Plan()
        shown = [display_path(w.path) for w in batch.files]
        known_by_path = self._lookup(batch, [path for path, _ in shown])
        source_id = self.source_id
        unknown: list[_Item] = []
        for walked, (path, raw) in zip(batch.files, shown, strict=True):
            device, inode = walked.device, walked.inode
            if device > _INT64_MAX or inode > _INT64_MAX:
                device, inode = _int64(device), _int64(inode)
            known = known_by_path.get(path)
            if known is not None and known[3:7] == (walked.size, walked.mtime_ns, device, inode):
                if known[7] is None and known[8] == source_id:
                    plan.seen_ids.append(known[0])
                else:
                    plan.revived_ids.append(known[0])
                continue
            parent, _, name = path.rpartition("/")
            item = _Item(walked, path, raw, parent, _ext(name), device, inode)
            if known is None:
                unknown.append(item)
            else:
                item.known = KnownFile(*known[:8])
                item.action = "changed"
                plan.items.append(item)
        if unknown:
            self._find_renames(unknown)
            plan.items.extend(unknown)
        to_hash = [(i.walked.path, i.ext) for i in plan.items if i.needs_hash]
        if to_hash:
            plan.hashes = self._submit(to_hash)
        return plan

    def _lookup(self, batch: WalkBatch, paths: list[str]) -> dict[str, KnownRow]:
        """Stored rows for a batch: by parent for folders listed whole, by path for the rest."""
        files = self.store.files
        whole = batch.whole_folders
        rows = files.known_in_folders(sorted(whole))
        partial = [path for path in paths if path.rpartition("/")[0] not in whole]
        if partial:
            rows.extend(files.known_by_paths(partial))
        return {row[1]: row for row in rows}

    def _find_renames(self, unknown: list[_Item]) -> None:
        """Mark new paths whose (device, inode) belongs to a file stored before this scan whose
        path is gone (into an empty store nothing can have been renamed)."""
        if self._rows_at_start == 0:
            return
        inodes_by_device: dict[int, list[int]] = {}
        for item in unknown:
            inodes_by_device.setdefault(item.device, []).append(item.inode)
        by_identity: dict[tuple[int, int], list[KnownFile]] = {}
        for device, inodes in inodes_by_device.items():
            for known in self.store.files.known_by_identity(device, inodes, self._rows_at_start):
                by_identity.setdefault((known.device, known.inode), []).append(known)
        if not by_identity:
            return
        claimed: set[int] = set()
        for item in unknown:
            walked = item.walked
            for known in by_identity.get((item.device, item.inode), ()):
                if known.id in claimed or os.path.lexists(known.os_path):
                    continue
                claimed.add(known.id)
                item.known = known
                item.action = "renamed"
                item.needs_hash = known.size != walked.size or known.mtime_ns != walked.mtime_ns
                break

    def _submit(self, work: list[tuple[str, str]]) -> Future[tuple[list[HashOutcome], int]]:
        if self._pool is None and self.hash_workers > 1 and len(work) * 2 >= self.batch_size:
            self._pool = HashWorkerPool(self.hash_workers)  # only big scans pay the start-up
        if self._pool is None:
            return _InlineFuture(work)
        return self._pool.submit(work)

    # -- record ------------------------------------------------------------------------------
    def _commit(self, plan: _Plan) -> None:
        outcomes: list[HashOutcome] = []
        if plan.hashes is not None:
            outcomes, bytes_read = plan.hashes.result()
            self.bytes_hashed += bytes_read
            self.files_hashed += len(outcomes)
        outcome_iter = iter(outcomes)
        source_id, seen_at = self.source_id, self.seen_at
        inserts: list[tuple[Any, ...]] = []
        content_updates: list[tuple[Any, ...]] = []
        moves: list[tuple[Any, ...]] = []
        known_kinds: list[tuple[int, str]] = []
        revived_ids = list(plan.revived_ids)
        recorded: list[_Item] = []
        self.counts["unchanged"] += plan.unchanged_count
        for item in plan.items:
            walked, known = item.walked, item.known
            sha256: str | None = None
            kind: str | None = None
            if item.needs_hash:
                sha256, kind_or_reason, detail = next(outcome_iter)
                if sha256 is None:
                    self._note_skipped([SkippedEntry(walked.path, kind_or_reason, detail or "")])
                    if known is not None and kind_or_reason != "vanished":
                        revived_ids.append(known.id)  # still there, just unreadable now
                    continue
                kind = kind_or_reason
            self.counts[item.action] += 1
            recorded.append(item)
            name = item.path[len(item.parent) + 1 :]
            if known is None:
                inserts.append(
                    (source_id, item.path, item.raw_path, item.parent, name, item.ext,
                     walked.depth, walked.size, walked.mtime_ns, item.device, item.inode, sha256,
                     kind, seen_at, seen_at)
                )  # fmt: skip
                continue
            if item.action == "renamed":
                moves.append(
                    (item.path, item.raw_path, item.parent, name, item.ext, walked.depth,
                     walked.size, walked.mtime_ns, seen_at, source_id, known.id)
                )  # fmt: skip
            if item.needs_hash:
                assert kind is not None
                known_kinds.append((known.id, kind_tag(kind)))
                content_updates.append(
                    (walked.size, walked.mtime_ns, item.device, item.inode, sha256, kind, seen_at,
                     source_id, known.id)
                )  # fmt: skip
            elif item.action != "renamed":
                revived_ids.append(known.id)
        self._write(plan, inserts, moves, content_updates, revived_ids, known_kinds, recorded)

    def _write(
        self,
        plan: _Plan,
        inserts: list[tuple[Any, ...]],
        moves: list[tuple[Any, ...]],
        content_updates: list[tuple[Any, ...]],
        revived_ids: list[int],
        known_kinds: list[tuple[int, str]],
        recorded: list[_Item],
    ) -> None:
        """One transaction for the batch; new files get their kind tags in SQL, not Python."""
        files, tags, seen_at = self.store.files, self.store.tags, self.seen_at
        with self.store.db.transaction():
            last_id = files.last_id() if inserts else 0
            self._maybe_defer_hash_index(len(inserts))
            files.insert(inserts)
            files.move(moves)
            files.update_content(content_updates)
            files.mark_seen(plan.seen_ids, seen_at)
            files.touch(revived_ids, seen_at, self.source_id)
            if inserts:
                tags.add_auto_for_inserted(last_id, self.source_id, seen_at, seen_at)
            if known_kinds:
                tags.replace_auto(known_kinds, seen_at)
            if not (self.rules or self.tags):
                return
            new_ids = files.inserted_since(last_id, self.source_id, seen_at) if inserts else {}
            ids = {
                item.path: item.known.id if item.known else new_ids[item.path]
                for item in recorded
                if item.known or item.path in new_ids
            }
            if self.rules:
                self._apply_rules([i for i in recorded if i.action != "changed"], ids)
            if self.tags:
                seen_ids = plan.seen_ids + plan.revived_ids + list(ids.values())
                for tag in self.tags:
                    tags.add_manual(seen_ids, tag, seen_at)

    def _maybe_defer_hash_index(self, new_count: int) -> None:
        self._inserted += new_count
        if not self._hash_index_dropped and self._inserted >= max(
            DEFER_HASH_INDEX_AFTER, self._rows_at_start // 10
        ):
            self._hash_index_dropped = self.store.files.drop_hash_index()

    def _apply_rules(self, ruled: list[_Item], ids: dict[str, int]) -> None:
        """Tag new and moved files by the first matching rule (moved files are re-evaluated)."""
        ruled = [item for item in ruled if item.path in ids]
        moved_ids = [ids[i.path] for i in ruled if i.known is not None]
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


def _ext(path: str) -> str:
    """Lower-case extension with its dot ('.csv'); '' for none or a leading-dot name."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""
