"""Delivery: a release per champion at a local folder and at an fsspec URL, the `current` pointer
swapped whole, the webhook told (and its failure reported, not fatal), and the config it reads."""

import json
import os
import socket
from pathlib import Path

import fsspec
import pytest

from honkdata.errors import HonkdataError
from honkdata.registry import (
    DeliveryConfig,
    ModelVersion,
    RegistryConfig,
    current_release,
    deliver,
    open_registry,
    point_current,
)
from honkdata.snapshot.write import file_sha256
from honkdata.train.model import load_model
from tests.registry.conftest import GOLDEN, Webhook

SUMMARY = {"status": "promoted", "model": "mq@v1", "reason": "nightly retrain"}


@pytest.fixture
def versions(trained_model: Path, tmp_path: Path) -> list[ModelVersion]:
    registry = open_registry(tmp_path / "store", RegistryConfig())
    return [registry.register("mq", trained_model, GOLDEN) for _ in range(2)]


def test_a_local_release_and_the_current_symlink(versions: list[ModelVersion], tmp_path: Path) -> None:
    config = DeliveryConfig(location=str(tmp_path / "deploy"))
    report = tmp_path / "golden.html"
    report.write_text("<html>golden set report</html>")
    result = deliver(versions[0], config, SUMMARY, report)
    assert result == {
        "location": config.location,
        "release": "mq-v1",
        "previous": None,
        "webhook_status": None,
        "webhook_error": None,
    }
    release = tmp_path / "deploy" / "mq-v1"
    names = {p.name for p in release.iterdir()}
    assert {"model.safetensors", "labels.json", "config.yaml", "metrics.json", "README.md"} <= names
    assert (release / "report.html").read_text() == "<html>golden set report</html>"
    assert json.loads((release / "summary.json").read_text()) == SUMMARY
    manifest = json.loads((release / "release.json").read_text())
    assert manifest["model"] == "mq@v1" and manifest["lineage"]["snapshot"] == "snips@v1"
    assert manifest["files"]["model.safetensors"] == file_sha256(release / "model.safetensors")
    current = tmp_path / "deploy" / "current"
    assert current.is_symlink() and os.readlink(current) == "mq-v1"  # relative: the folder can move
    assert current_release(config) == "mq-v1"
    assert load_model(current).predict(["play the beatles"])[0].intent

    second = deliver(versions[1], config, SUMMARY)
    assert (second["release"], second["previous"]) == ("mq-v2", "mq-v1")
    assert current_release(config) == "mq-v2"
    assert not list((tmp_path / "deploy").glob(".*"))  # no staging folder, no temporary link left


def test_a_release_already_there_is_not_copied_again(versions: list[ModelVersion], tmp_path: Path) -> None:
    config = DeliveryConfig(location=str(tmp_path / "deploy"))
    deliver(versions[0], config, SUMMARY)
    deliver(versions[1], config, SUMMARY)
    marker = tmp_path / "deploy" / "mq-v1" / "summary.json"
    marker.write_text('{"kept": true}')
    assert deliver(versions[0], config, {"status": "rolled_back"})["release"] == "mq-v1"
    assert json.loads(marker.read_text()) == {"kept": True}
    point_current(config, "mq-v2")
    assert current_release(config) == "mq-v2"


def test_an_fsspec_url_gets_a_current_json(versions: list[ModelVersion], tmp_path: Path) -> None:
    location = f"memory://deploy-{tmp_path.name}"
    config = DeliveryConfig(location=location)
    assert current_release(config) is None
    assert deliver(versions[0], config, SUMMARY)["release"] == "mq-v1"
    fs, root = fsspec.core.url_to_fs(location)
    assert fs.exists(f"{root}/mq-v1/model.safetensors") and fs.exists(f"{root}/mq-v1/release.json")
    files = json.loads(fs.cat_file(f"{root}/mq-v1/release.json"))["files"]
    assert files["labels.json"] == file_sha256(versions[0].path / "labels.json")
    assert json.loads(fs.cat_file(f"{root}/current.json"))["release"] == "mq-v1"
    deliver(versions[1], config, SUMMARY)
    assert current_release(config) == "mq-v2"
    point_current(config, "mq-v1")
    assert current_release(config) == "mq-v1"


def test_a_release_without_release_json_does_not_count(versions: list[ModelVersion], tmp_path: Path) -> None:
    """An upload killed half way: the release is written again, and nothing can point at it before."""
    location = f"memory://deploy-{tmp_path.name}"
    config = DeliveryConfig(location=location)
    fs, root = fsspec.core.url_to_fs(location)
    fs.pipe_file(f"{root}/mq-v1/labels.json", b"half")
    with pytest.raises(HonkdataError, match="no release mq-v1 at"):
        point_current(config, "mq-v1")
    deliver(versions[0], config, SUMMARY)
    assert fs.cat_file(f"{root}/mq-v1/labels.json") == (versions[0].path / "labels.json").read_bytes()


def test_the_webhook_gets_the_summary(versions: list[ModelVersion], tmp_path: Path, webhook: Webhook) -> None:
    config = DeliveryConfig(location=str(tmp_path / "deploy"), webhook=webhook.url)
    result = deliver(versions[0], config, SUMMARY)
    assert result["webhook_status"] == 200 and result["webhook_error"] is None
    (body,) = webhook.bodies
    assert body["model"] == "mq@v1" and body["reason"] == "nightly retrain"
    assert body["delivery"] == {"location": config.location, "release": "mq-v1", "previous": None}
    assert webhook.content_types == ["application/json"]


def test_a_webhook_alone_needs_no_location(versions: list[ModelVersion], webhook: Webhook) -> None:
    result = deliver(versions[0], DeliveryConfig(webhook=webhook.url), SUMMARY)
    assert (result["release"], result["webhook_status"]) == (None, 200)
    assert webhook.bodies[0]["status"] == "promoted"


def test_a_failing_webhook_is_reported_not_fatal(
    versions: list[ModelVersion], tmp_path: Path, webhook: Webhook
) -> None:
    webhook.status = 503
    config = DeliveryConfig(location=str(tmp_path / "deploy"), webhook=webhook.url)
    result = deliver(versions[0], config, SUMMARY)
    assert result["webhook_status"] == 503 and "HTTP 503" in result["webhook_error"]
    assert current_release(config) == "mq-v1"  # the delivery stands


def test_an_unreachable_webhook_is_reported(
    versions: list[ModelVersion], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = DeliveryConfig(webhook=f"http://127.0.0.1:{port}/hook", webhook_timeout_s=2)
    result = deliver(versions[0], config, SUMMARY)
    assert result["webhook_status"] is None and result["webhook_error"]


def test_nothing_configured_is_nothing_done(versions: list[ModelVersion]) -> None:
    config = DeliveryConfig()
    assert deliver(versions[0], config, SUMMARY) is None and current_release(config) is None
    with pytest.raises(HonkdataError, match=r"delivery\.location is not set"):
        point_current(config, "mq-v1")


def test_what_is_in_the_way_is_refused(versions: list[ModelVersion], tmp_path: Path) -> None:
    deploy = tmp_path / "deploy"
    (deploy / "mq-v1").mkdir(parents=True)
    with pytest.raises(HonkdataError, match="is in the way of release mq-v1"):
        deliver(versions[0], DeliveryConfig(location=str(deploy)), SUMMARY)
    other = tmp_path / "other"
    (other / "current").mkdir(parents=True)  # a real folder, not our pointer
    with pytest.raises(HonkdataError, match=r"cannot point .*current at mq-v1"):
        deliver(versions[0], DeliveryConfig(location=str(other)), SUMMARY)
    assert (other / "current").is_dir() and not (other / "current").is_symlink()
    with pytest.raises(HonkdataError, match=r"delivery\.location nope://x"):
        deliver(versions[0], DeliveryConfig(location="nope://x"), SUMMARY)
