from pathlib import Path

import pytest

from honkdata.errors import HonkdataError
from honkdata.snapshot.store import SnapshotStore
from honkdata.train.config import DataConfig, apply_overrides, load_recipe_config
from honkdata.train.examples import load_training_data


def test_taxonomy_examples_carry_spans_that_match_their_tags(labeled_store: Path) -> None:
    data = load_training_data(DataConfig(snapshot="snips@latest", root=str(labeled_store)))
    assert data.labels.kind == "taxonomy" and "play_music" in data.labels.intents
    assert len(data.train) > len(data.validation) > 0 and data.test
    with_entities = [e for e in data.train if e.entities]
    assert with_entities
    for example in with_entities[:200]:
        assert len(example.tags) == len(example.tokens)
        for entity in example.entities:
            assert example.text[entity.start : entity.end] == entity.text
            assert entity.type in data.labels.entity_types
    assert data.lineage["snapshot"] == "snips@v1" and len(data.lineage["manifest_sha256"]) == 64


def test_source_labels_are_the_native_ones(labeled_store: Path) -> None:
    data = load_training_data(DataConfig(snapshot="snips", root=str(labeled_store), labels="source"))
    assert data.labels.kind == "source"
    assert set(data.labels.intents) == {
        "AddToPlaylist", "BookRestaurant", "GetWeather", "PlayMusic", "RateBook", "SearchCreativeWork",
        "SearchScreeningEvent",
    }  # fmt: skip
    assert "B-restaurant_name" in data.labels.tags
    assert data.labels.fallback_intent in data.labels.intents


def test_weighting_and_cap(labeled_store: Path) -> None:
    plain = load_training_data(DataConfig(snapshot="snips", root=str(labeled_store), max_examples=50))
    linear = load_training_data(
        DataConfig(snapshot="snips", root=str(labeled_store), max_examples=50, weighting="linear")
    )
    assert len(plain.train) == 50 and [e.id for e in plain.train] == [e.id for e in linear.train]
    assert len(plain.test) > 50  # max_eval_examples caps those
    capped = load_training_data(DataConfig(snapshot="snips", root=str(labeled_store), max_eval_examples=20))
    assert (len(capped.validation), len(capped.test)) == (20, 20) and len(capped.train) > 2_000
    assert all(e.weight == 1.0 for e in plain.train)
    # A query the source holds twice was merged into one row of count 2.
    store = SnapshotStore(labeled_store)
    counts = dict(
        zip(*store.read(store.resolve("snips")).select(["id", "count"]).to_pydict().values(), strict=True)
    )
    assert [e.weight for e in linear.train] == [float(counts[e.id]) for e in linear.train]


def test_a_snapshot_without_labels_is_one_line(labeled_store: Path) -> None:
    with pytest.raises(HonkdataError, match="no labeled training rows"):
        load_training_data(DataConfig(snapshot="snips", root=str(labeled_store), label_sources=["human"]))


def test_overrides_are_typed_and_dotted() -> None:
    data = apply_overrides({"data": {"labels": "taxonomy"}}, ["data.labels=source", "lr=3e-4", "merge=true"])
    assert data == {"data": {"labels": "source"}, "lr": 3e-4, "merge": True}
    with pytest.raises(HonkdataError, match="expected key=value"):
        apply_overrides({}, ["epochs"])


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    from honkdata.train.config import DataConfig as Config

    with pytest.raises(HonkdataError, match="weighting") as error:
        load_recipe_config(Config, None, ["weighting=square", "bogus=1"])
    assert "bogus" in str(error.value)
