"""Label quality: out-of-sample predictions and cleanlab find labels we broke on purpose.

The corrupted rows are the labeled_store's Snips sample (all gold) with three kinds of damage:
intents flipped on 20 rows, one entity's type swapped on 20 others, and 5 more rows flipped and
repeated 3 times each in their duplicate cluster (a mislabeled query a log repeats). Scoring runs
once for the module, with 2 folds to keep it to seconds.
"""

import hashlib
import shutil

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from honkdata.cli import app
from honkdata.errors import HonkdataError
from honkdata.label import quality as quality_module
from honkdata.label.quality import (
    PARQUET,
    QUALITY,
    SUMMARY,
    assign_folds,
    label_quality,
    quality_folder,
    read_label_quality,
    score_label_quality,
    with_label_quality,
)
from honkdata.snapshot.store import SnapshotRef, SnapshotStore

TYPES = ["artist", "track", "album", "playlist", "genre", "service", "music_item"]
N_FLIPPED = 20


def _flip(intent: str, rng: np.random.Generator) -> str:
    return "out_of_domain" if intent != "out_of_domain" else str(rng.choice(["play_music", "playlist_add"]))


def _swap_one_entity(tags: list[str], rng: np.random.Generator) -> tuple[list[str], list[int]]:
    """The tags with one entity's type changed, and the token positions changed."""
    tags = list(tags)
    begin = int(rng.choice([j for j, t in enumerate(tags) if t.startswith("B-")]))
    old = tags[begin][2:]
    new = str(rng.choice([t for t in TYPES if t != old]))
    changed = [begin]
    tags[begin] = f"B-{new}"
    for j in range(begin + 1, len(tags)):
        if tags[j] != f"I-{old}":
            break
        tags[j] = f"I-{new}"
        changed.append(j)
    return tags, changed


@pytest.fixture(scope="module")
def corrupted(labeled_store) -> dict:
    store = SnapshotStore(labeled_store)
    rows = store.read(SnapshotRef("snips", 1)).sort_by("id")
    rng = np.random.default_rng(7)
    order = rng.permutation(rows.num_rows).tolist()
    intents = rows.column("intent").to_pylist()
    tags = rows.column("tags").to_pylist()
    # Half the flips out of the music intents, half into them.
    music = [i for i in order if intents[i] != "out_of_domain"]
    other = [i for i in order if intents[i] == "out_of_domain"]
    flipped = music[: N_FLIPPED // 2] + other[: N_FLIPPED // 2]
    repeated = music[N_FLIPPED // 2 : N_FLIPPED // 2 + 5]
    taken = set(flipped) | set(repeated)
    swapped = [i for i in order if i not in taken and any(t != "O" for t in tags[i])][:N_FLIPPED]
    truth = {rows.column("id")[i].as_py(): intents[i] for i in flipped + repeated}
    for i in flipped + repeated:
        intents[i] = _flip(intents[i], rng)
    changed = {}
    for i in swapped:
        tags[i], changed[rows.column("id")[i].as_py()] = _swap_one_entity(tags[i], rng)
    broken = rows.set_column(rows.schema.get_field_index("intent"), "intent", pa.array(intents))
    broken = broken.set_column(
        broken.schema.get_field_index("tags"), "tags", pa.array(tags, rows.schema.field("tags").type)
    )
    copies = broken.take(repeated * 3)
    copy_ids = [f"{i}-copy{k}" for k, i in enumerate(copies.column("id").to_pylist())]
    copies = copies.set_column(0, copies.schema.field("id"), pa.array(copy_ids))
    broken = pa.concat_tables([broken, copies])
    quality = label_quality(broken, folds=2, seed=0)
    return {
        "rows": broken,
        "quality": {r["id"]: r for r in quality.to_pylist()},
        "table": quality,
        "flipped": [rows.column("id")[i].as_py() for i in flipped],
        "truth": truth,
        "repeated": [rows.column("id")[i].as_py() for i in repeated] + copy_ids,
        "swapped": changed,
    }


def test_every_labeled_row_is_scored_once_in_order(corrupted):
    table = corrupted["table"]
    assert table.schema == QUALITY
    assert table.column("id").to_pylist() == corrupted["rows"].column("id").to_pylist()
    assert set(table.column("label_source").to_pylist()) == {"gold"}
    for column in ("intent_quality", "tags_quality"):
        values = table.column(column).to_numpy()
        assert ((values >= 0) & (values <= 1)).all()


def test_flipped_intents_rank_among_the_top_issues(corrupted):
    flipped, repeated = set(corrupted["flipped"]), set(corrupted["repeated"])
    quality = {i: q for i, q in corrupted["quality"].items() if i not in repeated}
    issues = {i for i, q in quality.items() if q["intent_issue"]}
    found = issues & flipped
    assert len(found) >= 0.7 * N_FLIPPED  # recall
    assert len(found) >= 0.5 * len(issues)  # precision: the rest are Snips's own doubtful labels
    worst = sorted(quality, key=lambda i: quality[i]["intent_quality"])[:N_FLIPPED]
    assert len(set(worst) & flipped) >= 0.7 * N_FLIPPED
    # The out-of-sample prediction is mostly the label we destroyed.
    restored = [i for i in found if quality[i]["suggested_intent"] == corrupted["truth"][i]]
    assert len(restored) >= 0.8 * len(found)
    clean = [q["intent_quality"] for i, q in quality.items() if i not in flipped]
    assert np.median(clean) > 0.9


def test_swapped_entity_types_rank_among_the_top_tag_issues(corrupted):
    quality, swapped = corrupted["quality"], corrupted["swapped"]
    issues = {i for i, q in quality.items() if q["tags_issue"]}
    found = issues & set(swapped)
    assert len(found) >= 0.8 * N_FLIPPED  # recall
    chance = N_FLIPPED / len(quality)
    assert len(found) / len(issues) >= 5 * chance  # precision, against picking rows at random
    scores = np.array([q["tags_quality"] for q in quality.values()])
    percentiles = [np.mean(scores < quality[i]["tags_quality"]) for i in swapped]
    assert np.median(percentiles) < 0.02
    # The worst token is one whose tag we changed.
    assert sum(quality[i]["worst_token"] in swapped[i] for i in found) >= 0.75 * len(found)


def test_a_repeated_mislabeled_query_is_held_out_whole(corrupted):
    """Copies in one dup_cluster share a fold: had they trained the model, they would vouch for
    their own wrong label (with every row its own group, four of the five come out confident in it)."""
    quality, truth = corrupted["quality"], corrupted["truth"]
    for i in corrupted["repeated"]:
        assert quality[i]["suggested_intent"] == truth[i.split("-")[0]]
        assert quality[i]["intent_quality"] < 0.5


def test_folds_keep_clusters_whole_spread_intents_and_follow_the_seed():
    rng = np.random.default_rng(0)
    groups, strata = [], []
    for g in range(90):
        size = int(rng.integers(1, 5))
        groups += [f"c{g}"] * size
        strata += [["a", "b", "c"][g % 3]] * size
    fold = assign_folds(groups, strata, 3, seed=1)
    assert set(fold.tolist()) == {0, 1, 2}
    for g in set(groups):
        assert len({int(f) for f, h in zip(fold, groups, strict=True) if h == g}) == 1
    for s in "abc":
        per_fold = np.bincount([g for g, t in zip(fold, strata, strict=True) if t == s], minlength=3)
        assert per_fold.min() > 0
    assert (assign_folds(groups, strata, 3, seed=1) == fold).all()
    assert (assign_folds(groups, strata, 3, seed=2) != fold).any()
    with pytest.raises(HonkdataError, match="at least 2 folds"):
        assign_folds(groups, strata, 1, seed=0)
    with pytest.raises(HonkdataError, match="2 duplicate clusters of labeled rows cannot fill 3 folds"):
        assign_folds(["x", "x", "y"], ["a", "a", "b"], 3, seed=0)


def test_one_intent_is_not_enough(corrupted):
    rows = corrupted["rows"].slice(0, 50)
    one = rows.set_column(rows.schema.get_field_index("intent"), "intent", pa.array(["like"] * 50))
    with pytest.raises(HonkdataError, match="at least two intents"):
        label_quality(one, folds=2)


def test_rows_without_any_entity_get_no_tag_scores(corrupted):
    rows = corrupted["rows"].slice(0, 300)
    tags = [["O"] * len(t) for t in rows.column("tags").to_pylist()]
    plain = rows.set_column(
        rows.schema.get_field_index("tags"), "tags", pa.array(tags, pa.list_(pa.string()))
    )
    quality = label_quality(plain, folds=2)
    assert quality.num_rows == 300
    for column in ("tags_quality", "tags_issue", "worst_token"):
        assert quality.column(column).null_count == 300
    assert quality.column("intent_quality").null_count == 0


@pytest.fixture
def store_copy(labeled_store, tmp_path) -> SnapshotStore:
    """A copy of the shared store, so a sidecar written here does not leak into other tests."""
    shutil.copytree(labeled_store, tmp_path / "store")
    return SnapshotStore(tmp_path / "store")


@pytest.fixture
def first_rows(monkeypatch):
    """Scoring scores only the first `n` rows: the corrupted tests score every row in memory; here
    the sidecar is under test, and fewer rows keep it fast."""

    def limit(n: int) -> None:
        score = quality_module.label_quality
        monkeypatch.setattr(quality_module, "label_quality", lambda rows, *a: score(rows.slice(0, n), *a))

    return limit


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_sidecar_leaves_the_snapshot_alone(store_copy, first_rows):
    root = str(store_copy.root)
    ref = SnapshotRef("snips", 1)
    version = store_copy.path(ref)
    before = {p.relative_to(version): p.read_bytes() for p in version.rglob("*") if p.is_file()}
    listed = _cli("snapshots", "list", "--root", root, "--json")
    shown = _cli("snapshots", "show", "snips@v1", "--root", root, "--json")
    first_rows(600)
    summary = orjson.loads(
        _cli("label", "quality", "--snapshot", "snips@v1", "--folds", "2", "--root", root, "--json")
    )

    folder = quality_folder(store_copy, ref)
    assert folder == store_copy.root / "snips" / "v0001.quality"
    assert summary["path"] == str(folder / PARQUET)
    assert summary["scored"] == 600 and summary["folds"] == 2 and summary["folds_grouped_by"] == "dup_cluster"
    written = orjson.loads((folder / SUMMARY).read_bytes())
    assert written == {k: v for k, v in summary.items() if k != "path"}
    assert written["content_hash"] == store_copy.manifest(ref)["content_hash"]
    assert written["intent_issues"] == pc.sum(pq.read_table(folder / PARQUET).column("intent_issue")).as_py()

    after = {p.relative_to(version): p.read_bytes() for p in version.rglob("*") if p.is_file()}
    assert after == before
    assert store_copy.versions("snips") == [1]
    assert _cli("snapshots", "list", "--root", root, "--json") == listed
    assert _cli("snapshots", "show", "snips@v1", "--root", root, "--json") == shown

    quality = read_label_quality(store_copy, ref)
    assert quality.schema == QUALITY and quality.num_rows == 600
    rows = with_label_quality(store_copy, ref, store_copy.read(ref, ["id", "label_source"]))
    assert rows.num_rows == 2781 and rows.column("intent_quality").null_count == 2781 - 600


def test_reading_trusts_only_a_sidecar_of_this_very_snapshot(store_copy):
    ref = SnapshotRef("snips", 1)
    assert read_label_quality(store_copy, ref) is None
    with pytest.raises(
        HonkdataError, match=r"snips@v1 has no label quality yet: run `honkdata label quality"
    ):
        with_label_quality(store_copy, ref, store_copy.read(ref, ["id"]))
    folder = quality_folder(store_copy, ref)
    folder.mkdir()
    table = pa.table(
        {
            "id": ["a"],
            "intent_quality": [0.5],
            "intent_issue": [False],
            "suggested_intent": ["like"],
            "tags_quality": [None],
            "tags_issue": [None],
            "worst_token": [None],
            "label_source": ["gold"],
        },
        schema=QUALITY,
    )
    pq.write_table(table, folder / PARQUET)
    sha = hashlib.sha256((folder / PARQUET).read_bytes()).hexdigest()
    content_hash = store_copy.manifest(ref)["content_hash"]
    (folder / SUMMARY).write_bytes(orjson.dumps({"content_hash": content_hash, "sha256": sha}))
    assert read_label_quality(store_copy, ref).to_pylist() == table.to_pylist()
    # Scored before the version was rebuilt, or a Parquet file replaced after its summary: not ours.
    (folder / SUMMARY).write_bytes(orjson.dumps({"content_hash": "0" * 64, "sha256": sha}))
    assert read_label_quality(store_copy, ref) is None
    (folder / SUMMARY).write_bytes(orjson.dumps({"content_hash": content_hash, "sha256": "0" * 64}))
    assert read_label_quality(store_copy, ref) is None


def test_score_label_quality_replaces_an_earlier_score(store_copy, first_rows):
    first_rows(300)
    ref = SnapshotRef("snips", 1)
    first = score_label_quality(store_copy, ref, folds=2, seed=0)
    second = score_label_quality(store_copy, ref, folds=3, seed=1)
    assert (first["folds"], second["folds"], second["seed"]) == (2, 3, 1)
    assert orjson.loads((quality_folder(store_copy, ref) / SUMMARY).read_bytes())["folds"] == 3
    assert read_label_quality(store_copy, ref).num_rows == 300
    # Nothing but the two files (and the writers' lock) is left behind.
    assert sorted(p.name for p in quality_folder(store_copy, ref).iterdir()) == [".lock", SUMMARY, PARQUET]
