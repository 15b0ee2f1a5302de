"""How `honkdata build` scales with input size, against DuckDB alone reading the same log (the floor).

    python benchmarks/scale.py                          # 1M, 3M and 10M events, every engine
    python benchmarks/scale.py --events 20000,50000 --engines local,local-1
    python benchmarks/scale.py --events 10000000 --engines local,ray --format parquet

For each size, in this order and each in a fresh process: DuckDB alone reads the synthetic JSONL
log and groups it by query (the floor: no build can read and group faster on this machine), then
`honkdata build` runs with every default stage on each engine: the local engine with a worker
process per core (its default at these sizes), the same in one process (`local-1`), and Ray. Times
are wall clock, end to end, process start included. Peak RSS of a local build is the build process's
own plus, for its workers, their number times the largest one's (an upper bound: the workers are
forked from the build and share its pages until they write them); the floor's is its own. An
engine whose option or package is not installed yet is reported as "not available"; any other
failure stops the benchmark. Prints a markdown table of the figures, one of the first engine's
per-stage seconds, the machine, and the
fixed cost of starting Python and importing the build (inside every build's time, not the floor's).
Synthetic logs are cached under .bench/ (see build.py); with `--format parquet`, the same events in
a Parquet file (every field text, as in the JSONL, in DuckDB's row groups of 122,880 rows), which
the floor reads with read_parquet.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from build import CACHE, bench_env, synth_log

from honkdata.schema import RAW_FIELDS

# The floor reads every raw field as text, as the build's JSONL reader does (an explicit schema, no
# type sniffing), on as many DuckDB threads as the machine has cores, DuckDB's and the build's default.
_AS_TEXT = "columns = {" + ", ".join(f"'{name}': 'VARCHAR'" for name in RAW_FIELDS) + "}"
_READ = {
    "jsonl": f"read_json($path, format = 'newline_delimited', {_AS_TEXT})",
    "parquet": "read_parquet($path)",
}
_FLOOR_SQL = "SELECT query, count(*) AS n FROM {read} GROUP BY query"
_FLOOR = """
import json, sys
import duckdb
import pyarrow.compute as pc
sql, path, threads = sys.argv[1:]
# No progress bar: past a couple of seconds DuckDB draws one on stdout, where the result goes.
con = duckdb.connect(config={"threads": int(threads)})
con.execute("SET enable_progress_bar = false")
groups = con.sql(sql, params={"path": path}).to_arrow_table()
print(json.dumps({"events": pc.sum(groups["n"]).as_py()}))
"""

# What the CLI says when it lacks the engine: typer's answer to an option it does not know yet, the
# traceback of an engine package that is not installed, or an error that names the extra to install.
_UNAVAILABLE = ("no such option", "importerror", "modulenotfounderror", "honkdata[")


@dataclass(frozen=True)
class Measured:
    returncode: int
    seconds: float
    peak_rss_mib: float
    stdout: str
    stderr: str


def measure(argv: list[str], env: dict[str, str]) -> Measured:
    """Runs `argv` in a fresh process: its wall seconds and its own peak RSS.

    os.wait4 gives the rusage of that one child; getrusage(RUSAGE_CHILDREN) would give the largest
    child so far, and here floors and builds of different sizes alternate.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        actions = [(os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)]
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=os.waitstatus_to_exitcode(status),
            seconds=seconds,
            peak_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
            stdout=out.read().decode(),
            stderr=err.read().decode(errors="replace"),
        )


def _failed(what: str, run: Measured) -> RuntimeError:
    return RuntimeError(f"{what} failed with exit code {run.returncode}:\n{run.stderr.strip()}")


def parquet_log(events: int) -> Path:
    """The synthetic log of `events` events as Parquet, made from the JSONL one on first use."""
    log = synth_log(events)
    columnar = log.with_suffix(".parquet")
    if not columnar.exists():
        with duckdb.connect() as con:
            made = columnar.with_name(f".{columnar.name}.tmp")
            con.execute(
                f"COPY (SELECT * FROM {_READ['jsonl']}) TO '{made}' (FORMAT parquet)", {"path": str(log)}
            )
            made.rename(columnar)
    return columnar


def floor(log: Path, events: int) -> Measured:
    sql = _FLOOR_SQL.format(read=_READ["parquet" if log.suffix == ".parquet" else "jsonl"])
    run = measure([sys.executable, "-c", _FLOOR, sql, str(log), str(os.cpu_count())], bench_env())
    if run.returncode:
        raise _failed("the DuckDB floor", run)
    read = json.loads(run.stdout)["events"]
    if read != events:  # a floor that skipped lines would flatter nobody but the floor
        raise RuntimeError(f"the DuckDB floor read {read:,} events of {events:,}")
    return run


# The build as `honkdata build` runs it, in this process; then, on stderr's last line, its own peak RSS
# and the largest of its worker processes' (the local engine's; Ray's live outside it).
_BUILD = """
import json, resource, sys
from honkdata.cli import app
try:
    app(sys.argv[1:], prog_name="honkdata")
except SystemExit as e:
    if e.code:
        raise
peaks = {"self": resource.RUSAGE_SELF, "workers": resource.RUSAGE_CHILDREN}
print(json.dumps({k: resource.getrusage(w).ru_maxrss / 1024 for k, w in peaks.items()}), file=sys.stderr)
"""


@dataclass(frozen=True)
class Built:
    run: Measured
    manifest: dict
    peak_rss_mib: float  # the build process's own
    worker_peak_rss_mib: float  # the largest worker process's (0 without workers)


def engine_options(engine: str) -> list[str]:
    """`local` (one process per core at these sizes), `local-N` (N processes), or another engine."""
    if engine.startswith("local-"):
        return ["--workers", engine.removeprefix("local-")]
    return [] if engine == "local" else ["--engine", engine]


def build(log: Path, engine: str) -> Built | None:
    """One `honkdata build` with `engine` into a fresh store, or None where this install has no such
    engine."""
    with tempfile.TemporaryDirectory(dir=CACHE) as root:
        argv = [sys.executable, "-c", _BUILD, "build", "--source", str(log), "--root", root]
        run = measure([*argv, "--name", "bench", "--json", "--quiet", *engine_options(engine)], bench_env())
    if run.returncode == 0:
        peaks = json.loads(run.stderr.strip().splitlines()[-1])
        return Built(run, json.loads(run.stdout)["manifest"], peaks["self"], peaks["workers"])
    if not engine.startswith("local") and any(s in run.stderr.lower() for s in _UNAVAILABLE):
        return None
    raise _failed(f"honkdata build ({engine} engine)", run)


def startup() -> float:
    """Seconds to start Python and import the build: a fixed cost inside every build's time."""
    run = measure([sys.executable, "-c", "import honkdata.build, honkdata.cli.build"], bench_env())
    if run.returncode:
        raise _failed("importing honkdata.build", run)
    return run.seconds


def _machine() -> str:
    ram_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"machine: {os.cpu_count()} cores, {ram_gib:.0f} GiB RAM, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
        f"{datetime.now(UTC).date().isoformat()}"
    )


def _warm(log: Path) -> None:
    """Reads `log` once, untimed: the floor runs first and must not pay for a cold page cache alone."""
    with log.open("rb") as f:
        while f.read(1 << 24):
            pass


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def _workers(engine: str) -> int:
    return int(engine.removeprefix("local-")) if engine.startswith("local-") else len(os.sched_getaffinity(0))


def _size(
    events: int, engines: list[str], unavailable: set[str], fmt: str
) -> tuple[list[str], dict[str, float]]:
    """One size: its table row, and the local build's seconds per stage (empty without one)."""
    log = parquet_log(events) if fmt == "parquet" else synth_log(events)
    _warm(log)
    base = floor(log, events)
    print(f"{events:,} events: DuckDB floor {base.seconds:.1f} s", file=sys.stderr, flush=True)
    row = [
        f"{events:,}",
        f"{log.stat().st_size / 2**20:,.0f}",
        f"{base.seconds:.1f}",
        f"{base.peak_rss_mib:,.0f}",
    ]
    stages: dict[str, float] = {}
    for engine in engines:
        built = None if engine in unavailable else build(log, engine)
        if built is None:
            unavailable.add(engine)
            row += ["not available", "–", "–"]  # build() never says so of the local engine: it raises
            continue
        seconds = built.run.seconds
        print(f"{events:,} events: {engine} {seconds:.1f} s", file=sys.stderr, flush=True)
        row += [f"{seconds:.1f}", f"{events / seconds:,.0f}", f"{seconds / base.seconds:.1f}×"]
        if engine.startswith("local"):
            # Only the local engine runs in the measured process and its children; Ray's workers do not.
            workers = _workers(engine)
            total = built.peak_rss_mib + workers * built.worker_peak_rss_mib
            row.append(
                f"{built.peak_rss_mib:,.0f} + {workers}×{built.worker_peak_rss_mib:,.0f} = {total:,.0f}"
                if built.worker_peak_rss_mib
                else f"{built.peak_rss_mib:,.0f}"
            )
            if engine == engines[0]:
                stages = {name: stats["seconds"] for name, stats in built.manifest["stages"].items()}
    return row, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events",
        type=lambda s: sorted(int(n) for n in s.split(",")),
        default=[1_000_000, 3_000_000, 10_000_000],
        help="comma-separated sizes [default: 1000000,3000000,10000000]",
    )
    parser.add_argument(
        "--engines",
        type=lambda s: s.split(","),
        default=["local", "local-1", "ray"],
        help="comma-separated build engines: local (a process per core), local-N (N processes), ray "
        "[default: local,local-1,ray]",
    )
    parser.add_argument(
        "--format", choices=["jsonl", "parquet"], default="jsonl", help="the log's format [default: jsonl]"
    )
    args = parser.parse_args()
    unavailable: set[str] = set()
    rows, per_stage = [], {}
    for events in args.events:
        row, stages = _size(events, args.engines, unavailable, args.format)
        rows.append(row)
        if stages:
            per_stage[events] = stages
    header = ["events", "input MiB", "DuckDB floor s", "floor peak RSS MiB"]
    for engine in args.engines:
        header += [f"{engine} s", f"{engine} events/s", f"{engine} ÷ floor"]
        if engine.startswith("local"):
            header.append(f"{engine} peak RSS MiB (build + workers)")
    print(f"{_machine()}, {args.format} logs")
    print(f"startup: {startup():.1f} s to start Python and import honkdata.build, inside every build's time")
    print()
    print(_table(header, rows))
    if per_stage:
        names = list(dict.fromkeys(name for stages in per_stage.values() for name in stages))
        print(f"\nPer-stage seconds of the {args.engines[0]} build (a stage's workers' seconds add up):\n")
        cells = [
            [f"{n:,}", *(f"{stages[s]:.1f}" if s in stages else "–" for s in names)]
            for n, stages in per_stage.items()
        ]
        print(_table(["events", *names], cells))


if __name__ == "__main__":
    main()
