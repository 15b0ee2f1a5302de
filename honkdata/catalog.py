"""A catalog of music names (artists, tracks, albums, ...): the scrubber keeps them, the tagger finds them.

Formats: a text file with one artist per line (`#` comments), or a .csv / .jsonl with a `name`
column and an optional `type` column (an entity type of the taxonomy; default artist).
"""

import csv
from pathlib import Path

import orjson

from honkdata.errors import HonkdataError


def load_catalog(path: Path) -> list[tuple[str, str]]:
    """(entity type, name) pairs from a catalog file."""
    path = Path(path)
    if not path.is_file():
        raise HonkdataError(f"catalog not found: {path}")
    with path.open(encoding="utf-8", newline="") as f:
        if path.suffix == ".csv":
            rows = list(csv.DictReader(f))
        elif path.suffix == ".jsonl":
            try:
                rows = [orjson.loads(line) for line in f if line.strip()]
            except orjson.JSONDecodeError as e:
                raise HonkdataError(f"catalog {path} has a line that is not JSON: {e}") from None
        else:
            return [("artist", s) for line in f if (s := line.strip()) and not s.startswith("#")]
    return [(row.get("type") or "artist", row["name"]) for row in rows if row.get("name")]
