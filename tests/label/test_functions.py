from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from honkdata.errors import HonkdataError
from honkdata.label.functions import load_labeling
from honkdata.label.weak import WeakLabeler


@pytest.fixture(scope="module")
def labeler() -> WeakLabeler:
    return WeakLabeler()


@pytest.mark.parametrize(
    ("query", "intent"),
    [
        ("add this song to my gym playlist", "playlist_add"),
        ("Add Frank Beard to my latin pop classics playlist", "playlist_add"),
        ("skip", "playback_control"),
        ("shuffle my songs", "playback_control"),
        ("turn the volume up", "playback_control"),
        ("louder please", "playback_control"),
        ("who sings this song", "music_info"),
        ("when did adele release 25", "music_info"),
        ("something like radiohead", "recommend"),
        ("music for running", "recommend"),
        ("play bbc radio one", "play_radio"),
        ("play the latest episode of my favorite podcast", "play_podcast"),
        ("resume my audiobook", "play_audiobook"),
        ("i love this song", "like"),
        ("never play this again", "dislike"),
        ("make me a road trip playlist", "playlist_create"),
        ("find the album thriller", "search_music"),
        ("play taylor swift", "play_music"),
        ("put on some jazz", "play_music"),
        ("what's the weather like in paris", "out_of_domain"),
        ("set an alarm for 7 am", "out_of_domain"),
        ("book a table for two at an italian restaurant", "out_of_domain"),
    ],
)
def test_queries_get_their_intent(labeler: WeakLabeler, query: str, intent: str) -> None:
    labels = labeler.label(pa.array([query, "play some music", "what is the weather"]))
    assert labels.intent[0].as_py() == intent


def test_unsure_queries_abstain(labeler: WeakLabeler) -> None:
    votes = labeler.votes(pa.array(["banana", "blue sky thinking", "", None], pa.string()))
    assert (votes == -1).all()
    labels = labeler.label(pa.array(["banana", "play adele"]))
    assert labels.intent.to_pylist()[0] is None and labels.confidence.to_pylist()[0] is None
    assert labels.intent.to_pylist()[1] == "play_music"


def test_votes_are_one_column_per_function_and_case_insensitive(labeler: WeakLabeler) -> None:
    votes = labeler.votes(pa.array(["SKIP THIS SONG", "skip this song"]))
    assert votes.shape == (2, len(labeler.lf_names)) and votes.dtype == np.int16
    np.testing.assert_array_equal(votes[0], votes[1])
    control = labeler.intents.index("playback_control")
    assert (votes[0] == control).any()


def test_unless_blocks_a_function(labeler: WeakLabeler) -> None:
    # "play" would vote play_music, but a game is not music.
    play = labeler.lf_names.index("play_request")
    votes = labeler.votes(pa.array(["play chess with me", "play adele"]))
    assert votes[0, play] == -1 and votes[1, play] == labeler.intents.index("play_music")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "labeling.yaml"
    path.write_text(text)
    return path


def test_unknown_intent_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "functions:\n  - {name: x, intent: play_musik, patterns: [play]}\n")
    with pytest.raises(HonkdataError, match=r"functions\.0 \(x\)\.intent: 'play_musik'"):
        load_labeling(path)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "functions:\n  - {name: x, intent: play_music, paterns: [play]}\n")
    with pytest.raises(HonkdataError, match=r"functions\.0\.paterns"):
        load_labeling(path)


def test_bad_regex_and_unknown_list_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "functions:\n  - {name: x, intent: play_music, patterns: ['play (']}\n")
    with pytest.raises(HonkdataError, match=r"functions\.0 \(x\)\.patterns\.0: not a valid RE2"):
        load_labeling(path)
    path = write(tmp_path, "functions:\n  - {name: x, intent: like, patterns: ['{nope}']}\n")
    with pytest.raises(HonkdataError, match=r"unknown list \{nope\}"):
        load_labeling(path)
    path = write(
        tmp_path, "lists: {g: missing.txt}\nfunctions:\n  - {name: x, intent: like, patterns: [a]}\n"
    )
    with pytest.raises(HonkdataError, match=r"lists\.g: file not found"):
        load_labeling(path)


def test_lists_expand_to_escaped_words(tmp_path: Path) -> None:
    (tmp_path / "g.txt").write_text("# genres\nr&b\nhip hop\n")
    path = write(
        tmp_path,
        "lists: {genre: g.txt, verb: [play, put on]}\n"
        "functions:\n  - {name: x, intent: play_music, patterns: ['^{verb} {genre}$']}\n",
    )
    labeler = WeakLabeler(load_labeling(path))
    votes = labeler.votes(pa.array(["put on R&B", "play hip hop", "play rb", "play hip hop now"]))
    assert votes[:, 0].tolist() == [0, 0, -1, -1]


def test_shipped_config_loads() -> None:
    config = load_labeling()
    assert len(config.functions) >= 20
    assert {f.intent for f in config.functions} == set(config.intents)
