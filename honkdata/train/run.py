"""One training run: what every recipe's loop shares, and `train()`, the Python API behind
`honkdata train`.

The recipe owns its loop; the run owns everything around it, once: seeds, validation task metrics
each epoch and early stopping on them, resumable checkpoints, throughput, tracking, the final
validation and test metrics, the model card, and publishing the model folder atomically.
"""

import platform
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import yaml
from pydantic import BaseModel

import honkdata
from honkdata.errors import HonkdataError
from honkdata.evaluate.metrics import HEADLINE, score
from honkdata.recipes import get_recipe
from honkdata.train.card import model_card
from honkdata.train.examples import TrainingData, load_training_data
from honkdata.train.folder import (
    CARD_FILE,
    CONFIG_FILE,
    LABELS_FILE,
    METRICS_FILE,
    staged_model_folder,
    write_json,
)
from honkdata.train.predictor import Predictor
from honkdata.train.tracking import Tracker, open_tracker

_COMPLETE = ".complete"  # written into a checkpoint folder once the recipe is done with it
_RUN_STATE = "run_state.json"  # the run's own state in each checkpoint


@dataclass(frozen=True)
class Verdict:
    best: bool  # this epoch is the best so far on the monitored validation metric: save it
    stop: bool  # no improvement for `patience` epochs: end the loop


@dataclass
class EpochLog:
    epoch: int
    metrics: dict[str, float]
    seconds: float


def seed_everything(seed: int) -> None:
    """Python, numpy and torch on every device, when the recipe uses it: a run is repeatable from its
    config. Importing torch only to seed it would cost seconds to recipes that never use it."""
    random.seed(seed)
    np.random.seed(seed)
    if (torch := sys.modules.get("torch")) is not None:
        torch.manual_seed(seed)


@dataclass
class TrainingRun:
    folder: Path  # the staging model folder: the recipe writes its weights here
    checkpoints: Path
    resume_from: Path | None
    data: TrainingData
    monitor: str
    patience: int
    tracker: Tracker
    on_epoch: Callable[[EpochLog], None] | None = None
    history: list[EpochLog] = field(default_factory=list)
    examples_seen: int = 0
    tokens_seen: int = 0
    _best: float = float("-inf")
    _since_best: int = 0
    _pending: Path | None = None
    _started: float = field(default_factory=time.perf_counter)

    def count(self, examples: int, tokens: int) -> None:
        """Add trained examples and tokens, for the card's examples/s and tokens/s."""
        self._seal()  # training went on after the last checkpoint: it was written whole
        self.examples_seen += examples
        self.tokens_seen += tokens

    def checkpoint(self, epoch: int) -> Path:
        """A fresh folder for the state of `epoch`. It counts as complete (for --resume) from the
        run's next call (`count`, `end_epoch`, `checkpoint`), once the recipe has moved on past it:
        a run killed while writing it resumes from the one before."""
        self._seal()
        folder = self.checkpoints / f"epoch-{epoch:04d}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self._pending = folder
        self._write_state(folder)
        return folder

    def _write_state(self, folder: Path) -> None:
        """The run's own part of a checkpoint (early stopping's memory, the epochs so far), so a resumed
        run judges its next epoch against the best before the break, not against nothing."""
        state = {
            "best": self._best,
            "since_best": self._since_best,
            "history": [vars(e) for e in self.history],
        }
        (folder / _RUN_STATE).write_bytes(orjson.dumps(state))

    def restore(self) -> None:
        """Take back the run's state from `resume_from`, when resuming."""
        if self.resume_from is not None and (self.resume_from / _RUN_STATE).is_file():
            state = orjson.loads((self.resume_from / _RUN_STATE).read_bytes())
            self._best, self._since_best = state["best"], state["since_best"]
            self.history = [EpochLog(**entry) for entry in state["history"]]

    def _seal(self) -> None:
        if self._pending is not None:
            (self._pending / _COMPLETE).touch()
            for older in self.checkpoints.glob("epoch-*"):  # the newest complete one is all resume needs
                if older != self._pending:
                    shutil.rmtree(older, ignore_errors=True)
            self._pending = None

    def end_epoch(
        self, epoch: int, predictor: Predictor, logs: dict[str, float], limit: int | None = None
    ) -> Verdict:
        """Score the validation split (its first `limit` rows, where reading them all is costly, as
        generating with an LLM is) with task metrics, log them, and judge the epoch."""
        pending = self._pending  # written before this call: it gets the state after the judgment
        self._seal()
        started = time.perf_counter()
        validation = self.data.validation[:limit]
        scores = score(validation, predictor.predict([e.text for e in validation])) if validation else {}
        metrics = {**logs, **{f"validation_{k}": scores[k] for k in HEADLINE if k in scores}}
        entry = EpochLog(epoch, metrics, time.perf_counter() - started)
        self.history.append(entry)
        self.tracker.log_metrics(metrics, step=epoch)
        if self.on_epoch is not None:
            self.on_epoch(entry)
        # Without a validation split there is nothing to choose by: the last epoch is the best.
        value = scores.get(self.monitor, float(epoch))
        best = value > self._best
        self._best, self._since_best = (value, 0) if best else (self._best, self._since_best + 1)
        if pending is not None:
            self._write_state(pending)
        return Verdict(best=best, stop=not best and bool(self.patience) and self._since_best >= self.patience)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._started


def latest_checkpoint(checkpoints: Path) -> Path | None:
    done = sorted(p for p in checkpoints.glob("epoch-*") if (p / _COMPLETE).is_file())
    return done[-1] if done else None


def code_version() -> str:
    """honkdata's version, and the commit when it runs from a git checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(honkdata.__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{honkdata.__version__}+{commit}" if commit else honkdata.__version__


def hardware() -> str:
    import os

    cpu = f"{platform.machine()}, {os.cpu_count()} cores"
    try:
        import torch

        if torch.cuda.is_available():
            return f"{cpu}, {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return cpu


def _check_monitor(config: BaseModel) -> None:
    if config.monitor not in HEADLINE:
        raise HonkdataError(f"monitor: {config.monitor!r} is not one of {', '.join(HEADLINE)}")


def train(
    config: BaseModel,
    out: Path,
    resume: bool = False,
    track: bool = False,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> dict:
    """Train `config.recipe` on its snapshot and publish the model folder at `out`.

    Returns the metrics written to metrics.json. `resume` continues from the last complete
    checkpoint of an earlier run to the same `out`; `track` logs to MLflow.
    """
    recipe = get_recipe(config.recipe)
    _check_monitor(config)
    out = Path(out)
    checkpoints = out.parent / f".{out.name}.checkpoints"
    resume_from = latest_checkpoint(checkpoints) if resume else None
    if resume and resume_from is None:
        raise HonkdataError(f"--resume: no checkpoint of an earlier run to {out} (looked in {checkpoints})")
    if not resume:
        shutil.rmtree(checkpoints, ignore_errors=True)
    data = load_training_data(config.data)
    seed_everything(config.seed)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    with staged_model_folder(out) as folder, open_tracker(track, config, out) as tracker:
        run = TrainingRun(
            folder, checkpoints, resume_from, data, config.monitor, config.patience, tracker, on_epoch
        )
        run.restore()
        predictor = recipe.train(config, data, run)
        train_seconds = run.seconds
        metrics = {
            split: score(examples, predictor.predict([e.text for e in examples]))
            for split, examples in (("validation", data.validation), ("test", data.test))
            if examples
        }
        lineage = {
            **data.lineage,
            "recipe": config.recipe,
            "code_version": code_version(),
            "seed": config.seed,
            "hardware": hardware(),
            "started_at": started_at,
            "train_seconds": round(train_seconds, 3),
            "examples_per_second": round(run.examples_seen / train_seconds, 1) if train_seconds else None,
            "tokens_per_second": round(run.tokens_seen / train_seconds, 1) if train_seconds else None,
            "epochs": [{"epoch": e.epoch, **e.metrics} for e in run.history],
        }
        write_json(folder / LABELS_FILE, data.labels.to_dict())
        (folder / CONFIG_FILE).write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
        write_json(folder / METRICS_FILE, {**metrics, "lineage": lineage})
        (folder / CARD_FILE).write_text(model_card(config, data, metrics, lineage))
        tracker.log_metrics(
            {f"test_{k}": metrics["test"][k] for k in HEADLINE if "test" in metrics}, step=None
        )
        tracker.log_folder(folder)
    shutil.rmtree(checkpoints, ignore_errors=True)
    return {**metrics, "lineage": lineage}
