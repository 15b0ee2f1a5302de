"""A stand-in recipe for testing what recipes share: it predicts each training intent's most common
frame, saves one safetensors file, and checkpoints like a real recipe."""

import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Literal

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict
from safetensors.numpy import load_file, save_file

from honkdata import recipes
from honkdata.train.config import DataConfig
from honkdata.train.frames import Frame
from honkdata.train.labels import LabelSpace


class MajorityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recipe: Literal["majority"] = "majority"
    data: DataConfig = DataConfig()
    seed: int = 0
    epochs: int = 3
    patience: int = 0
    monitor: str = "intent_accuracy"
    fail_at_epoch: int | None = None  # raise there, to test a killed run


class MajorityPredictor:
    def __init__(self, labels: LabelSpace, intent_id: int) -> None:
        self.labels = labels
        self.intent = labels.intents[intent_id]

    def predict(self, texts: list[str]) -> list[Frame]:
        return [Frame(self.intent, 0.5) for _ in texts]


def _train(config: MajorityConfig, data, run) -> MajorityPredictor:
    counts = Counter(e.intent for e in data.train)
    best = data.labels.intent_ids[counts.most_common(1)[0][0]]
    start = 1
    if run.resume_from is not None:
        start = int(load_file(run.resume_from / "state.safetensors")["epoch"][0]) + 1
    for epoch in range(start, config.epochs + 1):
        if config.fail_at_epoch == epoch:
            raise RuntimeError("killed")
        run.count(examples=len(data.train), tokens=sum(len(e.tokens) for e in data.train))
        predictor = MajorityPredictor(data.labels, best)
        verdict = run.end_epoch(epoch, predictor, {"loss": 1.0 / epoch})
        if verdict.best:
            save_file({"intent": np.array([best])}, str(run.folder / "model.safetensors"))
            (run.folder / "model.safetensors").chmod(0o600)  # as a library writing a temp file leaves it
        save_file({"epoch": np.array([epoch])}, str(run.checkpoint(epoch) / "state.safetensors"))
        if verdict.stop:
            break
    return predictor


def _load(folder: Path, labels: LabelSpace, config: MajorityConfig) -> MajorityPredictor:
    return MajorityPredictor(labels, int(load_file(folder / "model.safetensors")["intent"][0]))


@pytest.fixture
def majority_recipe(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = ModuleType("honkdata.recipes.majority")
    module.NAME, module.Config, module.train, module.load = "majority", MajorityConfig, _train, _load
    monkeypatch.setitem(sys.modules, "honkdata.recipes.majority", module)
    monkeypatch.setattr(recipes, "RECIPES", (*recipes.RECIPES, "majority"))
    return module
