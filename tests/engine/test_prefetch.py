import threading

import pytest

from honkdata.engine.prefetch import prefetch
from honkdata.errors import HonkdataError


def test_prefetch_keeps_order_and_items():
    assert list(prefetch(iter(range(1000)), depth=3)) == list(range(1000))


def test_errors_of_the_reader_surface_in_the_consumer():
    def broken():
        yield 1
        raise HonkdataError("source not found: x")

    got = []
    with pytest.raises(HonkdataError, match="source not found"):
        for item in prefetch(broken()):
            got.append(item)
    assert got == [1]


def test_stopping_early_ends_the_reader_thread():
    for item in prefetch(iter(range(10_000)), depth=1):
        if item == 3:
            break
    assert not [t for t in threading.enumerate() if t.name == "honkdata-prefetch"]
