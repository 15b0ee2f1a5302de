import numpy as np
import pyarrow as pa

from honkdata.label.gazetteer import Gazetteer
from honkdata.label.weak import WeakLabeler
from honkdata.resources import shipped_config
from honkdata.schema import ENTITIES

QUERIES = [
    "play the rolling stones",
    "add paint it black to my gym playlist",
    "skip",
    "what's the weather in rock springs",
    "banana",
    "something chill like radiohead for studying",
]


def labeler() -> WeakLabeler:
    gazetteer = Gazetteer.from_folder(shipped_config("gazetteers"))
    gazetteer.add([("artist", "The Rolling Stones"), ("track", "Paint It Black"), ("artist", "Radiohead")])
    return WeakLabeler(gazetteer=gazetteer)


def test_label_gives_intent_confidence_entities() -> None:
    labels = labeler().label(pa.array(QUERIES))
    intents = labels.intent.to_pylist()
    assert intents[:4] == ["play_music", "playlist_add", "playback_control", "out_of_domain"]
    assert intents[4] is None
    assert intents[5] == "recommend"
    confidence = labels.confidence.to_pylist()
    assert confidence[4] is None
    assert all(0 < c <= 1 for i, c in enumerate(confidence) if i != 4)
    assert labels.confidence.type == pa.float32() and labels.entities.type == ENTITIES
    entities = labels.entities.to_pylist()
    assert [(e["type"], e["text"]) for e in entities[0]] == [("artist", "the rolling stones")]
    assert ("track", "paint it black") in [(e["type"], e["text"]) for e in entities[1]]
    assert entities[3] == []  # out-of-domain rows carry no entities ("rock" is a genre)
    assert ("mood", "chill") in [(e["type"], e["text"]) for e in entities[5]]
    assert labels.votes.shape == (len(QUERIES), len(labeler().lf_names))


def test_deterministic() -> None:
    a, b = labeler().label(pa.array(QUERIES)), labeler().label(pa.array(QUERIES))
    assert a.intent.equals(b.intent) and a.confidence.equals(b.confidence) and a.entities.equals(b.entities)
    np.testing.assert_array_equal(a.votes, b.votes)


def test_fit_then_predict_separately() -> None:
    weak = labeler()
    votes = weak.votes(pa.array(QUERIES))
    intent, confidence = weak.fit(votes).predict(votes)
    assert intent.equals(weak.label(pa.array(QUERIES)).intent)
    assert len(confidence) == len(QUERIES)
    assert weak.intents[-1] == "out_of_domain" and len(weak.lf_names) == votes.shape[1]


def test_empty_input() -> None:
    labels = labeler().label(pa.array([], pa.string()))
    assert len(labels.intent) == len(labels.confidence) == len(labels.entities) == 0
