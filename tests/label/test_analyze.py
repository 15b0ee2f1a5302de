import numpy as np
import pytest

from honkdata.label.analyze import analyze_functions

INTENTS = ["a", "b", "c"]
# Rows x functions; -1 abstains. Function f2 never votes.
VOTES = np.array(
    [
        [0, 0, -1],
        [0, 1, -1],
        [-1, 1, -1],
        [1, -1, -1],
    ],
    np.int16,
)


def test_coverage_overlaps_conflicts() -> None:
    report = analyze_functions(VOTES, ["f0", "f1", "f2"], INTENTS)
    f0, f1, f2 = report
    assert f0["intent"] == "a,b" and f1["intent"] == "a,b" and f2["intent"] is None
    assert (f0["coverage"], f0["overlaps"], f0["conflicts"]) == (0.75, 0.5, 0.25)
    assert (f1["coverage"], f1["overlaps"], f1["conflicts"]) == (0.75, 0.5, 0.25)
    assert (f2["coverage"], f2["overlaps"], f2["conflicts"]) == (0.0, 0.0, 0.0)
    assert f0["accuracy"] is None and f0["correct"] is None


def test_empirical_accuracy_skips_rows_without_gold() -> None:
    gold = ["a", None, "b", "c"]
    f0, f1, f2 = analyze_functions(VOTES, ["f0", "f1", "f2"], INTENTS, gold)
    assert (f0["correct"], f0["incorrect"]) == (1, 1)
    assert f0["accuracy"] == 0.5
    assert (f1["correct"], f1["incorrect"], f1["accuracy"]) == (2, 0, 1.0)
    assert (f2["correct"], f2["incorrect"], f2["accuracy"]) == (0, 0, None)


def test_single_intent_functions_report_it() -> None:
    votes = np.array([[2, -1], [2, 2]], np.int16)
    report = analyze_functions(votes, ["x", "y"], INTENTS, ["c", "unknown"])
    assert [r["intent"] for r in report] == ["c", "c"]
    assert report[0]["correct"] == 1 and report[0]["incorrect"] == 1  # an unknown gold name is never matched
    assert report[1]["conflicts"] == 0.0 and report[1]["overlaps"] == 0.5


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="names"):
        analyze_functions(VOTES, ["f0"], INTENTS)
    with pytest.raises(ValueError, match="gold"):
        analyze_functions(VOTES, ["f0", "f1", "f2"], INTENTS, ["a"])
