"""The shipped taxonomy and its validation: every mapping target must be a taxonomy name."""

import copy
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from honkdata.errors import HonkdataError
from honkdata.resources import shipped_config
from honkdata.taxonomy import GoldSpan, Taxonomy, load_taxonomy

ENTITY_TYPES = (
    "artist track album genre playlist mood activity era music_item service sort station podcast audiobook "
    "setting"
)


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


def shipped() -> dict:
    return yaml.safe_load(shipped_config("taxonomy.yaml").read_text())


def test_default_taxonomy_matches_design(taxonomy: Taxonomy) -> None:
    assert len(taxonomy.intents) == 13
    assert taxonomy.intents[0] == "play_music"
    assert taxonomy.default_intent == "out_of_domain" == taxonomy.intents[-1]
    assert taxonomy.entity_types == ENTITY_TYPES.split()
    assert {"snips", "slurp", "massive"} <= set(taxonomy.formats)


@pytest.mark.parametrize(
    ("fmt", "label", "expected"),
    [
        ("snips", "PlayMusic", "play_music"),
        ("snips", "AddToPlaylist", "playlist_add"),
        ("snips", "GetWeather", "out_of_domain"),
        ("slurp", "play_podcasts", "play_podcast"),
        ("slurp", "music_query", "music_info"),
        ("slurp", "music_likeness", "like"),
        ("slurp", "music_dislikeness", "dislike"),
        ("slurp", "audio_volume_mute", "playback_control"),
        ("slurp", "music_settings", "playback_control"),
        ("massive", "play_radio", "play_radio"),
        ("massive", "calendar_set", "out_of_domain"),
    ],
)
def test_map_intent(taxonomy: Taxonomy, fmt: str, label: str, expected: str) -> None:
    assert taxonomy.map_intent(fmt, label) == expected


def test_search_creative_work_is_music_only_for_music_objects(taxonomy: Taxonomy) -> None:
    assert taxonomy.map_intent("snips", "SearchCreativeWork", {"object_type": {"song"}}) == "search_music"
    assert taxonomy.map_intent("snips", "SearchCreativeWork", {"object_type": {"album"}}) == "search_music"
    assert taxonomy.map_intent("snips", "SearchCreativeWork", {"object_type": {"book"}}) == "out_of_domain"
    assert taxonomy.map_intent("snips", "SearchCreativeWork") == "out_of_domain"


def test_map_entity(taxonomy: Taxonomy) -> None:
    assert taxonomy.map_entity("snips", "year") == "era"
    assert taxonomy.map_entity("snips", "entity_name") == "track"
    assert taxonomy.map_entity("snips", "playlist_owner") is None
    assert taxonomy.map_entity("snips", "object_name", {"object_type": {"album"}}) == "album"
    assert taxonomy.map_entity("snips", "object_name", {"object_type": {"song"}}) == "track"
    assert taxonomy.map_entity("slurp", "radio_name") == "station"
    assert taxonomy.map_entity("massive", "song_name") == "track"
    assert taxonomy.map_entity("massive", "app_name") == "service"
    assert taxonomy.map_entity("massive", "place_name") is None


def test_map_example_drops_unmapped_slots_and_out_of_domain_entities(taxonomy: Taxonomy) -> None:
    query = "Find a song called Be Quick or Be Dead for my"
    spans = [GoldSpan("object_name", 19, 38, "Be Quick or Be Dead"), GoldSpan("object_type", 7, 11, "song")]
    intent, entities = taxonomy.map_example("snips", "SearchCreativeWork", spans)
    assert intent == "search_music"
    assert entities == [
        {"type": "music_item", "start": 7, "end": 11, "text": "song"},
        {"type": "track", "start": 19, "end": 38, "text": "Be Quick or Be Dead"},
    ]
    assert all(query[e["start"] : e["end"]] == e["text"] for e in entities)
    assert taxonomy.map_example("snips", "GetWeather", [GoldSpan("city", 0, 5, "Paris")]) == (
        "out_of_domain",
        [],
    )
    intent, entities = taxonomy.map_example(
        "snips", "AddToPlaylist", [GoldSpan("playlist_owner", 0, 2, "my")]
    )
    assert (intent, entities) == ("playlist_add", [])


def test_unknown_format_is_a_clear_error(taxonomy: Taxonomy) -> None:
    with pytest.raises(HonkdataError, match=r"formats\.atis"):
        taxonomy.map_intent("atis", "atis_flight")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("formats", "slurp", "intents", "play_music"), "play_musik", "formats.slurp.intents.play_music"),
        (("formats", "snips", "entities", "year"), "decade", "formats.snips.entities.year"),
        (
            ("formats", "snips", "conditional", "intents", "SearchCreativeWork", "then"),
            "search",
            "formats.snips.conditional.intents.SearchCreativeWork",
        ),
        (("default_intent",), "other", "default_intent"),
    ],
)
def test_bad_mapping_target_names_the_key(tmp_path: Path, path: tuple, value: str, message: str) -> None:
    config = shipped()
    config["formats"]["massive"] = copy.deepcopy(config["formats"]["massive"])  # break the YAML alias
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    file = tmp_path / "taxonomy.yaml"
    file.write_text(yaml.safe_dump(config))
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        load_taxonomy(file)


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    config = shipped()
    config["formats"]["snips"]["intent"] = {}
    file = tmp_path / "taxonomy.yaml"
    file.write_text(yaml.safe_dump(config))
    with pytest.raises(ValidationError, match=r"formats\.snips\.intent"):
        load_taxonomy(file)
