"""Entity tagger over name lists: Aho-Corasick over the whole batch at once, longest whole-word match.

The batch is matched as one long string, not text by text: every text is lower-cased and each
character that is not a letter, digit or mark becomes a space (one code point for one, so offsets
into it are offsets into the original text), and the texts are joined as " text \\0". A name is
stored the same way as " name ", so a hit always sits on word boundaries, and the \\0 between texts
keeps a name from spanning two of them.
"""

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Self

import ahocorasick
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.normalize import normalize_text
from honkdata.schema import ENTITIES, ENTITY

_NON_WORD = r"[^\p{L}\p{N}\p{M}]"
_ROW_END = " \x00"
_PAD = 1 + len(_ROW_END)  # " " before each text, _ROW_END after it
# Gold name lists hold titles that are also everyday words ("you", "home"); tagging every such word
# would bury the real names, so a name needs more than these. (Kept as text: a word list reads better.)
_STOPWORDS = frozenset(
    """a all an and any at baby be boy by can day do for from get girl go he her here his home how i
    in is it just let life like love man me more most music my new night no not now of off on one
    or our out play she so some song that the their them there they this time to two up very way we
    what when where which who why will with yes you your""".split()  # noqa: SIM905
)


def _fold(texts: pa.Array) -> pa.Array:
    """Lower case, non-word characters to spaces; code point for code point (utf8_lower is 1:1)."""
    return pc.replace_substring_regex(pc.utf8_lower(texts), _NON_WORD, " ")


class Gazetteer:
    """(entity type, name) lists matched case-insensitively as whole words, longest match first.

    A name listed under several types takes the type it was listed under most often (the first one
    on a tie), so one stray gold span does not relabel a name every other source agrees on.
    """

    def __init__(self, entries: Iterable[tuple[str, str]] = ()) -> None:
        self._types: dict[str, Counter[str]] = {}
        self._automaton: ahocorasick.Automaton | None = None
        self.add(entries)

    @classmethod
    def from_folder(cls, path: Path) -> Self:
        """One `<entity type>.txt` per type, one name per line, `#` comments."""
        entries = []
        for file in sorted(Path(path).glob("*.txt")):
            for line in file.read_text(encoding="utf-8").splitlines():
                if (name := line.strip()) and not name.startswith("#"):
                    entries.append((file.stem, name))
        return cls(entries)

    def __len__(self) -> int:
        return len(self._types)

    def add(self, entries: Iterable[tuple[str, str]]) -> None:
        pairs = [(kind, name) for kind, name in entries if kind and name]
        if not pairs:
            return
        names = pa.array([name for _, name in pairs], pa.string())
        folded = pc.utf8_trim_whitespace(_fold(normalize_text(names))).to_pylist()
        for (kind, _), key in zip(pairs, folded, strict=True):
            if len(key) > 1 and key not in _STOPWORDS:
                self._types.setdefault(key, Counter())[kind] += 1
        self._automaton = None

    def _build(self) -> ahocorasick.Automaton:
        automaton = ahocorasick.Automaton()
        for key, kinds in self._types.items():
            padded = f" {key} "
            # Counter.most_common keeps insertion order on ties: the first type listed wins.
            automaton.add_word(padded, (kinds.most_common(1)[0][0], len(padded)))
        automaton.make_automaton()
        return automaton

    def tag(self, texts: pa.Array) -> pa.Array:
        """ENTITIES per text: non-overlapping whole-word matches, leftmost then longest."""
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        texts = pc.fill_null(texts, "")
        if not self._types or len(texts) == 0:
            return pa.array([[] for _ in range(len(texts))], ENTITIES)
        if self._automaton is None:
            self._automaton = self._build()
        padded = pc.binary_join_element_wise(" ", _fold(texts), _ROW_END, "")
        haystack = "".join(padded.to_pylist())
        original = "".join(pc.binary_join_element_wise(" ", texts, _ROW_END, "").to_pylist())
        # Start of each text (past its leading space) in the haystack, in code points.
        lengths = pc.utf8_length(texts).to_numpy(zero_copy_only=False).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths + _PAD)[:-1]]) + 1
        rows, spans = self._select(self._automaton.iter(haystack), starts, original)
        offsets = np.zeros(len(texts) + 1, np.int32)
        np.add.at(offsets, np.asarray(rows, np.int64) + 1, 1)
        values = pa.array(spans, ENTITY)
        return pa.ListArray.from_arrays(pa.array(np.cumsum(offsets, dtype=np.int32)), values, ENTITIES)

    @staticmethod
    def _select(
        hits: Iterable[tuple[int, tuple[str, int]]], starts: np.ndarray, original: str
    ) -> tuple[list[int], list[dict]]:
        """Rows and spans of the leftmost-longest non-overlapping hits (hits arrive by end position)."""
        found = sorted(
            (last - size + 2, -(size - 2), kind) for last, (kind, size) in hits
        )  # (name start, -name length, type): leftmost first, then longest
        rows: list[int] = []
        spans: list[dict] = []
        row_of = np.searchsorted(starts, [f[0] for f in found], side="right") - 1 if found else []
        taken_until = -1
        for (begin, neg_size, kind), row in zip(found, row_of, strict=True):
            end = begin - neg_size
            if begin < taken_until:
                continue
            taken_until = end
            base = int(starts[row])
            rows.append(int(row))
            spans.append(
                {"type": kind, "start": begin - base, "end": end - base, "text": original[begin:end]}
            )
        return rows, spans
