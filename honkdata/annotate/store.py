"""The human-label store: one Parquet file per import, the latest label of an item wins.

Files are never rewritten (an import can be traced, or removed, on its own) and appear whole: each is
written to a temporary name and renamed into place. The folder is owner-only because the texts come
from private logs. File names start with a sequence number, so name order is import order.
"""

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from honkdata.annotate.agreement import LABELS
from honkdata.errors import HonkdataError

STORE = pa.schema(
    [
        *LABELS,
        pa.field("origin", pa.string(), nullable=False),  # the file the labels were imported from
        pa.field("imported_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


class HumanLabelStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _files(self) -> list[Path]:
        return sorted(self.folder.glob("[0-9]*-*.parquet")) if self.folder.is_dir() else []

    def add(self, labels: pa.Table, origin: str) -> Path:
        """Store aggregated labels (id, text, intent, entities, n_annotators, agreement) as a new import."""
        if labels.num_rows == 0:
            raise HonkdataError(f"{origin}: no labels to store (no completed annotations?)")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)  # also when it existed: mkdir's mode is not applied then
        now = datetime.now(UTC)
        table = labels.select(LABELS.names).cast(LABELS)
        table = table.append_column(STORE.field("origin"), pa.array([origin] * table.num_rows, pa.string()))
        table = table.append_column(
            STORE.field("imported_at"), pa.array([now] * table.num_rows, STORE.field("imported_at").type)
        )
        files = self._files()
        sequence = int(files[-1].name.split("-", 1)[0]) + 1 if files else 1
        final = self.folder / f"{sequence:06d}-{now:%Y%m%dT%H%M%S%fZ}.parquet"
        # mkstemp makes the file owner-only; the suffix keeps it out of `_files` until the rename.
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".import-", suffix=".tmp")
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return final

    def latest(self) -> pa.Table:
        """One row per id, from the latest import that labeled it; empty (with the schema) if none."""
        files = self._files()
        if not files:
            return STORE.empty_table()
        table = pa.concat_tables(pq.read_table(f, schema=STORE) for f in files)
        last = {item: k for k, item in enumerate(table.column("id").to_pylist())}
        return table.take(sorted(last.values()))
