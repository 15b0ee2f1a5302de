"""Throughput and peak memory of `honkdata.synth.generate`.

    python benchmarks/synth.py [--n 1000000] [--seed 0] [--format jsonl|jsonl.gz|csv|parquet] [--out DIR]

Prints events/s, output size and the process's peak RSS (which includes the interpreter, numpy and
pyarrow themselves, about 100 MB before any event is made).
"""

import argparse
import resource
import tempfile
from pathlib import Path

from honkdata.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", default="jsonl", choices=["jsonl", "jsonl.gz", "csv", "parquet"])
    parser.add_argument("--out", type=Path, help="folder for the output (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = (args.out or Path(tmp)) / f"synth-{args.n}.{args.format}"
        stats = generate(args.n, out, seed=args.seed)
        size_mb = out.stat().st_size / 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"synth n={stats.rows:,} format={args.format}: {stats.seconds:.1f} s, "
        f"{stats.rows / stats.seconds:,.0f} events/s, {size_mb:,.1f} MB written, peak RSS {peak_mb:,.0f} MB"
    )
    rows = max(stats.rows, 1)
    print(
        f"  distinct queries {stats.distinct_queries:,} ({stats.distinct_queries / rows:.1%} of rows), "
        f"distinct users {stats.distinct_users:,}, planted-PII rows {stats.pii_rows:,} "
        f"({stats.pii_rows / rows:.2%})"
    )


if __name__ == "__main__":
    main()
