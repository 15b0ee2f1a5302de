"""Model-assisted labels against weak labels alone, on labeled public queries hidden from the model.

    python benchmarks/model_labels.py --recipe baseline [--data ../shared/data/public] [--min-confidence 0.9]

A snapshot of Snips 2017 (all files) + SLURP devel is built (gold labels, resplit 80/10/10) and the
recipe trained on its train split in the music taxonomy. The gold-labeled queries of its TEST split
are then given to a new build as a raw user log, without their labels: once with weak labels only,
once with `--label-model`. Over the music rows (gold intent not out_of_domain): coverage (the share
given a label) and accuracy (of those labels), for the model's labels alone and with weak labels as
the fallback. SLURP's test split is never read.
"""

import argparse
import os
from pathlib import Path

import orjson
import pyarrow.compute as pc

from honkdata.build import build
from honkdata.config import load_config
from honkdata.recipes import get_recipe
from honkdata.resources import shipped_config
from honkdata.snapshot.store import SnapshotStore
from honkdata.train.config import load_recipe_config
from honkdata.train.run import train

ROOT = Path(__file__).resolve().parent.parent


def _labels(root: Path, name: str, log: Path, model: Path | None, min_confidence: float) -> dict[str, tuple]:
    labels = {"weak": True, "model": str(model) if model else None, "model_min_confidence": min_confidence}
    config = load_config(
        None,
        name=name,
        root=str(root),
        sources=[{"path": str(log)}],
        anonymize={"k_anonymity": 1},
        labels=labels,
    )
    result = build(config, force=True)
    table = SnapshotStore(root).read(result.ref, columns=["text", "intent", "label_source"])
    return {r["text"].lower(): (r["intent"], r["label_source"]) for r in table.to_pylist()}


def _report(name: str, gold: dict[str, str], labeled: dict[str, tuple], sources: set[str]) -> None:
    music = [t for t, intent in gold.items() if intent != "out_of_domain" and t in labeled]
    given = [t for t in music if labeled[t][1] in sources]
    right = sum(labeled[t][0] == gold[t] for t in given)
    coverage = len(given) / len(music) if music else 0.0
    accuracy = right / len(given) if given else 0.0
    print(f"| {name} | {len(music):,} | {coverage:.3f} | {accuracy:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="baseline")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "public")
    parser.add_argument("--work", type=Path, default=Path("/tmp/honkdata-bench/model-labels"))
    parser.add_argument("--min-confidence", type=float, default=0.9)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    os.environ.setdefault("HONKDATA_PSEUDONYM_KEY", os.urandom(16).hex())
    root = args.work / "snapshots"
    sources = [
        {"path": str(args.data / "snips-2017"), "format": "snips", "kind": "curated", "split": "resplit"},
        {
            "path": str(args.data / "slurp" / "devel.jsonl"),
            "format": "slurp",
            "kind": "curated",
            "split": "resplit",
        },
    ]
    ref = build(load_config(None, name="public", root=str(root), sources=sources)).ref
    model = args.work / f"model-{args.recipe}"
    config = load_recipe_config(
        get_recipe(args.recipe).Config,
        shipped_config(f"train/{args.recipe}.yaml"),
        args.overrides,
        {"recipe": args.recipe, "data.snapshot": str(ref), "data.root": str(root)},
    )
    train(config, model)

    store = SnapshotStore(root)
    test = store.read(ref, columns=["text", "intent", "label_source"], splits=("test",))
    test = test.filter(pc.equal(test.column("label_source"), "gold"))
    gold = {r["text"].lower(): r["intent"] for r in test.to_pylist()}
    log = args.work / "hidden.jsonl"
    log.write_bytes(
        b"".join(orjson.dumps({"query": t, "user_id": f"u{i}"}) + b"\n" for i, t in enumerate(gold))
    )

    weak = _labels(root, "hidden-weak", log, None, args.min_confidence)
    assisted = _labels(root, "hidden-model", log, model, args.min_confidence)
    print(f"\n== model-assisted labels: {args.recipe} trained on {ref}, {len(gold):,} hidden test queries ==")
    print(f"(model labels at confidence >= {args.min_confidence})")
    print("| labels | music rows | coverage | accuracy |\n|---|---|---|---|")
    _report("weak alone", gold, weak, {"weak"})
    _report("model alone", gold, assisted, {"model"})
    _report("model, weak where the model is unsure", gold, assisted, {"model", "weak"})


if __name__ == "__main__":
    main()
