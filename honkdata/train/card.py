"""The model card (README.md of a model folder): what made the model and how good it is."""

from pydantic import BaseModel

from honkdata.evaluate.metrics import HEADLINE
from honkdata.train.examples import TrainingData


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def model_card(config: BaseModel, data: TrainingData, metrics: dict, lineage: dict) -> str:
    rows = "\n".join(
        f"| {split} | {m['n']:,} | " + " | ".join(_pct(m[k]) for k in HEADLINE) + f" | {m['invalid']} |"
        for split, m in metrics.items()
    )
    speed = ", ".join(
        f"{lineage[k]:,.0f} {label}/s"
        for k, label in (("examples_per_second", "examples"), ("tokens_per_second", "tokens"))
        if lineage.get(k)
    )
    return f"""# honkdata model: {config.recipe}

Query understanding (intent + entities) in the **{data.labels.kind}** label space:
{len(data.labels.intents)} intents, {len(data.labels.entity_types)} entity types.

## Lineage

| | |
|---|---|
| snapshot | `{lineage["snapshot"]}` |
| content hash | `{lineage["content_hash"]}` |
| manifest sha256 | `{lineage["manifest_sha256"]}` |
| training rows | {", ".join(f"{k} {v:,}" for k, v in lineage["rows"].items())} |
| code version | `{lineage["code_version"]}` |
| seed | {lineage["seed"]} |
| hardware | {lineage["hardware"]} |
| started | {lineage["started_at"]} |
| training time | {lineage["train_seconds"]:.1f} s |
| throughput | {speed or "n/a"} |

The resolved config is `config.yaml`; the label ids are `labels.json`.

## Task metrics (%)

| split | n | intent accuracy | intent macro-F1 | entity F1 | frame accuracy | invalid outputs |
|---|---|---|---|---|---|---|
{rows}

Entity F1 counts exact (type, start, end) spans; frame accuracy needs the intent and every entity
right. Per-intent and per-type figures are in `metrics.json`.

## Use

    honkdata predict --model <this folder> "play some jazz"
    honkdata eval --model <this folder> --snapshot {lineage["snapshot"]}
"""
