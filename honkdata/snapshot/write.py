"""Write a snapshot's files into its staging folder: Parquet per split, card, manifest last."""

import hashlib
from collections.abc import Callable
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from honkdata.schema import SNAPSHOT, SPLITS
from honkdata.snapshot.card import card_features, data_file, dataset_card

CARD = "README.md"  # the dataset card, beside the data folder


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def content_hash(splits: dict[str, pa.Table]) -> str:
    """Hash of the rows themselves (Arrow IPC, fixed chunking), not of Parquet file bytes.

    Rows come sorted by id, so the same inputs and config always give the same hash, whatever
    Parquet writer version or compression wrote the files.
    """
    digest = hashlib.sha256(SNAPSHOT.serialize())
    for split in SPLITS:
        digest.update(split.encode())
        for batch in splits[split].combine_chunks().to_batches(max_chunksize=65_536):
            digest.update(batch.serialize())
    return digest.hexdigest()


def distribution(table: pa.Table, column: str) -> dict[str, int]:
    values = table.column(column)
    if pa.types.is_list(values.type):
        values = pc.list_flatten(values)
    counts = pc.value_counts(pc.fill_null(values, "(none)")).to_pylist()
    return dict(sorted(((c["values"], c["counts"]) for c in counts), key=lambda kv: (-kv[1], kv[0])))


def source_distribution(table: pa.Table) -> dict[str, int]:
    """Rows per input name; a row in two splits of one source ({name, split} twice) counts once."""
    sources = table.column("sources").combine_chunks()
    names = pc.struct_field(pc.list_flatten(sources), "name")
    entries = pa.table({"row": pc.list_parent_indices(sources), "name": names})
    return distribution(entries.group_by(["row", "name"]).aggregate([]), "name")


def _write_split(staging: Path, split: str, rows: pa.Table) -> dict:
    """One split's Parquet file and its manifest entry."""
    if rows.num_rows == 0:  # datasets cannot load an empty split, so a tiny dataset has no file for it
        return {"rows": 0, "file": None, "sha256": None, "bytes": 0, "arrow_bytes": 0}
    pq.write_table(rows, staging / data_file(split), compression="zstd", row_group_size=256_000)
    return {"rows": rows.num_rows, **_file_entry(staging, data_file(split)), "arrow_bytes": rows.nbytes}


def _file_entry(staging: Path, name: str) -> dict:
    """How the manifest names a file of the snapshot, and what a copy of it is checked by."""
    path = staging / name
    return {"file": name, "sha256": file_sha256(path), "bytes": path.stat().st_size}


def write_snapshot_files(
    staging: Path, table: pa.Table, manifest: dict, verify: Callable[[Path, bytes], None] | None = None
) -> dict:
    """Write data files, card and manifest (last); returns the completed manifest.

    `verify(staging, manifest_bytes)` runs after everything else is written and before the
    manifest is: it may raise to stop the snapshot from being published.
    """
    (staging / "data").mkdir()
    table = table.select(SNAPSHOT.names).cast(SNAPSHOT)
    # Intents outside the taxonomy never get here: the build's invariants check refuses them.
    features = card_features(SNAPSHOT, manifest["taxonomy"]["intents"])
    splits = {split: table.filter(pc.equal(table.column("split"), split)) for split in SPLITS}
    manifest["splits"] = {split: _write_split(staging, split, rows) for split, rows in splits.items()}
    manifest["rows"] = table.num_rows
    manifest["label_distribution"] = {
        "all": distribution(table, "intent"),
        **{split: distribution(rows, "intent") for split, rows in splits.items()},
    }
    manifest["label_source_distribution"] = distribution(table, "label_source")
    manifest["source_distribution"] = source_distribution(table)
    manifest["content_hash"] = content_hash(splits)
    (staging / CARD).write_text(dataset_card(manifest, features))
    # After the card is written from the manifest, so the card cannot hold its own digest: a copy of
    # the snapshot (pull) checks it as it checks the data files.
    manifest["card"] = _file_entry(staging, CARD)
    manifest_bytes = orjson.dumps(manifest, option=orjson.OPT_INDENT_2)
    if verify is not None:
        verify(staging, manifest_bytes)
    (staging / "manifest.json").write_bytes(manifest_bytes)
    return manifest
