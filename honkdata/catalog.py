"""A catalog of music names (artists, tracks, albums, ...): the scrubber keeps them, the tagger finds them.

Formats: a text file with one artist per line (`#` comments), or a .csv / .jsonl with a `name`
column and an optional `type` column (an entity type of the taxonomy; default artist).
"""

import csv
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.errors import HonkdataError

# Entity types whose values are names of music: the scrubber keeps them, the tagger finds them.
MUSIC_NAME_TYPES = ("artist", "track", "album", "playlist", "station", "podcast", "audiobook")


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


def music_names(entities: pa.Array | pa.ChunkedArray) -> list[tuple[str, str]]:
    """(type, text) of the music-name entities in a column of entity lists."""
    flat = pc.list_flatten(entities)
    if len(flat) == 0:
        return []
    types, texts = pc.struct_field(flat, "type"), pc.struct_field(flat, "text")
    music = pc.is_in(types, pa.array(MUSIC_NAME_TYPES))
    return list(zip(types.filter(music).to_pylist(), texts.filter(music).to_pylist(), strict=True))
