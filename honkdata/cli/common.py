"""What every command shares: the two consoles, one-line errors and warnings, Ctrl-C and SIGTERM,
the common options, and the config and store every command starts from."""

import functools
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console, ConsoleDimensions

from honkdata.errors import HonkdataError, HonkdataWarning

if TYPE_CHECKING:  # the CLI imports the heavy modules inside each command, so `--help` stays fast
    from honkdata.config import BuildConfig
    from honkdata.snapshot.store import SnapshotStore

# Wider than any line we print: rich pads nothing we print to the full width, so this costs nothing.
_UNWRAPPED = 100_000


class _Console(Console):
    """On a terminal, the terminal's width. In a pipe or a CI log rich would assume 80 columns, wrap
    every longer line and cut table cells short; there a line is as long as it needs to be."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(_UNWRAPPED, size.height)


out = _Console()
err = _Console(stderr=True)

RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root", help="snapshot store [default: $HONKDATA_ROOT, else data/snapshots in the current folder]"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON document on stdout, for jobs")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="build config YAML; paths in it are relative to its folder [default: the shipped build.yaml]",
    ),
]

ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        min=1,
        help="CPU threads for the model's math [default: one per core]; 1 is fastest on a machine "
        "busy with other jobs",
    ),
]


def use_threads(n: int | None) -> None:
    """Set the math libraries' thread count, before they are imported (they read it once, then)."""
    if n is None:
        return
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(n)
    if (torch := sys.modules.get("torch")) is not None:
        torch.set_num_threads(n)


_signals: list[int] = []
_STOPPED = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


def _stop(signum: int, frame: object) -> None:
    """Ctrl-C and SIGTERM (a scheduler stopping a job) unwind the same way: staging folders and temp
    files go. The signal is remembered because what unwinds is not always KeyboardInterrupt (DuckDB
    turns it into "Query interrupted")."""
    _signals.append(signum)
    raise KeyboardInterrupt


_python_showwarning = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    if issubclass(category, HonkdataWarning):
        err.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)
    else:
        _python_showwarning(message, category, *args, **kwargs)


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input ends in one line on stderr and exit code 2, never a traceback; a warning is one line."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _signals.clear()
        if threading.current_thread() is threading.main_thread():  # only there can handlers be set
            for signum in _STOPPED:
                signal.signal(signum, _stop)
        warnings.showwarning = _show_warning
        try:
            return command(*args, **kwargs)
        except BaseException as e:
            if isinstance(e, typer.Exit) or not (_signals or isinstance(e, KeyboardInterrupt)):
                _report(e)
                raise
            signum = _signals[0] if _signals else signal.SIGINT
            err.print(f"{_STOPPED[signum]}; nothing was published")
            raise typer.Exit(128 + signum) from None

    return wrapper


def _report(error: BaseException) -> None:
    """One line for the errors a user can act on; anything else is a bug and keeps its traceback."""
    if isinstance(error, HonkdataError):
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
    elif isinstance(error, OSError):
        err.print(
            f"[red]error:[/red] {error.strerror or error}: {error.filename or ''}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        return
    raise typer.Exit(2) from None


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def load_config(path: Path | None, **overrides: Any) -> "BuildConfig":
    """The config at `path`, else the shipped build.yaml (found from any directory)."""
    from honkdata.config import load_config
    from honkdata.resources import shipped_config

    return load_config(path or shipped_config("build.yaml"), **overrides)


def open_store(root: Path | None) -> "SnapshotStore":
    from honkdata.config import default_root
    from honkdata.snapshot.store import SnapshotStore

    return SnapshotStore(root or default_root())
