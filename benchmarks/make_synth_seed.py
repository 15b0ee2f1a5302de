"""Regenerate honkdata/resources/synth_seed.json, the public utterances `honkdata.synth` grows logs from.

    python benchmarks/make_synth_seed.py [PUBLIC_DIR] [--out PATH]

PUBLIC_DIR (default /work/shared/data/public) holds `snips-2017/` (the Snips 2017 custom-intent JSON,
CC0) and `slurp/devel.jsonl` (SLURP devel, CC BY 4.0, Bastianelli et al., EMNLP 2020). The output is
deterministic: the same inputs give the same bytes.
"""

import argparse
import codecs
import json
import random
import re
from collections import Counter
from pathlib import Path

DEFAULT_PUBLIC = Path("/work/shared/data/public")
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "honkdata" / "resources" / "synth_seed.json"

# How many utterances of each group to keep: enough variety for the head of a log while keeping the
# shipped file small. Entity pools are drawn from *all* utterances of the music intents regardless.
CAPS = {
    "PlayMusic": 800,
    "AddToPlaylist": 500,
    "SearchCreativeWork": 400,
    "GetWeather": 150,
    "BookRestaurant": 150,
    "slurp_music": 1000,
    "slurp_ood": 200,
}
MUSIC_OBJECTS = {"song": "track", "track": "track", "tune": "track", "album": "album", "soundtrack": "album"}
SNIPS_TYPES = {"entity_name": "track"}
SLURP_TYPES = {
    "artist_name": "artist",
    "song_name": "track",
    "playlist_name": "playlist",
    "music_genre": "genre",
    "podcast_name": "podcast",
    "radio_name": "station",
    "audiobook_name": "audiobook",
    "player_setting": "setting",
    "media_type": "music_item",
    "app_name": "service",
}
SLURP_MUSIC = ("music", "audio", "play_radio", "play_podcasts", "play_audiobook", "play_music")
SLURP_OOD = ("weather_query", "takeaway_query", "takeaway_order", "recommendation_locations")
SLOT = re.compile(r"\[(\w+) : ([^\]]+)\]")


def _cp1252_fallback(err: UnicodeDecodeError) -> tuple[str, int]:
    # The PlayMusic export carries a few stray cp1252 bytes among UTF-8: repair them one at a time.
    bad = err.object[err.start : err.start + 1]
    return bad.decode("cp1252", errors="replace"), err.start + 1


codecs.register_error("cp1252_fallback", _cp1252_fallback)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _spaces(pieces: list[str]) -> list[str]:
    # Tabs and newlines inside literals would need escaping downstream; real queries have none.
    return [re.sub(r"\s+", " ", p) for p in pieces]


def _snips(folder: Path, intent: str) -> list[dict]:
    rows = []
    for split in ("train", "validate"):
        raw = (folder / f"{split}_{intent}.json").read_bytes().decode("utf-8", "cp1252_fallback")
        for utt in json.loads(raw)[intent]:
            lits, slots = [""], []
            object_type = next(
                (p["text"].strip().lower() for p in utt["data"] if p.get("entity") == "object_type"), ""
            )
            if intent == "SearchCreativeWork" and object_type not in MUSIC_OBJECTS:
                continue
            for piece in utt["data"]:
                ent = piece.get("entity")
                if ent is None:
                    lits[-1] += piece["text"]
                    continue
                if ent == "object_name":
                    ent = MUSIC_OBJECTS[object_type]
                elif ent == "object_type":
                    ent = "music_item"
                slots.append([SNIPS_TYPES.get(ent, ent), _clean(piece["text"])])
                lits.append("")
            rows.append({"source": "snips2017", "intent": intent, "text": _spaces(lits), "slots": slots})
    return rows


def _slurp(path: Path) -> tuple[list[dict], list[dict]]:
    music, ood = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        intent, annotation = rec["intent"], rec["sentence_annotation"]
        lits, slots, pos = [], [], 0
        for m in SLOT.finditer(annotation):
            lits.append(annotation[pos : m.start()])
            slots.append([SLURP_TYPES.get(m.group(1), m.group(1)), _clean(m.group(2))])
            pos = m.end()
        lits.append(annotation[pos:])
        row = {"source": "slurp", "intent": intent, "text": _spaces(lits), "slots": slots}
        if rec["scenario"] in SLURP_MUSIC or intent in SLURP_MUSIC:
            music.append(row)
        elif intent in SLURP_OOD:
            ood.append(row)
    return music, ood


def _sample(rows: list[dict], cap: int, rng: random.Random) -> list[dict]:
    unique = list({json.dumps(r, sort_keys=True): r for r in rows}.values())
    return unique if len(unique) <= cap else rng.sample(unique, cap)


def build(public: Path) -> dict:
    rng = random.Random(2017)
    snips = public / "snips-2017"
    groups = {i: _snips(snips, i) for i in ("PlayMusic", "AddToPlaylist", "SearchCreativeWork")}
    music_rows = [r for rows in groups.values() for r in rows]
    groups |= {i: _snips(snips, i) for i in ("GetWeather", "BookRestaurant")}
    groups["slurp_music"], groups["slurp_ood"] = _slurp(public / "slurp" / "devel.jsonl")
    music_rows += groups["slurp_music"]
    utterances = [r for name, rows in groups.items() for r in _sample(rows, CAPS[name], rng)]
    # Pools keep every distinct value seen in a music utterance, most frequent first, so that the
    # generator can favour popular entities by index.
    pools: dict[str, Counter[str]] = {}
    for row in music_rows:
        for kind, value in row["slots"]:
            pools.setdefault(kind, Counter())[value] += 1
    values = {k: [v for v, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))] for k, c in pools.items()}
    return {"utterances": utterances, "values": dict(sorted(values.items()))}


def write(seed: dict, out: Path) -> None:
    # One utterance per line, as a [source, intent, text pieces, slots] list rather than an object,
    # keeps the shipped file small and reviewable in a diff.
    rows = ([u["source"], u["intent"], u["text"], u["slots"]] for u in seed["utterances"])
    lines = ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
    values = json.dumps(seed["values"], ensure_ascii=False, indent=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f'{{"utterances": [\n{lines}\n],\n"values": {values}\n}}\n', encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("public", nargs="?", type=Path, default=DEFAULT_PUBLIC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    seed = build(args.public)
    write(seed, args.out)
    n_values = sum(len(v) for v in seed["values"].values())
    print(f"{args.out}: {len(seed['utterances'])} utterances, {n_values} entity values")


if __name__ == "__main__":
    main()
