"""End-to-end `honkdata build` throughput and peak memory on synthetic raw logs.

    python benchmarks/build.py                  # 1M and 10M events
    python benchmarks/build.py --events 1000000

Each build runs in a fresh process so that its peak RSS is its own. Input logs are generated
once with `honkdata synth` and cached under .bench/ (git-ignored).
"""

import argparse
import json
import os
import platform
import resource
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from honkdata.synth import generate

CACHE = Path(__file__).resolve().parent.parent / ".bench"

_RUN = """
import json, sys, time
from honkdata.build import build
from honkdata.config import load_config
config = load_config(None, sources=[{"path": sys.argv[1]}], root=sys.argv[2], name="bench",
                     memory_limit=sys.argv[3])
start = time.perf_counter()
result = build(config)
print(json.dumps({"seconds": time.perf_counter() - start, "rows": result.manifest["rows"],
                  "stages": {k: v["seconds"] for k, v in result.manifest["stages"].items()}}))
"""


def synth_log(events: int) -> Path:
    """The cached synthetic JSONL log of `events` events (seed 1), generated on first use."""
    CACHE.mkdir(exist_ok=True)
    log = CACHE / f"synth-{events}.jsonl"
    if not log.exists():
        generate(events, log, seed=1)
    return log


def bench_env() -> dict[str, str]:
    """The environment of a measured build: a fresh random pseudonym key, since the demo key serves
    the shipped sample only."""
    return {**os.environ, "HONKDATA_PSEUDONYM_KEY": secrets.token_hex(32)}


def run(events: int, memory_limit: str) -> dict:
    log = synth_log(events)
    with tempfile.TemporaryDirectory(dir=CACHE) as root:
        proc = subprocess.run(
            [sys.executable, "-c", _RUN, str(log), root, memory_limit],
            capture_output=True,
            text=True,
            check=True,
            env=bench_env(),
        )
    # ru_maxrss of the children is the largest child so far: each size runs in increasing order.
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = json.loads(proc.stdout)
    return {"events": events, "input_mib": log.stat().st_size / 2**20, "peak_rss_mib": peak_mib, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit of the build")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for events in sorted(args.events):
        r = run(events, args.memory_limit)
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in r["stages"].items())
        print(
            f"{r['events']:>11,} events ({r['input_mib']:,.0f} MiB jsonl) -> {r['rows']:,} rows: "
            f"{r['seconds']:.1f} s, {r['events'] / r['seconds']:,.0f} events/s, "
            f"peak RSS {r['peak_rss_mib']:,.0f} MiB [{stages}]",
            flush=True,
        )


if __name__ == "__main__":
    main()
