"""The dataset card: README.md with the Hugging Face YAML header, so `load_dataset(path)` works.

Everything in it is derived from the manifest: the features (with `intent` as a ClassLabel over the
taxonomy, so every split and version shares its ids), the split sizes, the license of each input,
and how the rows were anonymized and labeled.
"""

from dataclasses import dataclass

import pyarrow as pa
import yaml

from honkdata.anonymize.pseudonym import SHIPPED_SAMPLE
from honkdata.anonymize.release import BELOW_K_USERS, EVENTS_IN_REMOVED, NOT_SELECTED_BY_DP
from honkdata.anonymize.stage import PII_DROPPED, PII_FOUND
from honkdata.ingest.formats import CURATED_LICENSES
from honkdata.label.stage import WEAK_AGREED, WEAK_CHECKED
from honkdata.schema import SPLITS
from honkdata.tokens import (
    SPANS_OFF_BOUNDARIES,
    SPANS_ON_NO_TOKEN,
    SPANS_OUTSIDE,
    SPANS_OVERLAPPING,
    TOKENS_COUNTED,
)

_SNIPS = (
    'Snips 2017 NLU benchmark: Coucke A. et al., "Snips Voice Platform: an embedded Spoken Language '
    'Understanding system for private-by-design voice interfaces", 2018 (CC0 1.0, cited as a courtesy)'
)
_SLURP = (
    'SLURP: Bastianelli E., Vanzo A., Swietojanski P., Rieser V., "SLURP: A Spoken Language '
    'Understanding Resource Package", EMNLP 2020 (CC BY 4.0)'
)
# Attribution and upstream dataset of each curated format (the licenses are CURATED_LICENSES').
_UPSTREAM: dict[str, tuple[str, tuple[str, ...]]] = {
    "snips": (_SNIPS, ("sonos/nlu-benchmark",)),
    "bio": (_SNIPS + "; split of Goo et al., 2018, as distributed by JointBERT", ("sonos/nlu-benchmark",)),
    "slurp": (_SLURP, ("pswietojanski/slurp",)),
    "massive": (
        'MASSIVE: FitzGerald J. et al., "MASSIVE: A 1M-Example Multilingual Natural Language '
        'Understanding Dataset with 51 Typologically-Diverse Languages", 2022 (CC BY 4.0)',
        ("AmazonScience/massive",),
    ),
    "cpcd": (
        'CPCD: Chaganty A. T. et al., "Beyond Single Items: Exploring User Preferences in Item Sets '
        'with the Conversational Playlist Curation Dataset", SIGIR 2023 (CC BY 4.0)',
        ("google-research-datasets/cpcd",),
    ),
}
# honkdata's synthetic sample (recognized by size and sha256) is derived from Snips and SLURP.
_SAMPLE = (
    "CC-BY-4.0",
    f"honkdata's synthetic sample, derived from the {_SNIPS} and {_SLURP}",
    ("sonos/nlu-benchmark", "pswietojanski/slurp"),
)

# The stages' counters in the card's words: the tokens stage's misplaced spans (by the column they
# are in), and the release threshold's rules, with the configured k and ε (`config.anonymize`).
_SPANS = {
    SPANS_OUTSIDE: "spans outside their text or untyped",
    SPANS_ON_NO_TOKEN: "spans on no token",
    SPANS_OFF_BOUNDARIES: "spans off token boundaries",
    SPANS_OVERLAPPING: "spans overlapping another",
}
_SPAN_COLUMNS = {"entities": "entity", "source_entities": "source entity"}
_RELEASE_RULES = {
    BELOW_K_USERS: "fewer than {k_anonymity} users",
    NOT_SELECTED_BY_DP: "not selected by DP (ε={dp[epsilon]})",
}

# The Hub's size categories, by the upper bound of their number of rows.
_SIZES = (
    (10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"), (10**6, "100K<n<1M"),
    (10**7, "1M<n<10M"), (10**8, "10M<n<100M"), (10**9, "100M<n<1B"),
)  # fmt: skip
# `annotations_creators` of each label source.
_CREATORS = {
    "gold": "found",
    "human": "expert-generated",
    "weak": "machine-generated",
    "model": "machine-generated",
}


def data_file(split: str) -> str:
    return f"data/{split}-00000-of-00001.parquet"


def card_features(schema: pa.Schema, intents: list[str]) -> list[dict]:
    """The columns as the card's YAML lists them for `datasets` (its `Features._from_yaml_list`):
    Parquet's types, but `intent` a ClassLabel in taxonomy order. Written here rather than by
    `datasets` itself, whose import took 0.6 s of every build."""
    return [
        {"name": f.name, "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(intents)}}}}
        if f.name == "intent"
        else {"name": f.name, **_feature(f.type)}
        for f in schema
    ]


# Arrow's names of the types whose name in `datasets` differs.
_DTYPES = {"halffloat": "float16", "float": "float32", "double": "float64", "date32[day]": "date32"}


def _feature(kind: pa.DataType) -> dict:
    """One type in the card's YAML: a value's dtype, a struct's fields, or a list of either (of a
    list: the inner list as it is)."""
    if pa.types.is_list(kind):
        inner = _feature(kind.value_type)
        return {"list": inner.get("dtype") or inner.get("struct") or inner}
    if pa.types.is_struct(kind):
        return {"struct": [{"name": f.name, **_feature(f.type)} for f in kind]}
    if not (pa.types.is_primitive(kind) or pa.types.is_string(kind)):
        raise ValueError(f"no card feature for the Arrow type {kind}")
    return {"dtype": _DTYPES.get(str(kind), str(kind))}


@dataclass(frozen=True)
class InputLicense:
    input: str  # the input's name, format and kind
    license: str  # an SPDX id, or the config's `license` value
    attribution: str
    upstream: tuple[str, ...] = ()  # the public datasets it derives from; none: original data


def input_licenses(manifest: dict) -> list[InputLicense]:
    """Each input's license: the published corpus's, the sample's, else the build config's `license`."""
    found = []
    for i in manifest["inputs"]:
        label = f"{i['name']} ({i['format']}, {i['kind'].replace('_', ' ')})"
        if CURATED_LICENSES.get(i["format"]):
            attribution, upstream = _UPSTREAM[i["format"]]
            found.append(InputLicense(label, CURATED_LICENSES[i["format"]], attribution, upstream))
        elif (i["size"], i["sha256"]) == SHIPPED_SAMPLE:
            found.append(InputLicense(label, *_SAMPLE))
        else:
            configured = manifest["config"]["license"]
            found.append(InputLicense(label, configured, "as declared by the build config's `license`"))
    return found


def _license_header(name: str, licenses: list[InputLicense]) -> dict:
    ids = list(dict.fromkeys(lic.license.lower() for lic in licenses))
    header: dict = {"license": ids[0] if len(ids) == 1 else ids}
    if "other" in ids:  # the Hub wants a name and a link for "other"; the link is this card's section
        header |= {"license_name": f"{name}-owner-terms", "license_link": "README.md#license"}
    return header


def _source_datasets(licenses: list[InputLicense]) -> list[str]:
    original = ["original"] if any(not lic.upstream for lic in licenses) else []
    upstream = dict.fromkeys(u for lic in licenses for u in lic.upstream)
    return original + [f"extended|{u}" for u in upstream]


def _size_category(rows: int) -> str:
    return next((label for bound, label in _SIZES if rows < bound), "other")


def _header(manifest: dict, features: list[dict]) -> dict:
    splits = manifest["splits"]
    present = [split for split in SPLITS if splits[split]["rows"]]
    sources = manifest["label_source_distribution"]
    licenses = input_licenses(manifest)
    return {
        **_license_header(manifest["name"], licenses),
        "pretty_name": manifest["name"],
        "language": ["en"],
        "size_categories": [_size_category(manifest["rows"])],
        "source_datasets": _source_datasets(licenses),
        "annotations_creators": sorted({_CREATORS[s] for s in sources if s in _CREATORS})
        or ["no-annotation"],
        "task_categories": ["text-classification", "token-classification"],
        "task_ids": ["intent-classification", "named-entity-recognition"],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": split, "path": data_file(split)} for split in present],
            }
        ],
        "dataset_info": {
            "features": features,
            "splits": [
                {"name": s, "num_bytes": splits[s]["arrow_bytes"], "num_examples": splits[s]["rows"]}
                for s in present
            ],
            "download_size": sum(splits[s]["bytes"] for s in present),
            "dataset_size": sum(splits[s]["arrow_bytes"] for s in present),
        },
    }


def _table(head: list[str], rows: list[list[object]]) -> str:
    cells = [
        head,
        ["---"] * len(head),
        # A `|` in a cell (a file name may hold one) would end the cell.
        *([f"{c:,}" if isinstance(c, int) else str(c).replace("|", "\\|") for c in r] for r in rows),
    ]
    return "\n".join(f"| {' | '.join(line)} |" for line in cells)


def _share(n: int, total: int) -> str:
    return f"{n / total:.1%}" if total else "-"


def _intro(m: dict) -> str:
    inputs = f"{len(m['inputs'])} input{'s' if len(m['inputs']) != 1 else ''}"
    return f"""# {m["name"]} v{m["version"]}

Music-query dataset built by honkdata {m["honkdata_version"]} on {m["created_at"]} from {inputs}.
One row per unique normalized query; `count` is how many raw events were merged into it and
`n_users` how many distinct users issued it. Content hash: `{m["content_hash"]}`; `manifest.json`
holds the config, the inputs' checksums and every stage's counters."""


def _load(m: dict) -> str:
    ref = f"{m['name']}@v{m['version']}"
    return f"""## Load it

```python
import honkdata
ds = honkdata.load_snapshot("{ref}")  # a datasets.DatasetDict (root: $HONKDATA_ROOT or data/snapshots)
labeled = ds.filter(lambda row: row["intent"] is not None)  # without the unlabeled rows
df = honkdata.load_snapshot_pandas("{ref}")  # one pandas DataFrame, with a `split` column
```

`datasets.load_dataset` on this folder reads the same splits and features from this card, and
pandas, DuckDB or any Parquet reader read `data/*.parquet` directly."""


def _intents(m: dict) -> str:
    counts = m["label_distribution"]["all"]
    intents = m["taxonomy"]["intents"]
    rows = [[i, name, counts.get(name, 0)] for i, name in enumerate(intents)]
    return f"""## Intents

`intent` is a `ClassLabel` over the taxonomy's intents in this order, so its ids are the same in
every split, and in every version built with this taxonomy; the Parquet files store the names, which
is what pandas and DuckDB show. A row without a label has a null `intent` (None in `datasets`) and a
null `label_source`: {counts.get("(none)", 0):,} rows here.

{_table(["id", "intent", "rows"], rows)}"""


def _labeling(m: dict) -> str:
    sources = m["label_source_distribution"]
    total = sum(sources.values())
    rows = [[s if s != "(none)" else "unlabeled", n, _share(n, total)] for s, n in sources.items()]
    notes = m["stages"].get("label", {}).get("notes", {})
    checked, agreed = notes.get(WEAK_CHECKED, 0), notes.get(WEAK_AGREED, 0)
    accuracy = (
        f"Measured accuracy of the weak labels: {_share(agreed, checked)}, the share of the {checked:,} "
        "rows with a gold or human label where the label model gave the same intent."
        if checked
        else "The weak labels' accuracy is not measured for this build: the label stage compared them "
        "with no gold or human label."
    )
    return f"""## How it was labeled

One label per row, by precedence human > gold > model > weak: `gold` labels come with the curated
public sets, mapped onto the taxonomy (`label_confidence`: the share of their occurrences that
agree); `weak` ones from labeling functions weighed by a label model (`label_confidence`: its
posterior), with entities from a gazetteer tagger; `human` ones from annotation (`label_confidence`:
the annotators' agreement).

{_table(["label source", "rows", "share"], rows)}

{accuracy}"""


def _tokens(m: dict) -> str:
    stage = m["stages"].get("tokens", {})
    n_tokens, breakdowns = stage.get("notes", {}).get(TOKENS_COUNTED, 0), stage.get("breakdowns", {})
    counts = sorted(
        [f"{_SPAN_COLUMNS.get(column, column)} {words}", n]
        for key, words in _SPANS.items()
        for column, n in breakdowns.get(key, {}).items()
    )
    misplaced = (
        f"Spans not on token boundaries, or that tag nothing:\n\n{_table(['spans', 'count'], counts)}"
        if counts
        else "Every span starts and ends on token boundaries."
    )
    return f"""## Tokens and tags

`tokens` holds each token's `text`, `start` and `end` (character offsets into `text`) from one
tokenizer (`honkdata.tokens`: placeholders such as `<PERSON>` whole, numbers with inner separators,
words with inner apostrophes, any other character alone, emoji sequences whole); {n_tokens:,}
tokens in all. `tags` is one BIO tag per token over the taxonomy's entity types (from `entities`),
`source_tags` the same over the source's own slot names (from `source_entities`; null for rows without
them), both ready for seqeval. A span that does not fall on token boundaries tags every token it
touches; a span that overlaps another on some token is left out. {misplaced}"""


def _sources(m: dict) -> str:
    rows = [
        [i["name"], i["format"], i["kind"].replace("_", " "), i["rows_read"], i["rows_rejected"]]
        for i in m["inputs"]
    ]
    return f"""## Sources

{_table(["input", "format", "kind", "rows read", "rows rejected"], rows)}

`sources` names, for each row, the inputs it came from and each one's own split (null for inputs
without one)."""


def _license(m: dict) -> str:
    licenses = input_licenses(m)
    rows = [[lic.input, lic.license, lic.attribution] for lic in licenses]
    other = (
        "\n\nFor inputs marked `other` no license was declared: they are the data owner's, under the "
        "owner's terms; set `license:` in the build config to their SPDX identifier."
        if any(lic.license.lower() == "other" for lic in licenses)
        else ""
    )
    return f"""## License

Each row is under the license of the inputs it came from (see `sources`):

{_table(["input", "license", "attribution"], rows)}{other}"""


def _anonymization(m: dict) -> str:
    a = m["anonymize"]
    if a["pseudonym_key_fingerprint"] is None:
        return (
            "## Anonymization\n\nNo user logs among the inputs: nothing was pseudonymized, and no "
            "release threshold applied."
        )
    source = a["pseudonym_key_source"]
    key = (
        "the public demo key (the shipped synthetic sample: these pseudonyms protect nothing)"
        if source == "demo"
        else f"a secret key from {source.split(':', 1)[0]}"
    )
    stages = m["stages"]
    found = stages["anonymize"].get("breakdowns", {}).get(PII_FOUND, {})
    pii = [[pii_type, n] for pii_type, n in found.items()]
    dropped = stages["anonymize"]["dropped"].get(PII_DROPPED, 0)
    removed, rules = stages["release"], m["config"]["anonymize"]
    release = [[_RELEASE_RULES.get(why, why).format(**rules), n] for why, n in removed["dropped"].items()]
    events = removed.get("notes", {}).get(EVENTS_IN_REMOVED, 0)
    return f"""## Anonymization

User ids were replaced by keyed HMAC-SHA256 pseudonyms with {key}, key fingerprint
`{a["pseudonym_key_fingerprint"]}`; only the number of distinct users (`n_users`) is published, never an
id or a pseudonym. Session ids were dropped and times coarsened to the day. PII in the text was
replaced by typed placeholders (`<EMAIL>`, `<PHONE>`, `<PERSON>`, ...), masked, or its event dropped,
per type as configured ({dropped:,} events dropped). Found in the user-log events:

{_table(["PII type", "events"], pii or [["none", 0]])}

Release threshold: {a["release"]}; queries removed ({events:,} events in them):

{_table(["rule", "queries"], release or [["none", 0]])}"""


def dataset_card(manifest: dict, features: list[dict]) -> str:
    """README.md of a snapshot: the YAML header `datasets` reads, then what a reader needs to know."""
    header = yaml.safe_dump(_header(manifest, features), sort_keys=False, allow_unicode=True)
    sections = (_intro, _load, _intents, _labeling, _tokens, _sources, _license, _anonymization)
    return f"---\n{header}---\n\n" + "\n\n".join(section(manifest) for section in sections) + "\n"
