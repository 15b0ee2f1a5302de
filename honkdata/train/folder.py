"""The model folder (DESIGN.md, "Models"): written whole or not at all, read only if it is ours.

    <model dir>/
      model.safetensors | adapter_model.safetensors (+ adapter_config.json)   # the recipe's weights
      ...             what else the recipe needs to load them: the encoder's heads.safetensors, a
                      base model's config.json and tokenizer files, the baseline's vocabularies
      labels.json     the label space and its ids
      config.yaml     the resolved recipe config (its `recipe` key names the recipe that loads it)
      metrics.json    validation and test task metrics
      README.md       the model card with the lineage

Weights are safetensors only: a pickle in a model folder runs code when it is loaded, and models
travel between machines and people.
"""

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import yaml

from honkdata.errors import HonkdataError
from honkdata.train.labels import LabelSpace

LABELS_FILE = "labels.json"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
CARD_FILE = "README.md"
# A LoRA recipe's adapter, beside the rest of the model folder (or merged away, `merge: true`).
ADAPTER_WEIGHTS, ADAPTER_CONFIG = "adapter_model.safetensors", "adapter_config.json"
# Files that could run code when loaded: never written, refused when found.
_UNSAFE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".joblib", ".ckpt")


def write_json(path: Path, data: object) -> None:
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def copy_merged(folder: Path, dest: Path, config: dict, save_merged: Callable[[str], None]) -> None:
    """Copy the model folder at `folder` into `dest` as `merge: true` would have written it: every
    file but the adapter and the config, the merged weights (`save_merged(dest)`), the config saying
    `merge: true`. What delivery ships of a LoRA model: it loads without its base model."""
    for path in Path(folder).iterdir():
        if path.is_file() and path.name not in (ADAPTER_WEIGHTS, ADAPTER_CONFIG, CONFIG_FILE):
            shutil.copy2(path, dest / path.name)
    save_merged(str(dest))
    (dest / CONFIG_FILE).write_text(yaml.safe_dump({**config, "merge": True}, sort_keys=False))


def read_model_config(folder: Path) -> tuple[dict, LabelSpace]:
    """The config and label space of a honkdata model folder; one line if `folder` is not one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HonkdataError(f"no model folder at {folder}")
    if not (folder / CONFIG_FILE).is_file() or not (folder / LABELS_FILE).is_file():
        raise HonkdataError(f"{folder} is not a honkdata model (no {CONFIG_FILE} and {LABELS_FILE})")
    if unsafe := sorted(p.name for p in folder.iterdir() if p.suffix in _UNSAFE_SUFFIXES):
        raise HonkdataError(f"{folder} holds {', '.join(unsafe)}: honkdata loads safetensors weights only")
    try:
        config = yaml.safe_load((folder / CONFIG_FILE).read_text())
        labels = LabelSpace.from_dict(orjson.loads((folder / LABELS_FILE).read_bytes()))
    except (yaml.YAMLError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise HonkdataError(f"{folder} is not a readable honkdata model: {str(e).splitlines()[0]}") from None
    if not isinstance(config, dict) or "recipe" not in config:
        raise HonkdataError(f"{folder}/{CONFIG_FILE} names no recipe: not a honkdata model")
    return config, labels


@contextmanager
def staged_model_folder(out: Path) -> Iterator[Path]:
    """Yield a staging folder beside `out`; on a clean exit it replaces `out` in one rename.

    A failed or killed run leaves `out` as it was (a previous model stays usable). An `out` that
    exists and is not a honkdata model is refused before any work: it could be anything of the user's.
    """
    out = Path(out)
    if out.exists() and not (out / LABELS_FILE).is_file():
        raise HonkdataError(f"{out} exists and is not a honkdata model; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.staging-*"):  # left by killed runs
        if not _pid_alive(stale.name.rsplit("-", 1)[-1]):
            shutil.rmtree(stale, ignore_errors=True)
    staging = out.parent / f".{out.name}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        _readable(staging)
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            os.rename(out, old)
        os.rename(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _readable(folder: Path) -> None:
    """Files as readable as the user's umask allows, like anything else they write: libraries that
    go through temporary files leave them owner-only, and a model is meant to be shared."""
    umask = os.umask(0)
    os.umask(umask)
    for path in folder.rglob("*"):
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
