"""Public-format connectors read real cuts of the public datasets into canonical RECORD batches."""

import gzip
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from honkdata.ingest.formats import CURATED_LICENSES, PUBLIC_READERS
from honkdata.ingest.formats.annotated import parse_annotation
from honkdata.ingest.source import SourceContext
from honkdata.schema import RECORD
from honkdata.taxonomy import GoldSpan, load_taxonomy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "public"
SLURP = FIXTURES / "slurp" / "devel.jsonl"
MASSIVE = FIXTURES / "massive" / "en-US.jsonl"
CPCD = FIXTURES / "cpcd" / "cpcd_v1.dialogs.sample.jsonl"
LABELED = FIXTURES / "labeled" / "queries.jsonl"

EVERY_FORMAT = [
    ("snips", FIXTURES / "snips", 35),
    ("bio", FIXTURES / "bio", 30),
    ("slurp", SLURP, 18),
    ("massive", MASSIVE, 8),
    ("cpcd", CPCD, 5),
    ("labeled-jsonl", LABELED, 5),
]


@dataclass
class Result:
    rows: list[dict]
    rejects: list[tuple[int, str, str | bytes]]
    ctx: SourceContext

    def row(self, line: int) -> dict:
        (row,) = [r for r in self.rows if r["line"] == line]
        return row


def read(fmt: str, path: Path, batch_rows: int = 65_536) -> Result:
    rejects: list[tuple[int, str, str | bytes]] = []
    ctx = SourceContext(
        name=path.name,
        taxonomy=load_taxonomy(),
        on_reject=lambda source, line, reason, raw: rejects.append((line, reason, raw)),
        batch_rows=batch_rows,
    )
    batches = list(PUBLIC_READERS[fmt](path, ctx))
    assert all(b.schema == RECORD and 0 < b.num_rows <= batch_rows for b in batches)
    return Result([r for b in batches for r in b.to_pylist()], rejects, ctx)


def entities(row: dict) -> list[tuple[str, str]]:
    return [(e["type"], e["text"]) for e in row["entities"]]


def with_lines(tmp_path: Path, source: Path, inserts: dict[int, str], name: str | None = None) -> Path:
    """A copy of a jsonl fixture with extra lines put in at the given 1-based positions."""
    lines = source.read_text(encoding="utf-8").splitlines()
    for position in sorted(inserts):
        lines.insert(position - 1, inserts[position])
    path = tmp_path / (name or source.name)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("fmt", "path", "n_rows"), EVERY_FORMAT)
def test_every_reader_yields_canonical_batches(fmt: str, path: Path, n_rows: int) -> None:
    result = read(fmt, path, batch_rows=4)
    assert len(result.rows) == n_rows
    assert result.rejects == []
    for row in result.rows:
        assert row["source"] == path.name and row["line"] >= 1 and row["user_id"] is None
        assert row["query"].strip()
        for entity in row["entities"] or []:
            assert row["query"][entity["start"] : entity["end"]] == entity["text"]
        if row["intent"] == "out_of_domain":
            assert row["entities"] == []


def test_every_public_format_has_a_license_entry() -> None:
    assert set(CURATED_LICENSES) == set(PUBLIC_READERS)
    assert CURATED_LICENSES["snips"] == "CC0-1.0" and CURATED_LICENSES["massive"] == "CC-BY-4.0"


def test_snips_utterance_text_intent_and_spans() -> None:
    row = read("snips", FIXTURES / "snips" / "train_PlayMusic.json").row(1)
    assert row["query"] == "I need to hear the song Aspro Mavro from Bill Szymczyk on Youtube"
    assert row["intent"] == "play_music"
    assert [(e["type"], e["start"], e["end"]) for e in row["entities"]] == [
        ("music_item", 19, 23),
        ("track", 24, 35),
        ("artist", 41, 54),
        ("service", 58, 65),
    ]
    year = read("snips", FIXTURES / "snips" / "train_PlayMusic.json").row(3)
    assert entities(year) == [("era", "seventies"), ("artist", "Janne Puurtinen"), ("service", "Youtube")]


def test_snips_invalid_utf8_is_repaired_not_rejected() -> None:
    path = FIXTURES / "snips" / "train_PlayMusic.json"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    result = read("snips", path)
    assert result.ctx.rows_repaired == 1 and result.rejects == []
    row = result.row(11)
    assert row["query"] == "I want toi hear some Pop Punk Perfection \U0001f355 off of Deezer"
    assert entities(row) == [("playlist", "Pop Punk Perfection \U0001f355"), ("service", "Deezer")]


def test_snips_search_creative_work_is_music_only_for_music_objects() -> None:
    result = read("snips", FIXTURES / "snips" / "train_SearchCreativeWork.json")
    soundtrack, book, untyped, album = result.row(1), result.row(2), result.row(4), result.row(13)
    assert soundtrack["intent"] == "search_music"
    assert entities(soundtrack) == [("music_item", "soundtrack"), ("track", "This Side of Paradise")]
    assert (book["query"], book["intent"], book["entities"]) == (
        "find a book called The Mad Magician",
        "out_of_domain",
        [],
    )
    assert untyped["intent"] == "out_of_domain"
    assert album["intent"] == "search_music"
    assert ("album", "Praise the Lord and Pass the Ammunition") in entities(album)


def test_snips_add_to_playlist_entity_name_is_track_and_owner_is_dropped() -> None:
    result = read("snips", FIXTURES / "snips" / "validate_AddToPlaylist.json")
    first = result.row(1)
    assert first["query"] == "I'd like to have this track onto my Classical Relaxations playlist."
    assert first["intent"] == "playlist_add"
    assert entities(first) == [("music_item", "track"), ("playlist", "Classical Relaxations")]
    assert entities(result.row(3)) == [("playlist", "digging now"), ("track", "Young at Heart")]


def test_snips_folder_numbers_utterances_across_files_in_name_order() -> None:
    result = read("snips", FIXTURES / "snips")
    assert [r["line"] for r in result.rows] == list(range(1, 36))
    assert result.row(1)["intent"] == "out_of_domain"  # train_GetWeather.json comes first
    assert result.row(4)["query"].startswith("I need to hear the song Aspro Mavro")


def test_snips_unreadable_file_is_one_reject_and_bad_utterances_are_skipped(tmp_path: Path) -> None:
    broken = tmp_path / "train_PlayMusic.json"
    broken.write_text('{"PlayMusic": [{"data": [')
    result = read("snips", broken)
    assert result.rows == [] and [(line, reason) for line, reason, _ in result.rejects] == [
        (0, "invalid JSON in train_PlayMusic.json")
    ]
    mixed = tmp_path / "mixed.json"
    mixed.write_text(
        '{"PlayMusic": [{"data": [{"text": "play adele"}]}, {"data": "oops"},'
        ' {"data": [{"text": "play "}, {"text": "hello ", "entity": "track"}]}]}'
    )
    result = read("snips", mixed)
    assert [r["line"] for r in result.rows] == [1, 3]
    assert result.row(3)["entities"] == [{"type": "track", "start": 5, "end": 10, "text": "hello"}]
    assert [(line, reason) for line, reason, _ in result.rejects] == [(2, "malformed utterance")]


def test_bio_reads_split_folders_with_continuous_lines() -> None:
    result = read("bio", FIXTURES / "bio")
    row = result.row(2)
    assert row["query"] == "add step to me to the 50 clásicos playlist"
    assert row["intent"] == "playlist_add"
    assert [(e["type"], e["start"], e["end"], e["text"]) for e in row["entities"]] == [
        ("track", 4, 14, "step to me"),
        ("playlist", 22, 33, "50 clásicos"),
    ]
    assert result.row(21)["query"] == "add sabrina salerno to the grime instrumentals playlist"  # test line 1
    single = read("bio", FIXTURES / "bio" / "test")
    assert [r["line"] for r in single.rows] == list(range(1, 11))


def copy_bio(tmp_path: Path) -> Path:
    root = tmp_path / "snips"
    shutil.copytree(FIXTURES / "bio", root)
    return root


def test_bio_line_counts_that_disagree_quarantine_the_split(tmp_path: Path) -> None:
    root = copy_bio(tmp_path)
    label = root / "test" / "label"
    label.write_text("\n".join(label.read_text().splitlines()[:-1]) + "\n")
    result = read("bio", root)
    assert len(result.rows) == 20 and {r["line"] for r in result.rows} == set(range(1, 21))
    assert [line for line, _, _ in result.rejects] == list(range(21, 31))
    assert {reason for _, reason, _ in result.rejects} == {
        "line counts differ: seq.in 10, seq.out 10, label 9"
    }
    assert result.rejects[0][2] == "add sabrina salerno to the grime instrumentals playlist"


def test_bio_token_and_tag_counts_that_disagree_reject_the_line(tmp_path: Path) -> None:
    root = copy_bio(tmp_path)
    seq_out = root / "test" / "seq.out"
    lines = seq_out.read_text().splitlines()
    lines[2] = "O O"
    seq_out.write_text("\n".join(lines) + "\n")
    result = read("bio", root / "test")
    assert len(result.rows) == 9
    assert [(line, reason) for line, reason, _ in result.rejects] == [
        (3, "seq.in and seq.out token counts differ")
    ]


def test_bio_lines_in_another_encoding_are_rejected_and_repairs_counted_once_kept(tmp_path: Path) -> None:
    (tmp_path / "seq.in").write_bytes(
        b"play caf\xe9\nplay " + "プレイ".encode("shift_jis") + b"\nplay abba\ncaf\xe9 tango\n"
    )
    (tmp_path / "seq.out").write_text("O B-track\nO B-track\nO B-artist\nO\n")
    (tmp_path / "label").write_text("PlayMusic\n" * 4)
    result = read("bio", tmp_path)
    assert [(row["line"], row["query"]) for row in result.rows] == [(1, "play café"), (3, "play abba")]
    assert [(line, reason) for line, reason, _ in result.rejects] == [
        (2, "bytes are not UTF-8 and no repair reads as text"),
        (4, "seq.in and seq.out token counts differ"),
    ]
    assert result.ctx.rows_repaired == 1  # line 4 was repaired too, but rejected


def test_snips_utterance_in_another_encoding_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "train_PlayMusic.json"
    path.write_bytes(
        b'{"PlayMusic": [\n{"data": [{"text": "play adele"}]},\n{"data": [{"text": "play '
        + "プレイリスト".encode("shift_jis")
        + b'"}]}\n]}'
    )
    result = read("snips", path)
    assert [row["query"] for row in result.rows] == ["play adele"]
    assert [(line, reason) for line, reason, _ in result.rejects] == [
        (2, "bytes are not UTF-8 and no repair reads as text")
    ]


def test_slurp_values_and_intent_repair() -> None:
    result = read("slurp", SLURP)
    row = result.row(14)
    assert row["query"] == "play dynamite by acdc" and row["intent"] == "play_music"
    assert [(e["type"], e["start"], e["end"]) for e in row["entities"]] == [
        ("track", 5, 13),
        ("artist", 17, 21),
    ]
    assert result.row(1)["query"] == "siri what is one american dollar in japanese yen"
    assert (result.row(1)["intent"], result.row(1)["entities"]) == ("out_of_domain", [])
    # SLURP's own intent field says "music" here; scenario "play" + action "music" is play_music.
    assert (result.row(6)["query"], result.row(6)["intent"]) == ("play next song", "play_music")
    assert result.row(15)["intent"] == "playback_control"
    assert entities(result.row(15)) == [("setting", "shuffle")]
    assert entities(result.row(8)) == [("station", "fm radio"), ("station", "nine hundred and eighty seven")]
    assert result.row(17)["intent"] == "dislike"


def test_slurp_broken_lines_are_rejected_and_the_rest_is_read(tmp_path: Path) -> None:
    bad_annotation = '{"slurp_id": 1, "sentence_annotation": "play [song_name : x", "intent": "play_music"}'
    path = with_lines(tmp_path, SLURP, {3: '{"slurp_id": 99, "sentence": "play', 10: bad_annotation})
    result = read("slurp", path)
    assert len(result.rows) == 18
    assert [(line, reason) for line, reason, _ in result.rejects] == [
        (3, "invalid JSON"),
        (10, "malformed sentence_annotation: unbalanced brackets"),
    ]
    assert result.rejects[0][2] == '{"slurp_id": 99, "sentence": "play'
    assert result.row(4)["query"] == "play the most current episode of levin"  # fixture line 3, now line 4


def test_massive_keeps_locale_and_maps_labels() -> None:
    result = read("massive", MASSIVE)
    first = result.row(1)
    assert (first["query"], first["intent"], first["locale"]) == (
        "play bohemian rhapsody by queen",
        "play_music",
        "en-US",
    )
    assert [(e["type"], e["start"], e["end"]) for e in first["entities"]] == [
        ("track", 5, 22),
        ("artist", 26, 31),
    ]
    assert result.row(2)["intent"] == "music_info"
    assert result.row(8)["intent"] == "play_podcast" and entities(result.row(8)) == [("podcast", "the daily")]
    assert (result.row(7)["query"], result.row(7)["entities"]) == ("wake me up at 6:30 am", [])
    french = read("massive", FIXTURES / "massive" / "fr-FR.jsonl").row(1)
    assert french["locale"] == "fr-FR" and french["query"] == "mets la vie en rose d'édith piaf"
    assert entities(french) == [("track", "la vie en rose"), ("artist", "édith piaf")]


def test_massive_gzip_and_broken_lines(tmp_path: Path) -> None:
    plain = with_lines(tmp_path, MASSIVE, {2: "{not json", 5: '{"id": "9", "locale": "en-US", "utt": "hi"}'})
    path = tmp_path / "en-US.jsonl.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    result = read("massive", path)
    assert len(result.rows) == 8
    assert [(line, reason) for line, reason, _ in result.rejects] == [
        (2, "invalid JSON"),
        (5, "missing annot_utt or intent"),
    ]


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    path = tmp_path / "en-US.jsonl.gz"
    path.write_bytes(gzip.compress(MASSIVE.read_bytes())[:-30])
    result = read("massive", path)
    assert 0 < len(result.rows) < 8 and result.rows[0]["query"] == "play bohemian rhapsody by queen"
    ((line, reason, _),) = result.rejects
    assert line == len(result.rows) + 1 and reason.startswith("unreadable file")


def test_cpcd_turns_are_unlabeled_rows_of_one_session() -> None:
    result = read("cpcd", CPCD)
    assert [r["query"] for r in result.rows[:2]] == [
        "Hi! I need a playlist for a long night drive.",
        "Something like The Midnight or FM-84, synthwave vibes",
    ]
    assert [r["line"] for r in result.rows] == [1, 1, 1, 2, 2]
    assert [r["session_id"] for r in result.rows] == ["a1b2c3d4e5f60718"] * 3 + ["0f9e8d7c6b5a4321"] * 2
    assert all(r["intent"] is None and r["entities"] is None for r in result.rows)


def test_cpcd_broken_dialogs_and_turns_are_rejected(tmp_path: Path) -> None:
    inserts = {
        1: '{"id": "x", "turns": [{"user_query": "more jazz"}, {"system_response": "ok"}]}',
        2: '{"id": "y", "turns": [',
        3: '{"id": "z"}',
    }
    result = read("cpcd", with_lines(tmp_path, CPCD, inserts))
    assert [r["query"] for r in result.rows][:2] == [
        "more jazz",
        "Hi! I need a playlist for a long night drive.",
    ]
    assert len(result.rows) == 6
    assert [(line, reason) for line, reason, _ in result.rejects] == [
        (1, "turn without user_query"),
        (2, "invalid JSON"),
        (3, "missing turns"),
    ]


def test_labeled_jsonl_values() -> None:
    result = read("labeled-jsonl", LABELED)
    assert result.row(1)["entities"] == [{"type": "artist", "start": 5, "end": 17, "text": "taylor swift"}]
    second = result.row(2)
    assert (second["intent"], second["locale"]) == ("recommend", "en-GB")
    assert entities(second) == [("mood", "chill"), ("activity", "studying")]  # text filled from the span
    assert (result.row(5)["intent"], result.row(5)["entities"]) == ("playback_control", [])


def adele(entities: str) -> str:
    return f'{{"query": "play adele", "intent": "play_music", "entities": [{entities}]}}'


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"query": "play adele", "intent": "play_musik"}', "unknown intent 'play_musik'"),
        (adele('{"type": "artist", "start": 5, "end": 40}'), "entity span out of range"),
        (adele('{"type": "artist", "start": -1, "end": 3}'), "entity span out of range"),
        (
            adele('{"type": "artist", "start": 5, "end": 10, "text": "queen"}'),
            "entity text does not match its span",
        ),
        (adele('{"type": "singer", "start": 5, "end": 10}'), "unknown entity type 'singer'"),
        (
            adele('{"type": "artist", "start": 5, "end": 10}, {"type": "track", "start": 7, "end": 10}'),
            "overlapping entity spans",
        ),
        ('{"query": "   ", "intent": "play_music"}', "missing or empty query"),
        ('{"query": "play adele", "intent": "play_music", "split": "holdout"}', "unknown split 'holdout'"),
        ('{"query": "play adele", "intent": "play_music"', "invalid JSON"),
        ("[1, 2]", "JSON line is not an object"),
    ],
)
def test_labeled_jsonl_rejects_bad_rows_with_a_reason(tmp_path: Path, line: str, reason: str) -> None:
    result = read("labeled-jsonl", with_lines(tmp_path, LABELED, {3: line}))
    assert len(result.rows) == 5
    assert [(n, r) for n, r, _ in result.rejects] == [(3, reason)]
    assert result.row(4)["query"] == "add this to my gym playlist"


def test_parse_annotation() -> None:
    text, spans = parse_annotation("wake me at [time : 5:30 am] [date : ] please")
    assert text == "wake me at 5:30 am  please"
    assert spans == [GoldSpan("time", 11, 18, "5:30 am")]
    with pytest.raises(ValueError, match="unbalanced"):
        parse_annotation("play [song_name : x")
    with pytest.raises(ValueError, match="unbalanced"):
        parse_annotation("play ] x")


def test_parse_annotation_anchors_spans_on_the_dataset_sentence() -> None:
    text, spans = parse_annotation("[date : 明日] の 天気", sentence="明日の天気")
    assert text == "明日の天気" and spans == [GoldSpan("date", 0, 2, "明日")]
    text, spans = parse_annotation("alarm for [date : this Friday]", sentence="alarm for this friday")
    assert text == "alarm for this friday" and spans == [GoldSpan("date", 10, 21, "this friday")]
    text, spans = parse_annotation("play [artist_name : adele]", sentence="play something else")
    assert text == "play adele" and spans == [GoldSpan("artist_name", 5, 10, "adele")]


def native(row: dict) -> list[tuple[str, str]]:
    return [(e["type"], e["text"]) for e in row["source_entities"]]


@pytest.mark.parametrize(("fmt", "path", "n_rows"), EVERY_FORMAT)
def test_native_spans_fit_the_query_like_the_mapped_ones(fmt: str, path: Path, n_rows: int) -> None:
    for row in read(fmt, path).rows:
        spans = row["source_entities"] or []
        assert all(row["query"][e["start"] : e["end"]] == e["text"] for e in spans)
        assert [e["start"] for e in spans] == sorted(e["start"] for e in spans)
        assert (row["source_intent"] is None) == (row["intent"] is None)


def test_native_labels_of_every_format() -> None:
    snips = read("snips", FIXTURES / "snips" / "train_PlayMusic.json").row(1)
    assert snips["source_intent"] == "PlayMusic"
    assert native(snips) == [
        ("music_item", "song"),
        ("track", "Aspro Mavro"),
        ("artist", "Bill Szymczyk"),
        ("service", "Youtube"),
    ]
    assert native(read("snips", FIXTURES / "snips" / "train_PlayMusic.json").row(3))[0] == (
        "year",
        "seventies",
    )
    # Out of the music domain the mapped labels are empty; the native ones are all still there.
    book = read("snips", FIXTURES / "snips" / "train_SearchCreativeWork.json").row(2)
    assert (book["intent"], book["entities"], book["source_intent"]) == (
        "out_of_domain",
        [],
        "SearchCreativeWork",
    )
    assert native(book) == [("object_type", "book"), ("object_name", "The Mad Magician")]
    owner = read("snips", FIXTURES / "snips" / "validate_AddToPlaylist.json").row(1)
    assert ("playlist_owner", "my") in native(owner) and "playlist_owner" not in {
        e["type"] for e in owner["entities"]
    }
    bio = read("bio", FIXTURES / "bio").row(2)
    assert (bio["source_intent"], native(bio)) == (
        "AddToPlaylist",
        [("entity_name", "step to me"), ("playlist", "50 clásicos")],
    )
    slurp = read("slurp", SLURP)
    assert (slurp.row(14)["source_intent"], native(slurp.row(14))) == (
        "play_music",
        [("song_name", "dynamite"), ("artist_name", "acdc")],
    )
    assert slurp.row(1)["source_intent"] == "qa_currency"
    assert native(slurp.row(1)) == [("currency_name", "american dollar"), ("currency_name", "japanese yen")]
    massive = read("massive", MASSIVE)
    assert (massive.row(3)["source_intent"], native(massive.row(3))) == (
        "audio_volume_up",
        [("change_amount", "eighty percent")],
    )
    labeled = read("labeled-jsonl", LABELED)
    assert labeled.row(2)["source_intent"] == "recommend"
    assert native(labeled.row(2)) == [("mood", "chill"), ("activity", "studying")]
    assert all(r["source_intent"] is None and r["source_entities"] is None for r in read("cpcd", CPCD).rows)


def test_official_split_of_every_format(tmp_path: Path) -> None:
    def splits(fmt: str, path: Path) -> dict[int, str | None]:
        return {r["line"]: r["source_split"] for r in read(fmt, path).rows}

    bio = splits("bio", FIXTURES / "bio")
    assert {bio[n] for n in range(1, 21)} == {"train"} and {bio[n] for n in range(21, 31)} == {"test"}
    snips = read("snips", FIXTURES / "snips").rows
    assert {(r["source_intent"], r["source_split"]) for r in snips} == {
        ("GetWeather", "train"),
        ("PlayMusic", "train"),
        ("SearchCreativeWork", "train"),
        ("AddToPlaylist", "validation"),  # validate_AddToPlaylist.json
    }
    assert set(splits("slurp", SLURP).values()) == {"validation"}  # devel.jsonl
    shutil.copy(SLURP, tmp_path / "train_synthetic.jsonl")
    assert set(splits("slurp", tmp_path / "train_synthetic.jsonl").values()) == {"train"}
    shutil.copy(SLURP, tmp_path / "slurp.jsonl")
    assert set(splits("slurp", tmp_path / "slurp.jsonl").values()) == {None}
    massive = with_lines(
        tmp_path, MASSIVE, {2: MASSIVE.read_text().splitlines()[0].replace('"train"', '"dev"')}
    )
    assert splits("massive", massive)[2] == "validation" and splits("massive", massive)[1] == "train"
    labeled = with_lines(
        tmp_path,
        LABELED,
        {1: '{"query": "play abba", "intent": "play_music", "split": "dev"}'},
        "split.jsonl",
    )
    assert splits("labeled-jsonl", labeled)[1] == "validation" and splits("labeled-jsonl", labeled)[2] is None
    assert set(splits("cpcd", CPCD).values()) == {None}
