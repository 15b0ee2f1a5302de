"""A linear-chain CRF's token features, its learned weights, and Viterbi decoding in numpy.

The baseline recipe trains the CRF with crfsuite (through sklearn-crfsuite) and keeps only the
weights: state weights (attribute x tag) and transition weights (tag x tag), stored as safetensors.
Decoding is the few lines of Viterbi below, so a saved model needs no crfsuite binary model file and
nothing that could run code when it is loaded.

The weights are read from crfsuite's binary model file, not from `CRF.state_features_`: those come
from crfsuite's text dump, rounded to six decimals, and a rounded model can decode a near-tie
differently from the model that was trained.
"""

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from honkdata.models.viterbi import viterbi
from honkdata.train.frames import Token

_SHAPE_RUNS = re.compile(r"(.)\1+")


def _shape(word: str) -> str:
    """The word's character classes with runs collapsed: "Taylor" -> "Xx", "10:30" -> "d:d"."""
    classes = "".join("X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else c for c in word)
    return _SHAPE_RUNS.sub(r"\1", classes)


def token_features(tokens: Sequence[Token], window: int) -> list[list[str]]:
    """Each token's CRF attributes (all of weight 1): its lower-cased word, prefixes and suffixes,
    shape, digit flag, position, and the words and word pairs up to `window` tokens either side."""
    words = [text.lower() for text, _, _ in tokens]
    n = len(words)
    features = []
    for i, (text, _, _) in enumerate(tokens):
        word = words[i]
        own = [
            "bias",
            f"w={word}",
            f"shape={_shape(text)}",
            *(f"p{k}={word[:k]}" for k in (2, 3) if len(word) > k),
            *(f"s{k}={word[-k:]}" for k in (2, 3, 4) if len(word) > k),
            # The first words of a query are mostly the command ("play", "add", "what is").
            f"pos={min(i, 3)}",
        ]
        if text.isdigit():
            own.append("digit")
        if i == n - 1:
            own.append("last")
        for offset in range(1, window + 1):
            own.append(f"w[-{offset}]={words[i - offset] if i >= offset else '<s>'}")
            own.append(f"w[+{offset}]={words[i + offset] if i + offset < n else '</s>'}")
        # Word pairs catch slot openers that single words miss ("by the", "on my", "to the").
        own.append(f"w[-1:0]={words[i - 1] if i else '<s>'}|{word}")
        own.append(f"w[0:+1]={word}|{words[i + 1] if i + 1 < n else '</s>'}")
        features.append(own)
    return features


@dataclass(frozen=True)
class CrfWeights:
    """A trained linear-chain CRF: the score of tag sequence y over tokens with attributes A_t is
    sum_t (sum_{a in A_t} state[a, y_t]) + sum_t transitions[y_{t-1}, y_t] (crfsuite's model: no
    start or end transitions)."""

    tags: tuple[str, ...]  # crfsuite's label order, which is also its tie-break order
    attributes: tuple[str, ...]
    state: sp.csr_matrix  # (attributes, tags), float64
    transitions: np.ndarray  # (tags, tags), from -> to, float64

    @cached_property
    def _attribute_ids(self) -> dict[str, int]:
        return {a: i for i, a in enumerate(self.attributes)}

    def to_tensors(self) -> dict[str, np.ndarray]:
        """The weights as named arrays for safetensors (the strings go to JSON beside them)."""
        coo = self.state.tocoo()
        return {
            "crf.state.attribute": coo.row.astype(np.int64),
            "crf.state.tag": coo.col.astype(np.int64),
            "crf.state.weight": coo.data.astype(np.float64),
            "crf.transitions": self.transitions,
        }

    @classmethod
    def from_tensors(
        cls, tensors: dict[str, np.ndarray], tags: Sequence[str], attributes: Sequence[str]
    ) -> "CrfWeights":
        """The inverse of `to_tensors`."""
        state = sp.coo_matrix(
            (tensors["crf.state.weight"], (tensors["crf.state.attribute"], tensors["crf.state.tag"])),
            shape=(len(attributes), len(tags)),
        ).tocsr()
        return cls(tuple(tags), tuple(attributes), state, np.ascontiguousarray(tensors["crf.transitions"]))

    def decode(self, sequences: Sequence[Sequence[Sequence[str]]]) -> list[list[str]]:
        """The best tag sequence of each sequence of token attributes (attributes the model has no
        weight for are ignored, as crfsuite ignores them)."""
        index = self._attribute_ids
        token_ids, attribute_ids = [], []
        n_tokens = 0
        for sequence in sequences:
            for attributes in sequence:
                for a in attributes:
                    if (j := index.get(a)) is not None:
                        token_ids.append(n_tokens)
                        attribute_ids.append(j)
                n_tokens += 1
        # Every (token, attribute) pair adds its attribute's row of state weights to the token's
        # scores: gather those rows from the CSR arrays and sum them in one bincount, in the order
        # crfsuite sums them (attributes in order, then their tags).
        n_tags = len(self.tags)
        attribute_ids_ = np.asarray(attribute_ids, np.int64)
        first = self.state.indptr[attribute_ids_]
        lengths = self.state.indptr[attribute_ids_ + 1] - first
        entries = np.repeat(first - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        cells = np.repeat(np.asarray(token_ids, np.int64), lengths) * n_tags + self.state.indices[entries]
        emissions = np.bincount(cells, self.state.data[entries], n_tokens * n_tags).reshape(n_tokens, n_tags)
        out, at = [], 0
        for sequence in sequences:
            # Ties go to the lowest tag id, as in crfsuite.
            path = viterbi(emissions[at : at + len(sequence)], self.transitions)
            out.append([self.tags[k] for k in path])
            at += len(sequence)
        return out


# crfsuite's binary model (lib/crf/src/crf1d_model.c): a header of offsets, a FEAT chunk of
# (type, source, destination, weight) records, and the label and attribute strings in two CQDB
# databases (lib/cqdb/src/cqdb.c) whose backward array maps an id to its string.
_HEADER = struct.Struct("<4sI4s9I")
_STATE, _TRANSITION = 0, 1


def _cqdb_strings(data: bytes, offset: int) -> list[str]:
    """The strings of the CQDB chunk at `offset`, by id."""
    magic, _size, _flag, _byteorder, n, backward = struct.unpack_from("<4s5I", data, offset)
    if magic != b"CQDB":
        raise ValueError("not a crfsuite model: no CQDB string table")
    strings = []
    for position in struct.unpack_from(f"<{n}I", data, offset + backward):
        _id, size = struct.unpack_from("<2I", data, offset + position)
        start = offset + position + 8
        strings.append(data[start : start + size - 1].decode())  # the size counts a trailing NUL
    return strings


def read_crfsuite_model(path: Path) -> CrfWeights:
    """The exact (float64) weights of a crfsuite model file."""
    data = Path(path).read_bytes()
    magic, _size, kind, _version, _, n_tags, n_attributes, features_at, tags_at, attributes_at, *_ = (
        _HEADER.unpack_from(data, 0)
    )
    if magic != b"lCRF" or kind != b"FOMC":
        raise ValueError(f"{path} is not a crfsuite CRF1d model")
    chunk, _chunk_size, n_features = struct.unpack_from("<4sII", data, features_at)
    if chunk != b"FEAT":
        raise ValueError(f"{path}: no FEAT chunk where the header says")
    records = np.frombuffer(
        data,
        np.dtype([("type", "<i4"), ("source", "<i4"), ("destination", "<i4"), ("weight", "<f8")]),
        count=n_features,
        offset=features_at + 12,
    )
    tags = _cqdb_strings(data, tags_at)
    attributes = _cqdb_strings(data, attributes_at)
    if len(tags) != n_tags or len(attributes) != n_attributes:
        raise ValueError(f"{path}: string tables disagree with the header")
    state = records[records["type"] == _STATE]
    transition = records[records["type"] == _TRANSITION]
    transitions = np.zeros((n_tags, n_tags))
    transitions[transition["source"], transition["destination"]] = transition["weight"]
    weights = sp.coo_matrix(
        (state["weight"].astype(np.float64), (state["source"], state["destination"])),
        shape=(n_attributes, n_tags),
    ).tocsr()
    return CrfWeights(tuple(tags), tuple(attributes), weights, transitions)
