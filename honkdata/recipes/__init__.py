"""Training recipes, one readable file each: its Config and its loop (torchtune's layout).

A recipe module has NAME, a pydantic `Config` (with `recipe`, `data`, `seed`, `epochs`, `patience`
and `monitor` beside its own keys), `train(config, data, run) -> Predictor` and
`load(folder, labels, config) -> Predictor`. What recipes share lives in honkdata/train/.
"""

import importlib
from types import ModuleType

from honkdata.errors import HonkdataError

RECIPES = ("baseline", "encoder", "llm")


def get_recipe(name: str) -> ModuleType:
    """The recipe module called `name`; a one-line error naming the recipes that exist."""
    if name not in RECIPES:
        raise HonkdataError(f"no recipe named {name!r}; the recipes are: {', '.join(RECIPES)}")
    return importlib.import_module(f"honkdata.recipes.{name}")
