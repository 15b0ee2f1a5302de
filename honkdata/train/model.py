"""Loading a model folder and predicting with it: the Python API behind `honkdata predict`.

import honkdata
model = honkdata.load_model("models/music-queries-baseline")
honkdata.predict(model, ["play some jazz", "skip this song"])
"""

from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import ValidationError

from honkdata.config import describe_errors
from honkdata.errors import HonkdataError
from honkdata.recipes import get_recipe
from honkdata.train.folder import read_model_config
from honkdata.train.frames import Frame
from honkdata.train.predictor import Predictor


def load_model(folder: str | Path) -> Predictor:
    """The predictor of a honkdata model folder; a one-line HonkdataError for anything else."""
    folder = Path(folder)
    data, labels = read_model_config(folder)
    recipe = get_recipe(str(data["recipe"]))
    try:
        config = recipe.Config.model_validate(data)
    except ValidationError as e:
        raise HonkdataError(f"{folder}/config.yaml: {describe_errors(e)}") from None
    return recipe.load(folder, labels, config)


def predict_batches(
    model: Predictor, queries: Iterable[str], batch_size: int = 256
) -> Iterator[tuple[str, Frame]]:
    """(query, frame) in order, predicted `batch_size` at a time: a stream of any length."""
    batch: list[str] = []
    for query in queries:
        batch.append(query)
        if len(batch) == batch_size:
            yield from zip(batch, model.predict(batch), strict=True)
            batch = []
    if batch:
        yield from zip(batch, model.predict(batch), strict=True)


def predict(model: Predictor | str | Path, queries: Iterable[str], batch_size: int = 256) -> list[dict]:
    """`honkdata predict` as a function: one dict per query (query, intent, confidence, entities)."""
    predictor = load_model(model) if isinstance(model, str | Path) else model
    return [frame.to_dict(query) for query, frame in predict_batches(predictor, queries, batch_size)]
