"""Labeled near-duplicate pairs for benchmarks/dedup.py, made from the real public utterances.

    python benchmarks/make_dedup_pairs.py [--out benchmarks/data/dedup_pairs.jsonl] [--seed 0]

Every pair starts from one utterance of `honkdata/resources/synth_seed.json` (Snips 2017 and SLURP
devel, with their slot values) and is labeled by how it was made:

- duplicates: a typo (a dropped, swapped or doubled character, never the first, as `honkdata.synth`
  makes them) in a word or in an entity value, a filler before or after, words reordered, casing,
  punctuation, and a mix of three of those;
- not duplicates: one entity value swapped for another value of the same type (at random, or the
  nearest-spelled value of that type: drake / blake), the same words under another intent (the
  utterance of another intent with the most words in common), a number changed ("top 10" / "top
  20", "the 80s" / "the 90s", "1985" / "1995").

A swapped value is a different name even when it is spelled one letter away; the benchmark shows
how many of those the typo rule cannot tell apart. Entities carry offsets into each text; intents
are the seed's. Deterministic: the same seed gives the same bytes.
"""

import argparse
import json
import random
import re
from pathlib import Path

from rapidfuzz.distance import OSA

from honkdata.synth import SEED_FILE

OUT = Path(__file__).parent / "data" / "dedup_pairs.jsonl"
PRE = ("please ", "hey ", "can you ", "um ", "uh ", "ok ", "could you ", "hey can you ")
POST = (" please", " thanks", " now", " for me")
NUMBER_SWAPS = {str(d): str((d + 1 + d % 3) % 10) for d in range(10)}
WORD_NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
# Near-spelled swaps only between names: "track" / "tracks" is one music_item, not two queries.
NAMED = frozenset(("artist", "track", "album", "playlist", "station", "podcast", "audiobook"))
KINDS = {  # kind: how many pairs
    "typo_word": 350, "typo_entity": 350, "filler": 250, "reorder": 200, "casing": 150,
    "punctuation": 150, "mixed": 250,
    "swap_entity": 400, "swap_near_entity": 400, "other_intent": 250, "number": 250,
}  # fmt: skip


def _typo(word: str, rng: random.Random) -> str:
    """honkdata.synth's typos: drop, swap with the left neighbour, or double one character (not the first)."""
    i = rng.randrange(1, len(word))
    op = rng.randrange(3)
    if op == 0:
        return word[:i] + word[i + 1 :]
    if op == 1:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _build(pieces: list[str], slots: list[list[str]], values: list[str] | None = None) -> tuple[str, list]:
    """Text and entities of an utterance, slot values replaced by `values` where given."""
    values = values or [v for _, v in slots]
    text, ents = pieces[0], []
    for (kind, _), value, piece in zip(slots, values, pieces[1:], strict=True):
        ents.append({"type": kind, "start": len(text), "end": len(text) + len(value), "text": value})
        text += value + piece
    return text, ents


def _relocate(text: str, ents: list[dict]) -> list[dict]:
    """Entities found again (case-insensitively) in a rewritten text; lost ones are dropped."""
    found = []
    for e in ents:
        start = text.lower().find(e["text"].lower())
        if start >= 0:
            found.append(
                {**e, "start": start, "end": start + len(e["text"]), "text": text[start:][: len(e["text"])]}
            )
    return found


class Maker:
    def __init__(self, seed: int) -> None:
        data = json.loads(SEED_FILE.read_text())
        self.rng = random.Random(seed)
        self.utterances = [u for u in data["utterances"] if u[3]]
        self.values = {k: sorted({v for v in vs if len(v) > 1}) for k, vs in data["values"].items()}
        self.by_words = [set(re.findall(r"\w+", _build(u[2], u[3])[0].lower())) for u in self.utterances]

    def pick(self) -> tuple[int, str, list[str], list[list[str]]]:
        index = self.rng.randrange(len(self.utterances))
        _, intent, pieces, slots = self.utterances[index]
        return index, intent, pieces, slots

    def positive(self, kind: str) -> tuple[str, str, list, list, str, str] | None:
        _, intent, pieces, slots = self.pick()
        a, ents = _build(pieces, slots)
        ops = {"mixed": self.rng.sample(["typo_word", "filler", "reorder", "casing", "punctuation"], 3)}
        b, b_ents = a, ents
        for op in ops.get(kind, [kind]):
            if op == "typo_entity":
                i = self.rng.randrange(len(slots))
                value = slots[i][1]
                if len(value) < 4 or any(c.isdigit() for c in value):
                    return None  # a changed number is another query: that is the "number" kind
                values = [v for _, v in slots]
                values[i] = _typo(value, self.rng)
                b, b_ents = _build(pieces, slots, values)
                continue
            b = self._rewrite(op, b, b_ents)
            if b is None:
                return None
            b_ents = _relocate(b, b_ents)
        return (a, b, ents, b_ents, intent, intent) if b != a else None

    def _rewrite(self, op: str, text: str, ents: list[dict]) -> str | None:
        words = text.split(" ")
        if op == "typo_word":
            long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
            if not long:
                return None
            i = self.rng.choice(long)
            words[i] = _typo(words[i], self.rng)
            return " ".join(words)
        if op == "filler":
            pre = self.rng.random() < 0.6
            return self.rng.choice(PRE) + text if pre else text.rstrip(".?!") + self.rng.choice(POST)
        if op == "reorder":  # rotate the words at a space outside every entity: "taylor swift play"
            cuts = [m.start() for m in re.finditer(" ", text)]
            cuts = [c for c in cuts if not any(e["start"] < c < e["end"] for e in ents)]
            if not cuts:
                return None
            cut = self.rng.choice(cuts)
            return text[cut + 1 :].rstrip(".?!") + " " + text[:cut]
        if op == "casing":
            return self.rng.choice([str.upper, str.lower, str.title, str.capitalize])(text)
        # punctuation: a mark at the end, a comma after the first word, apostrophes dropped
        choice = self.rng.randrange(3)
        if choice == 0:
            return text.rstrip(".?!") + self.rng.choice(["?", "!", ".", "!!", " ?"])
        if choice == 1 and len(words) > 2:
            return " ".join([words[0] + ",", *words[1:]])
        return text.replace("'", "") if "'" in text else text.rstrip(".?!") + "..."

    def negative(self, kind: str) -> tuple[str, str, list, list, str, str] | None:
        index, intent, pieces, slots = self.pick()
        a, ents = _build(pieces, slots)
        if kind in ("swap_entity", "swap_near_entity"):
            i = self.rng.randrange(len(slots))
            kind_i, value = slots[i]
            if kind == "swap_near_entity" and kind_i not in NAMED:
                return None
            pool = [
                v for v in self.values.get(kind_i, []) if _canon(v).rstrip("s") != _canon(value).rstrip("s")
            ]
            if not pool:
                return None
            if kind == "swap_near_entity":
                other = min(pool, key=lambda v: (OSA.distance(value.lower(), v.lower()), v))
            else:
                other = self.rng.choice(pool)
            values = [v for _, v in slots]
            values[i] = other
            b, b_ents = _build(pieces, slots, values)
            return a, b, ents, b_ents, intent, intent
        if kind == "number":
            return self._number(a, ents, intent)
        # other_intent: the utterance of another intent sharing the most words with this one
        mine = self.by_words[index]
        best = max(
            (j for j, u in enumerate(self.utterances) if u[1] != intent),
            key=lambda j: (len(mine & self.by_words[j]) / len(mine | self.by_words[j]), -j),
        )
        _, other_intent, other_pieces, other_slots = self.utterances[best]
        b, b_ents = _build(other_pieces, other_slots)
        return a, b, ents, b_ents, intent, other_intent

    def _number(self, a: str, ents: list, intent: str) -> tuple | None:
        digits = [m for m in re.finditer(r"\d", a)]
        words = [m for m in re.finditer(r"\b(" + "|".join(WORD_NUMBERS) + r")\b", a, re.I)]
        if digits:
            m = self.rng.choice(digits)
            b = a[: m.start()] + NUMBER_SWAPS[m.group()] + a[m.end() :]
        elif words:
            m = self.rng.choice(words)
            swap = WORD_NUMBERS[(WORD_NUMBERS.index(m.group().lower()) + 1) % len(WORD_NUMBERS)]
            b = a[: m.start()] + swap + a[m.end() :]
        else:
            return None
        b_ents = [{**e, "text": b[e["start"] : e["end"] + len(b) - len(a)]} for e in ents]
        return a, b, ents, _relocate(b, [{**e, "text": e["text"]} for e in b_ents]), intent, intent


def _canon(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.lower())  # "sound track" is "soundtrack"


def make(seed: int) -> list[dict]:
    maker = Maker(seed)
    rows, seen = [], set()
    for kind, count in KINDS.items():
        made = 0
        while made < count:
            label = kind not in ("swap_entity", "swap_near_entity", "other_intent", "number")
            got = maker.positive(kind) if label else maker.negative(kind)
            if got is None:
                continue
            a, b, ea, eb, ia, ib = got
            if (a, b) in seen or (a.lower() == b.lower() and not label):
                continue
            seen.add((a, b))
            rows.append(
                {
                    "a": a,
                    "b": b,
                    "label": label,
                    "kind": kind,
                    "intent_a": ia,
                    "intent_b": ib,
                    "entities_a": ea,
                    "entities_b": eb,
                }
            )
            made += 1
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = make(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
    )
    print(f"{len(rows)} pairs ({sum(r['label'] for r in rows)} duplicates) -> {args.out}")


if __name__ == "__main__":
    main()
