"""Connectors for public labeled datasets: each reads one format into canonical RECORD batches."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

from honkdata.ingest.formats.bio import read_bio
from honkdata.ingest.formats.cpcd import read_cpcd
from honkdata.ingest.formats.labeled_jsonl import read_labeled_jsonl
from honkdata.ingest.formats.massive import read_massive
from honkdata.ingest.formats.slurp import read_slurp
from honkdata.ingest.formats.snips import read_snips
from honkdata.ingest.source import SourceContext

Reader = Callable[[Path, SourceContext], Iterator[pa.RecordBatch]]

PUBLIC_READERS: dict[str, Reader] = {
    "snips": read_snips,
    "bio": read_bio,
    "slurp": read_slurp,
    "massive": read_massive,
    "cpcd": read_cpcd,
    "labeled-jsonl": read_labeled_jsonl,
}

# SPDX license of each curated format's data, for the dataset card; None: the user declares it.
CURATED_LICENSES: dict[str, str | None] = {
    "snips": "CC0-1.0",
    # The standard SNIPS split as distributed by JointBERT; ATIS in the same layout is LDC-licensed
    # and needs the license declared on the source.
    "bio": "CC0-1.0",
    "slurp": "CC-BY-4.0",
    "massive": "CC-BY-4.0",
    "cpcd": "CC-BY-4.0",
    "labeled-jsonl": None,
}
