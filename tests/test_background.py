"""Background: a generator in a thread of its own, ahead of its consumer."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from portannot.background import Background


class _Signalled(Exception):
    pass


def _raise(_signum, _frame):
    raise _Signalled


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_a_signal_given_to_the_worker_reaches_a_waiting_consumer():
    """A process's signal may be delivered to any of its threads, and Python runs the
    handler in the main thread only: one delivered to a worker asleep in a read left the
    main thread asleep in its untimed wait on the queue for ever (`portannot flows` on a
    pipe held open, Ctrl-C: the command hung). The consumer now wakes and the handler
    raises in it."""
    release = threading.Event()

    def waiting():
        release.wait()
        yield 1

    previous = signal.signal(signal.SIGUSR1, _raise)
    items = Background(waiting(), "test-worker")
    main = threading.main_thread().ident
    # the signal to the worker; a second, to the main thread, ends the wait of a
    # consumer that never saw the first (the failure), so that the test ends
    to_worker = threading.Timer(0.3, signal.pthread_kill, (items._worker.ident, signal.SIGUSR1))
    rescue = threading.Timer(5.0, signal.pthread_kill, (main, signal.SIGUSR1))
    started = time.monotonic()
    try:
        to_worker.start()
        rescue.start()
        with pytest.raises(_Signalled):
            next(items)
        waited = time.monotonic() - started
    finally:
        rescue.cancel()
        to_worker.cancel()
        signal.signal(signal.SIGUSR1, previous)
        release.set()
        items.close()
    assert waited < 2.0, f"the handler ran only after {waited:.1f} s"


def test_items_and_their_end_arrive_in_order():
    items = Background(iter(range(5)), "test-order")
    assert list(items) == [0, 1, 2, 3, 4]
