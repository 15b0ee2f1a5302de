"""`configs/retrain.yaml`: what the nightly job builds, trains, compares on, and promotes through.

One file for the scheduler: the build config it reads new logs with, the recipe it trains, the golden
test set every comparison uses, the gate, the registry, delivery and drift thresholds. `honkdata
models` reads the same file, so a manual promote or rollback uses the same registry and deploy location.
"""

from pathlib import Path

from pydantic import Field, ValidationError

from honkdata.config import NAME_PATTERN, _read_yaml, _rebase, _Strict, describe_errors
from honkdata.errors import HonkdataError
from honkdata.registry.config import DeliveryConfig, GateConfig, RegistryConfig
from honkdata.resources import shipped_config
from honkdata.snapshot.drift import DriftThresholds

GOLDEN_TAG = "golden"
# Paths in the file, relative to its folder; a deploy location that is a URL stays as it is.
_PATH_KEYS = ("build", "train_config", "delivery.location")


class GoldenConfig(_Strict):
    # The frozen test set: a snapshot's split, pinned. null: the first snapshot retrain builds is
    # tagged `golden` and pinned from then on, so every later champion and challenger meet the same rows.
    snapshot: str | None = None
    split: str = Field("test", pattern="^(train|validation|test)$")


class LabelQualityConfig(_Strict):
    # Out-of-sample label-quality scores (cleanlab) beside each new snapshot, for
    # `honkdata annotate export --strategy label-issues`.
    enabled: bool = True
    folds: int = Field(5, ge=2)


class RetrainConfig(_Strict):
    build: str | None = None  # the build config; relative to this file [default: the shipped build.yaml]
    name: str | None = Field(None, pattern=NAME_PATTERN)  # dataset [default: the build config's]
    model_name: str | None = Field(None, pattern=NAME_PATTERN)  # registered model [default: the dataset's]
    recipe: str = "baseline"
    train_config: str | None = None  # the recipe's YAML [default: the shipped configs/train/<recipe>.yaml]
    train: dict[str, object] = Field(default_factory=dict)  # overrides on top of it, as `key=value`
    # The champion labels the new snapshot's unlabeled rows (model-assisted labels, above the build
    # config's labels.model_min_confidence); the labels are checked against gold and counted.
    label_with_champion: bool = True
    golden: GoldenConfig = GoldenConfig()
    gate: GateConfig = GateConfig()
    registry: RegistryConfig = RegistryConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    drift: DriftThresholds = DriftThresholds()
    label_quality: LabelQualityConfig = LabelQualityConfig()


def load_retrain_config(path: Path | None = None) -> RetrainConfig:
    """The retrain config at `path` (else the shipped one), its file paths made relative to its folder."""
    path = Path(path) if path is not None else shipped_config("retrain.yaml")
    if not path.is_file():
        raise HonkdataError(f"config file not found: {path}")
    data = _read_yaml(path)
    _rebase(data, path.parent, _PATH_KEYS)
    try:
        return RetrainConfig.model_validate(data)
    except ValidationError as e:
        raise HonkdataError(f"config {path}: {describe_errors(e)}") from None
