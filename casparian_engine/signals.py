"""Signal handlers that never take a lock in the interrupted thread.

A Python signal handler runs in the main thread between two bytecodes, possibly while that
thread holds the lock inside a ``threading.Event`` (in ``wait`` or ``set``); a handler calling
``Event.set`` then waits for a lock its own thread holds, for ever. Handlers installed here only
put the signal number on a ``queue.SimpleQueue`` (its ``put`` is reentrant: documented safe in a
signal handler), and a relay thread runs the real action.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable, Mapping
from typing import Any

_STOP_RELAY = -1


def relay_signals(actions: Mapping[int, Callable[[], None]]) -> Callable[[], None]:
    """Run ``actions[signum]`` on a relay thread when the process gets ``signum``; returns a
    function that restores the previous handlers and ends the relay. Main thread only."""
    signals: queue.SimpleQueue[int] = queue.SimpleQueue()

    def relay() -> None:
        while (signum := signals.get()) != _STOP_RELAY:
            actions[signum]()

    def enqueue(signum: int, frame: Any) -> None:
        signals.put(signum)

    thread = threading.Thread(target=relay, name="signal-relay", daemon=True)
    thread.start()
    previous = {signum: signal.signal(signum, enqueue) for signum in actions}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signals.put(_STOP_RELAY)
        thread.join()

    return restore
