"""A generator run in a thread of its own, a bounded queue ahead of its consumer: how
reading, decoding, aggregating and converting overlap (the compiled kernels, Arrow
conversion and Parquet encoding all release the GIL)."""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NoReturn, TypeVar

T = TypeVar("T")

_DONE = object()
QUEUE_DEPTH = 2
#: seconds close() waits for a stage to stop (see Background.close)
CLOSE_WAIT = 0.5
#: seconds a stage's thread waits at a time, on its input's queue or on a pipe, before
#: it looks again whether it is to stop (see stop_requested)
STOP_POLL = 0.1

#: in a Background's thread, `stopped`: whether that Background is closed or dropped
_worker = threading.local()


class Stopped(Exception):
    """Raised in a stage's thread that was waiting for input when its consumer stopped
    it: the thread unwinds (closing its files) instead of waiting on."""


def stop_requested() -> bool:
    """Whether the Background whose thread calls this is closed or dropped (never, in
    any other thread): what a wait on input that may not come (a pipe held open, a
    stage before this one waiting on such a pipe) looks at between its waits."""
    stopped = getattr(_worker, "stopped", None)
    return stopped is not None and stopped()


class Background(Iterator[T]):
    """A generator run in a thread from the moment this is made, a bounded queue ahead
    of the consumer; its errors surface in the consumer, and a consumer that closes or
    drops it stops it. Starting at once lets a caller begin reading and finish getting
    ready (imports, opening outputs) while the first batches are on their way."""

    def __init__(self, items: Iterator[T], name: str, depth: int = QUEUE_DEPTH) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        # the thread holds the queue, the event and a weak reference to self, never self:
        # dropping self stops it (see _stopped)
        stopped = _stopped(self._stop, weakref.ref(self))
        self._worker = threading.Thread(target=_produce, args=(items, self._queue, stopped),
                                        name=name, daemon=True)
        self._worker.start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._stop.is_set():
            raise StopIteration
        item = self._get()
        if item is _DONE:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            _raise(item.take())
        return item

    def _get(self) -> object:
        """The next item, waited for STOP_POLL at a time. Taken by another stage's
        thread, that stage looks between waits whether it was stopped itself: a stage
        that waits here on one that waits on a pipe held open (source._Awaited) would
        otherwise never see its own stop, nor hand it on by closing this one. Taken in
        the main thread, the waking lets Python run a signal handler: it runs them in the
        main thread only, and a Ctrl-C or SIGTERM delivered to another thread (asleep in
        a read of a pipe) woke neither that thread nor the main one, asleep in an
        untimed wait, and the command waited for ever, the interrupt unseen."""
        while True:
            try:
                return self._queue.get(timeout=STOP_POLL)
            except queue.Empty:
                if stop_requested():
                    raise Stopped("the consumer stopped the stage") from None

    def close(self) -> None:
        """Stop the worker. One waiting on a pipe its writer holds open sees the stop
        within STOP_POLL (source._Awaited, _get); one blocked on other input that does
        not come (a device, a file object's read) cannot see it until the input moves:
        it is a daemon thread, left to end then, so that an interrupted command exits
        instead of waiting."""
        self._stop.set()
        self._worker.join(CLOSE_WAIT)


def _stopped(stop: threading.Event, owner: weakref.ref) -> Callable[[], bool]:
    """Whether the worker is to stop: closed, or its Background dropped. The worker
    sees the drop through the weak reference, instead of a __del__ setting the event:
    a finalizer runs in whichever thread drops the last reference, often the main one,
    and a KeyboardInterrupt landing in it printed "Exception ignored in ..." and was
    swallowed, the command carrying on as if Ctrl-C had not been pressed."""
    def stopped() -> bool:
        return stop.is_set() or owner() is None
    return stopped


def _produce(items: Iterator[object], q: queue.Queue, stopped: Callable[[], bool]) -> None:
    _worker.stopped = stopped  # for stop_requested() in this thread

    def put(item: object) -> bool:
        while not stopped():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    try:
        for item in items:
            if not put(item):
                return
    except BaseException as exc:  # handed to the consumer, raised there
        put(_Failure(exc))
        return
    finally:
        if stopped():
            items.close()  # type: ignore[attr-defined]
    put(_DONE)


def _raise(exc: BaseException) -> NoReturn:
    """Raise `exc` from a frame that keeps no reference to it. A frame holding the
    exception it raises (a local, or the _Failure that carried it) is in the
    exception's own traceback: a reference cycle, which kept the failed read's stages
    (its 4 MiB buffer, the flow table, the decoder) alive until the cycle collector's
    next full pass, long after the caller had dropped the exception."""
    try:
        raise exc
    finally:
        del exc


@dataclass
class _Failure:
    exc: BaseException | None

    def take(self) -> BaseException:
        """The exception, no longer held here (see _raise)."""
        exc, self.exc = self.exc, None
        assert exc is not None
        return exc
