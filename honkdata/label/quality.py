"""Label quality: which labels of a snapshot are likely wrong, found by confident learning.

Every labeled row (any `label_source`: gold, human, model, weak) is predicted by a model that never
saw it: K-fold cross-validation with the baseline recipe's cheap models (TF-IDF + logistic
regression for the intent, a CRF over its token features for the tags), with the recipe's settings.
Folds are stratified by intent, so every fold trains on every intent it can, and grouped by
`dup_cluster`: a near-duplicate in training would vouch for a row's label, right or wrong.

cleanlab then compares each given label with those out-of-sample probabilities:
`filter.find_label_issues` (confident learning, Northcutt et al. 2021) flags intents, its
token-classification variant (Wang and Mueller 2022) flags tags, and `rank.get_label_quality_scores`
gives each row a score in [0, 1] (self-confidence: the probability the model gives the given label;
for tags the lowest over the row's tokens). Low scores are the likely errors; `honkdata annotate
export --strategy label-issues` sends them to people, and the next build applies their answers.

A version folder is immutable and content-hashed, so the scores live beside it, not in it:
`<root>/<name>/vNNNN.quality/` (no version folder matches that name, so the store ignores it) holds
`label_quality.parquet`, one row per scored row, and `label_quality.json`, the counts and settings,
written last with the Parquet file's sha256 and the snapshot's content hash: a reader trusts the
Parquet file only when both match. Each file is replaced whole (temporary file, then rename).
"""

import fcntl
import hashlib
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import cleanlab
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy.sparse as sp
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from cleanlab.token_classification.filter import find_label_issues as find_tag_issues
from cleanlab.token_classification.rank import get_label_quality_scores as get_tag_quality_scores
from scipy.special import softmax
from sklearn.model_selection import StratifiedKFold

from honkdata.errors import HonkdataError
from honkdata.models.crf import token_features
from honkdata.recipes.baseline import Config, crf_estimator, fit_intent
from honkdata.snapshot.store import SnapshotRef, SnapshotStore, replace_file, version_dir
from honkdata.train.examples import Example, TrainingData, examples_from_table
from honkdata.train.labels import LabelSpace

PARQUET = "label_quality.parquet"
SUMMARY = "label_quality.json"
QUALITY = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        # The out-of-sample probability of the given intent; lower is more likely wrong.
        pa.field("intent_quality", pa.float64(), nullable=False),
        pa.field("intent_issue", pa.bool_(), nullable=False),
        pa.field("suggested_intent", pa.string(), nullable=False),  # the out-of-sample prediction
        # The lowest out-of-sample probability of a given tag over the row's tokens, and that token's
        # index; null for a row without tokens.
        pa.field("tags_quality", pa.float64()),
        pa.field("tags_issue", pa.bool_()),
        pa.field("worst_token", pa.int32()),
        pa.field("label_source", pa.string(), nullable=False),
    ]
)
_READ = ["id", "text", "tokens", "intent", "tags", "count", "label_source", "dup_cluster"]

OnFold = Callable[[int, int], None]  # (fold number from 1, folds), after each fold is predicted


def quality_folder(store: SnapshotStore, ref: SnapshotRef) -> Path:
    """Where the label quality of `ref` lives: beside its version folder, not inside it."""
    return store.root / ref.name / f"{version_dir(ref.version)}.quality"


def assign_folds(groups: Sequence[str], strata: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """The fold (0..folds-1) of every row: whole groups per fold, seeded, stratified by the stratum
    of each group's first row (rows of one duplicate cluster nearly always share their intent).

    scikit-learn's StratifiedGroupKFold balances every row's stratum but places groups one at a time
    in Python (4 s for the 2,781 clusters of the Snips sample, linear in the clusters); stratified
    folds over the groups are vectorized."""
    if folds < 2:
        raise HonkdataError(f"cross-validation needs at least 2 folds, not {folds}")
    names, first, row_group = np.unique(
        np.asarray(groups, dtype=object), return_index=True, return_inverse=True
    )
    if len(names) < folds:
        raise HonkdataError(
            f"{len(names)} duplicate clusters of labeled rows cannot fill {folds} folds; use fewer folds"
        )
    group_strata = np.asarray(strata, dtype=object)[first]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    group_fold = np.empty(len(names), np.int64)
    with warnings.catch_warnings():
        # An intent with fewer groups than folds is missing from some folds; its rows are scored all
        # the same (that is what the warning is about).
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        for k, (_, held_out) in enumerate(splitter.split(np.zeros(len(names)), group_strata)):
            group_fold[held_out] = k
    return group_fold[row_group]


def _intent_probabilities(
    config: Config, labels: LabelSpace, train: list[Example], held_out: list[Example]
) -> np.ndarray:
    """(held_out, labels.intents) probabilities of the baseline's intent model fitted on `train`; an
    intent absent from `train` gets 0."""
    vectorizers, intents, coef, intercept = fit_intent(config, TrainingData(labels, train, [], []))
    texts = [e.text for e in held_out]
    features = sp.hstack([v.transform(texts) for v in vectorizers], format="csr")
    probabilities = np.zeros((len(held_out), len(labels.intents)))
    columns = [labels.intent_ids[i] for i in intents]
    probabilities[:, columns] = softmax(np.asarray(features @ coef.T) + intercept, axis=1)
    return probabilities


def _tag_probabilities(
    config: Config,
    tags: Sequence[str],
    train: list[list[list[str]]],
    train_tags: list[list[str]],
    held_out: list[list[list[str]]],
) -> list[np.ndarray]:
    """Per held-out sequence of token features, its (tokens, tags) marginals under a CRF fitted on
    the `train` sequences with the baseline's settings (crfsuite's forward-backward); a tag absent
    from training gets 0."""
    column = {tag: k for k, tag in enumerate(tags)}
    with tempfile.TemporaryDirectory(prefix="honkdata-quality-") as scratch:
        # The baseline's CRF (same features, regularization and iterations), kept whole here
        # because the marginals are crfsuite's; the baseline keeps only the weights.
        crf = crf_estimator(config, Path(scratch) / "model.crfsuite")
        crf.fit(train, train_tags)
        marginals = crf.predict_marginals(held_out)
    out = []
    for sequence in marginals:
        probabilities = np.zeros((len(sequence), len(tags)))
        for t, token in enumerate(sequence):
            for tag, p in token.items():
                probabilities[t, column[tag]] = p
        out.append(probabilities)
    return out


def _tag_issues(
    examples: list[Example], tags: list[str], probabilities: list[np.ndarray]
) -> tuple[list[float | None], list[bool | None], list[int | None]]:
    """Per example: its tags' quality (the lowest over its tokens), whether cleanlab flags any of its
    tokens, and the index of its lowest-scoring token; None for all three without tokens, or when
    no row has an entity."""
    quality: list[float | None] = [None] * len(examples)
    issue: list[bool | None] = [None] * len(examples)
    worst: list[int | None] = [None] * len(examples)
    scored = [i for i, e in enumerate(examples) if e.tokens]
    if not scored or len(tags) < 2:  # cleanlab needs two classes; "O" alone cannot be wrong
        return quality, issue, worst
    tag_ids = {tag: k for k, tag in enumerate(tags)}
    given = [[tag_ids[t] for t in examples[i].tags] for i in scored]
    scored_probabilities = [probabilities[i] for i in scored]
    sentence, tokens = get_tag_quality_scores(given, scored_probabilities)
    flagged = {scored[s] for s, _ in find_tag_issues(given, scored_probabilities, n_jobs=1)}
    for s, i in enumerate(scored):
        quality[i] = float(sentence[s])
        issue[i] = i in flagged
        worst[i] = int(np.argmin(tokens[s].to_numpy()))
    return quality, issue, worst


def label_quality(
    rows: pa.Table, folds: int = 5, seed: int = 0, config: Config | None = None, on_fold: OnFold | None = None
) -> pa.Table:
    """The label quality (schema QUALITY) of every labeled row of `rows` (snapshot rows with at
    least the columns id, text, tokens, intent, tags, count, label_source, dup_cluster), in order."""
    config = config or Config()
    labeled = rows.filter(
        pc.and_(pc.is_valid(rows.column("label_source")), pc.is_valid(rows.column("intent")))
    )
    examples = examples_from_table(labeled, "taxonomy")
    intents = sorted({e.intent for e in examples})
    if len(intents) < 2:
        raise HonkdataError(f"label quality needs labeled rows of at least two intents, found {intents}")
    tags = sorted({tag for e in examples for tag in e.tags} | {"O"})
    types = tuple(sorted({tag.split("-", 1)[1] for tag in tags if tag != "O"}))
    labels = LabelSpace("taxonomy", tuple(intents), types, intents[0])
    fold = assign_folds(labeled.column("dup_cluster").to_pylist(), [e.intent for e in examples], folds, seed)

    features = [token_features(e.tokens, config.crf_window) for e in examples]  # once, not per fold
    intent_probabilities = np.zeros((len(examples), len(intents)))
    tag_probabilities: list[np.ndarray] = [np.zeros((0, len(tags)))] * len(examples)
    for k in range(folds):
        held, train = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        intent_probabilities[held] = _intent_probabilities(
            config, labels, [examples[i] for i in train], [examples[i] for i in held]
        )
        fit = [i for i in train if examples[i].tokens]
        predict = [i for i in held if examples[i].tokens]
        if len(tags) > 1 and fit and predict:  # with "O" alone there is no tag to doubt
            marginals = _tag_probabilities(
                config,
                tags,
                [features[i] for i in fit],
                [list(examples[i].tags) for i in fit],
                [features[i] for i in predict],
            )
            for i, probabilities in zip(predict, marginals, strict=True):
                tag_probabilities[i] = probabilities
        if on_fold is not None:
            on_fold(k + 1, folds)

    given = np.array([labels.intent_ids[e.intent] for e in examples])
    with warnings.catch_warnings():
        # cleanlab warns that it may miss issues of a class with few rows; those rows are scored
        # (and ranked) all the same.
        warnings.filterwarnings("ignore", "May not flag all label issues", UserWarning)
        # n_jobs=1: cleanlab's default forks a process per core, which a shared machine cannot spare.
        intent_issue = find_label_issues(given, intent_probabilities, n_jobs=1)
        tag_quality, tag_issue, worst = _tag_issues(examples, tags, tag_probabilities)
    intent_quality = get_label_quality_scores(given, intent_probabilities)
    return pa.table(
        {
            "id": labeled.column("id"),
            "intent_quality": pa.array(intent_quality, pa.float64()),
            "intent_issue": pa.array(intent_issue, pa.bool_()),
            "suggested_intent": pa.array([intents[k] for k in intent_probabilities.argmax(axis=1)]),
            "tags_quality": pa.array(tag_quality, pa.float64()),
            "tags_issue": pa.array(tag_issue, pa.bool_()),
            "worst_token": pa.array(worst, pa.int32()),
            "label_source": labeled.column("label_source"),
        },
        schema=QUALITY,
    )


def score_label_quality(
    store: SnapshotStore, ref: SnapshotRef, folds: int = 5, seed: int = 0, on_fold: OnFold | None = None
) -> dict:
    """Score every labeled row of `ref`, write the scores beside the snapshot, and return the summary
    written with them (rows scored, intent and tag issues, settings) plus `path`, the Parquet file."""
    started = time.perf_counter()
    manifest = store.manifest(ref)
    config = Config()
    quality = label_quality(store.read(ref, columns=_READ), folds, seed, config, on_fold)
    sink = pa.BufferOutputStream()
    pq.write_table(quality, sink)
    data = sink.getvalue().to_pybytes()
    summary = {
        "snapshot": str(ref),
        "content_hash": manifest["content_hash"],
        "rows": manifest["rows"],
        "scored": quality.num_rows,
        "intent_issues": pc.sum(quality.column("intent_issue")).as_py() or 0,
        "tag_issues": pc.sum(quality.column("tags_issue")).as_py() or 0,
        "by_label_source": {
            c["values"]: c["counts"] for c in pc.value_counts(quality.column("label_source")).to_pylist()
        },
        "folds": folds,
        "seed": seed,
        "folds_grouped_by": "dup_cluster",
        "folds_stratified_by": "intent",
        "intent_model": {
            "method": "baseline recipe: TF-IDF + logistic regression",
            **config.model_dump(
                include={"word_ngrams", "char_ngrams", "min_df", "sublinear_tf", "c", "max_iter"}
            ),
        },
        "tag_model": {
            "method": "baseline recipe's CRF features, crfsuite marginals",
            **config.model_dump(include={"crf_c1", "crf_c2", "crf_max_iterations", "crf_window"}),
        },
        "cleanlab": {
            "version": cleanlab.__version__,
            "issues": "filter.find_label_issues (prune_by_noise_rate), per token for tags",
            "score": "self_confidence; tags: the lowest over the row's tokens",
        },
        "file": PARQUET,
        "sha256": hashlib.sha256(data).hexdigest(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 3),
    }
    folder = quality_folder(store, ref)
    folder.mkdir(exist_ok=True)
    # One writer at a time: the temporary names are per process, and the JSON must describe the
    # Parquet file beside it.
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        replace_file(folder / PARQUET, data)
        replace_file(
            folder / SUMMARY, orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
        )
    return {**summary, "path": str(folder / PARQUET)}


def read_label_quality(store: SnapshotStore, ref: SnapshotRef) -> pa.Table | None:
    """The label quality written for `ref` (schema QUALITY), or None if there is none for this very
    snapshot (never scored, half replaced, or scored before the version was rebuilt)."""
    content_hash = store.manifest(ref)["content_hash"]
    folder = quality_folder(store, ref)
    try:
        summary = orjson.loads((folder / SUMMARY).read_bytes())
        data = (folder / PARQUET).read_bytes()
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError) as e:
        raise HonkdataError(f"cannot read the label quality of {ref} in {folder}: {e}") from None
    if (
        summary.get("content_hash") != content_hash
        or summary.get("sha256") != hashlib.sha256(data).hexdigest()
    ):
        return None
    return pq.read_table(pa.BufferReader(data), schema=QUALITY)


def with_label_quality(store: SnapshotStore, ref: SnapshotRef, rows: pa.Table) -> pa.Table:
    """`rows` of `ref` with the QUALITY columns joined by id (null for rows that were not scored);
    a one-line error naming the command to run if `ref` has no label quality."""
    quality = read_label_quality(store, ref)
    if quality is None:
        raise HonkdataError(
            f"{ref} has no label quality yet: run `honkdata label quality --snapshot {ref}` first"
        )
    index = pc.index_in(rows.column("id"), quality.column("id"))
    for name in QUALITY.names:
        if name not in rows.column_names:
            rows = rows.append_column(
                QUALITY.field(name).with_nullable(True), pc.take(quality.column(name), index)
            )
    return rows
