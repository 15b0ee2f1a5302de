"""The official split of a public dataset's row, from the name its dataset gives the part.

Datasets name their parts differently (Goo et al.: `dev/`; SLURP: `devel.jsonl`; Snips 2017:
`validate_*.json`; MASSIVE: `partition: dev`); all of them become one of `schema.SPLITS`.
"""

import re
from pathlib import Path

_NAMES = {
    "train": "train",
    "dev": "validation",
    "devel": "validation",
    "valid": "validation",
    "validate": "validation",
    "validation": "validation",
    "test": "test",
}
_LEADING_WORD = re.compile(r"[a-z]+")


def official_split(name: object) -> str | None:
    """train, validation or test for a dataset's name of a part; None for anything else."""
    return _NAMES.get(name.strip().lower()) if isinstance(name, str) else None


def split_of_file(path: Path) -> str | None:
    """The split a file's name starts with: `train_PlayMusic.json`, `devel.jsonl`, `test.jsonl.gz`."""
    word = _LEADING_WORD.match(path.name.lower())
    return official_split(word.group()) if word else None
