from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import cohen_kappa_score

from honkdata.annotate.agreement import ANNOTATIONS, aggregate_annotations, cohen_kappa, fleiss_kappa

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories.
# P-bar = 172/455 (0.378), P-bar_e = 417/1960 (0.213), kappa = 4211/20059 (0.210).
WIKIPEDIA = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (["x", "x", "y", "y", "z", "x"], ["x", "y", "y", "y", "z", "z"]),
        (["x", "y", "x", "y"], ["y", "x", "y", "x"]),  # systematic disagreement: negative
        (["x", "y", "z", "x"], ["x", "y", "w", "w"]),  # labels only one of them used
        (["x"] * 5 + ["y"] * 5, ["x"] * 5 + ["y"] * 5),  # perfect: 1
    ],
)
def test_cohen_kappa_matches_sklearn(a, b):
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_cohen_kappa_by_hand_and_undefined():
    # p_o = 4/6; p_e = (1*2 + 1*1 + 1*1 + 1*1) / 36 = 5/36; kappa = (24 - 5) / (36 - 5) = 19/31.
    a = ["play", "add", "rec", "dis", "info", "ctl"]
    b = ["play", "add", "play", "dis", "info", "like"]
    assert cohen_kappa(a, b) == pytest.approx(float(Fraction(19, 31)), abs=1e-15)
    assert np.isnan(cohen_kappa(["x", "x"], ["x", "x"]))  # chance agreement 1: undefined
    with pytest.raises(ValueError):
        cohen_kappa(["x"], ["x", "y"])


def test_fleiss_kappa_wikipedia_example():
    assert fleiss_kappa(np.array(WIKIPEDIA)) == pytest.approx(float(Fraction(4211, 20059)), abs=1e-15)
    assert round(fleiss_kappa(np.array(WIKIPEDIA)), 3) == 0.210


def test_fleiss_kappa_needs_a_constant_number_of_raters():
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa(np.array([[2, 1], [1, 1]]))
    with pytest.raises(ValueError):
        fleiss_kappa(np.array([[1, 0]]))  # one rater per item: nothing to agree on


def votes(*rows: tuple) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"id": i, "text": t, "annotator": a, "intent": intent, "entities": e}
            for i, t, a, intent, e in rows
        ],
        schema=ANNOTATIONS,
    )


ARTIST = [{"type": "artist", "start": 5, "end": 10, "text": "adele"}]
TRACK = [{"type": "track", "start": 5, "end": 10, "text": "adele"}]


def test_majority_ties_go_to_the_first_annotator_by_name_and_later_rows_replace_earlier():
    labels, report = aggregate_annotations(
        votes(
            ("q1", "play adele", "zoe", "play_music", []),
            ("q1", "play adele", "amy", "recommend", []),  # tie 1-1: amy sorts first
            ("q2", "play adele", "amy", "like", []),
            ("q2", "play adele", "amy", "dislike", []),  # amy changed her mind: one vote, the last
            ("q2", "play adele", "bob", "dislike", []),
        )
    )
    got = {r["id"]: r for r in labels.to_pylist()}
    assert (got["q1"]["intent"], got["q1"]["agreement"], got["q1"]["n_annotators"]) == ("recommend", 0.5, 2)
    assert (got["q2"]["intent"], got["q2"]["agreement"], got["q2"]["n_annotators"]) == ("dislike", 1.0, 2)
    assert report["annotations"] == 4
    assert report["cohen_kappa"] is None  # three people across the shared items: Fleiss only
    assert report["fleiss_kappa"] is not None and report["fleiss_items"] == 2


def test_entities_come_from_the_span_set_most_majority_annotators_gave():
    labels, _ = aggregate_annotations(
        votes(
            ("q", "play adele", "a", "play_music", TRACK),
            ("q", "play adele", "b", "play_music", ARTIST),
            ("q", "play adele", "c", "play_music", ARTIST),
            ("q", "play adele", "d", "like", TRACK),  # not in the majority: its spans do not count
            ("q", "play adele", "e", "like", TRACK),
        )
    )
    row = labels.to_pylist()[0]
    assert row["intent"] == "play_music" and row["agreement"] == pytest.approx(0.6)
    assert [e["type"] for e in row["entities"]] == ["artist"]


def test_single_annotator_items_have_no_kappa():
    labels, report = aggregate_annotations(votes(("q", "skip", "a", "playback_control", [])))
    assert labels.num_rows == 1
    assert report == {
        "items": 1,
        "annotators": 1,
        "annotations": 1,
        "items_with_several_annotators": 0,
        "percent_agreement": None,
        "cohen_kappa": None,
        "fleiss_kappa": None,
        "fleiss_items": 0,
    }
    empty, report = aggregate_annotations(votes())
    assert empty.num_rows == 0 and report["items"] == 0
