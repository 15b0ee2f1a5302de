"""The dataset card: README.md with the Hugging Face YAML header, so `load_dataset(path)` works."""

import datasets
import pyarrow as pa
import yaml

from honkdata.schema import SPLITS


def data_file(split: str) -> str:
    return f"data/{split}-00000-of-00001.parquet"


def _anonymization(anonymize: dict) -> str:
    source = anonymize["pseudonym_key_source"]
    if anonymize["pseudonym_key_fingerprint"] is None:
        return "No user logs among the inputs: nothing was pseudonymized, and no release threshold applied."
    key = (
        "the public demo key (the shipped synthetic sample: these pseudonyms protect nothing)"
        if source == "demo"
        else f"a secret key from {source.split(':', 1)[0]}"
    )
    return (
        f"User ids were replaced by keyed HMAC-SHA256 pseudonyms with {key}, fingerprint "
        f"`{anonymize['pseudonym_key_fingerprint']}`; PII in the text was scrubbed; release: "
        f"{anonymize['release']}."
    )


def dataset_card(name: str, version: int, schema: pa.Schema, manifest: dict) -> str:
    present = [split for split in SPLITS if manifest["splits"][split]["rows"]]
    header = {
        "license": manifest["config"]["license"],
        "pretty_name": name,
        "task_categories": ["text-classification", "token-classification"],
        "language": ["en"],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": split, "path": data_file(split)} for split in present],
            }
        ],
        "dataset_info": {
            "features": datasets.Features.from_arrow_schema(schema)._to_yaml_list(),
            "splits": [
                {"name": split, "num_examples": manifest["splits"][split]["rows"]} for split in present
            ],
        },
    }
    rows = "\n".join(f"| {split} | {manifest['splits'][split]['rows']:,} |" for split in SPLITS)
    labels = "\n".join(f"| {intent} | {n:,} |" for intent, n in manifest["label_distribution"]["all"].items())
    sources = "\n".join(
        f"| {i['name']} | {i['format']} | {i['kind']} | {i['rows_read']:,} | {i['rows_rejected']:,} |"
        for i in manifest["inputs"]
    )
    return f"""---
{yaml.safe_dump(header, sort_keys=False)}---

# {name} v{version}

Music-query dataset built by honkdata {manifest["honkdata_version"]} on {manifest["created_at"]}.
One row per unique normalized query; `count` is how many raw events were merged into it and
`n_users` how many distinct users issued it. Content hash: `{manifest["content_hash"]}`.

## Splits

| split | rows |
|---|---|
{rows}

## Labels

| intent | rows |
|---|---|
{labels}

## Sources

| source | format | kind | rows read | rows rejected |
|---|---|---|---|---|
{sources}

## Anonymization

{_anonymization(manifest["anonymize"])}

## Load it

```python
from datasets import load_dataset
ds = load_dataset("{{path to this folder}}")
```

See `manifest.json` for the config, the inputs' checksums and every stage's counters.
"""
