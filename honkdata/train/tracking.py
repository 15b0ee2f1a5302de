"""Experiment tracking: MLflow when asked for (an optional extra), else nothing.

MLflow is heavy and most runs do not need it, so the core install does not pull it in; `--track`
without it installed is a one-line error naming the extra. The tracking URI is MLflow's own
setting (MLFLOW_TRACKING_URI); without it, runs go to ./mlruns, a local file store (which MLflow 3
keeps for existing users behind MLFLOW_ALLOW_FILE_STORE: the skinny package has no database store).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from honkdata.errors import HonkdataError


class Tracker(Protocol):
    def log_metrics(self, metrics: dict[str, float], step: int | None) -> None: ...
    def log_folder(self, folder: Path) -> None: ...


class _NoTracking:
    def log_metrics(self, metrics: dict[str, float], step: int | None) -> None:
        pass

    def log_folder(self, folder: Path) -> None:
        pass


class _MLflow:
    def __init__(self, mlflow: object) -> None:
        self.mlflow = mlflow

    def log_metrics(self, metrics: dict[str, float], step: int | None) -> None:
        numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        self.mlflow.log_metrics(numeric, step=step)

    def log_folder(self, folder: Path) -> None:
        self.mlflow.log_artifacts(str(folder), artifact_path="model")


def _flat(data: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@contextmanager
def open_tracker(track: bool, config: BaseModel, out: Path) -> Iterator[Tracker]:
    if not track:
        yield _NoTracking()
        return
    try:
        import mlflow
    except ImportError:
        raise HonkdataError("--track needs MLflow: pip install 'honkdata[mlflow]'") from None
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        mlflow.set_tracking_uri((Path.cwd() / "mlruns").as_uri())
    mlflow.set_experiment(f"honkdata-{config.recipe}")
    with mlflow.start_run(run_name=Path(out).name):
        mlflow.log_params(_flat(config.model_dump(mode="json")))
        yield _MLflow(mlflow)
