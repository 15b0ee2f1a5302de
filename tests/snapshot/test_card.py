import copy
from pathlib import Path

import datasets
import pyarrow as pa
import pytest
import yaml

from honkdata.anonymize.pseudonym import SHIPPED_SAMPLE
from honkdata.build import build
from honkdata.label.stage import WEAK_AGREED, WEAK_CHECKED
from honkdata.schema import SNAPSHOT, SPLITS
from honkdata.snapshot.card import card_features, dataset_card, input_licenses
from honkdata.tokens import SPANS_OFF_BOUNDARIES, TOKENS_COUNTED
from tests.conftest import FIXTURES, write_jsonl

SNIPS, SLURP = FIXTURES / "public" / "snips", FIXTURES / "public" / "slurp" / "devel.jsonl"


def _card(text: str) -> tuple[dict, str]:
    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


def _features(schema: pa.Schema, intents: list[str]) -> datasets.Features:
    """What `datasets` makes of `schema`, with `intent` a ClassLabel: what the card must say."""
    features = datasets.Features.from_arrow_schema(schema)
    features["intent"] = datasets.ClassLabel(names=intents)
    return features


def _section(body: str, title: str) -> str:
    return body.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


@pytest.fixture
def public(make_config):
    """A snips + slurp build: gold labels only, no user log."""
    return build(make_config(SNIPS, SLURP))


@pytest.fixture
def logs(tmp_path: Path, make_config, events):
    """A user-log build (the config's default `license: other`) with one e-mail address to scrub."""
    log = write_jsonl(tmp_path / "log.jsonl", [*events, {"query": "mail jo@example.com", "user_id": "u5"}])
    return build(make_config(log, name="logs"))


def test_a_snips_and_slurp_card_derives_its_license_from_the_inputs(public):
    text = (public.path / "README.md").read_text()
    header, body = _card(text)
    assert header["license"] == ["cc0-1.0", "cc-by-4.0"] and "license_name" not in header
    licenses = _section(body, "License")
    assert "| snips (snips, curated) | CC0-1.0 | Snips 2017 NLU benchmark: Coucke A. et al." in licenses
    assert (
        "| devel.jsonl (slurp, curated) | CC-BY-4.0 | SLURP: Bastianelli E., Vanzo A., Swietojanski P., "
        'Rieser V., "SLURP: A Spoken Language Understanding Resource Package", EMNLP 2020' in licenses
    )
    assert header["source_datasets"] == ["extended|sonos/nlu-benchmark", "extended|pswietojanski/slurp"]


def test_the_card_has_what_the_hub_reads(public):
    header, _ = _card((public.path / "README.md").read_text())
    m = public.manifest
    present = [s for s in SPLITS if m["splits"][s]["rows"]]
    assert header["dataset_info"]["splits"] == [
        {"name": s, "num_bytes": m["splits"][s]["arrow_bytes"], "num_examples": m["splits"][s]["rows"]}
        for s in present
    ]
    files = [public.path / m["splits"][s]["file"] for s in present]
    assert header["dataset_info"]["download_size"] == sum(f.stat().st_size for f in files)
    assert all(
        m["splits"][s]["bytes"] == (public.path / m["splits"][s]["file"]).stat().st_size for s in present
    )
    assert header["size_categories"] == ["n<1K"] and header["annotations_creators"] == ["found"]
    assert header["task_categories"] == ["text-classification", "token-classification"]
    assert header["task_ids"] == ["intent-classification", "named-entity-recognition"]
    features = datasets.Features._from_yaml_list(header["dataset_info"]["features"])
    assert features == _features(SNAPSHOT, m["taxonomy"]["intents"])
    assert features["intent"].names == m["taxonomy"]["intents"]


@pytest.mark.parametrize(
    "schema",
    [
        SNAPSHOT,
        pa.schema(
            [
                ("intent", pa.string()),
                ("nested", pa.list_(pa.list_(pa.int16()))),
                ("point", pa.struct([("x", pa.float64()), ("seen", pa.timestamp("s", "UTC"))])),
                ("flags", pa.list_(pa.bool_())),
                ("day", pa.date32()),
                ("half", pa.float16()),
            ]
        ),
    ],
    ids=["snapshot", "other-types"],
)
def test_card_features_read_back_as_what_datasets_makes_of_the_schema(schema):
    intents = ["play_music", "add_to_playlist", "other"]
    assert datasets.Features._from_yaml_list(card_features(schema, intents)) == _features(schema, intents)


def test_card_features_refuse_a_type_they_cannot_name():
    with pytest.raises(ValueError, match="map<string, int64>"):
        card_features(pa.schema([("m", pa.map_(pa.string(), pa.int64()))]), [])


def test_no_template_placeholder_is_left(public, logs):
    for result in (public, logs):
        text = (result.path / "README.md").read_text()
        assert "{" not in text and "}" not in text
        assert f'honkdata.load_snapshot("{result.ref}")' in text


def test_labeling_section_gives_each_label_source_its_share(public, logs):
    labeling = _section(_card((public.path / "README.md").read_text())[1], "How it was labeled")
    assert f"| gold | {public.manifest['rows']} | 100.0% |" in labeling
    labeling = _section(_card((logs.path / "README.md").read_text())[1], "How it was labeled")
    sources = logs.manifest["label_source_distribution"]
    assert f"| weak | {sources['weak']} | {sources['weak'] / logs.manifest['rows']:.1%} |" in labeling
    assert "not measured" in labeling  # no gold rows to measure the weak labels against


def test_weak_label_accuracy_from_the_label_stage(public):
    manifest = copy.deepcopy(public.manifest)
    manifest["stages"]["label"]["notes"] |= {WEAK_CHECKED: 40, WEAK_AGREED: 30}
    card = dataset_card(manifest, card_features(SNAPSHOT, manifest["taxonomy"]["intents"]))
    assert "Measured accuracy of the weak labels: 75.0%, the share of the 40 rows" in card


def test_user_logs_take_the_configured_license_never_a_bare_other(logs, tmp_path, make_config, events):
    header, body = _card((logs.path / "README.md").read_text())
    assert header["license"] == "other"
    assert header["license_name"] == "logs-owner-terms"
    assert header["license_link"] == "README.md#license"
    assert "no license was declared" in _section(body, "License")

    log = write_jsonl(tmp_path / "other.jsonl", events)
    declared = build(make_config(log, SNIPS, license="CC-BY-SA-4.0", name="declared"))
    header, body = _card((declared.path / "README.md").read_text())
    assert header["license"] == ["cc0-1.0", "cc-by-sa-4.0"] and "license_name" not in header
    assert "| other.jsonl (jsonl, user log) | CC-BY-SA-4.0 |" in _section(body, "License")
    assert header["source_datasets"] == ["original", "extended|sonos/nlu-benchmark"]


def test_the_shipped_sample_is_cc_by_with_its_attribution(logs):
    manifest = copy.deepcopy(logs.manifest)
    manifest["inputs"][0] |= {"size": SHIPPED_SAMPLE[0], "sha256": SHIPPED_SAMPLE[1]}
    (sample,) = input_licenses(manifest)
    assert (
        sample.license == "CC-BY-4.0"
        and "Snips" in sample.attribution
        and "Bastianelli" in sample.attribution
    )
    header, _ = _card(dataset_card(manifest, card_features(SNAPSHOT, manifest["taxonomy"]["intents"])))
    assert header["license"] == "cc-by-4.0" and "license_name" not in header


def test_anonymization_section_names_key_threshold_and_pii(logs, public):
    anonymization = _section(_card((logs.path / "README.md").read_text())[1], "Anonymization")
    assert f"`{logs.manifest['anonymize']['pseudonym_key_fingerprint']}`" in anonymization
    assert "a secret key from env" in anonymization
    assert "| EMAIL | 1 |" in anonymization
    assert "Release threshold: k-anonymity(k=1)" in anonymization
    assert "jo@example.com" not in (logs.path / "README.md").read_text()
    assert "No user logs among the inputs" in (public.path / "README.md").read_text()


@pytest.mark.parametrize(("rows", "category"), [(999, "n<1K"), (150_000, "100K<n<1M"), (2 * 10**9, "other")])
def test_size_category(public, rows, category):
    manifest = copy.deepcopy(public.manifest) | {"rows": rows}
    header, _ = _card(dataset_card(manifest, card_features(SNAPSHOT, manifest["taxonomy"]["intents"])))
    assert header["size_categories"] == [category]


def test_tokens_section_counts_spans_off_token_boundaries(public):
    tokens = _section(_card((public.path / "README.md").read_text())[1], "Tokens and tags")
    stage = public.manifest["stages"]["tokens"]
    assert f"{stage['notes'][TOKENS_COUNTED]:,}" in tokens
    # "Jerry Lee Lewis's" in the Snips fixture: the artist ends inside the token `Lewis's`.
    off = stage["breakdowns"][SPANS_OFF_BOUNDARIES]["entities"]
    assert off >= 1
    assert f"| entity spans off token boundaries | {off} |" in tokens
