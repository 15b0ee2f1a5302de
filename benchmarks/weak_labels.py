"""Weak labeling quality and speed: the labeled public sets with their gold hidden, and 1M synthetic queries.

    python benchmarks/weak_labels.py [DATA_DIR] [--n 1000000] [--errors 0]

DATA_DIR (default ../shared/data/public, from the repo root) holds snips-2017/ and slurp/devel.jsonl.
Each set is read with honkdata's own readers and normalized as a build does; the weak stage alone
(labeling functions + label model fitted on that set's votes, no gold) labels it. The gazetteer holds
the shipped lists plus the gold entity values of the OTHER set, never the scored set's own names.
The functions were tuned on Snips' train files; Snips' validate files are reported on their own.

Per set: intent accuracy (over the rows given an intent) and coverage (share given one) on the
music rows (gold intent not out_of_domain) and on all rows; entity span F1 (exact type and span) on
the music rows. Then queries/s labeling `honkdata.synth` queries on one core (normalized, untimed).
"""

import argparse
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from honkdata.config import NormalizeConfig
from honkdata.ingest.formats import PUBLIC_READERS
from honkdata.ingest.source import SourceContext
from honkdata.label.gazetteer import Gazetteer
from honkdata.label.weak import WeakLabeler
from honkdata.normalize import Normalize, normalize_text
from honkdata.resources import shipped_config
from honkdata.stage import StageStats
from honkdata.synth import generate
from honkdata.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parent.parent
OOD = load_taxonomy().default_intent


def read(fmt: str, paths: list[Path]) -> pa.Table:
    """Gold rows of the files, normalized (entities realigned) as the build's normalize stage does."""
    ctx = SourceContext(name=fmt, taxonomy=load_taxonomy(), on_reject=lambda *_: None)
    normalize = Normalize(NormalizeConfig())
    batches = [
        normalize(batch, StageStats("normalize")) for p in paths for batch in PUBLIC_READERS[fmt](p, ctx)
    ]
    return pa.Table.from_batches(batches).select(["text", "intent", "entities"])


def gold_entries(table: pa.Table) -> list[tuple[str, str]]:
    flat = pc.list_flatten(table.column("entities")).to_pylist()
    return [(e["type"], e["text"]) for e in flat]


def intent_scores(pred: list[str | None], gold: list[str], rows: np.ndarray) -> tuple[float, float]:
    """(accuracy over the covered rows, coverage) on the rows selected by the boolean mask `rows`."""
    covered = [i for i in np.flatnonzero(rows) if pred[i] is not None]
    correct = sum(pred[i] == gold[i] for i in covered)
    return correct / max(len(covered), 1), len(covered) / max(int(rows.sum()), 1)


def span_f1(pred: list[list[dict]], gold: list[list[dict]], rows: np.ndarray) -> tuple[float, float, float]:
    tp = n_pred = n_gold = 0
    for i in np.flatnonzero(rows):
        p = {(e["type"], e["start"], e["end"]) for e in pred[i]}
        g = {(e["type"], e["start"], e["end"]) for e in gold[i]}
        tp, n_pred, n_gold = tp + len(p & g), n_pred + len(p), n_gold + len(g)
    precision, recall = tp / max(n_pred, 1), tp / max(n_gold, 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def score(name: str, table: pa.Table, other_names: list[tuple[str, str]], errors: int) -> None:
    gazetteer = Gazetteer.from_folder(shipped_config("gazetteers"))
    gazetteer.add(other_names)
    labels = WeakLabeler(gazetteer=gazetteer).label(table.column("text").combine_chunks())
    pred, gold = labels.intent.to_pylist(), table.column("intent").to_pylist()
    music = np.array([g != OOD for g in gold])
    every = np.ones(len(gold), bool)
    print(f"\n{name}: {len(gold):,} rows, {int(music.sum()):,} with a music intent")
    for label, rows in (("music intents", music), ("all rows", every)):
        accuracy, coverage = intent_scores(pred, gold, rows)
        print(f"  intent {label:<13}  accuracy {accuracy:6.1%}  coverage {coverage:6.1%}")
    p, r, f = span_f1(labels.entities.to_pylist(), table.column("entities").to_pylist(), music)
    print(f"  entity spans (music rows)  P {p:6.1%}  R {r:6.1%}  F1 {f:6.1%}")
    if errors:
        texts = table.column("text").to_pylist()
        confusions = Counter((gold[i], pred[i]) for i in range(len(gold)) if pred[i] != gold[i])
        print("  top confusions (gold -> predicted):", confusions.most_common(12))
        wrong = [i for i in range(len(gold)) if pred[i] != gold[i] and (gold[i] != OOD or pred[i])]
        for i in wrong[:: max(1, len(wrong) // errors)][:errors]:
            print(f"    {gold[i]:>16} -> {pred[i]!s:<16} {texts[i]}")


def throughput(n: int, names: list[tuple[str, str]]) -> None:
    path = ROOT / ".bench" / f"synth-{n}.jsonl"
    if not path.exists():
        generate(n, path, seed=1)
    texts = normalize_text(pj.read_json(path).column("query").combine_chunks())
    pa.set_cpu_count(1)  # one core, as the target says
    pa.set_io_thread_count(1)
    gazetteer = Gazetteer.from_folder(shipped_config("gazetteers"))
    gazetteer.add(names)
    labeler = WeakLabeler(gazetteer=gazetteer)
    began = time.perf_counter()
    votes = labeler.votes(texts)
    t_votes = time.perf_counter()
    labeler.fit(votes).predict(votes)
    t_model = time.perf_counter()
    labeler.gazetteer.tag(texts)
    t_tag = time.perf_counter()
    total = t_tag - began
    print(
        f"\nthroughput, {len(texts):,} synthetic queries on one core: {len(texts) / total:,.0f} queries/s "
        f"({total:.1f} s: functions {t_votes - began:.1f} s, label model {t_model - t_votes:.1f} s, "
        f"entity tagger {t_tag - t_model:.1f} s; {len(labeler.lf_names)} functions, "
        f"{len(labeler.gazetteer):,} gazetteer names)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default="../shared/data/public", type=Path)
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic queries for the speed figure")
    parser.add_argument("--errors", type=int, default=0, help="print this many misclassified rows per set")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    data = args.data if args.data.is_absolute() else ROOT / args.data
    snips = sorted((data / "snips-2017").glob("*.json"))
    sets = {
        "snips train (tuned on)": read("snips", [p for p in snips if p.name.startswith("train_")]),
        "snips validate": read("snips", [p for p in snips if p.name.startswith("validate_")]),
        "slurp devel": read("slurp", [data / "slurp" / "devel.jsonl"]),
    }
    snips_names = gold_entries(sets["snips train (tuned on)"]) + gold_entries(sets["snips validate"])
    slurp_names = gold_entries(sets["slurp devel"])
    for name, table in sets.items():
        score(name, table, slurp_names if name.startswith("snips") else snips_names, args.errors)
    if args.n:
        throughput(args.n, snips_names + slurp_names)


if __name__ == "__main__":
    main()
