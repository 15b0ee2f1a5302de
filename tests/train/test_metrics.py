import pytest
from seqeval.metrics import f1_score as seqeval_f1
from sklearn.metrics import accuracy_score, f1_score

from honkdata.evaluate.metrics import score
from honkdata.tokens import tokenize
from honkdata.train.examples import example_from_tags
from honkdata.train.frames import Frame, tags_to_entities

ROWS = [
    ("play the rolling stones", "play_music", ["O", "B-artist", "I-artist", "I-artist"]),
    ("add this to my gym playlist", "playlist_add", ["O", "O", "O", "O", "B-playlist", "O"]),
    ("skip", "playback_control", ["O"]),
    ("play jazz on spotify", "play_music", ["O", "B-genre", "O", "B-service"]),
]
PREDICTED = [
    ("play_music", ["O", "B-artist", "I-artist", "O"]),  # span too short
    ("playlist_add", ["O", "O", "O", "O", "B-playlist", "O"]),  # all right
    ("play_music", ["O"]),  # wrong intent
    ("play_music", ["O", "B-genre", "O", "B-artist"]),  # wrong type
]


def _data() -> tuple[list, list[Frame], list[list[str]], list[list[str]]]:
    examples, frames = [], []
    for (text, intent, tags), (p_intent, p_tags) in zip(ROWS, PREDICTED, strict=True):
        tokens = tokenize(text)
        examples.append(example_from_tags(text, text, tokens, intent, tags))
        frames.append(Frame(p_intent, 0.9, tags_to_entities(text, tokens, p_tags)))
    return examples, frames, [r[2] for r in ROWS], [p[1] for p in PREDICTED]


def test_scores_agree_with_sklearn_and_seqeval() -> None:
    examples, frames, gold_tags, predicted_tags = _data()
    metrics = score(examples, frames)
    gold_intents, predicted_intents = [r[1] for r in ROWS], [p[0] for p in PREDICTED]
    assert metrics["n"] == 4
    assert metrics["intent_accuracy"] == pytest.approx(accuracy_score(gold_intents, predicted_intents))
    labels = sorted(set(gold_intents))
    macro = f1_score(gold_intents, predicted_intents, labels=labels, average="macro", zero_division=0)
    assert metrics["intent_macro_f1"] == pytest.approx(macro)
    assert metrics["entity_f1"] == pytest.approx(seqeval_f1(gold_tags, predicted_tags))
    assert metrics["frame_accuracy"] == pytest.approx(1 / 4)


def test_per_type_and_invalid_counts() -> None:
    examples, frames, _, _ = _data()
    frames[2] = Frame("out_of_domain", 0.0, valid=False)
    metrics = score(examples, frames)
    assert metrics["invalid"] == 1
    assert metrics["per_entity_type"]["playlist"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "support": 1,
    }
    assert metrics["per_entity_type"]["artist"]["support"] == 1
    assert metrics["per_entity_type"]["artist"]["precision"] == 0.0  # two predicted, neither right
    assert metrics["per_intent"]["play_music"]["recall"] == 1.0


def test_prediction_count_must_match() -> None:
    examples, frames, _, _ = _data()
    with pytest.raises(ValueError, match="4 examples but 3"):
        score(examples, frames[:3])
