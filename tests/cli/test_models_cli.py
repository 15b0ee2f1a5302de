"""`honkdata models list | show | promote | rollback | history` on real registered models, with the
retrain config's registry, gate and delivery sections, on both registry backends."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from honkdata.cli import app
from honkdata.registry import RegistryConfig, open_registry
from tests.registry.conftest import (  # noqa: F401 (fixtures)
    GOLDEN,
    Webhook,
    own_mlflow_store,
    trained_model,
    webhook,
)

runner = CliRunner()


@pytest.fixture(params=["local", "mlflow"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def root(trained_model: Path, tmp_path: Path, backend: str) -> Path:  # noqa: F811
    """mq@v1 (passes the default gate), mq@v2 (entity F1 under its floor), mq@v3."""
    root = tmp_path / "store"
    registry = open_registry(root, RegistryConfig(backend=backend))
    for entity_f1 in (0.70, 0.50, 0.72):
        registry.register("mq", trained_model, {**GOLDEN, "entity_f1": entity_f1})
    return root


@pytest.fixture
def config(tmp_path: Path, backend: str, webhook: Webhook) -> Path:  # noqa: F811
    path = tmp_path / "retrain.yaml"
    path.write_text(
        f"registry: {{backend: {backend}}}\ndelivery:\n  location: deploy\n  webhook: {webhook.url}\n"
    )
    return path


def _run(*args: str | Path) -> dict | list:
    result = runner.invoke(app, ["models", *map(str, args)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _fails(*args: str | Path) -> str:
    result = runner.invoke(app, ["models", *map(str, args)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    return result.output


def test_list_and_show(root: Path, config: Path) -> None:
    rows = _run("list", "--root", root, "--config", config, "--json")
    assert [r["ref"] for r in rows] == ["mq@v1", "mq@v2", "mq@v3"]
    assert rows[1]["metrics"]["entity_f1"] == 0.5 and rows[0]["lineage"]["snapshot"] == "snips@v1"
    table = runner.invoke(app, ["models", "list", "--root", str(root), "--config", str(config)])
    assert table.exit_code == 0 and "mq@v3" in table.output and "entity_f1" in table.output
    shown = _run("show", "mq@latest", "--root", root, "--config", config, "--json")
    assert shown["ref"] == "mq@v3" and shown["aliases"] == [] and Path(shown["card"]).is_file()
    assert shown["lineage"]["content_hash"] == rows[0]["lineage"]["content_hash"]
    text = runner.invoke(app, ["models", "show", "mq@v1", "--root", str(root), "--config", str(config)])
    assert text.exit_code == 0 and "snapshot: snips@v1" in text.output and "README.md" in text.output


def test_promote_deliver_and_roll_back(root: Path, config: Path, tmp_path: Path, webhook: Webhook) -> None:  # noqa: F811
    common = ("--root", root, "--config", config)
    first = _run("promote", "mq@v1", "--reason", "first model", *common, "--json")
    assert (first["status"], first["model"], first["previous"]) == ("promoted", "mq@v1", None)
    assert first["gate"]["promote"] and first["promotion"]["by"] == "manual"
    assert first["delivery"]["release"] == "mq-v1" and first["delivery"]["webhook_status"] == 200
    deploy = tmp_path / "deploy"  # relative to the config file's folder
    assert os.readlink(deploy / "current") == "mq-v1"

    # By hand, a version the gate would refuse goes through, with the gate's word on record.
    result = runner.invoke(app, ["models", "promote", "mq@v2", "--reason", "hotfix", *map(str, common)])
    assert result.exit_code == 0, result.output
    assert "the gate would refuse mq@v2: entity_f1 0.500 is below its floor 0.600" in result.stderr
    assert "mq@v2 promoted to champion (was mq@v1)" in result.stdout
    assert os.readlink(deploy / "current") == "mq-v2"

    back = _run("rollback", "mq", "--reason", "v2 drops artists", *common, "--json")
    assert (back["status"], back["model"], back["previous"]) == ("rolled_back", "mq@v1", "mq@v2")
    assert back["delivery"]["release"] == "mq-v1" and os.readlink(deploy / "current") == "mq-v1"
    assert [b["status"] for b in webhook.bodies] == ["promoted", "promoted", "rolled_back"]
    assert webhook.bodies[-1]["reason"] == "v2 drops artists"

    history = _run("history", "mq", *common, "--json")
    assert [(h["kind"], h["version"], h["previous"]) for h in history] == [
        ("promote", 1, None),
        ("promote", 2, 1),
        ("rollback", 1, 2),
    ]
    assert history[1]["evidence"]["failures"][0]["metric"] == "entity_f1"
    now = _run("history", "mq", "--at", "2999-01-01", *common, "--json")
    assert now["champion"]["ref"] == "mq@v1" and now["at"].startswith("2999-01-01T23:59:59")
    before = _run("history", "mq", "--at", "2000-01-01T00:00:00", *common, "--json")
    assert before["champion"] is None
    table = runner.invoke(app, ["models", "history", "mq", *map(str, common)])
    assert table.exit_code == 0 and "v2 drops artists" in table.output

    assert "no earlier champion to roll back to (the champion is v1)" in _fails(
        "rollback", "mq", "--reason", "again", *common
    )
    assert "mq@v1 is already the champion" in _fails("promote", "mq@champion", "--reason", "x", *common)


def test_a_failed_export_promotes_nothing(root: Path, config: Path, tmp_path: Path) -> None:
    (tmp_path / "deploy" / "mq-v1").mkdir(parents=True)  # something of someone else's in the way
    assert "is in the way of release mq-v1" in _fails(
        "promote", "mq@v1", "--reason", "x", "--root", root, "--config", config
    )
    assert _run("history", "mq", "--root", root, "--config", config, "--json") == []


def test_a_failing_webhook_warns_and_the_promotion_stands(
    root: Path,
    config: Path,
    webhook: Webhook,  # noqa: F811
) -> None:
    webhook.status = 500
    result = runner.invoke(
        app, ["models", "promote", "mq@v3", "--reason", "x", "--root", str(root), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert "webhook" in result.stderr and "HTTP 500" in result.stderr
    assert _run("show", "mq@champion", "--root", root, "--config", config, "--json")["ref"] == "mq@v3"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "mq@v9"], "mq has no version 9"),
        (["show", "other@v1"], "no registered model named 'other'"),
        (["show", "mq@best"], "bad model reference 'mq@best'"),
        (["show", "mq@challenger"], "mq has no challenger yet"),
        (["list", "--name", "other"], "no registered model named 'other'"),
        (["promote", "mq@v7", "--reason", "x"], "mq has no version 7"),
        (["rollback", "mq", "--reason", "x"], "no earlier champion to roll back to (it has no champion)"),
        (["rollback", "other", "--reason", "x"], "no registered model named 'other'"),
        (["history", "other"], "no registered model named 'other'"),
        (["history", "mq", "--at", "yesterday"], "--at 'yesterday': expected a date"),
        (["list", "--config", "no/such.yaml"], "config file not found: no/such.yaml"),
    ],
)
def test_bad_input_is_one_line(root: Path, backend: str, args: list[str], message: str) -> None:
    config = [] if "--config" in args else ["--config", str(_backend_config(root, backend))]
    assert message in _fails(*args, "--root", root, *config)


def _backend_config(root: Path, backend: str) -> Path:
    path = root.parent / "registry-only.yaml"
    path.write_text(f"registry: {{backend: {backend}}}\n")
    return path


def test_every_models_command_has_help() -> None:
    for command in ("list", "show", "promote", "rollback", "history"):
        result = runner.invoke(app, ["models", command, "--help"])
        assert result.exit_code == 0 and "--root" in result.stdout and "--config" in result.stdout
    assert "promote" in runner.invoke(app, ["models", "--help"]).stdout
