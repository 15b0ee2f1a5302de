"""Model-assisted labels: `labels.model` (`build --label-model`) labels rows without human or gold."""

from pathlib import Path
from types import ModuleType

import pytest

from honkdata.build import build
from honkdata.config import SourceConfig
from honkdata.errors import HonkdataError
from honkdata.label.stage import LABELED, MODEL_CHECKED
from honkdata.snapshot.store import SnapshotStore
from honkdata.train.config import load_recipe_config
from honkdata.train.run import train
from tests.conftest import SNIPS_SAMPLE, write_jsonl
from tests.train.conftest import majority_recipe  # noqa: F401 (a fixture)

QUERIES = ("zzkx qqv", "play some jazz", "ffp wrr")


@pytest.fixture
def model(majority_recipe: ModuleType, labeled_store: Path, tmp_path: Path) -> Path:  # noqa: F811
    """A stand-in model that says the most common training intent with confidence 0.5."""
    out = tmp_path / "model"
    overrides = [f"data.root={labeled_store}", "data.snapshot=snips", "epochs=1"]
    train(load_recipe_config(majority_recipe.Config, None, overrides), out)
    return out


def _rows(make_config, tmp_path: Path, model: Path, min_confidence: float) -> tuple[dict, dict]:
    log = write_jsonl(
        tmp_path / "log.jsonl", [{"query": q, "user_id": f"u{i}"} for i, q in enumerate(QUERIES)]
    )
    config = make_config(log)
    rated = SourceConfig(path=str(SNIPS_SAMPLE / "validate_RateBook.json"), kind="curated")
    config = config.model_copy(update={"sources": [*config.sources, rated]})
    config.labels.model, config.labels.model_min_confidence = str(model), min_confidence
    result = build(config)
    table = SnapshotStore(Path(config.root)).read(result.ref)
    return {r["text"]: r for r in table.to_pylist()}, result.manifest["stages"]["label"]


def test_confident_model_labels_fill_rows_without_gold(make_config, model: Path, tmp_path: Path) -> None:
    rows, label = _rows(make_config, tmp_path, model, 0.4)
    for text in QUERIES:
        assert rows[text]["label_source"] == "model"
        assert rows[text]["label_confidence"] == pytest.approx(0.5)
    gold = [r for r in rows.values() if r["source_intent"] == "RateBook"]
    assert gold and {r["label_source"] for r in gold} == {"gold"}  # gold outranks the model
    assert label["notes"][MODEL_CHECKED] == len(gold)
    assert label["breakdowns"][LABELED]["model"] == 3


def test_unsure_model_labels_are_not_used(make_config, model: Path, tmp_path: Path) -> None:
    rows, _ = _rows(make_config, tmp_path, model, 0.6)
    assert all(r["label_source"] != "model" for r in rows.values())


def test_a_model_of_another_label_space_is_refused(
    majority_recipe: ModuleType,  # noqa: F811
    labeled_store: Path,
    make_config,
    tmp_path: Path,
) -> None:
    out = tmp_path / "source-model"
    overrides = [f"data.root={labeled_store}", "data.snapshot=snips", "data.labels=source", "epochs=1"]
    train(load_recipe_config(majority_recipe.Config, None, overrides), out)
    config = make_config(write_jsonl(tmp_path / "log.jsonl", [{"query": "play jazz", "user_id": "u"}]))
    config.labels.model = str(out)
    with pytest.raises(HonkdataError, match="another label set"):
        build(config)
