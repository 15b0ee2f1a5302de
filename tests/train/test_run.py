from pathlib import Path
from types import ModuleType

import orjson
import pytest
import yaml

from honkdata.errors import HonkdataError
from honkdata.train.config import load_recipe_config
from honkdata.train.model import load_model, predict
from honkdata.train.run import train


def _config(recipe: ModuleType, store: Path, *overrides: str):
    return load_recipe_config(recipe.Config, None, [f"data.root={store}", "data.snapshot=snips", *overrides])


def test_a_run_publishes_a_complete_model_folder(
    majority_recipe: ModuleType, labeled_store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "models" / "m"
    epochs: list[int] = []
    result = train(_config(majority_recipe, labeled_store), out, on_epoch=lambda e: epochs.append(e.epoch))
    assert epochs == [1, 2, 3]
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "config.yaml", "labels.json", "metrics.json", "model.safetensors",
    ]  # fmt: skip
    metrics = orjson.loads((out / "metrics.json").read_bytes())
    assert metrics["test"] == result["test"] and 0 < metrics["test"]["intent_accuracy"] < 1
    lineage = metrics["lineage"]
    assert lineage["snapshot"] == "snips@v1" and lineage["seed"] == 0
    assert lineage["examples_per_second"] > 0 and len(lineage["epochs"]) == 3
    assert "validation_intent_accuracy" in lineage["epochs"][0]
    card = (out / "README.md").read_text()
    assert lineage["content_hash"] in card and lineage["manifest_sha256"] in card
    assert yaml.safe_load((out / "config.yaml").read_text())["recipe"] == "majority"
    assert not list(out.parent.glob(".m.*"))  # no staging, no checkpoints left behind
    assert all(p.stat().st_mode & 0o044 for p in out.iterdir())  # shareable, whatever wrote them


def test_the_saved_model_predicts_as_trained(
    majority_recipe: ModuleType, labeled_store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m"
    train(_config(majority_recipe, labeled_store), out)
    [line] = predict(out, ["play some jazz"])
    assert line["query"] == "play some jazz" and line["intent"] in load_model(out).labels.intents


def test_early_stopping_ends_the_loop(
    majority_recipe: ModuleType, labeled_store: Path, tmp_path: Path
) -> None:
    # The majority model never improves after epoch 1: patience 1 stops after epoch 2.
    result = train(_config(majority_recipe, labeled_store, "epochs=10", "patience=1"), tmp_path / "m")
    assert [e["epoch"] for e in result["lineage"]["epochs"]] == [1, 2]


def test_a_failed_run_keeps_the_previous_model_and_resumes(
    majority_recipe: ModuleType, labeled_store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m"
    train(_config(majority_recipe, labeled_store, "epochs=1"), out)
    before = (out / "metrics.json").read_bytes()
    with pytest.raises(RuntimeError, match="killed"):
        train(_config(majority_recipe, labeled_store, "epochs=4", "fail_at_epoch=3"), out)
    assert (out / "metrics.json").read_bytes() == before  # the old model is still whole
    assert not list(tmp_path.glob(".m.staging-*"))
    result = train(_config(majority_recipe, labeled_store, "epochs=4"), out, resume=True)
    # Epoch 2's checkpoint was never followed by more training, so it does not count as whole: the
    # resumed run starts after epoch 1's, and the model's history reads as one run.
    assert [e["epoch"] for e in result["lineage"]["epochs"]] == [1, 2, 3, 4]


def test_a_resumed_run_remembers_the_best_epoch(
    majority_recipe: ModuleType, labeled_store: Path, tmp_path: Path
) -> None:
    # The stand-in never improves after epoch 1: with patience 2, epochs 2 and 3 stop the run. Broken
    # at epoch 3 (resumed after epoch 1), a run that forgot epoch 1's score would take epoch 2 as a new best.
    out = tmp_path / "m"
    with pytest.raises(RuntimeError, match="killed"):
        train(_config(majority_recipe, labeled_store, "epochs=9", "patience=2", "fail_at_epoch=3"), out)
    result = train(_config(majority_recipe, labeled_store, "epochs=9", "patience=2"), out, resume=True)
    assert [e["epoch"] for e in result["lineage"]["epochs"]] == [1, 2, 3]


def test_validation_can_be_capped(majority_recipe: ModuleType, labeled_store: Path) -> None:
    from honkdata.train.examples import load_training_data
    from honkdata.train.run import TrainingRun
    from honkdata.train.tracking import _NoTracking
    from tests.train.conftest import MajorityPredictor

    data = load_training_data(_config(majority_recipe, labeled_store).data)
    run = TrainingRun(Path("unused"), Path("unused"), None, data, "intent_accuracy", 0, _NoTracking())
    seen: list[int] = []

    class Counting(MajorityPredictor):
        def predict(self, texts):
            seen.append(len(texts))
            return super().predict(texts)

    run.end_epoch(1, Counting(data.labels, 0), {}, limit=25)
    assert seen == [25] and len(data.validation) > 25


def test_resume_without_a_checkpoint_is_one_line(
    majority_recipe: ModuleType, labeled_store: Path, tmp_path: Path
) -> None:
    with pytest.raises(HonkdataError, match="no checkpoint"):
        train(_config(majority_recipe, labeled_store), tmp_path / "m", resume=True)


def test_out_that_is_not_a_model_is_refused(
    majority_recipe: ModuleType, labeled_store: Path, tmp_path: Path
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("mine")
    with pytest.raises(HonkdataError, match="not a honkdata model"):
        train(_config(majority_recipe, labeled_store), tmp_path / "docs")
    assert (tmp_path / "docs" / "notes.txt").read_text() == "mine"


def test_loading_refuses_what_is_not_a_model(
    majority_recipe: ModuleType, labeled_store: Path, tmp_path: Path
) -> None:
    with pytest.raises(HonkdataError, match="no model folder"):
        load_model(tmp_path / "missing")
    (tmp_path / "other").mkdir()
    with pytest.raises(HonkdataError, match="not a honkdata model"):
        load_model(tmp_path / "other")
    out = tmp_path / "m"
    train(_config(majority_recipe, labeled_store, "epochs=1"), out)
    (out / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(HonkdataError, match="safetensors weights only"):
        load_model(out)


def test_tracking_logs_params_metrics_and_the_model(
    majority_recipe: ModuleType, labeled_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    train(_config(majority_recipe, labeled_store, "epochs=2"), tmp_path / "m", track=True)
    client = MlflowClient((tmp_path / "mlruns").as_uri())
    [run] = client.search_runs([client.get_experiment_by_name("honkdata-majority").experiment_id])
    assert run.data.params["data.snapshot"] == "snips" and run.data.params["epochs"] == "2"
    history = client.get_metric_history(run.info.run_id, "validation_intent_accuracy")
    assert [m.step for m in history] == [1, 2]
    assert "test_frame_accuracy" in run.data.metrics
    assert "model/metrics.json" in [a.path for a in client.list_artifacts(run.info.run_id, "model")]
