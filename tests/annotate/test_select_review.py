import pytest

from honkdata.annotate.select import select_for_review
from honkdata.errors import HonkdataError
from tests.annotate.conftest import rows

# id, label_source, label_confidence, label_disagreement
TABLE = rows(
    *(
        {"id": i, "text": f"query {i}", "label_source": s, "label_confidence": c, "label_disagreement": d}
        for i, s, c, d in [
            ("a", "gold", 0.10, 0.9),
            ("b", "weak", 0.50, 0.5),
            ("c", "weak", 0.30, 0.0),
            ("d", None, None, None),
            ("e", "human", 0.05, 1.0),
            ("f", "model", 0.30, 0.5),
            ("g", "weak", 0.90, 0.2),
        ]
    )
)


def ids(table) -> list[str]:
    return table.column("id").to_pylist()


def test_uncertainty_takes_unlabeled_then_lowest_confidence_ties_by_id():
    assert ids(select_for_review(TABLE, 10, "uncertainty")) == ["d", "c", "f", "b", "g"]
    assert ids(select_for_review(TABLE, 2, "uncertainty")) == ["d", "c"]


def test_disagreement_takes_most_conflicting_first_ties_by_id():
    assert ids(select_for_review(TABLE, 3, "disagreement")) == ["b", "f", "g"]
    # Rows without a disagreement score come last.
    assert ids(select_for_review(TABLE, 10, "disagreement"))[-1] == "d"


def test_random_is_seeded_ignores_input_order_and_never_sends_human_rows():
    first = ids(select_for_review(TABLE, 10, "random", seed=3))
    assert sorted(first) == ["a", "b", "c", "d", "f", "g"]  # gold stays eligible for random checks
    assert ids(select_for_review(TABLE.take([6, 5, 4, 3, 2, 1, 0]), 10, "random", seed=3)) == first
    others = {tuple(ids(select_for_review(TABLE, 10, "random", seed=s))) for s in range(5)}
    assert len(others) > 1
    assert ids(select_for_review(TABLE, 2, "random", seed=3)) == first[:2]


def test_selection_keeps_the_columns_and_handles_edges():
    assert select_for_review(TABLE, 3, "uncertainty").schema == TABLE.schema
    assert select_for_review(TABLE, 0, "uncertainty").num_rows == 0
    with pytest.raises(HonkdataError, match="strategy"):
        select_for_review(TABLE, 3, "loudest")  # type: ignore[arg-type]
    with pytest.raises(HonkdataError, match=">= 0"):
        select_for_review(TABLE, -1, "random")
