"""The model registry, on both backends: registration with lineage, refs and aliases, promotions and
rollbacks as a history, the champion at a past time, and what a killed or concurrent writer leaves."""

import json
import re
import shutil
import threading
from datetime import datetime
from pathlib import Path

import pytest

from honkdata.errors import HonkdataError
from honkdata.registry import Registry, store
from honkdata.registry.mlflow_registry import MlflowBackend
from honkdata.registry.store import ModelRegistry
from honkdata.snapshot.store import SnapshotStore
from honkdata.train.model import load_model
from tests.registry.conftest import GOLDEN, make_registry


def _metrics(**changes: float) -> dict:
    return {**GOLDEN, **changes}


def test_register_keeps_the_folder_and_its_lineage(
    registry: Registry, trained_model: Path, labeled_store: Path
) -> None:
    v1 = registry.register("music-queries", trained_model, _metrics())
    v2 = registry.register("music-queries", trained_model, _metrics(entity_f1=0.75))
    assert (v1.ref, v2.ref, v2.version) == ("music-queries@v1", "music-queries@v2", 2)
    assert v1.path != trained_model and (v1.path / "model.safetensors").is_file()
    assert trained_model.is_dir()  # copied, not taken
    manifest = SnapshotStore(labeled_store).manifest(SnapshotStore(labeled_store).resolve("snips@v1"))
    assert v1.lineage["snapshot"] == "snips@v1" and v1.lineage["content_hash"] == manifest["content_hash"]
    assert len(v1.lineage["manifest_sha256"]) == 64 and len(v1.lineage["config_sha256"]) == 64
    assert v1.recipe == "baseline" and v1.metrics == _metrics() and v2.metrics["entity_f1"] == 0.75
    assert datetime.fromisoformat(v1.created).tzinfo is not None
    assert registry.names() == ["music-queries"]
    assert [v.version for v in registry.versions("music-queries")] == [1, 2]
    assert load_model(v2.path).predict(["play some jazz"])[0].intent


def test_move_takes_the_folder(registry: Registry, trained_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "to-move"
    shutil.copytree(trained_model, folder)
    version = registry.register("mq", folder, _metrics(), move=True)
    assert not folder.exists() and (version.path / "labels.json").is_file()


@pytest.mark.parametrize(
    ("ref", "expected"),
    [("mq@v1", 1), ("mq@2", 2), ("mq@latest", 3), ("mq", 3), ("mq@champion", 2), ("mq@challenger", 3)],
)
def test_refs(registry: Registry, trained_model: Path, ref: str, expected: int) -> None:
    for _ in range(3):
        registry.register("mq", trained_model, _metrics())
    registry.promote("mq", 2, reason="better")
    registry.set_challenger("mq", 3)
    assert registry.resolve(ref).version == expected
    assert registry.alias("mq", "champion").aliases == ("champion",)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("mq@v9", "mq has no version 9 (versions: v1)"),
        ("mq@champion", "mq has no champion yet"),
        ("mq@challenger", "mq has no challenger yet"),
        ("mq@best", "bad model reference 'mq@best'"),
        ("other@v1", "no registered model named 'other'"),
        ("../mq@v1", "bad model name '../mq'"),
    ],
)
def test_bad_refs_are_one_line(registry: Registry, trained_model: Path, ref: str, message: str) -> None:
    registry.register("mq", trained_model, _metrics())
    with pytest.raises(HonkdataError, match=re.escape(message)):
        registry.resolve(ref)


def test_promotions_and_rollbacks_form_a_history(registry: Registry, trained_model: Path) -> None:
    for _ in range(3):
        registry.register("mq", trained_model, _metrics())
    assert registry.alias("mq", "champion") is None
    registry.set_challenger("mq", 1)
    first = registry.promote(
        "mq", 1, reason="first model", evidence={"gate": {"promote": True}}, by="retrain"
    )
    assert (first.previous, first.kind, first.by, first.evidence) == (
        None,
        "promote",
        "retrain",
        {"gate": {"promote": True}},
    )
    assert registry.alias("mq", "challenger") is None  # the challenger that won is no longer one
    registry.promote("mq", 2, reason="better")
    registry.promote("mq", 3, reason="better still")
    with pytest.raises(HonkdataError, match="mq@v3 is already the champion"):
        registry.promote("mq", 3, reason="again")
    with pytest.raises(HonkdataError, match="mq has no version 7"):
        registry.promote("mq", 7, reason="no such")
    back = registry.rollback("mq", reason="v3 mislabels radio")
    assert (back.version, back.previous, back.kind) == (2, 3, "rollback")
    # Twice back is two champions back, not forth again to v3.
    assert registry.rollback("mq", reason="v2 too").version == 1
    with pytest.raises(HonkdataError, match=r"no earlier champion to roll back to \(the champion is v1\)"):
        registry.rollback("mq", reason="nothing left")
    history = registry.history("mq")
    assert [(p.kind, p.version, p.previous) for p in history] == [
        ("promote", 1, None),
        ("promote", 2, 1),
        ("promote", 3, 2),
        ("rollback", 2, 3),
        ("rollback", 1, 2),
    ]
    assert history[3].reason == "v3 mislabels radio" and history[3].by == "manual"
    assert registry.resolve("mq@champion").version == 1
    assert [v.aliases for v in registry.versions("mq")] == [("champion",), (), ()]


def test_rollback_without_a_champion(registry: Registry, trained_model: Path) -> None:
    registry.register("mq", trained_model, _metrics())
    with pytest.raises(HonkdataError, match=r"no earlier champion to roll back to \(it has no champion\)"):
        registry.rollback("mq", reason="nothing")


def test_champion_at_a_past_time(
    registry: Registry, trained_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        registry.register("mq", trained_model, _metrics())
    times = iter(["2026-11-19T03:00:00+00:00", "2026-11-21T03:00:00+00:00", "2026-11-22T09:30:00+00:00"])
    monkeypatch.setattr(store, "now_iso", lambda: next(times))
    registry.promote("mq", 1, reason="first")
    registry.promote("mq", 2, reason="nightly")
    registry.rollback("mq", reason="bad")

    def at(text: str) -> int | None:
        champion = registry.champion_at("mq", datetime.fromisoformat(text))
        return champion and champion.version

    assert at("2026-11-18T23:59:59+00:00") is None
    assert at("2026-11-20T23:59:59+00:00") == 1  # "which model was champion on 2026-11-20"
    assert at("2026-11-21T03:00:00") == 2  # naive: UTC; the moment of the promotion counts
    assert at("2026-11-22T10:00:00+01:00") == 2  # 09:00 UTC: before the rollback
    assert at("2026-11-23T00:00:00+00:00") == 1


def test_a_failed_registration_leaves_nothing(
    registry: Registry, trained_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.shutil, "copytree", fail)
    with pytest.raises(OSError, match="No space left"):
        registry.register("mq", trained_model, _metrics())
    monkeypatch.undo()
    assert registry.versions("mq") == []
    assert not list(registry.root.glob("mq/.staging-*"))
    assert registry.register("mq", trained_model, _metrics()).version == 1


def test_a_killed_registration_is_cleared_by_the_next(registry: Registry, trained_model: Path) -> None:
    registry.register("mq", trained_model, _metrics())
    stale = registry.root / "mq" / ".staging-999999"
    shutil.copytree(trained_model, stale / "model")
    assert [v.version for v in registry.versions("mq")] == [1]
    assert registry.register("mq", trained_model, _metrics()).version == 2
    assert not stale.exists()


def test_concurrent_writers_take_turns(registry: Registry, trained_model: Path, tmp_path: Path) -> None:
    # A second registry object on the same root is another writer (flock is per open file).
    assert isinstance(registry, ModelRegistry)
    other = make_registry(
        "mlflow" if isinstance(registry.backend, MlflowBackend) else "local", tmp_path / "store"
    )
    errors: list[BaseException] = []

    def register(target: Registry) -> None:
        try:
            target.register("mq", trained_model, _metrics())
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=register, args=(r,)) for r in (registry, other, registry)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [v.version for v in registry.versions("mq")] == [1, 2, 3]


def test_refuses_what_is_not_a_trained_model(registry: Registry, trained_model: Path, tmp_path: Path) -> None:
    with pytest.raises(HonkdataError, match="no model folder"):
        registry.register("mq", tmp_path / "nothing", _metrics())
    bare = tmp_path / "bare"
    shutil.copytree(trained_model, bare)
    (bare / "metrics.json").write_text(json.dumps({"test": {}}))
    with pytest.raises(HonkdataError, match="no training lineage"):
        registry.register("mq", bare, _metrics())
    with pytest.raises(HonkdataError, match="registry metrics must be JSON"):
        registry.register("mq", trained_model, {"model": object()})
    with pytest.raises(HonkdataError, match="bad model name"):
        registry.register("_registry", trained_model, _metrics())
    assert registry.names() == []


def test_a_damaged_history_is_one_line(registry: Registry, trained_model: Path) -> None:
    registry.register("mq", trained_model, _metrics())
    (registry.root / "mq" / "history.jsonl").write_text("{not json\n")
    with pytest.raises(HonkdataError, match=r"promotion history .* is damaged"):
        registry.history("mq")


def test_mlflow_sees_the_versions_tags_and_aliases(trained_model: Path, tmp_path: Path) -> None:
    registry = make_registry("mlflow", tmp_path / "store")
    assert isinstance(registry, ModelRegistry) and isinstance(registry.backend, MlflowBackend)
    client = registry.backend.client
    registry.register("mq", trained_model, _metrics())
    registry.register("mq", trained_model, _metrics(entity_f1=0.8))
    registry.promote("mq", 1, reason="first")
    registry.set_challenger("mq", 2)
    model = client.get_registered_model("mq")
    assert model.aliases == {"champion": "1", "challenger": "2"}
    mv = client.get_model_version("mq", "2")
    assert json.loads(mv.tags["honkdata.metrics"])["entity_f1"] == 0.8
    assert mv.tags["honkdata.snapshot"] == "snips@v1" and Path(mv.source) == registry.resolve("mq@v2").path
    registry.promote("mq", 2, reason="better")
    registry.rollback("mq", reason="worse in the field")
    assert client.get_registered_model("mq").aliases == {"champion": "1"}
    # The history MLflow lacks sits beside the weights.
    assert len((registry.root / "mq" / "history.jsonl").read_text().splitlines()) == 3


def test_the_registry_is_not_a_dataset(registry: Registry, trained_model: Path) -> None:
    registry.register("mq", trained_model, _metrics())
    assert registry.root.name == "_registry"
    assert SnapshotStore(registry.root.parent).names() == []
