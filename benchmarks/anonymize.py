"""PII scrubbing quality and speed: honkdata's scrubber side by side with Presidio's pattern recognizers.

    python benchmarks/anonymize.py [--eval benchmarks/data/pii_eval.jsonl] [--sets benchmarks/data]
                                   [--n 1000000] [--presidio-n 10000] [--errors 0]

Quality on three labeled sets: our own (`make_pii_eval.py`, written together with the rules) and two
made by other generators (`make_pii_generated.py`: presidio-evaluator's and mimesis's values in music
contexts, and presidio-evaluator's own sentence templates). Per PII type the recall: a planted value
counts as removed only if every letter and digit of it is gone (both scrubbers mask, so the output
lines up with the input); artists kept (the artist string survives where it stood), with the catalog
allow-list on our set (the seed's artist, track, album and playlist values, as curated gold entities
would give) and without it; and the false-positive rate (a clean query changed at all). Presidio runs
EmailRecognizer, PhoneRecognizer, CreditCardRecognizer, IpRecognizer and UrlRecognizer (no NLP model,
so no PERSON, ADDRESS or HANDLE) and its AnonymizerEngine. `--errors N` prints N misses and false
positives of each set: for a development draw only (`--sets` a folder of seed 1), never for the shipped
set that is reported (seed 3).
Speed: queries/s on one core over `honkdata.synth` queries (normalized first, untimed); Presidio on the
first `--presidio-n` of the same queries.
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

DATA = Path(__file__).parent / "data"
GENERATED = {"presidio-evaluator": "pii_presidio_eval.jsonl", "mimesis": "pii_mimesis_eval.jsonl"}
MASKED = "*"


def presidio() -> Callable[[str], str]:
    """Presidio's pattern recognizers and anonymizer, masking every character of what they find."""
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
    )
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig

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
        if not results:
            return text
        mask = OperatorConfig("mask", {"masking_char": MASKED, "chars_to_mask": len(text), "from_end": False})
        return engine.anonymize(text, results, {"DEFAULT": mask}).text

    scrub("warm up: jo@example.com")
    return scrub


def honkdata_masking(allow: AllowList | None) -> Callable[[list[dict]], list[str]]:
    scrubber = PiiScrubber(dict.fromkeys(PII_TYPES, "mask"), allow)

    def scrub(rows: list[dict]) -> list[str]:
        texts = pa.array([r["text"] for r in rows], pa.string())
        return scrubber(texts, pa.array([r["locale"] for r in rows], pa.string())).text.to_pylist()

    return scrub


def _gone(text: str, out: str, start: int, value: str) -> bool:
    """Every letter and digit of the value is masked in the (same-length) output."""
    return all(out[start + i] == MASKED for i, c in enumerate(value) if c.isalnum())


def _kept(text: str, out: str, value: str) -> bool:
    start = text.find(value)
    return out[start : start + len(value)] == value


def quality(rows: list[dict], outputs: list[str]) -> tuple[dict, list[str]]:
    """The scores, and the rows that were wrong (a miss or a false positive), for --errors."""
    planted, gone = Counter(), Counter()
    kept = {True: [0, 0], False: [0, 0]}  # allow-listed -> [survived, total]
    titles, clean, changed, wrong = [0, 0], 0, 0, []
    for row, out in zip(rows, outputs, strict=True):
        text = row["text"]
        missed = False
        for pii in row["pii"]:
            start = pii.get("start", text.find(pii["value"]))
            hit = _gone(text, out, start, pii["value"])
            planted[pii["type"]] += 1
            gone[pii["type"]] += hit
            missed |= not hit
        for artist, listed in zip(row["artists"], row["allow_listed"], strict=True):
            kept[listed][0] += _kept(text, out, artist)
            kept[listed][1] += 1
        for title in row["titles"]:
            titles[0] += _kept(text, out, title)
            titles[1] += 1
        if row["kind"] == "clean":
            clean += 1
            changed += out != text
        if missed or (row["kind"] == "clean" and out != text):
            wrong.append(f"{row['locale']}\t{text}\t->\t{out}")
    survived, total = kept[True][0] + kept[False][0], kept[True][1] + kept[False][1]
    scores = {
        "recall": {t: gone[t] / planted[t] for t in PII_TYPES if planted[t]},
        "artists": _share(survived, total),
        "artists_listed": _share(*kept[True]),
        "artists_unlisted": _share(*kept[False]),
        "titles": _share(*titles),
        "fp": _share(changed, clean),
        "clean": clean,
    }
    return scores, wrong


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def print_quality(name: str, q: dict) -> None:
    recall = "  ".join(f"{t} {_fmt(q['recall'].get(t))}" for t in PII_TYPES)
    print(f"{name}\n  recall     {recall}")
    print(
        f"  artists    {_fmt(q['artists'])} (in catalog {_fmt(q['artists_listed'])}, "
        f"not in catalog {_fmt(q['artists_unlisted'])});  PII-shaped titles {_fmt(q['titles'])};  "
        f"false positives on {q['clean']} clean queries {_fmt(q['fp'], '.2%')}"
    )


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def describe(name: str, rows: list[dict]) -> None:
    planted = Counter(p["type"] for r in rows for p in r["pii"])
    clean = sum(r["kind"] == "clean" for r in rows)
    print(f"\n== {name}: {len(rows)} rows ({len(rows) - clean} with PII, {clean} clean)")
    print(f"   planted {dict(planted)}")


def evaluate(name: str, rows: list[dict], scrubbers: dict[str, Callable], errors: int) -> None:
    describe(name, rows)
    for label, scrub in scrubbers.items():
        scores, wrong = quality(rows, scrub(rows))
        print_quality(label, scores)
        for line in wrong[:errors]:
            print(f"    miss/fp\t{line}")


def quality_report(args: argparse.Namespace, catalog: AllowList) -> Callable[[str], str]:
    scrub = presidio()

    def presidio_rows(rows: list[dict]) -> list[str]:
        return [scrub(r["text"]) for r in rows]

    ours = honkdata_masking(None)
    evaluate(
        f"own set {args.eval.name} (written with the rules)",
        load(args.eval),
        {"honkdata, catalog allow-list": honkdata_masking(catalog), "honkdata, no allow-list": ours,
         "presidio pattern recognizers": presidio_rows},
        args.errors,
    )  # fmt: skip
    for generator, file in GENERATED.items():
        rows = load(args.sets / file)
        for source, label in (("music", "values in music contexts"), ("generator", "its own templates")):
            part = [r for r in rows if r.get("source") == source]
            if part:
                scrubbers = {"honkdata, no allow-list": ours, "presidio pattern recognizers": presidio_rows}
                evaluate(f"{generator}: {label}", part, scrubbers, args.errors)
    return scrub


def synth_queries(n: int) -> pa.Array:
    cache = Path(".bench") / f"synth-{n}-seed1.parquet"
    if not cache.exists():
        cache.parent.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            generate(n, Path(tmp) / "q.parquet", seed=1)
            (Path(tmp) / "q.parquet").rename(cache)
    return normalize_text(pq.read_table(cache, columns=["query"]).column("query").combine_chunks())


def speed(n: int, presidio_n: int, catalog: AllowList, scrub: Callable[[str], str]) -> None:
    queries = synth_queries(n)
    scrubber = PiiScrubber({}, catalog)
    start = time.perf_counter()
    result = scrubber(queries)
    seconds = time.perf_counter() - start
    print(
        f"\nthroughput over {len(queries):,} synthetic queries (one core): "
        f"honkdata {len(queries) / seconds:,.0f} queries/s ({seconds:.2f} s; "
        f"{sum(result.counts.values()):,} detections: {dict(result.counts)})"
    )
    sample = queries.slice(0, presidio_n).to_pylist()
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--eval", type=Path, default=DATA / "pii_eval.jsonl")
    parser.add_argument("--sets", type=Path, default=DATA, help="folder of the generated sets")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--presidio-n", type=int, default=10_000)
    parser.add_argument("--errors", type=int, default=0)
    args = parser.parse_args()
    pa.set_cpu_count(1)  # one core, as the target says
    os.environ["OMP_NUM_THREADS"] = "1"

    seed = json.loads(SEED_FILE.read_text(encoding="utf-8"))["values"]
    catalog = AllowList(v for kind in CATALOG_KINDS for v in seed[kind])
    print(f"catalog allow-list: {len(catalog)} names")
    scrub = quality_report(args, catalog)
    if args.n:
        speed(args.n, args.presidio_n, catalog, scrub)


if __name__ == "__main__":
    main()
