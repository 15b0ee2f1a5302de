"""Where the shipped files live, in a source checkout and in an installed wheel alike.

A checkout has `configs/` and `data/samples/` beside the package; a wheel carries them inside it as
`honkdata/configs` and `honkdata/data/samples` (pyproject.toml's force-include), so that the shipped
`build.yaml`'s `../data/samples/queries.jsonl` names the sample in both.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(folder: str, name: str) -> Path:
    for base in (_PACKAGE, _PACKAGE.parent):
        if (base / folder / name).exists():
            return base / folder / name
    raise FileNotFoundError(f"shipped file {folder}/{name} not found next to the honkdata package")


def shipped_config(name: str) -> Path:
    """A file or folder of the repo's configs/ (build.yaml, taxonomy.yaml, gazetteers, ...)."""
    return _shipped("configs", name)


def shipped_sample(name: str = "queries.jsonl") -> Path:
    """A file of the repo's data/samples/ (the synthetic log the shipped build.yaml reads)."""
    return _shipped("data/samples", name)
