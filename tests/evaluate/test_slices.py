import pyarrow as pa
import pytest

from honkdata.evaluate.data import META
from honkdata.evaluate.metrics import confusion
from honkdata.evaluate.slices import frequency_bands, slice_metrics
from honkdata.train.examples import Example
from honkdata.train.frames import Entity, Frame


def _example(i: int, intent: str, entities: tuple[Entity, ...] = ()) -> Example:
    return Example(f"id{i}", f"query {i}", (), intent, entities, ())


@pytest.mark.parametrize(
    ("counts", "bands"),
    [
        # 20 events: 10 is the first half (head); 5 and 3 begin at 50 % and 75 % (torso); the ones at 90 %.
        ([10, 5, 3, 1, 1], ["head", "torso", "torso", "tail", "tail"]),
        # Equally frequent rows share a band: both 4s begin at 0 %, though together they are 80 %.
        ([1, 4, 4, 1], ["tail", "head", "head", "tail"]),
        ([6, 2, 2], ["head", "torso", "torso"]),  # 2s begin at 60 %
        ([1, 1, 1], ["head", "head", "head"]),  # no frequency signal: all alike
        ([3, None, 1], ["head", "unknown", "torso"]),  # 1 begins at 75 % of the known events
        ([None, None], ["unknown", "unknown"]),
    ],
)
def test_head_torso_tail_cut(counts: list[int | None], bands: list[str]) -> None:
    assert frequency_bands(counts) == bands


def test_slices_of_a_snapshot_like_table() -> None:
    meta = pa.table(
        {
            "surface": ["voice", "voice", "search", None],
            "locale": ["en-US", "en-GB", "en-US", "en-US"],
            "label_source": ["gold", "human", "human", "gold"],
            "count": [10, 5, 3, 2],
        },
        schema=META,
    )
    artist = Entity("artist", 5, 9, "abba")
    examples = [
        _example(0, "play_music", (artist,)),
        _example(1, "skip"),
        _example(2, "play_music"),
        _example(3, "like"),
    ]
    frames = [
        Frame("play_music", 0.9, (artist,)),  # all right
        Frame("play_music", 0.8),  # wrong intent
        Frame("play_music", 0.7, (artist,)),  # right intent, an extra entity
        Frame("like", 0.6),  # all right
    ]
    slices = slice_metrics(meta, examples, frames)
    assert list(slices) == ["surface", "locale", "label_source", "frequency"]
    assert list(slices["surface"]) == ["voice", "search", "unknown"]  # largest first, then by name
    voice = slices["surface"]["voice"]
    assert (voice["n"], voice["share"], voice["intent_accuracy"], voice["frame_accuracy"]) == (
        2,
        0.5,
        0.5,
        0.5,
    )
    search = slices["surface"]["search"]
    assert (search["intent_accuracy"], search["frame_accuracy"], search["entity_f1"]) == (1.0, 0.0, 0.0)
    assert slices["locale"]["en-US"]["n"] == 3 and slices["locale"]["en-US"]["frame_accuracy"] == 2 / 3
    assert slices["label_source"]["human"]["intent_accuracy"] == 0.5
    # 20 events: 10 is head; 5 begins at 50 % (torso); 3 at 75 % (torso); 2 at 90 % (tail).
    assert {band: m["n"] for band, m in slices["frequency"].items()} == {"head": 1, "torso": 2, "tail": 1}
    assert slices["frequency"]["torso"]["intent_accuracy"] == 0.5
    with pytest.raises(ValueError, match="4 metadata rows, 3 examples"):
        slice_metrics(meta, examples[:3], frames[:3])


def test_confusion_counts_gold_by_predicted() -> None:
    examples = [_example(i, intent) for i, intent in enumerate(["a", "a", "a", "b", "b", "c"])]
    frames = [Frame(intent, 0.5) for intent in ["a", "b", "b", "b", "a", "c"]]
    assert confusion(examples, frames) == {"a": {"a": 1, "b": 2}, "b": {"a": 1, "b": 1}, "c": {"c": 1}}
