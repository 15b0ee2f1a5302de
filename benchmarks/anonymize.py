"""PII scrubbing quality and speed: honkdata's scrubber side by side with Presidio's pattern recognizers.

    python benchmarks/anonymize.py [--eval benchmarks/data/pii_eval.jsonl] [--n 1000000] [--presidio-n 10000]

Quality on the labeled set (`make_pii_eval.py`): per PII type the recall (the planted string is gone
from the output), artist preservation (the artist string survives), with the catalog allow-list (the
seed's artist, track, album and playlist values, as curated gold entities would give) and without
it, and the false-positive rate (a clean query changed at all). Presidio runs EmailRecognizer,
PhoneRecognizer, CreditCardRecognizer, IpRecognizer and UrlRecognizer (no NLP model, so no PERSON,
ADDRESS or HANDLE) and its AnonymizerEngine. Speed: queries/s on one core over `honkdata.synth`
queries (normalized first, untimed); Presidio on the first `--presidio-n` of the same queries.
"""

import argparse
import json
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from make_pii_eval import CATALOG_KINDS

from honkdata.anonymize.pii import AllowList, PiiScrubber
from honkdata.config import PII_TYPES
from honkdata.normalize import normalize_text
from honkdata.synth import SEED_FILE, generate

EVAL = Path(__file__).parent / "data" / "pii_eval.jsonl"


def presidio() -> Callable[[str], str]:
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
    )
    from presidio_anonymizer import AnonymizerEngine

    # tldextract (inside Presidio's email and URL validation) tries to download the public suffix
    # list, fails offline and falls back to its bundled snapshot: keep that out of the output.
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    recognizers = [
        EmailRecognizer(),
        PhoneRecognizer(),
        CreditCardRecognizer(),
        IpRecognizer(),
        UrlRecognizer(),
    ]
    engine = AnonymizerEngine()

    def scrub(text: str) -> str:
        results = [r for rec in recognizers for r in rec.analyze(text, rec.supported_entities, None)]
        return engine.anonymize(text, results).text if results else text

    scrub("warm up: jo@example.com")
    return scrub


def quality(rows: list[dict], outputs: list[str]) -> dict:
    planted, gone = Counter(), Counter()
    kept = {True: [0, 0], False: [0, 0]}  # allow-listed -> [survived, total]
    titles = [0, 0]
    clean = changed = 0
    for row, out in zip(rows, outputs, strict=True):
        for pii in row["pii"]:
            planted[pii["type"]] += 1
            gone[pii["type"]] += pii["value"] not in out
        for artist, listed in zip(row["artists"], row["allow_listed"], strict=True):
            kept[listed][0] += artist in out
            kept[listed][1] += 1
        for title in row["titles"]:
            titles[0] += title in out
            titles[1] += 1
        if row["kind"] == "clean":
            clean += 1
            changed += out != row["text"]
    recall = {t: gone[t] / planted[t] for t in PII_TYPES if planted[t]}
    survived, total = kept[True][0] + kept[False][0], kept[True][1] + kept[False][1]
    return {
        "recall": recall,
        "artists": survived / total,
        "artists_listed": kept[True][0] / max(kept[True][1], 1),
        "artists_unlisted": kept[False][0] / max(kept[False][1], 1),
        "titles": titles[0] / max(titles[1], 1),
        "fp": changed / clean,
    }


def print_quality(name: str, q: dict) -> None:
    recall = "  ".join(f"{t} {q['recall'].get(t, 0):.3f}" for t in PII_TYPES)
    print(f"{name}\n  recall     {recall}")
    print(
        f"  artists    {q['artists']:.3f} (in catalog {q['artists_listed']:.3f}, "
        f"not in catalog {q['artists_unlisted']:.3f});  PII-shaped titles {q['titles']:.3f};  "
        f"false positives on clean queries {q['fp']:.2%}"
    )


def synth_queries(n: int) -> pa.Array:
    cache = Path(".bench") / f"synth-{n}-seed1.parquet"
    if not cache.exists():
        cache.parent.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            generate(n, Path(tmp) / "q.parquet", seed=1)
            (Path(tmp) / "q.parquet").rename(cache)
    return normalize_text(pq.read_table(cache, columns=["query"]).column("query").combine_chunks())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--eval", type=Path, default=EVAL)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--presidio-n", type=int, default=10_000)
    args = parser.parse_args()
    pa.set_cpu_count(1)  # one core, as the target says
    os.environ["OMP_NUM_THREADS"] = "1"

    rows = [json.loads(line) for line in args.eval.read_text(encoding="utf-8").splitlines()]
    texts = pa.array([r["text"] for r in rows], pa.string())
    locales = pa.array([r["locale"] for r in rows], pa.string())
    seed = json.loads(SEED_FILE.read_text(encoding="utf-8"))["values"]
    catalog = AllowList(v for kind in CATALOG_KINDS for v in seed[kind])
    n_pii = sum(r["kind"] == "pii" for r in rows)
    clean = len(rows) - n_pii
    print(
        f"eval set: {len(rows)} rows ({n_pii} with planted PII, {clean} clean), {len(catalog)} catalog names"
    )
    for name, allow in (("honkdata (catalog allow-list)", catalog), ("honkdata (no allow-list)", None)):
        out = PiiScrubber({}, allow)(texts, locales).text.to_pylist()
        print_quality(name, quality(rows, out))
    scrub = presidio()
    print_quality("presidio pattern recognizers", quality(rows, [scrub(r["text"]) for r in rows]))

    queries = synth_queries(args.n)
    scrubber = PiiScrubber({}, catalog)
    start = time.perf_counter()
    result = scrubber(queries)
    seconds = time.perf_counter() - start
    print(
        f"\nthroughput over {len(queries):,} synthetic queries (one core): "
        f"honkdata {len(queries) / seconds:,.0f} queries/s ({seconds:.2f} s; "
        f"{sum(result.counts.values()):,} detections: {dict(result.counts)})"
    )
    sample = queries.slice(0, args.presidio_n).to_pylist()
    start = time.perf_counter()
    for text in sample:
        scrub(text)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    scrubber(pa.array(sample, pa.string()))
    ours = time.perf_counter() - start
    print(
        f"first {len(sample):,}: presidio {len(sample) / seconds:,.0f} queries/s ({seconds:.2f} s), "
        f"honkdata {len(sample) / ours:,.0f} queries/s ({ours:.3f} s)"
    )


if __name__ == "__main__":
    main()
