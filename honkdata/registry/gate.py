"""The promotion gate: a challenger becomes champion only if, on the golden set, each gated metric
reaches its absolute floor and trails the champion's by at most its tolerance (with no champion yet,
the floors alone decide).

The decision carries its evidence: both metric sets, every threshold, and for a refusal each metric
that failed, against which bound and by how much, so a refusal says why in one line.
"""

import math
from dataclasses import asdict, dataclass

from honkdata.errors import HonkdataError
from honkdata.registry.config import GateConfig

# Metrics are fractions computed from counts; a value equal to its bound must pass, whatever the last
# bit of `champion - tolerance` came out as.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str  # one line
    challenger: dict  # the challenger's golden-set metrics, as given
    champion: dict | None  # the champion's, None without a champion
    thresholds: dict  # metric -> {floor, tolerance, champion, bound}
    failures: list[dict]  # {metric, value, bound, kind: "floor" | "champion", short_by}

    def to_dict(self) -> dict:
        return asdict(self)


def _value(metrics: dict, metric: str, whose: str) -> float | None:
    value = metrics.get(metric)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise HonkdataError(f"the {whose}'s {metric} is {value!r}, not a number")
    return float(value)


def decide(challenger: dict, champion: dict | None, gate: GateConfig) -> Decision:
    """Judge `challenger`'s metrics against the gate's floors and `champion`'s metrics (None: no
    champion yet). A gated metric the challenger lacks is an error; one the champion lacks (the gate
    grew a metric since it was promoted) is judged by its floor alone."""
    thresholds: dict[str, dict] = {}
    failures: list[dict] = []
    messages: list[str] = []
    for metric, rule in gate.metrics.items():
        value = _value(challenger, metric, "challenger")
        if value is None:
            raise HonkdataError(f"the challenger's metrics have no {metric}, a gated metric")
        best = _value(champion, metric, "champion") if champion is not None else None
        lowest = best - rule.tolerance if best is not None else None
        thresholds[metric] = {
            "floor": rule.floor,
            "tolerance": rule.tolerance,
            "champion": best,
            "bound": max(rule.floor, lowest) if lowest is not None else rule.floor,
        }
        if value + _EPSILON < rule.floor:
            short = rule.floor - value
            failures.append(_failure(metric, value, rule.floor, "floor", short))
            messages.append(
                f"{metric} {value:.3f} is below its floor {rule.floor:.3f} (short by {short:.3f})"
            )
        if lowest is not None and value + _EPSILON < lowest:
            failures.append(_failure(metric, value, lowest, "champion", lowest - value))
            messages.append(
                f"{metric} {value:.3f} is {best - value:.3f} below the champion's {best:.3f} "
                f"(tolerance {rule.tolerance:.3f})"
            )
    if failures:
        reason = "; ".join(messages)
    elif champion is None:
        reason = "first model: every gated metric above its floor"
    else:
        reason = "every gated metric above its floor and within its tolerance of the champion"
    return Decision(not failures, reason, challenger, champion, thresholds, failures)


def _failure(metric: str, value: float, bound: float, kind: str, short_by: float) -> dict:
    return {"metric": metric, "value": value, "bound": bound, "kind": kind, "short_by": round(short_by, 6)}
