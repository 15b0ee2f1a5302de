"""`honkdata anonymize`: the anonymize stage alone over raw logs, for inspecting what it does.

Every event comes out (no aggregation, so no release threshold): scrubbed text, pseudonymous user
id, the day instead of the time, no session id. The release threshold needs unique queries, which
only `honkdata build` makes.
"""

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from honkdata.anonymize.pseudonym import load_key
from honkdata.anonymize.stage import PII_FOUND, anonymizer
from honkdata.config import BuildConfig, SourceConfig
from honkdata.errors import HonkdataError
from honkdata.ingest.quarantine import Quarantine
from honkdata.ingest.read import check_reject_rate, read_inputs
from honkdata.ingest.remote import RemoteFolder, RemotePath, filesystem, is_url, put_file, storage_errors
from honkdata.ingest.sources import SkippedFile, resolve_inputs
from honkdata.normalize import Normalize
from honkdata.stage import StageStats
from honkdata.taxonomy import load_taxonomy

OUTPUT_COLUMNS = ("text", "user_id", "ts", "locale", "surface", "intent", "entities", "source", "line")


@dataclass
class AnonymizeReport:
    rows_in: int
    rows_out: int
    rows_rejected: int
    pii_found: dict[str, int]
    key_fingerprint: str
    quarantine: str | None
    skipped_files: list[str]  # files of an input folder that are not data


class _Sink:
    """Streams tables to .jsonl, .csv or .parquet, into a hidden file renamed into place at the end;
    for an output on object storage, into a file in an owner-only folder under `scratch`, uploaded at
    the end. Either way the output appears whole or not at all."""

    def __init__(self, out: str, scratch: Path) -> None:
        self.out, self.suffix = out, PurePosixPath(out).suffix
        if self.suffix not in (".jsonl", ".csv", ".parquet"):
            raise HonkdataError(f"--out must end in .jsonl, .csv or .parquet: {out}")
        self._remote = filesystem(out, {}, "write") if is_url(out) else None
        self._scratch: Path | None = None
        if self._remote is not None:
            scratch.mkdir(parents=True, exist_ok=True)
            self._scratch = Path(tempfile.mkdtemp(prefix="anonymize-", dir=scratch))  # owner-only
            self.tmp = self._scratch / f"out{self.suffix}"
        else:
            self.tmp = Path(out).with_name(f".{Path(out).name}.tmp")
        self._writer: pq.ParquetWriter | pcsv.CSVWriter | None = None
        self._file = open(self.tmp, "wb") if self.suffix == ".jsonl" else None  # noqa: SIM115

    def write(self, table: pa.Table) -> None:
        if self._file is not None:
            self._file.write(b"".join(orjson.dumps(row, default=str) + b"\n" for row in table.to_pylist()))
            return
        if self.suffix == ".csv":
            table = table.drop_columns(["entities"])
        if self._writer is None:
            kind = pq.ParquetWriter if self.suffix == ".parquet" else pcsv.CSVWriter
            self._writer = kind(self.tmp, table.schema)
        self._writer.write_table(table)

    def close(self, publish: bool) -> None:
        for handle in (self._file, self._writer):
            if handle is not None:
                handle.close()
        try:
            if publish and self._remote is not None:
                fs, path = self._remote
                with storage_errors(self.out, "write"):
                    put_file(fs, self.tmp, path)
            elif publish:
                os.replace(self.tmp, self.out)
        finally:
            if self._scratch is not None:
                shutil.rmtree(self._scratch)
            elif not publish:
                self.tmp.unlink(missing_ok=True)


def _refuse_overwriting_inputs(out: str, source: str, inputs: list[Path | RemotePath | RemoteFolder]) -> None:
    """An output that is an input, or lies inside an input folder (here or on object storage), would
    destroy or re-read the raw log."""
    if is_url(out):
        inside = [source.rstrip("/"), *(str(i).rstrip("/") for i in inputs)]
        if any(out == url or out.startswith(f"{url}/") for url in inside):
            raise HonkdataError(
                f"--out {out} would overwrite or land inside the input {source}; choose another URL"
            )
        return
    # Only inputs on this machine can be overwritten by a local output: not the objects of a URL.
    named = [] if is_url(source) else [Path(source)]
    target = Path(out).resolve()
    for path in (p.resolve() for p in [*named, *(i for i in inputs if isinstance(i, Path))] if p.exists()):
        if target == path or path in target.parents:
            raise HonkdataError(
                f"--out {out} would overwrite or land inside the input {path}; choose another path"
            )


def anonymize_file(
    config: BuildConfig, source: str | Path, out: str | Path, fmt: str = "auto"
) -> AnonymizeReport:
    """Read `source` (a file, folder or glob of user logs, here or at a URL on object storage, as for
    `build`), anonymize every event and write them to `out` (a file, or a URL on object storage,
    written with the environment's credentials, as inputs are read).

    Like `honkdata build`: bad rows are quarantined, and above `ingest.max_reject_rate` rejected
    rows (or with no usable row) nothing is written.
    """
    skipped: list[SkippedFile] = []
    raw = resolve_inputs([SourceConfig(path=str(source), format=fmt, kind="user_log")], skipped=skipped)
    _refuse_overwriting_inputs(str(out), str(source), [i.path for i in raw])
    key = load_key(config.anonymize, [i.path for i in raw])
    anonymize = anonymizer(config, key)
    normalize = Normalize(config.normalize)
    started = datetime.now(UTC)
    quarantine = Quarantine(config.quarantine_path() / "anonymize" / f"{started:%Y%m%dT%H%M%S}.jsonl")
    stats, reports = StageStats("anonymize"), []
    sink = _Sink(str(out), config.work_path())
    try:
        for batch in read_inputs(raw, config, load_taxonomy(), quarantine, reports):
            table = pa.Table.from_batches([anonymize(normalize(batch, StageStats("normalize")), stats)])
            day = pc.cast(table.column("ts"), pa.date32())
            sink.write(table.select(OUTPUT_COLUMNS).set_column(2, "day", day))
        check_reject_rate(config, reports, quarantine)
        if stats.rows_out == 0:
            raise HonkdataError(
                f"no rows of {source} left to write (empty, or every row dropped); nothing written"
            )
    except BaseException:
        sink.close(publish=False)
        raise
    finally:
        quarantine.close()
    sink.close(publish=True)
    found = stats.breakdowns.get(PII_FOUND, {})
    return AnonymizeReport(
        rows_in=sum(r["rows_read"] for r in reports),
        rows_out=stats.rows_out,
        rows_rejected=quarantine.rows,
        pii_found=dict(sorted(found.items())),
        key_fingerprint=key.fingerprint,
        quarantine=str(quarantine.path) if quarantine.rows else None,
        skipped_files=[f.path for f in skipped],
    )
