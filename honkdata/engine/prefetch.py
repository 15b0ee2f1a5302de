"""The local engine's one trick: read the next batch on a second thread while this one is processed.

Arrow's readers and compute kernels release the GIL, so on two cores parsing the next chunk
overlaps the Python stages of the current one.
"""

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Iterate `items` on a background thread, at most `depth` ahead; errors surface here."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                buffer.put(item)
        except BaseException as error:  # handed to the consumer, which re-raises it
            buffer.put(error)
            return
        buffer.put(_DONE)

    worker = threading.Thread(target=produce, daemon=True, name="honkdata-prefetch")
    worker.start()
    try:
        while (item := buffer.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full buffer
            try:
                buffer.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.01)
