"""What a trained model is to the rest of honkdata: something that reads queries into frames."""

from collections.abc import Sequence
from typing import Protocol

from honkdata.train.frames import Frame
from honkdata.train.labels import LabelSpace


class Predictor(Protocol):
    labels: LabelSpace

    def predict(self, texts: Sequence[str]) -> list[Frame]:
        """One frame per text, in order; entity spans are character offsets into each text. New texts
        are tokenized with honkdata.tokens.tokenize, as the snapshot's were."""
        ...
