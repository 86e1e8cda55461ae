"""Examine (stat + hash) workers: plain ``python -m casparian_engine.scout.hashing`` processes.

Subprocesses rather than ``multiprocessing`` so a scan never re-imports the caller's ``__main__``
and never forks a threaded process (the TUI). Each worker gets one slice of a batch. Per worker, a
writer thread feeds its stdin (a batch is bigger than a pipe buffer: writing it from the scan would
block until the worker finished the previous one) and a reader thread turns its answers into
futures, so the scan never waits on a pipe and the workers always have the next batch queued.
"""

from __future__ import annotations

import collections
import pickle
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import IO, Any

from .hashing import Examined, ExamineJob, examine_packed

HashResult = tuple[list[Examined], int]


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "casparian_engine.scout.hashing"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.pending: collections.deque[Future[HashResult]] = collections.deque()
        self.lock = threading.Lock()
        self.outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.reader = threading.Thread(target=self._read, daemon=True, name="scan-hash-reader")
        self.reader.start()
        self.writer = threading.Thread(target=self._write, daemon=True, name="scan-hash-writer")
        self.writer.start()

    def _write(self) -> None:
        stdin: IO[bytes] | None = self.process.stdin
        assert stdin is not None
        try:
            while (message := self.outbox.get()) is not None:
                stdin.write(message)
                stdin.flush()
        except OSError:
            pass  # the worker died: the reader fails the pending futures
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def _read(self) -> None:
        stdout: IO[bytes] | None = self.process.stdout
        assert stdout is not None
        while True:
            try:
                result = pickle.load(stdout)
            except (EOFError, pickle.UnpicklingError, OSError) as exc:
                with self.lock:
                    while self.pending:
                        self.pending.popleft().set_exception(
                            RuntimeError(f"a hash worker stopped unexpectedly: {exc!r}")
                        )
                return
            with self.lock:
                future = self.pending.popleft()
            future.set_result(result)

    def submit(self, job: ExamineJob) -> Future[HashResult]:
        future: Future[HashResult] = Future()
        message = pickle.dumps(job.packed(), protocol=pickle.HIGHEST_PROTOCOL)
        with self.lock:
            self.pending.append(future)
        self.outbox.put(message)
        return future

    def peak_rss_mb(self) -> float | None:
        """The worker's peak resident memory (Linux ``VmHWM``), while it is still running."""
        try:
            with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def close(self) -> None:
        self.outbox.put(pickle.dumps(None))
        self.outbox.put(None)
        self.writer.join(timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=10)


class HashWorkerPool:
    """A few hash subprocesses; ``submit`` splits a batch across them and keeps the order."""

    def __init__(self, worker_count: int) -> None:
        self.workers = [_Worker() for _ in range(worker_count)]

    def submit(self, job: ExamineJob) -> Future[HashResult]:
        share = -(-len(job) // len(self.workers))
        parts = [
            worker.submit(job.part(start, start + share))
            for worker, start in zip(self.workers, range(0, len(job), share), strict=False)
        ]
        return CombinedFuture(parts)

    def peak_rss_mb(self) -> float | None:
        """The largest peak resident memory of the workers (None where it cannot be read)."""
        peaks = [peak for worker in self.workers if (peak := worker.peak_rss_mb()) is not None]
        return max(peaks) if peaks else None

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    def __enter__(self) -> HashWorkerPool:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class CombinedFuture(Future[HashResult]):
    """The outcomes of one batch split across workers, in the batch's order."""

    def __init__(self, parts: list[Future[HashResult]]) -> None:
        super().__init__()
        self._parts = parts

    def result(self, timeout: float | None = None) -> HashResult:
        outcomes: list[Examined] = []
        total = 0
        for part in self._parts:
            part_outcomes, part_bytes = part.result(timeout)
            outcomes.extend(part_outcomes)
            total += part_bytes
        return outcomes, total


class InlineJob(Future[HashResult]):
    """An examine job run in this process when its result is asked for (small scans)."""

    def __init__(self, job: ExamineJob) -> None:
        super().__init__()
        self._job = job

    def result(self, timeout: float | None = None) -> HashResult:
        return examine_packed(self._job.packed())
