"""Weak labels: labeling-function votes, aggregated by the label model, plus gazetteer entities."""

from dataclasses import dataclass
from typing import Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.label.functions import CompiledFunctions, LabelingConfig, load_labeling
from honkdata.label.gazetteer import Gazetteer
from honkdata.label.model import LabelModel
from honkdata.resources import shipped_config
from honkdata.schema import ENTITY


@dataclass(frozen=True)
class WeakLabels:
    intent: pa.Array  # string; null where every function abstains
    confidence: pa.Array  # float32 posterior of that intent; null likewise
    entities: pa.Array  # ENTITIES; empty for rows labeled out of domain
    votes: np.ndarray  # (n, m) int16, -1 = abstain


class WeakLabeler:
    """Labeling functions + label model + entity tagger (the shipped configs unless given others)."""

    def __init__(self, config: LabelingConfig | None = None, gazetteer: Gazetteer | None = None) -> None:
        self.config = config or load_labeling()
        if gazetteer is None:
            gazetteer = Gazetteer.from_folder(shipped_config("gazetteers"))
        self.gazetteer = gazetteer
        self._functions = CompiledFunctions(self.config)
        self.model = LabelModel(len(self.config.intents))

    @property
    def lf_names(self) -> list[str]:
        return list(self._functions.names)

    @property
    def intents(self) -> list[str]:
        return list(self.config.intents)

    def votes(self, texts: pa.Array) -> np.ndarray:
        return self._functions.votes(texts)

    def fit(self, votes: np.ndarray) -> Self:
        self.model.fit(votes)
        return self

    def predict(self, votes: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """(intent, confidence) per row from a fitted model; both null where every function abstains."""
        voted = (votes >= 0).any(axis=1)
        if len(votes) == 0:
            return pa.array([], pa.string()), pa.array([], pa.float32())
        proba = self.model.predict_proba(votes)
        best = proba.argmax(axis=1)
        names = pa.array(self.intents, pa.string())
        intent = pc.take(names, pa.array(best, mask=~voted))
        confidence = pa.array(proba[np.arange(len(best)), best].astype(np.float32), mask=~voted)
        return intent, confidence

    def label(self, texts: pa.Array) -> WeakLabels:
        """Votes, a label model fitted on them (no gold needed), its labels, and the tagger's entities."""
        votes = self.votes(texts)
        intent, confidence = self.fit(votes).predict(votes)
        entities = self.gazetteer.tag(texts)
        # The taxonomy gives out-of-domain rows no entities; music words in them are not music requests.
        default = pc.fill_null(pc.equal(intent, self.config.default_intent), False)
        none = pa.ListArray.from_arrays(pa.array(np.zeros(len(entities) + 1, np.int32)), pa.array([], ENTITY))
        entities = pc.if_else(default, none, entities)
        return WeakLabels(intent, confidence, entities, votes)
