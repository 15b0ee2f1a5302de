"""The manifest of a new snapshot: what it was built from, how, and every stage's counters.

Assembled here, beside the writer that publishes it, from what the build's stages counted; the
writer adds the splits, the row counts and the content hash (honkdata.snapshot.write).
"""

import platform
from dataclasses import dataclass
from datetime import datetime

from honkdata import __version__
from honkdata.config import BuildConfig
from honkdata.stage import StageStats
from honkdata.taxonomy import Taxonomy


@dataclass(frozen=True)
class BuildRecord:
    """What a build knows about itself once its stages have run."""

    config: BuildConfig
    version: int
    parent_version: int | None
    started: datetime
    taxonomy: Taxonomy
    inputs: list[dict]  # ingest's report per input
    skipped_files: list[dict]
    anonymize: dict  # pseudonym key fingerprint and source, release rule
    human_labels: dict  # store, rows, sha256
    stages: dict[str, StageStats]
    largest_duplicate_clusters: list
    quarantine: dict  # path, rows
    warnings: list[str]


def build_manifest(record: BuildRecord) -> dict:
    return {
        "name": record.config.name,
        "version": record.version,
        "parent_version": record.parent_version,
        "created_at": record.started.isoformat(timespec="seconds"),
        "honkdata_version": __version__,
        "python": platform.python_version(),
        "config": record.config.model_dump(mode="json"),
        "config_hash": record.config.fingerprint(),
        # The label spaces: the card's ClassLabel ids are the intents' positions in this order.
        "taxonomy": {"intents": record.taxonomy.intents, "entity_types": record.taxonomy.entity_types},
        "inputs": record.inputs,
        "skipped_files": record.skipped_files,
        "anonymize": record.anonymize,
        "human_labels": record.human_labels,
        "stages": {name: stats.to_dict() for name, stats in record.stages.items()},
        "largest_duplicate_clusters": record.largest_duplicate_clusters,
        "quarantine": record.quarantine,
        "warnings": record.warnings,
    }
