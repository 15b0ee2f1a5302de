"""What the registry, the promotion gate and delivery read from `configs/retrain.yaml`.

`honkdata retrain` and `honkdata models` load the same file, so a manual promote or rollback goes
through the same registry, gate and deploy location as the nightly job.
"""

from typing import Literal

from pydantic import Field, field_validator, model_validator

from honkdata.config import _Strict
from honkdata.evaluate.metrics import HEADLINE


class RegistryConfig(_Strict):
    # local: files under <root>/_registry, published atomically like the snapshot store.
    # mlflow: MLflow's model registry at `tracking_uri` (the `mlflow` extra), same commands.
    backend: Literal["local", "mlflow"] = "local"
    # mlflow only [default: $MLFLOW_TRACKING_URI, else a file store at <root>/_registry/_mlflow]
    tracking_uri: str | None = None


class MetricGate(_Strict):
    """One gated metric: the challenger must reach `floor`, and may trail the champion by at most
    `tolerance` (both fractions, as `honkdata eval --json` prints them)."""

    floor: float = Field(0.0, ge=0.0, le=1.0)
    tolerance: float = Field(0.0, ge=0.0, le=1.0)


class GateConfig(_Strict):
    metrics: dict[str, MetricGate] = Field(
        default_factory=lambda: {
            "intent_accuracy": MetricGate(floor=0.80, tolerance=0.005),
            "entity_f1": MetricGate(floor=0.60, tolerance=0.01),
        }
    )

    @model_validator(mode="after")
    def _known_metrics(self) -> "GateConfig":
        unknown = sorted(set(self.metrics) - set(HEADLINE))
        if unknown:
            raise ValueError(f"unknown gated metric {unknown[0]!r}: one of {', '.join(HEADLINE)}")
        if not self.metrics:
            raise ValueError("gate at least one metric")
        return self


class DeliveryConfig(_Strict):
    # A folder or an fsspec URL (file://, memory://, s3://...) where promoted champions are exported
    # and a `current` pointer names the live one; null: no export.
    location: str | None = None
    # POSTed the retrain summary (JSON) after a promotion or rollback; null: no webhook.
    webhook: str | None = None
    webhook_timeout_s: float = Field(10.0, gt=0)

    @field_validator("webhook")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        # urllib would also open file:// and ftp:// URLs: a webhook is an HTTP endpoint.
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value
