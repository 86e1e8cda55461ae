"""The daemon behind ``casparian start``: watch folders, queue new and changed files, keep the
worker pool serving the queue, stop gracefully on SIGTERM or Ctrl+C.

Changes arrive from ``watchfiles``; a periodic full rescan (``rescan_interval_s``) catches what
file-system events miss (network file systems). Each round rescans the watched folders into the
inventory and queues files matched by registered parsers; history keeps work from repeating.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from ..config import Config
from ..events import Event, EventSink, ignore_events
from ..signals import relay_signals
from ..store import Store
from .matching import EnqueueReport, enqueue_matching
from .pool import PoolOptions, PoolSummary, WorkerPool


class DaemonRound(Event):
    """One rescan-and-enqueue round finished."""

    def __init__(self, changed_paths: int, reports: list[EnqueueReport]) -> None:
        self.changed_paths = changed_paths
        self.reports = reports

    @property
    def queued(self) -> int:
        return sum(r.queued for r in self.reports)


def rescan_and_enqueue(store: Store, config: Config) -> list[EnqueueReport]:
    """Rescan every watched folder, then queue what registered parsers match."""
    from ..scout.scan import Scanner

    for folder in config.settings.watch_folders:
        Scanner(store, folder).run()
    if not store.parsers.all():
        return []
    return enqueue_matching(store)


def _install_stop_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGTERM sets ``stop`` (main thread only); returns a function restoring the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    return relay_signals({signal.SIGTERM: stop.set})


def run_daemon(
    store: Store,
    config: Config,
    workers: int | None = None,
    on_event: EventSink = ignore_events,
    stop: threading.Event | None = None,
) -> PoolSummary:
    """Serve until ``stop`` is set (SIGTERM, Ctrl+C); returns the pool's summary."""
    import watchfiles

    stop = stop or threading.Event()
    settings = config.settings
    options = PoolOptions(workers=workers, follow=True)
    pool = WorkerPool(config, options)
    summaries: list[PoolSummary] = []
    pool_thread = threading.Thread(
        target=lambda: summaries.append(pool.run(on_event, stop)), name="worker-pool"
    )
    restore = _install_stop_signals(stop)
    try:
        on_event(DaemonRound(0, rescan_and_enqueue(store, config)))
        pool_thread.start()
        for changes in watchfiles.watch(
            *settings.watch_folders,
            stop_event=stop,
            rust_timeout=int(settings.rescan_interval_s * 1000),
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            on_event(DaemonRound(len(changes), rescan_and_enqueue(store, config)))
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        restore()
        if pool_thread.ident is not None:
            pool_thread.join()
    if not summaries:
        raise RuntimeError("the worker pool stopped without a summary; see the worker output")
    return summaries[0]
