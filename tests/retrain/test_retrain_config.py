"""The retrain config: the registry, gate and delivery sections `honkdata models` shares with retrain."""

from pathlib import Path

import pytest

from honkdata.errors import HonkdataError
from honkdata.retrain.config import load_retrain_config


def test_the_registry_sections_of_a_retrain_config(tmp_path: Path) -> None:
    path = tmp_path / "configs" / "retrain.yaml"
    path.parent.mkdir()
    path.write_text(
        "name: music-queries\n"  # the retrain job's own keys are left to it
        "registry: {backend: mlflow}\n"
        "gate:\n  metrics:\n    entity_f1: {floor: 0.7, tolerance: 0.02}\n"
        "delivery:\n  location: ../deploy\n  webhook: https://hooks.example.com/x\n"
    )
    config = load_retrain_config(path)
    assert config.registry.backend == "mlflow"
    assert list(config.gate.metrics) == ["entity_f1"] and config.gate.metrics["entity_f1"].floor == 0.7
    assert config.delivery.location == str(tmp_path / "deploy")  # relative to the config's folder
    path.write_text("delivery:\n  webhook: file:///etc/passwd\n")
    with pytest.raises(HonkdataError, match=r"delivery\.webhook: .*expected an http:// or https:// URL"):
        load_retrain_config(path)
    path.write_text("gate:\n  metrics:\n    entity_f1: {floor: high}\n")
    with pytest.raises(HonkdataError, match=r"gate.metrics.entity_f1.floor: Input should be a valid number"):
        load_retrain_config(path)
    assert load_retrain_config(None).delivery.location is None


def test_the_shipped_config_loads_and_its_paths_are_relative_to_it() -> None:
    config = load_retrain_config(None)
    assert Path(config.build).name == "build.yaml" and Path(config.build).is_file()
    assert config.golden.snapshot is None and config.golden.split == "test"


def test_an_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "retrain.yaml"
    path.write_text("recipe: baseline\ngolden: {split: test, snapshotz: x@v1}\n")
    with pytest.raises(HonkdataError, match=r"golden\.snapshotz"):
        load_retrain_config(path)
