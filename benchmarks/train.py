"""Quality and speed of a training recipe, on data it did not write.

    python benchmarks/train.py --recipe baseline [--data ../shared/data/public] [--root DIR] [key=value ...]

1. The standard SNIPS split (`snips-goo`, Goo et al. 2018): built as a snapshot (its own train/dev/test
   kept, exact dedup only), trained with `--labels source`, and scored on the official test file read
   as is (700 sentences; the snapshot holds 699 unique ones): intent accuracy, slot F1 and sentence
   accuracy, beside the published figures.
2. The music taxonomy (`--music`): Snips 2017 (all files) + SLURP devel, resplit 80/10/10 by the build;
   trained with `--labels taxonomy`, scored per intent on the held-out test split. SLURP's test split
   is never read.
Then training examples/s and tokens/s (from the model card) and prediction queries/s on one core.
Overrides (`epochs=3`, `data.max_examples=2000`, `data.max_eval_examples=300`) go to the recipe
config, as on `honkdata train`; `--test-limit N` scores the first N official test sentences only.
"""

import argparse
import os
import time
from pathlib import Path

from honkdata.build import build
from honkdata.config import load_config
from honkdata.evaluate.run import evaluate
from honkdata.recipes import get_recipe
from honkdata.resources import shipped_config
from honkdata.train.config import load_recipe_config
from honkdata.train.model import load_model
from honkdata.train.run import train

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = {  # intent accuracy / slot F1 / sentence accuracy on snips-goo test (% ; JointBERT README)
    "BERT joint": (99.14, 96.90, 93.00),
    "DistilBERT": (98.00, 96.10, 91.00),
    "TinyBERT-4L (intent only)": (97.29, None, None),
}


def _snapshot(name: str, root: Path, sources: list[dict], **settings: object) -> str:
    config = load_config(None, name=name, root=str(root), sources=sources, **settings)
    return str(build(config).ref)


def _train(recipe: str, ref: str, root: Path, labels: str, out: Path, overrides: list[str]) -> dict:
    config = load_recipe_config(
        get_recipe(recipe).Config,
        shipped_config(f"train/{recipe}.yaml"),
        overrides,
        {"recipe": recipe, "data.snapshot": ref, "data.root": str(root), "data.labels": labels},
    )
    return train(config, out, on_epoch=lambda e: print(f"  epoch {e.epoch}: {e.metrics}", flush=True))


def _one_core_speed(model: Path, queries: list[str], seconds: float = 10.0) -> float:
    """Queries/s predicting in batches of 64 on one core, over at least `seconds`."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    predictor = load_model(model)
    predictor.predict(queries[:64])  # warm-up
    queries = queries[:256]  # passes short enough for a generating model to end near `seconds`
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for i in range(0, len(queries), 64):
            predictor.predict(queries[i : i + 64])
        done += len(queries)
    return done / (time.perf_counter() - started)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}" if x <= 1 else f"{x:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="baseline")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "public")
    parser.add_argument("--root", type=Path, default=Path("/tmp/honkdata-bench/snapshots"))
    parser.add_argument("--models", type=Path, default=Path("/tmp/honkdata-bench/models"))
    parser.add_argument("--music", action="store_true", help="also the music-taxonomy benchmark")
    parser.add_argument("--no-snips", action="store_true", help="skip the snips-goo benchmark")
    parser.add_argument("--test-limit", type=int, help="score only the first N official test sentences")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    os.environ.setdefault("HONKDATA_PSEUDONYM_KEY", os.urandom(16).hex())  # public sets only: unused

    speed_model, speed_queries = None, []
    if not args.no_snips:
        goo = args.data / "snips-goo"
        ref = _snapshot(
            "snips-goo", args.root, [{"path": str(goo), "format": "bio"}], dedup={"near": {"enabled": False}}
        )
        out = args.models / f"snips-goo-{args.recipe}"
        result = _train(args.recipe, ref, args.root, "source", out, args.overrides)
        test = evaluate(out, data=goo / "test", fmt="bio", limit=args.test_limit)
        lineage = result["lineage"]
        print(f"\n== {args.recipe} on snips-goo ({ref}), official test file, n={test['n']} ==")
        print("| model | intent acc. | slot F1 | sentence acc. |")
        print("|---|---|---|---|")
        print(
            f"| honkdata {args.recipe} | {_pct(test['intent_accuracy'])} | {_pct(test['entity_f1'])} "
            f"| {_pct(test['frame_accuracy'])} |"
        )
        for name, figures in PUBLISHED.items():
            print(f"| {name} (published) | " + " | ".join(_pct(f) for f in figures) + " |")
        print(
            f"training: {lineage['train_seconds']:.1f} s, {lineage['examples_per_second']:,.1f} examples/s, "
            f"{lineage['tokens_per_second']:,.1f} tokens/s on {lineage['hardware']}; invalid outputs "
            f"{test['invalid']}"
        )
        speed_model = out
        speed_queries = (goo / "test" / "seq.in").read_text().splitlines()

    if args.music:
        sources = [
            {"path": str(args.data / "snips-2017"), "format": "snips", "kind": "curated", "split": "resplit"},
            {"path": str(args.data / "slurp" / "devel.jsonl"), "format": "slurp", "kind": "curated",
             "split": "resplit"},
        ]  # fmt: skip
        ref = _snapshot("music-public", args.root, sources)
        out = args.models / f"music-public-{args.recipe}"
        _train(args.recipe, ref, args.root, "taxonomy", out, args.overrides)
        test = evaluate(out, snapshot=ref, root=args.root, split="test")
        print(f"\n== {args.recipe} in the music taxonomy ({ref}, held-out test split, n={test['n']}) ==")
        print(
            f"intent accuracy {_pct(test['intent_accuracy'])}, macro-F1 {_pct(test['intent_macro_f1'])}, "
            f"entity F1 {_pct(test['entity_f1'])}, frame accuracy {_pct(test['frame_accuracy'])}"
        )
        print("| intent | precision | recall | F1 | support |\n|---|---|---|---|---|")
        for name, m in test["per_intent"].items():
            figures = " | ".join(_pct(m[k]) for k in ("precision", "recall", "f1"))
            print(f"| {name} | {figures} | {m['support']} |")
        speed_model = speed_model or out

    if speed_model is not None and speed_queries:
        qps = _one_core_speed(speed_model, speed_queries)
        print(f"\nprediction: {qps:,.0f} queries/s on one core (batches of 64)")


if __name__ == "__main__":
    main()
