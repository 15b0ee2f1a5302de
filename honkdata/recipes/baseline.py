"""The baseline recipe: TF-IDF + logistic regression for the intent, a linear-chain CRF for entities.

Seconds to minutes on a CPU, no GPU, no pretrained weights: the floor every other recipe must beat.

- Intent: word 1-2-grams and character 2-5-grams (inside word boundaries, so misspellings and word
  forms share features), TF-IDF weighted, into a multinomial logistic regression whose softmax is the
  confidence. Rows are weighted by `Example.weight` (count weighting from the data config).
- Entities: a CRF over the snapshot's tokens and BIO tags, with hand-made token features
  (honkdata/models/crf.py), trained by crfsuite's L-BFGS.

The model folder holds `model.safetensors` (IDF vectors, the regression's coefficients, the CRF's
state and transition weights) and `baseline.json` (the strings those arrays are indexed by: the
n-gram vocabularies, the intents, the CRF's tags and attributes). Loading rebuilds the vectorizers
from the config and those two files and decodes the CRF with our own Viterbi, so nothing pickled
and no crfsuite model file is ever read.

Both solvers are deterministic (L-BFGS from zero weights, examples in the snapshot's order), so the
same data, config and seed give a byte-identical model folder.
"""

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import Literal

import numpy as np
import orjson
import scipy.sparse as sp
import sklearn_crfsuite
from pydantic import BaseModel, ConfigDict, Field
from safetensors.numpy import load_file, save_file
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from honkdata.errors import HonkdataError
from honkdata.models.crf import CrfWeights, read_crfsuite_model, token_features
from honkdata.tokens import tokenize
from honkdata.train.config import DataConfig
from honkdata.train.examples import TrainingData
from honkdata.train.frames import Frame, tags_to_entities
from honkdata.train.labels import LabelSpace
from honkdata.train.run import TrainingRun

NAME = "baseline"
WEIGHTS_FILE = "model.safetensors"
STRINGS_FILE = "baseline.json"
# Words of one character count ("rate this 5 stars", "a"): scikit-learn's default pattern drops them.
_WORD_PATTERN = r"(?u)\b\w+\b"


class Config(BaseModel):
    """The baseline's settings; configs/train/baseline.yaml gives the reason for each value."""

    model_config = ConfigDict(extra="forbid")
    recipe: Literal["baseline"] = "baseline"
    data: DataConfig = Field(default_factory=DataConfig)
    seed: int = 0
    # Both models are fitted to convergence in one go: there are no epochs to stop early.
    epochs: Literal[1] = 1
    patience: Literal[0] = 0
    monitor: str = "frame_accuracy"
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    min_df: int = Field(1, ge=1)
    sublinear_tf: bool = True
    c: float = Field(10.0, gt=0)  # inverse L2 strength of the logistic regression
    max_iter: int = Field(1000, ge=1)
    crf_c1: float = Field(0.05, ge=0)  # L1: prunes useless attributes, keeps the model small
    crf_c2: float = Field(0.01, ge=0)  # L2
    crf_max_iterations: int = Field(50, ge=1)
    crf_window: int = Field(2, ge=0)
    crf_max_repeats: int = Field(5, ge=1)
    predict_batch_size: int = Field(1024, ge=1)


def _vectorizers(config: Config) -> tuple[TfidfVectorizer, TfidfVectorizer]:
    """The word and character vectorizers as `config` makes them (unfitted)."""
    common = {"lowercase": True, "sublinear_tf": config.sublinear_tf, "dtype": np.float64}
    word = TfidfVectorizer(
        analyzer="word",
        ngram_range=config.word_ngrams,
        token_pattern=_WORD_PATTERN,
        min_df=config.min_df,
        **common,
    )
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=config.char_ngrams, min_df=config.min_df, **common)
    return word, char


@dataclass(frozen=True)
class Tfidf:
    """A fitted TF-IDF vectorizer reduced to what transforming needs: scikit-learn's analyzer (the
    same n-grams), the vocabulary in column order and the IDF. `transform` computes what
    scikit-learn's does (sublinear TF, IDF, L2 norm) without its per-call checks, which cost more
    than the arithmetic for a handful of queries."""

    analyzer: Callable[[str], list[str]]
    vocabulary: tuple[str, ...]
    idf: np.ndarray
    sublinear_tf: bool

    @classmethod
    def of(cls, vectorizer: TfidfVectorizer) -> "Tfidf":
        """The transform of a fitted scikit-learn vectorizer."""
        terms = [""] * len(vectorizer.vocabulary_)
        for term, column in vectorizer.vocabulary_.items():
            terms[column] = term
        return cls(vectorizer.build_analyzer(), tuple(terms), vectorizer.idf_, vectorizer.sublinear_tf)

    @cached_property
    def _columns(self) -> dict[str, int]:
        return {term: i for i, term in enumerate(self.vocabulary)}

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """(texts, vocabulary) L2-normalized TF-IDF rows."""
        columns = self._columns
        ids = [[j for term in self.analyzer(text) if (j := columns.get(term)) is not None] for text in texts]
        rows = np.repeat(np.arange(len(texts)), [len(row) for row in ids])
        cells, counts = np.unique(
            rows * len(self.vocabulary) + np.fromiter(chain(*ids), np.int64), return_counts=True
        )
        rows, cols = np.divmod(cells, len(self.vocabulary))
        tf = 1.0 + np.log(counts) if self.sublinear_tf else counts.astype(np.float64)
        values = tf * self.idf[cols]
        norms = np.sqrt(np.bincount(rows, values * values, len(texts)))
        values /= norms[rows]
        return sp.csr_matrix((values, (rows, cols)), shape=(len(texts), len(self.vocabulary)))


class BaselinePredictor:
    """Intent by softmax over TF-IDF features, entities by Viterbi over the CRF's weights."""

    def __init__(
        self,
        labels: LabelSpace,
        config: Config,
        tfidf: tuple[Tfidf, Tfidf],
        intents: Sequence[str],
        coef: np.ndarray,
        intercept: np.ndarray,
        crf: CrfWeights,
    ) -> None:
        self.labels = labels
        self.config = config
        self.tfidf = tfidf  # words, characters
        self.intents = tuple(intents)  # the class of each row of `coef`
        self.coef = coef  # (intents, word features + char features)
        self.intercept = intercept
        self.crf = crf

    def intent_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(texts, intents) softmax probabilities, columns in `self.intents` order."""
        features = sp.hstack([t.transform(texts) for t in self.tfidf], format="csr")
        scores = np.asarray(features @ self.coef.T) + self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[Frame]:
        """One frame per text, in order, `config.predict_batch_size` texts at a time."""
        frames: list[Frame] = []
        size = self.config.predict_batch_size
        for at in range(0, len(texts), size):
            frames.extend(self._predict_batch(list(texts[at : at + size])))
        return frames

    def _predict_batch(self, texts: list[str]) -> list[Frame]:
        probabilities = self.intent_probabilities(texts)
        best = probabilities.argmax(axis=1)
        tokens = [tokenize(text) for text in texts]
        tags = self.crf.decode([token_features(t, self.config.crf_window) for t in tokens])
        return [
            Frame(self.intents[k], float(p[k]), tags_to_entities(text, toks, seq))
            for text, toks, seq, p, k in zip(texts, tokens, tags, probabilities, best, strict=True)
        ]

    def save(self, folder: Path) -> None:
        """Write the weights (safetensors) and the strings they are indexed by (JSON) into `folder`."""
        word, char = self.tfidf
        tensors = {
            "tfidf.word.idf": word.idf,
            "tfidf.char.idf": char.idf,
            "intent.coef": self.coef,
            "intent.intercept": self.intercept,
            **self.crf.to_tensors(),
        }
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, folder / WEIGHTS_FILE)
        strings = {
            "word_vocabulary": list(word.vocabulary),
            "char_vocabulary": list(char.vocabulary),
            "intents": list(self.intents),
            "crf_tags": list(self.crf.tags),
            "crf_attributes": list(self.crf.attributes),
        }
        (folder / STRINGS_FILE).write_bytes(orjson.dumps(strings, option=orjson.OPT_SORT_KEYS))


def _fit_crf(config: Config, data: TrainingData) -> CrfWeights:
    """The CRF fitted on the training examples' tokens and tags; its exact weights."""
    features, tags = [], []
    for example in data.train:
        if not example.tokens:
            continue
        # crfsuite takes no sample weights: a row of weight w is repeated round(w) times, at most
        # `crf_max_repeats` (a row seen 10,000 times must not cost 10,000 copies of training time).
        repeats = min(max(round(example.weight), 1), config.crf_max_repeats)
        sequence = token_features(example.tokens, config.crf_window)
        features.extend([sequence] * repeats)
        tags.extend([list(example.tags)] * repeats)
    with tempfile.TemporaryDirectory(prefix="honkdata-crf-") as scratch:
        # crfsuite can only hand its model over as a file: read the weights back, then drop it.
        model_file = Path(scratch) / "model.crfsuite"
        crf = crf_estimator(config, model_file)
        crf.fit(features, tags)
        return read_crfsuite_model(model_file)


def crf_estimator(config: Config, model_file: Path) -> sklearn_crfsuite.CRF:
    """The baseline's linear-chain CRF, unfitted; crfsuite writes the fitted model to `model_file`."""
    return sklearn_crfsuite.CRF(
        algorithm="lbfgs",
        c1=config.crf_c1,
        c2=config.crf_c2,
        max_iterations=config.crf_max_iterations,
        # Transitions never seen in training (O -> I-x) get learned (negative) weights.
        all_possible_transitions=True,
        model_filename=str(model_file),
    )


def fit_intent(
    config: Config, data: TrainingData
) -> tuple[tuple[TfidfVectorizer, TfidfVectorizer], list[str], np.ndarray, np.ndarray]:
    """The fitted vectorizers, the classes and the logistic regression's coefficients and intercepts."""
    texts = [e.text for e in data.train]
    intents = [e.intent for e in data.train]
    if len(set(intents)) < 2:
        raise HonkdataError(
            f"the baseline needs at least two intents in training, found {sorted(set(intents))}"
        )
    vectorizers = _vectorizers(config)
    features = sp.hstack([v.fit_transform(texts) for v in vectorizers], format="csr")
    model = LogisticRegression(C=config.c, max_iter=config.max_iter, random_state=config.seed)
    # L-BFGS's BLAS calls are on single vectors, too small for threads: a second one only adds
    # waiting (measured: twice the CPU time and a slower fit on Snips, on 2 cores).
    with threadpool_limits(1):
        model.fit(features, intents, sample_weight=np.array([e.weight for e in data.train]))
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:
        # Two classes: scikit-learn keeps one row (the second class's logit); softmax over
        # (0, logit) is the same sigmoid, so one code path serves both cases.
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    return vectorizers, [str(c) for c in model.classes_], coef, intercept


def train(config: Config, data: TrainingData, run: TrainingRun) -> BaselinePredictor:
    """Fit both models once, score the validation split, save the model into `run.folder`."""
    started = time.perf_counter()
    vectorizers, intents, coef, intercept = fit_intent(config, data)
    intent_seconds = time.perf_counter() - started
    crf = _fit_crf(config, data)
    tfidf = (Tfidf.of(vectorizers[0]), Tfidf.of(vectorizers[1]))
    predictor = BaselinePredictor(data.labels, config, tfidf, intents, coef, intercept, crf)
    run.count(examples=len(data.train), tokens=sum(len(e.tokens) for e in data.train))
    logs = {
        "intent_seconds": round(intent_seconds, 3),
        "crf_seconds": round(time.perf_counter() - started - intent_seconds, 3),
        "features": float(coef.shape[1]),
        "crf_attributes": float(len(crf.attributes)),
    }
    # The one fit is the best model by definition; end_epoch scores and logs it.
    run.end_epoch(1, predictor, logs)
    predictor.save(run.folder)
    return predictor


def load(folder: Path, labels: LabelSpace, config: Config) -> BaselinePredictor:
    """The predictor saved in `folder`; a one-line error if its files are missing or disagree with
    `labels`."""
    folder = Path(folder)
    if not (folder / WEIGHTS_FILE).is_file() or not (folder / STRINGS_FILE).is_file():
        raise HonkdataError(f"{folder} has no baseline weights ({WEIGHTS_FILE} and {STRINGS_FILE})")
    tensors = load_file(folder / WEIGHTS_FILE)
    strings = orjson.loads((folder / STRINGS_FILE).read_bytes())
    unknown = (set(strings["intents"]) - set(labels.intents)) | (set(strings["crf_tags"]) - set(labels.tags))
    if unknown:
        raise HonkdataError(
            f"{folder}: the weights predict labels outside its label space: {sorted(unknown)[:5]}"
        )
    tfidf = tuple(
        Tfidf(
            vectorizer.build_analyzer(),
            tuple(strings[f"{part}_vocabulary"]),
            tensors[f"tfidf.{part}.idf"],
            config.sublinear_tf,
        )
        for vectorizer, part in zip(_vectorizers(config), ("word", "char"), strict=True)
    )
    crf = CrfWeights.from_tensors(tensors, strings["crf_tags"], strings["crf_attributes"])
    return BaselinePredictor(
        labels,
        config,
        tfidf,
        strings["intents"],
        tensors["intent.coef"],
        tensors["intent.intercept"],
        crf,
    )
