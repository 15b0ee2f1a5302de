"""Ingest as one step: every input's batches in order, flagged `user_log`, with a report per input.

`honkdata build` and `honkdata anonymize` both read through here, so both quarantine, count and
enforce the reject rate the same way.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from honkdata.config import BuildConfig
from honkdata.errors import HonkdataError
from honkdata.ingest.quarantine import Quarantine
from honkdata.ingest.source import SourceContext
from honkdata.ingest.sources import Input, fingerprint
from honkdata.ingest.timestamps import Window
from honkdata.taxonomy import Taxonomy

OnProgress = Callable[[str, int], None]  # (source name, rows just read)


def read_inputs(
    inputs: list[Input],
    config: BuildConfig,
    taxonomy: Taxonomy,
    quarantine: Quarantine,
    reports: list[dict],
    on_progress: OnProgress | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream every input's batches, flagged `user_log`; append one report per input when it is done."""
    # One window for the whole build: its default end is one day after the build starts.
    window = Window.of(config.ingest.ts_earliest, config.ingest.ts_latest)
    scratch = _scratch(config)
    for source in inputs:
        ctx = SourceContext(
            name=source.name,
            taxonomy=taxonomy,
            on_reject=quarantine.reject,
            batch_rows=config.ingest.batch_rows,
            max_line_bytes=config.ingest.max_line_bytes,
            ts_window=window,
        )
        rows = with_user_id = 0
        for batch in source.read(ctx, scratch):
            rows += batch.num_rows
            with_user_id += _count_present(batch.column("user_id"))
            if on_progress:
                on_progress(source.name, batch.num_rows)
            yield batch.append_column("user_log", pa.repeat(source.kind == "user_log", batch.num_rows))
        # A run of a file leaves the whole file's digest to whoever reads every run (add_part).
        size, sha256 = ctx.digest or (fingerprint(source.path) if source.run is None else (None, None))
        reports.append(
            {
                "path": str(source.path),
                "name": source.name,
                "format": source.format,
                "kind": source.kind,
                "size": size,
                "sha256": sha256,
                "rows_read": rows,
                "rows_rejected": ctx.rows_rejected,
                "rows_repaired": ctx.rows_repaired,
                "rows_with_user_id": with_user_id,
                "timestamps_unreadable": ctx.ts_invalid,
                "reject_reasons": dict(sorted(ctx.reasons.items())),
            }
        )


def _scratch(config: BuildConfig) -> Path | None:
    """Where remote inputs are fetched to: the build's work folder, whose leftovers of a killed build
    the next build of the dataset removes, if it is on this machine (a Ray worker on another one
    fetches to its temporary folder)."""
    work = config.dataset_work_path()
    return work if work.is_dir() else None


def _count_present(values: pa.Array) -> int:
    """Values that are there: not null, not empty (an empty CSV cell is no user id)."""
    return pc.sum(pc.greater(pc.utf8_length(values), 0)).as_py() or 0


def check_reject_rate(config: BuildConfig, reports: list[dict], quarantine: Quarantine) -> None:
    """Fail (nothing written) with no usable row, or above `ingest.max_reject_rate` rejected rows."""
    read = sum(r["rows_read"] for r in reports)
    rejected = sum(r["rows_rejected"] for r in reports)
    if read == 0:
        raise HonkdataError(f"no usable rows in the inputs ({rejected:,} rejected); nothing written")
    rate = rejected / (read + rejected)
    if rate > config.ingest.max_reject_rate:
        raise HonkdataError(
            f"{rejected:,} of {read + rejected:,} input rows rejected ({rate:.1%}), above "
            f"ingest.max_reject_rate {config.ingest.max_reject_rate:.1%}; see {quarantine.path}; "
            "nothing written"
        )
