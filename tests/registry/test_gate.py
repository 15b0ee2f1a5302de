"""The promotion gate: floors, tolerances against the champion, and refusals that say why."""

import orjson
import pytest

from honkdata.errors import HonkdataError
from honkdata.registry import GateConfig, MetricGate, decide

GATE = GateConfig(
    metrics={
        "intent_accuracy": MetricGate(floor=0.80, tolerance=0.005),
        "entity_f1": MetricGate(floor=0.60, tolerance=0.010),
    }
)
CHAMPION = {"golden": "snips@v1:test", "intent_accuracy": 0.950, "entity_f1": 0.743}


def test_a_first_model_needs_only_its_floors() -> None:
    decision = decide({"intent_accuracy": 0.81, "entity_f1": 0.60}, None, GATE)
    assert decision.promote and decision.failures == []
    assert decision.reason == "first model: every gated metric above its floor"
    assert decision.champion is None
    assert decision.thresholds["entity_f1"] == {
        "floor": 0.6,
        "tolerance": 0.01,
        "champion": None,
        "bound": 0.6,
    }


def test_a_first_model_below_a_floor_is_refused_with_the_shortfall() -> None:
    decision = decide({"intent_accuracy": 0.781, "entity_f1": 0.9}, None, GATE)
    assert not decision.promote
    assert decision.reason == "intent_accuracy 0.781 is below its floor 0.800 (short by 0.019)"
    assert decision.failures == [
        {"metric": "intent_accuracy", "value": 0.781, "bound": 0.8, "kind": "floor", "short_by": 0.019}
    ]


def test_within_tolerance_of_the_champion_passes_and_its_edge_too() -> None:
    # 0.733 is the champion's 0.743 less the tolerance 0.010, to the last bit or not.
    decision = decide({"intent_accuracy": 0.945, "entity_f1": 0.733}, CHAMPION, GATE)
    assert decision.promote, decision.reason
    assert decision.reason == "every gated metric above its floor and within its tolerance of the champion"
    assert decision.thresholds["entity_f1"]["bound"] == pytest.approx(0.733)
    assert decision.thresholds["intent_accuracy"]["champion"] == 0.95


def test_trailing_the_champion_by_more_than_the_tolerance_is_refused() -> None:
    challenger = {"intent_accuracy": 0.96, "entity_f1": 0.712}
    decision = decide(challenger, CHAMPION, GATE)
    assert not decision.promote
    assert decision.reason == "entity_f1 0.712 is 0.031 below the champion's 0.743 (tolerance 0.010)"
    (failure,) = decision.failures
    assert failure["kind"] == "champion" and failure["short_by"] == pytest.approx(0.021)
    assert failure["bound"] == pytest.approx(0.733)
    # The evidence: both metric sets and the thresholds, as JSON.
    evidence = orjson.loads(orjson.dumps(decision.to_dict()))
    assert evidence["challenger"] == challenger and evidence["champion"] == CHAMPION
    assert set(evidence["thresholds"]) == {"intent_accuracy", "entity_f1"}


def test_every_failure_is_named_in_the_one_line() -> None:
    decision = decide({"intent_accuracy": 0.70, "entity_f1": 0.55}, CHAMPION, GATE)
    kinds = [(f["metric"], f["kind"]) for f in decision.failures]
    assert kinds == [
        ("intent_accuracy", "floor"),
        ("intent_accuracy", "champion"),
        ("entity_f1", "floor"),
        ("entity_f1", "champion"),
    ]
    assert "\n" not in decision.reason and decision.reason.count(";") == 3


def test_a_metric_the_champion_lacks_is_judged_by_its_floor() -> None:
    gate = GateConfig(metrics={**GATE.metrics, "frame_accuracy": MetricGate(floor=0.5, tolerance=0.0)})
    decision = decide({"intent_accuracy": 0.95, "entity_f1": 0.74, "frame_accuracy": 0.51}, CHAMPION, gate)
    assert decision.promote and decision.thresholds["frame_accuracy"]["champion"] is None


@pytest.mark.parametrize(
    ("challenger", "message"),
    [
        ({"intent_accuracy": 0.9}, "the challenger's metrics have no entity_f1, a gated metric"),
        (
            {"intent_accuracy": "0.9", "entity_f1": 0.7},
            "the challenger's intent_accuracy is '0.9', not a number",
        ),
        ({"intent_accuracy": float("nan"), "entity_f1": 0.7}, "not a number"),
    ],
)
def test_unusable_metrics_are_an_error(challenger: dict, message: str) -> None:
    with pytest.raises(HonkdataError, match=message):
        decide(challenger, None, GATE)


def test_the_gate_config_names_a_bad_metric() -> None:
    with pytest.raises(ValueError, match="unknown gated metric 'accuracy'"):
        GateConfig(metrics={"accuracy": MetricGate()})
