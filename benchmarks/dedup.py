"""Near-duplicate detection: quality on the labeled pairs, speed and memory, against datasketch.

    python benchmarks/dedup.py [--pairs benchmarks/data/dedup_pairs.jsonl] [--n 1000000]
        [--datasketch-n 30000] [--big 10000000]

Quality: every distinct text of the pair set (`make_dedup_pairs.py`) goes through the pipeline at
once, and a pair counts as a predicted duplicate when its two texts end in the same cluster
(connected components of the verified pairs), which is what the build merges; chains through other
texts count, as they would there. Twice: on the texts alone, and with the gold intents and entities.
datasketch's MinHashLSH (char 4-grams of the lower-cased text, 128 permutations, threshold 0.5: its
documented example settings) predicts a pair when one text's query returns the other.

Speed: `honkdata.synth` queries (normalized first, untimed), on one core: honkdata end to end
(canonical groups + signatures + candidates + verification + clusters) on all of them and on their
distinct texts (what the stage sees after exact dedup); datasketch MinHash + insert on the first
--datasketch-n (it is slow), both one MinHash per query and its faster MinHash.bulk. Peak RSS of
each run is measured in a fresh child process and includes reading the queries. --big runs honkdata
on the 10M-query synthetic log for its peak RSS.
"""

import argparse
import json
import multiprocessing as mp
import os
import resource
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from honkdata.config import NearDedupConfig
from honkdata.dedup.near import connected_components, near_duplicate_pairs
from honkdata.normalize import normalize_text
from honkdata.schema import ENTITIES
from honkdata.synth import generate

PAIRS = Path(__file__).parent / "data" / "dedup_pairs.jsonl"
BENCH = Path(".bench")


def load_pairs(path: Path) -> tuple[list[dict], pa.Table, np.ndarray]:
    """The pairs, one row per distinct text (its first intent and entities), and (a, b) row indices."""
    pairs = [json.loads(line) for line in path.read_text().splitlines()]
    rows: dict[str, dict] = {}
    for p in pairs:
        for side in "ab":
            rows.setdefault(
                p[side], {"text": p[side], "intent": p[f"intent_{side}"], "entities": p[f"entities_{side}"]}
            )
    index = {text: i for i, text in enumerate(rows)}
    table = pa.Table.from_pylist(
        list(rows.values()),
        pa.schema([("text", pa.string()), ("intent", pa.string()), ("entities", ENTITIES)]),
    )
    return pairs, table, np.array([(index[p["a"]], index[p["b"]]) for p in pairs], np.int64)


def scores(pairs: list[dict], predicted: np.ndarray) -> dict:
    truth = np.array([p["label"] for p in pairs])
    tp, fp, fn = (predicted & truth).sum(), (predicted & ~truth).sum(), (~predicted & truth).sum()
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    by_kind = Counter(p["kind"] for p, hit in zip(pairs, predicted == truth, strict=True) if hit)
    total = Counter(p["kind"] for p in pairs)
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "accuracy_by_kind": {k: round(by_kind[k] / n, 3) for k, n in total.items()},
    }  # fmt: skip


def honkdata_quality(path: Path, config: NearDedupConfig, labels: bool) -> dict:
    pairs, table, index = load_pairs(path)
    found = near_duplicate_pairs(
        normalize_text(table["text"]).combine_chunks(),
        config,
        table["entities"].combine_chunks() if labels else None,
        table["intent"].combine_chunks() if labels else None,
    )
    cluster = connected_components(table.num_rows, found)
    return scores(pairs, cluster[index[:, 0]] == cluster[index[:, 1]])


def _shingles(text: str, n: int = 4) -> list[bytes]:
    text = text.lower()
    return [text[i : i + n].encode() for i in range(max(1, len(text) - n + 1))]


def datasketch_quality(path: Path) -> dict:
    from datasketch import MinHash, MinHashLSH

    pairs, table, index = load_pairs(path)
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    sketches = []
    for i, text in enumerate(table["text"].to_pylist()):
        m = MinHash(num_perm=128)
        m.update_batch(_shingles(text))
        lsh.insert(i, m)
        sketches.append(m)
    predicted = np.array([int(b) in lsh.query(sketches[a]) for a, b in index])
    return scores(pairs, predicted)


def _queries(n: int) -> pa.Array:
    path = BENCH / f"synth-{n}.jsonl"
    if not path.exists():
        BENCH.mkdir(exist_ok=True)
        generate(n, path, seed=1)
    reader = pj.open_json(path)  # streamed: only the query column is ever held
    return pa.chunked_array([batch.column("query") for batch in reader]).combine_chunks()


def _honkdata_run(n: int, config: NearDedupConfig, distinct: bool, out: mp.Queue) -> None:
    texts = normalize_text(_queries(n))
    if distinct:  # what the stage sees in `honkdata build`, after exact dedup
        texts = pc.unique(texts)
    start = time.perf_counter()
    pairs = near_duplicate_pairs(texts, config)
    clusters = len(np.unique(connected_components(len(texts), pairs)))
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put({"queries": len(texts), "seconds": seconds, "qps": len(texts) / seconds, "pairs": len(pairs),
             "clusters": clusters, "peak_rss_mb": rss})  # fmt: skip


def _datasketch_run(n: int, limit: int, bulk: bool, out: mp.Queue) -> None:
    """datasketch hashing and inserting: one MinHash per query (its README's way) or MinHash.bulk
    (its documented fast path for many sets, which reuses the permutation state)."""
    from datasketch import MinHash, MinHashLSH

    texts = normalize_text(_queries(n)).slice(0, limit).to_pylist()
    start = time.perf_counter()
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    if bulk:
        sketches = MinHash.bulk((_shingles(text) for text in texts), num_perm=128)
    else:
        sketches = []
        for text in texts:
            sketches.append(MinHash(num_perm=128))
            sketches[-1].update_batch(_shingles(text))
    for i, sketch in enumerate(sketches):
        lsh.insert(i, sketch)
    seconds = time.perf_counter() - start
    out.put({"queries": len(texts), "seconds": seconds, "qps": len(texts) / seconds,
             "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})  # fmt: skip


def in_child(target, *args: object) -> dict:
    """Runs `target` in a fresh process pinned to one core: its own peak RSS, one core's speed."""
    out: mp.Queue = mp.get_context("spawn").Queue()
    process = mp.get_context("spawn").Process(target=_pinned, args=(target, *args, out))
    process.start()
    result = out.get()
    process.join()
    return result


def _pinned(target, *args: object) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    os.environ["OMP_NUM_THREADS"] = "1"
    target(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--datasketch-n", type=int, default=30_000)
    parser.add_argument("--big", type=int, default=10_000_000, help="0 to skip the 10M run")
    args = parser.parse_args()
    config = NearDedupConfig()
    print(f"config: {config.model_dump()}")
    for name, result in (
        ("honkdata, text only", honkdata_quality(args.pairs, config, labels=False)),
        ("honkdata, gold intents + entities", honkdata_quality(args.pairs, config, labels=True)),
        ("datasketch MinHashLSH (4-grams, 128 perm, t=0.5)", datasketch_quality(args.pairs)),
    ):
        print(
            f"{name}: precision {result['precision']:.3f} recall {result['recall']:.3f} F1 {result['f1']:.3f}"
        )
        print(f"    accuracy by kind: {result['accuracy_by_kind']}")
    ours = in_child(_honkdata_run, args.n, config, False)
    distinct = in_child(_honkdata_run, args.n, config, True)
    for name, result in (("", ours), (" (its distinct texts)", distinct)):
        print(f"honkdata   {result['queries']:>9,} queries{name}: {result['qps']:>9,.0f} q/s "
              f"({result['seconds']:.2f} s), {result['pairs']:,} pairs, {result['clusters']:,} clusters, "
              f"peak RSS {result['peak_rss_mb']:,.0f} MB")  # fmt: skip
    for name, bulk in (("MinHash per query + insert", False), ("MinHash.bulk + insert", True)):
        theirs = in_child(_datasketch_run, args.n, args.datasketch_n, bulk)
        print(f"datasketch {theirs['queries']:>9,} queries, {name}: {theirs['qps']:>7,.0f} q/s, "
              f"peak RSS {theirs['peak_rss_mb']:,.0f} MB; honkdata is {ours['qps'] / theirs['qps']:.0f}x, "
              f"on distinct texts {distinct['qps'] / theirs['qps']:.0f}x")  # fmt: skip
    if args.big:
        big = in_child(_honkdata_run, args.big, config, False)
        print(f"honkdata {big['queries']:>11,} queries: {big['qps']:>9,.0f} q/s ({big['seconds']:.1f} s), "
              f"{big['pairs']:,} pairs, peak RSS {big['peak_rss_mb']:,.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
