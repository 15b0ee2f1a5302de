"""Delivery of adapter models: the release holds the adapter merged into its base (one
model.safetensors), loads without the base model, and predicts what the adapter folder predicts.
On the recipes' own tiny base models (tests/recipes)."""

from pathlib import Path
from types import ModuleType

import pytest
import yaml

from honkdata.recipes import encoder, llm
from honkdata.registry import DeliveryConfig, ModelVersion, deliver
from honkdata.train.folder import CONFIG_FILE, LABELS_FILE, write_json
from honkdata.train.model import load_model
from tests.recipes import test_encoder, test_llm
from tests.recipes.test_encoder import one_thread  # noqa: F401 (an autouse fixture: tiny matrices, one thread)

QUERIES = ["play taylor swift", "add abba to my gym playlist", "play some chill songs"]


@pytest.mark.parametrize("tests", [test_encoder, test_llm], ids=["encoder", "llm"])
def test_an_adapter_is_merged_into_the_release(tests: ModuleType, tmp_path: Path) -> None:
    recipe = encoder if tests is test_encoder else llm
    base = tmp_path / "base"
    tokenizer = tests._tokenizer()
    if tests is test_encoder:
        from transformers import BertConfig, BertModel

        size = len(tokenizer.get_vocab())
        BertModel(
            BertConfig(
                vocab_size=size,
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=64,
                max_position_embeddings=64,
            )
        ).save_pretrained(base)
    else:
        tests._tiny_llama(len(tokenizer)).save_pretrained(base)
    tokenizer.save_pretrained(base)
    data = tests._data()
    config = tests._config(base, epochs=1)
    run = tests._run(tmp_path / "train", data)
    recipe.train(config, data, run)
    folder = run.folder  # what `train` publishes: the recipe's files, labels.json and config.yaml
    write_json(folder / LABELS_FILE, data.labels.to_dict())
    (folder / CONFIG_FILE).write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    assert (folder / "adapter_config.json").is_file()

    version = ModelVersion("mq", 1, folder, recipe.NAME, {}, {}, "2026-11-20T03:00:00+00:00")
    deliver(version, DeliveryConfig(location=str(tmp_path / "deploy")), {"status": "promoted"})
    release = tmp_path / "deploy" / "mq-v1"
    names = {p.name for p in release.iterdir()}
    assert "model.safetensors" in names and not names & {"adapter_model.safetensors", "adapter_config.json"}
    assert {"tokenizer.json", "labels.json", "release.json"} <= names
    assert yaml.safe_load((release / CONFIG_FILE).read_text())["merge"] is True
    ours, theirs = load_model(release).predict(QUERIES), load_model(folder).predict(QUERIES)
    assert [(f.intent, f.entities) for f in ours] == [(f.intent, f.entities) for f in theirs]
    assert [f.confidence for f in ours] == pytest.approx([f.confidence for f in theirs], abs=1e-4)
