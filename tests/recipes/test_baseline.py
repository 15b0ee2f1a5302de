"""The baseline recipe: training, determinism, the numpy Viterbi against crfsuite, the model folder
(safetensors + JSON only) and its round trip, character spans, sample weights, and one real run."""

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn_crfsuite
from safetensors.numpy import load_file
from sklearn.linear_model import LogisticRegression

from honkdata.errors import HonkdataError
from honkdata.models.crf import read_crfsuite_model, token_features
from honkdata.recipes import baseline
from honkdata.tokens import tokenize
from honkdata.train.config import DataConfig, load_recipe_config
from honkdata.train.examples import Example, TrainingData, example_from_tags
from honkdata.train.frames import Entity, entities_to_tags
from honkdata.train.labels import LabelSpace
from honkdata.train.run import TrainingRun

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "train"
LABELS = LabelSpace(
    "taxonomy",
    ("add_to_playlist", "get_weather", "play_music"),
    ("artist", "city", "genre", "playlist"),
    "play_music",
)
FILLERS = {
    "artist": ["taylor swift", "abba", "miles davis", "the beatles", "nina simone", "daft punk", "adele"],
    "genre": ["jazz", "rock", "lo-fi", "hip hop", "classical", "reggae"],
    "playlist": ["gym", "chill vibes", "road trip", "study", "party mix"],
    "city": ["paris", "new york", "berlin", "tokyo", "san francisco"],
}
TEMPLATES = {
    "play_music": [
        "play {artist}",
        "play some {genre} by {artist}",
        "put on {genre}",
        "i want to hear {artist}",
    ],
    "add_to_playlist": [
        "add {artist} to my {playlist} playlist",
        "add this song to {playlist}",
        "put {artist} on {playlist}",
    ],
    "get_weather": ["weather in {city}", "what is the weather in {city} tomorrow", "will it rain in {city}"],
}


class _NoTracking:
    def log_metrics(self, metrics: dict[str, float], step: int | None) -> None:
        pass

    def log_folder(self, folder: Path) -> None:
        pass


def _example(rng: random.Random, intent: str, n: int) -> Example:
    """A query from one of `intent`'s templates, its slots filled at random, tags from the spans."""
    text, entities = "", []
    for i, part in enumerate(rng.choice(TEMPLATES[intent]).split("{")):
        kind, _, rest = part.partition("}") if i else ("", "", part)
        if kind:
            value = rng.choice(FILLERS[kind])
            entities.append(Entity(kind, len(text), len(text) + len(value), value))
            text += value
        text += rest
    tokens = tokenize(text)
    return example_from_tags(f"{intent}-{n}", text, tokens, intent, entities_to_tags(tokens, entities))


def _examples(seed: int, n: int) -> list[Example]:
    rng = random.Random(seed)
    return [_example(rng, intent, i) for i in range(n) for intent in sorted(TEMPLATES)]


@pytest.fixture(scope="module")
def data() -> TrainingData:
    return TrainingData(LABELS, _examples(0, 30), _examples(1, 10), _examples(2, 10))


def _config(**fields: object) -> baseline.Config:
    # Few CRF iterations: the tests are about the recipe's mechanics, not its accuracy.
    return baseline.Config(crf_max_iterations=30, **fields)


def _train(tmp_path: Path, data: TrainingData, config: baseline.Config | None = None, name: str = "model"):
    folder = tmp_path / name
    folder.mkdir()
    run = TrainingRun(
        folder, tmp_path / f"{name}.checkpoints", None, data, "frame_accuracy", 0, _NoTracking()
    )
    return baseline.train(config or _config(), data, run), run


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, data: TrainingData):
    return _train(tmp_path_factory.mktemp("baseline"), data)


def test_train_scores_validation_once_and_saves_safetensors_and_json(trained) -> None:
    predictor, run = trained
    assert [e.epoch for e in run.history] == [1]
    assert run.history[0].metrics["validation_intent_accuracy"] == 1.0
    assert run.history[0].metrics["validation_entity_f1"] > 0.9
    assert run.examples_seen == 90 and run.tokens_seen > 90
    assert sorted(p.name for p in run.folder.iterdir()) == ["baseline.json", "model.safetensors"]
    frame = predictor.predict(["play some jazz by adele"])[0]
    assert frame.intent == "play_music" and 0.5 < frame.confidence <= 1.0
    assert [(e.type, e.text) for e in frame.entities] == [("genre", "jazz"), ("artist", "adele")]


def test_spans_are_character_spans_into_each_query(trained) -> None:
    predictor, _ = trained
    texts = ["Play   some Jazz by  Miles Davis!", "add abba to my  gym playlist", "", "?!"]
    frames = predictor.predict(texts)
    assert len(frames) == len(texts)
    for text, frame in zip(texts, frames, strict=True):
        for entity in frame.entities:
            assert text[entity.start : entity.end] == entity.text
    assert ("artist", "Miles Davis") in [(e.type, e.text) for e in frames[0].entities]
    assert frames[2].entities == () and frames[2].intent in LABELS.intents


def test_batches_give_the_same_frames_as_one_call(trained) -> None:
    predictor, _ = trained
    texts = [e.text for e in _examples(3, 5)]
    small = baseline.BaselinePredictor(
        predictor.labels,
        predictor.config.model_copy(update={"predict_batch_size": 4}),
        predictor.tfidf,
        predictor.intents,
        predictor.coef,
        predictor.intercept,
        predictor.crf,
    )
    assert small.predict(texts) == predictor.predict(texts)


def test_features_and_confidence_are_scikit_learns(trained, data: TrainingData) -> None:
    """Our TF-IDF is the fitted vectorizers' transform, and our softmax over the saved coefficients
    is the fitted LogisticRegression's predict_proba."""
    predictor, _ = trained
    config = _config()
    vectorizers, intents, _, _ = baseline.fit_intent(config, data)
    texts = [e.text for e in data.validation] + ["Play PLAY play!", "zzz qqq", ""]
    for ours, theirs in zip(predictor.tfidf, vectorizers, strict=True):
        np.testing.assert_allclose(
            ours.transform(texts).toarray(), theirs.transform(texts).toarray(), rtol=1e-12
        )

    def features(examples: list[str]) -> sp.csr_matrix:
        return sp.hstack([v.transform(examples) for v in vectorizers], format="csr")

    model = LogisticRegression(C=config.c, max_iter=config.max_iter)
    model.fit(features([e.text for e in data.train]), [e.intent for e in data.train])
    assert list(model.classes_) == intents
    np.testing.assert_allclose(
        predictor.intent_probabilities(texts), model.predict_proba(features(texts)), rtol=1e-9
    )


def test_same_data_config_and_seed_give_identical_files(tmp_path: Path, data: TrainingData, trained) -> None:
    _, first = trained
    _, second = _train(tmp_path, data)
    for name in ("model.safetensors", "baseline.json"):
        assert (first.folder / name).read_bytes() == (second.folder / name).read_bytes()


def test_saved_model_loads_and_predicts_exactly_the_same(trained, data: TrainingData) -> None:
    predictor, run = trained
    loaded = baseline.load(run.folder, LABELS, predictor.config)
    texts = [e.text for e in data.validation + data.test] + ["play something by somebody new", "weather"]
    assert loaded.predict(texts) == predictor.predict(texts)


def test_numpy_viterbi_over_the_exact_weights_equals_crfsuite(tmp_path: Path) -> None:
    """A CRF trained by crfsuite and the weights read from its model file decode every validation
    query identically, ties and all, including queries unlike the training ones."""
    train, validation = _examples(0, 40), _examples(5, 30)
    odd = ["add weather to paris", "jazz jazz jazz", "what is abba", "x", "tokyo playlist by rain"]
    validation += [
        example_from_tags("odd", t, tokenize(t), "play_music", ["O"] * len(tokenize(t))) for t in odd
    ]
    features = [token_features(e.tokens, 2) for e in train]
    model_file = tmp_path / "m.crfsuite"
    crf = sklearn_crfsuite.CRF(
        algorithm="lbfgs", c1=0.05, c2=0.01, max_iterations=40, all_possible_transitions=True,
        model_filename=str(model_file),
    )  # fmt: skip
    crf.fit(features, [list(e.tags) for e in train])
    weights = read_crfsuite_model(model_file)
    assert weights.tags == tuple(crf.classes_)
    held_out = [token_features(e.tokens, 2) for e in validation]
    assert weights.decode(held_out) == [list(tags) for tags in crf.predict(held_out)]
    # The weights are crfsuite's own: its six-decimal dump agrees to its rounding.
    state = weights.state.tocoo()
    exact = {
        (weights.attributes[a], weights.tags[t]): w
        for a, t, w in zip(state.row, state.col, state.data, strict=True)
    }
    assert exact.keys() == crf.state_features_.keys()
    assert max(abs(exact[k] - w) for k, w in crf.state_features_.items()) <= 5e-7


def test_sample_weights_change_both_models(tmp_path: Path, data: TrainingData, trained) -> None:
    _, plain = trained
    heavy = {e.id for e in data.train[::4]}
    weighted = replace(data, train=[replace(e, weight=3.0) if e.id in heavy else e for e in data.train])
    _, run = _train(tmp_path, weighted)
    before, after = load_file(plain.folder / "model.safetensors"), load_file(run.folder / "model.safetensors")
    assert not np.array_equal(before["intent.coef"], after["intent.coef"])
    assert not np.array_equal(before["crf.transitions"], after["crf.transitions"])


def test_one_intent_or_a_foreign_model_is_a_one_line_error(
    tmp_path: Path, data: TrainingData, trained
) -> None:
    one = replace(data, train=[e for e in data.train if e.intent == "play_music"])
    with pytest.raises(HonkdataError, match="at least two intents"):
        _train(tmp_path, one)
    predictor, run = trained
    other = LabelSpace("taxonomy", ("play_music", "skip"), ("artist",), "play_music")
    with pytest.raises(HonkdataError, match="outside its label space"):
        baseline.load(run.folder, other, predictor.config)
    with pytest.raises(HonkdataError, match="no baseline weights"):
        baseline.load(tmp_path, LABELS, predictor.config)


def test_the_shipped_config_is_valid_and_commented() -> None:
    path = CONFIGS / "baseline.yaml"
    config = load_recipe_config(baseline.Config, path, ["data.labels=source", "c=2"])
    assert config.data.labels == "source" and config.c == 2.0
    lines = [
        line for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert all("#" in line for line in lines if not line.rstrip().endswith(":")), "every field has a reason"
    assert set(baseline.Config.model_fields) <= {line.split(":")[0].strip() for line in lines}


def test_trains_from_a_snapshot_and_loads_as_a_honkdata_model(tmp_path: Path, labeled_store: Path) -> None:
    """The whole path: `honkdata train`'s API on a real build, then `honkdata.load_model`."""
    from honkdata.train.model import load_model
    from honkdata.train.run import train

    config = _config(
        data=DataConfig(
            snapshot="snips@latest",
            root=str(labeled_store),
            labels="source",
            max_examples=300,
            max_eval_examples=300,
        )
    )
    metrics = train(config, tmp_path / "model")
    assert metrics["test"]["intent_accuracy"] > 0.7
    model = load_model(tmp_path / "model")
    assert isinstance(model, baseline.BaselinePredictor) and model.labels.kind == "source"
    assert model.predict(["play the beatles"])[0].intent in model.labels.intents
