from honkdata.evaluate.mistakes import worst_errors
from honkdata.train.examples import Example
from honkdata.train.frames import Entity, Frame

ARTIST = Entity("artist", 5, 9, "abba")


def test_wrong_intents_first_then_wrong_entities_each_most_confident_first() -> None:
    cases = [
        ("a", "play_music", Frame("like", 0.6)),  # wrong intent, .6
        ("b", "play_music", Frame("play_music", 0.99)),  # right frame: not an error
        ("c", "play_music", Frame("play_music", 0.95, (ARTIST,))),  # extra entity, .95
        ("d", "skip", Frame("like", 0.9)),  # wrong intent, .9
        ("e", "skip", Frame("dislike", 0.9)),  # wrong intent, .9: after d by id
        ("f", "play_music", Frame("play_music", 0.4, (ARTIST,))),  # extra entity, .4
    ]
    examples = [Example(i, f"query {i}", (), intent, (), ()) for i, intent, _ in cases]
    frames = [frame for *_, frame in cases]
    worst = worst_errors(examples, frames)
    assert [w["id"] for w in worst] == ["d", "e", "a", "c", "f"]
    assert [w["wrong"] for w in worst] == ["intent"] * 3 + ["entities"] * 2
    first = worst[0]
    assert (first["query"], first["gold_intent"], first["predicted_intent"], first["confidence"]) == (
        "query d",
        "skip",
        "like",
        0.9,
    )
    assert worst[3]["predicted_entities"] == [ARTIST.to_dict()] and worst[3]["gold_entities"] == []
    assert [w["id"] for w in worst_errors(examples, frames, k=2)] == ["d", "e"]
