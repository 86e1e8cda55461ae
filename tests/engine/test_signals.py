"""Signal handlers relay to a thread: a signal arriving while the main thread holds an Event's
lock (as ``Event.wait`` and ``Event.set`` do) still sets the event, instead of deadlocking."""

from __future__ import annotations

import os
import signal
import threading

from casparian_engine.signals import relay_signals


def test_a_signal_sets_an_event_whose_lock_the_interrupted_thread_holds() -> None:
    event = threading.Event()
    restore = relay_signals({signal.SIGUSR1: event.set})
    try:
        with event._cond:  # held as inside Event.wait/set; a handler calling set() would hang
            os.kill(os.getpid(), signal.SIGUSR1)  # the handler runs in this thread, here
            assert not event.is_set()  # the relay waits for the lock, not this thread
        assert event.wait(timeout=60)
    finally:
        restore()


def test_restore_puts_back_the_previous_handler() -> None:
    before = signal.getsignal(signal.SIGUSR1)
    restore = relay_signals({signal.SIGUSR1: lambda: None})
    assert signal.getsignal(signal.SIGUSR1) is not before
    restore()
    assert signal.getsignal(signal.SIGUSR1) is before
