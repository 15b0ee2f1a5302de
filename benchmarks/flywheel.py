"""The flywheel over five nights: a log grows, `honkdata retrain` runs as the scheduler runs it.

    python benchmarks/flywheel.py [--snips DIR] [--work DIR] [--recipe baseline]

The gold-labeled Snips queries (default: the shipped 2,800-query sample; `--snips
../shared/data/public/snips-2017` for all of Snips 2017) are shuffled once and cut in two: 70 % stay
labeled and arrive in four quarters (a curated labeled-jsonl file a night); 30 % arrive as raw user-log
traffic without their labels (each query from 5 users, so k-anonymity releases it), a quarter a night,
their gold kept by this script only. Each night runs `honkdata retrain --config ... --json` in a
subprocess and prints: the snapshot, what the gate decided and why, the golden-set metrics of the
challenger and of the champion it met, the share of rows per label source, and the accuracy of the
model-assisted labels (the champion's, on the traffic) against the gold they did not see. A run with
nothing new comes after the first night (it must say up_to_date). The fifth night brings a batch of
bad labels — traffic queries already seen, labeled with the wrong intent — and the gate must refuse
the challenger trained on it.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import yaml

from honkdata.build import build
from honkdata.config import load_config
from honkdata.snapshot.store import SnapshotStore

ROOT = Path(__file__).resolve().parent.parent
USERS_PER_QUERY = 5  # the build's k-anonymity threshold: fewer users and the query is not released
GATED = ("intent_accuracy", "entity_f1", "frame_accuracy")


def gold_rows(snips: Path, work: Path) -> list[dict]:
    """The Snips queries with their gold labels in the music taxonomy, read through a real build."""
    root = work / "pool"
    source = {"path": str(snips), "format": "snips", "kind": "curated", "split": "resplit"}
    ref = build(load_config(None, name="pool", root=str(root), sources=[source])).ref
    table = SnapshotStore(root).read(ref, columns=["id", "text", "intent", "entities"]).sort_by("id")
    return [
        {
            "query": r["text"],
            "intent": r["intent"],
            "entities": [{k: e[k] for k in ("type", "start", "end")} for e in r["entities"] or []],
        }
        for r in table.to_pylist()
        if r["intent"] is not None
    ]


def quarter(rows: list[dict], i: int) -> list[dict]:
    return rows[i * len(rows) // 4 : (i + 1) * len(rows) // 4]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def traffic(rows: list[dict], night: int) -> list[dict]:
    """Raw log events for `rows`' queries, without labels, each from USERS_PER_QUERY users."""
    return [
        {"query": r["query"], "user_id": f"user-{night}-{i}-{u}", "ts": f"2026-11-{night:02d}T0{u}:00:00Z"}
        for i, r in enumerate(rows)
        for u in range(USERS_PER_QUERY)
    ]


def configs(work: Path, recipe: str) -> Path:
    build_config = {
        "name": "flywheel",
        "sources": [
            # Snips is published text: what looks like an address in it may be published.
            {
                "path": "logs/labeled",
                "format": "labeled-jsonl",
                "kind": "curated",
                "split": "resplit",
                "allow_pii": True,
            },
            {"path": "logs/traffic", "format": "jsonl", "kind": "user_log"},
        ],
        "anonymize": {"key_env": "HONKDATA_PSEUDONYM_KEY", "k_anonymity": USERS_PER_QUERY},
        "labels": {"weak": True, "model_min_confidence": 0.9},
    }
    (work / "build.yaml").write_text(yaml.safe_dump(build_config, sort_keys=False))
    retrain = {"build": "build.yaml", "recipe": recipe, "delivery": {"location": "deploy"}}
    (work / "retrain.yaml").write_text(yaml.safe_dump(retrain, sort_keys=False))
    return work / "retrain.yaml"


def run_retrain(config: Path, root: Path) -> tuple[int, dict, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "honkdata.cli",
            "retrain",
            "--config",
            str(config),
            "--root",
            str(root),
            "--json",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")},
    )
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if not lines:
        sys.exit(f"retrain printed nothing (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return done.returncode, orjson.loads(lines[-1]), seconds


def label_figures(root: Path, snapshot: str, hidden: dict[str, str]) -> tuple[dict[str, float], str]:
    """Share of rows per label source, and the model labels' accuracy on the traffic's hidden gold."""
    store = SnapshotStore(root)
    rows = store.read(store.resolve(snapshot), columns=["text", "intent", "label_source"]).to_pylist()
    sources = Counter(r["label_source"] or "none" for r in rows)
    shares = {s: sources[s] / len(rows) for s in ("gold", "model", "weak", "human", "none")}
    seen = [r for r in rows if r["text"].lower() in hidden]
    labeled = [r for r in seen if r["label_source"] == "model"]
    if not labeled:
        return shares, "-"
    right = sum(r["intent"] == hidden[r["text"].lower()] for r in labeled)
    return shares, f"{right / len(labeled):.3f} on {len(labeled)} of {len(seen)}"


def metric_cell(metrics: dict | None) -> str:
    if not metrics:
        return "-"
    return " / ".join(f"{100 * metrics[k]:.1f}" for k in GATED)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snips", type=Path, default=ROOT / "data" / "samples" / "snips")
    parser.add_argument("--work", type=Path, default=Path("/tmp/honkdata-bench/flywheel"))
    parser.add_argument("--recipe", default="baseline")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("HONKDATA_PSEUDONYM_KEY", os.urandom(16).hex())
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    rows = gold_rows(args.snips, args.work)
    random.Random(args.seed).shuffle(rows)
    cut = int(0.7 * len(rows))
    labeled, unlabeled = rows[:cut], rows[cut:]
    hidden = {r["query"].lower(): r["intent"] for r in unlabeled}
    config, root = configs(args.work, args.recipe), args.work / "snapshots"

    nights: list[tuple[str, str, int, dict, float]] = []
    for night in range(1, 6):
        if night <= 4:
            new_labeled, new_traffic = quarter(labeled, night - 1), quarter(unlabeled, night - 1)
            write_jsonl(args.work / "logs/labeled" / f"night-{night}.jsonl", new_labeled)
            write_jsonl(args.work / "logs/traffic" / f"night-{night}.jsonl", traffic(new_traffic, night))
            what = f"+{len(new_labeled):,} labeled, +{len(new_traffic):,} traffic"
        else:
            # A bad annotation batch: queries the traffic brought, each labeled with the intent after
            # its own in the sorted list, and no entities. Gold outranks the model's labels in the build.
            intents = sorted({r["intent"] for r in rows})
            bad = [
                {
                    "query": r["query"],
                    "intent": intents[(intents.index(r["intent"]) + 1) % len(intents)],
                    "entities": [],
                }
                for r in unlabeled
            ]
            write_jsonl(args.work / "logs/labeled" / "night-5-bad-labels.jsonl", bad)
            what = f"+{len(bad):,} wrongly labeled"
        nights.append((str(night), what, *run_retrain(config, root)))
        if night == 1:
            nights.append(("1, again", "nothing new", *run_retrain(config, root)))

    print(
        f"\n== flywheel: {args.recipe}, {len(rows):,} Snips queries ({args.snips.name}), golden set "
        f"= v1 test, {nights[0][3]['metrics']['challenger']['n']:,} queries =="
    )
    print("metrics: intent accuracy / entity F1 / frame accuracy on the golden set, %")
    print(
        "| night | new data | snapshot | decision | challenger | champion it met "
        "| gold / model / weak / none | model labels vs hidden gold | reason | s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for night, what, code, summary, seconds in nights:
        shares, accuracy = (
            label_figures(root, summary["snapshot"], hidden) if "snapshot" in summary else ({}, "-")
        )
        share = " / ".join(f"{100 * shares.get(s, 0):.0f}" for s in ("gold", "model", "weak", "none"))
        metrics = summary.get("metrics") or {}
        print(
            f"| {night} | {what} | {summary.get('snapshot', '-')} | {summary['status']} (exit {code}) "
            f"| {metric_cell(metrics.get('challenger'))} | {metric_cell(metrics.get('champion'))} | {share} "
            f"| {accuracy} | {summary.get('reason', '')} | {seconds:.0f} |"
        )
    last = nights[-1][3]
    refused = last["status"] == "held" and any(f["kind"] == "champion" for f in last["gate"]["failures"])
    print(f"\nthe gate refused the challenger trained on bad labels: {'yes' if refused else 'NO'}")


if __name__ == "__main__":
    main()
