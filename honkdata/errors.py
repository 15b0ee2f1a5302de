"""The one exception type the CLI turns into a one-line message and a non-zero exit, and the one
warning type it prints as one line."""

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class HonkdataError(Exception):
    """A problem with the user's input, config or store, worth one clear line, not a traceback."""


class HonkdataWarning(UserWarning):
    """Something worth a line on stderr and in the manifest, not worth stopping for."""


@contextmanager
def recorded_warnings() -> Iterator[Callable[[], list[str]]]:
    """Record the HonkdataWarnings raised inside; yields a function returning their messages so far
    (for a manifest). They are shown when the block ends, also when it fails: a warning is worth
    most next to the error it explains."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", HonkdataWarning)
            yield lambda: [str(w.message) for w in caught if issubclass(w.category, HonkdataWarning)]
    finally:
        for w in caught:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
