"""Library chatter a honkdata user can do nothing about, kept off their terminal."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def peft_quietly() -> Iterator[None]:
    """peft calls a transformers method that transformers 5 deprecates (`is_gradient_checkpointing`):
    a FutureWarning on every train and load that no user can act on. Loading progress bars (one per
    weight file) are noise on `honkdata predict`'s stderr too."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield
