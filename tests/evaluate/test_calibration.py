import pytest

from honkdata.evaluate.calibration import calibration


def test_ece_by_hand() -> None:
    # bin 9: one right at .95 -> |1 - .95|; bin 8: one wrong at .85; bin 1: one wrong at .15;
    # bin 5: .55 right and .52 wrong -> accuracy .5, mean confidence .535.
    result = calibration([True, False, False, True, False], [0.95, 0.85, 0.15, 0.55, 0.52])
    expected = (0.05 + 0.85 + 0.15) / 5 + 2 / 5 * abs(0.5 - 0.535)
    assert result["ece"] == pytest.approx(expected) == pytest.approx(0.224)
    bins = result["bins"]
    assert len(bins) == 10 and [b["n"] for b in bins] == [0, 1, 0, 0, 0, 2, 0, 0, 1, 1]
    assert (bins[5]["lower"], bins[5]["upper"]) == (0.5, 0.6)
    assert bins[5]["accuracy"] == 0.5 and bins[5]["confidence"] == pytest.approx(0.535)
    assert bins[0]["accuracy"] is None and bins[0]["confidence"] is None


def test_edges_fall_in_the_first_and_last_bin_and_a_calibrated_model_scores_zero() -> None:
    result = calibration([True, False, True, True, True, True], [1.0, 0.0, 0.75, 0.75, 0.75, 0.75])
    assert [b["n"] for b in result["bins"]][::9] == [1, 1]
    # 1.0 right and 0.0 wrong are perfectly calibrated; four right at .75 are off by .25.
    assert result["ece"] == pytest.approx(4 / 6 * 0.25)
    calibrated = calibration([True, True, True, False], [0.75] * 4)
    assert calibrated["ece"] == pytest.approx(0.0)


def test_nothing_scored_and_mismatched_lengths() -> None:
    assert calibration([], [])["ece"] == 0.0
    with pytest.raises(ValueError, match="2 outcomes but 1 confidences"):
        calibration([True, False], [0.5])
