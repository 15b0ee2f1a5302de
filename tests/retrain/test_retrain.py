"""`honkdata retrain` end to end: real builds, a real baseline, the real registry, gate and delivery."""

import ast
import http.server
import json
import threading
from pathlib import Path
from typing import ClassVar

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from honkdata.cli import app
from honkdata.cli.retrain import EXIT_FAILED, EXIT_HELD
from honkdata.config import default_root
from honkdata.registry import open_registry
from honkdata.registry.config import RegistryConfig
from honkdata.retrain.history import retrain_runs, work_dir
from honkdata.retrain.lock import retrain_lock
from honkdata.snapshot.store import SnapshotStore

EXAMPLES = Path(__file__).parents[2] / "examples" / "scheduling"
PART_ROWS = 700


@pytest.fixture(scope="module")
def labeled_rows(labeled_store: Path) -> list[dict]:
    """Gold rows of the shipped Snips sample, as labeled-jsonl lines, in a fixed order."""
    table = SnapshotStore(labeled_store).read(SnapshotStore(labeled_store).resolve("snips@v1"))
    rows = table.select(["id", "text", "intent", "entities"]).sort_by("id").to_pylist()
    return [
        {
            "query": r["text"],
            "intent": r["intent"],
            "entities": [{k: e[k] for k in ("type", "start", "end")} for e in r["entities"] or []],
        }
        for r in rows
        if r["intent"] is not None
    ]


def write_part(logs: Path, name: str, rows: list[dict]) -> Path:
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / name
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


@pytest.fixture
def setup(tmp_path: Path, labeled_rows: list[dict]) -> dict:
    """A retrain config over a logs folder holding one part of the labeled rows."""
    logs = tmp_path / "logs"
    write_part(logs, "part-1.jsonl", labeled_rows[:PART_ROWS])
    build = {
        "name": "flywheel",
        "sources": [
            # Snips is published text: what looks like an address in it may be published.
            {
                "path": "logs",
                "format": "labeled-jsonl",
                "kind": "curated",
                "split": "resplit",
                "allow_pii": True,
            }
        ],
        "labels": {"weak": False},
    }
    (tmp_path / "build.yaml").write_text(yaml.safe_dump(build))
    retrain = {
        "build": "build.yaml",
        "recipe": "baseline",
        "train": {"crf_max_iterations": 20},
        "gate": {"metrics": {"intent_accuracy": {"floor": 0.5, "tolerance": 0.02}}},
        "label_quality": {"enabled": False},
    }
    return {"dir": tmp_path, "logs": logs, "retrain": retrain}


def config_file(setup: dict, **changes: object) -> Path:
    path = setup["dir"] / "retrain.yaml"
    path.write_text(yaml.safe_dump({**setup["retrain"], **changes}))
    return path


def run_retrain(config: Path, *args: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(app, ["retrain", "--config", str(config), *args])
    last = result.stdout.strip().splitlines()[-1]
    return result.exit_code, json.loads(last), result.stderr


def test_first_run_promotes_then_up_to_date_then_new_files_retrain(
    setup: dict, labeled_rows: list[dict]
) -> None:
    config = config_file(setup)
    code, first, _ = run_retrain(config)
    assert code == 0, first
    assert first["status"] == "promoted"
    assert first["snapshot"] == "flywheel@v1" and first["parent"] is None
    assert first["model"] == first["champion"] == "flywheel@v1"
    assert first["golden"] == "flywheel@v1:test"
    assert first["metrics"]["champion"] is None  # no champion yet: the floors alone decided
    assert first["metrics"]["challenger"]["intent_accuracy"] >= 0.5

    code, second, _ = run_retrain(config, "--json")
    assert code == 0
    assert second["status"] == "up_to_date"
    assert "no new input" in second["reason"]
    assert second["snapshot"] == "flywheel@v1" and second["champion"] == first["champion"]
    store = SnapshotStore(default_root())
    assert store.versions("flywheel") == [1]
    registry = open_registry(store.root, RegistryConfig())
    assert [v.version for v in registry.versions("flywheel")] == [1]

    write_part(setup["logs"], "part-2.jsonl", labeled_rows[PART_ROWS : 2 * PART_ROWS])
    code, third, stderr = run_retrain(config, "--json")
    assert third["status"] != "error", stderr
    assert third["status"] in ("promoted", "held") and code == (
        0 if third["status"] == "promoted" else EXIT_HELD
    )
    assert third["snapshot"] == "flywheel@v2" and third["parent"] == "flywheel@v1"
    assert third["new_inputs"] == [str(setup["logs"] / "part-2.jsonl")]
    assert third["golden"] == "flywheel@v1:test"  # pinned: the same rows judge every model
    assert third["metrics"]["champion"]["golden"] == third["metrics"]["challenger"]["golden"]
    assert third["model"] == "flywheel@v2" and "drift" in third
    assert [r["status"] for r in retrain_runs(store.root, "flywheel")] == [
        "promoted",
        "up_to_date",
        third["status"],
    ]


def test_the_gate_holds_a_worse_challenger_and_says_why(setup: dict, labeled_rows: list[dict]) -> None:
    config = config_file(setup)
    assert run_retrain(config)[0] == 0
    # The next part's labels are wrong: every intent moved to the next one in the sorted list.
    intents = sorted({r["intent"] for r in labeled_rows})
    shifted = [
        {**r, "intent": intents[(intents.index(r["intent"]) + 1) % len(intents)], "entities": []}
        for r in labeled_rows[PART_ROWS : 3 * PART_ROWS]
    ]
    write_part(setup["logs"], "part-2.jsonl", shifted)
    code, held, _ = run_retrain(config)
    assert code == EXIT_HELD
    assert held["status"] == "held" and held["champion"] == "flywheel@v1" and held["model"] == "flywheel@v2"
    failures = {(f["metric"], f["kind"]): f for f in held["gate"]["failures"]}
    assert failures[("intent_accuracy", "champion")]["short_by"] > 0.02
    assert "intent_accuracy" in held["reason"]
    champion, challenger = held["metrics"]["champion"], held["metrics"]["challenger"]
    assert challenger["intent_accuracy"] < champion["intent_accuracy"] - 0.02
    registry = open_registry(default_root(), RegistryConfig())
    assert registry.alias("flywheel", "challenger").version == 2
    assert registry.alias("flywheel", "champion").version == 1


def test_a_floor_refuses_even_the_first_model(setup: dict) -> None:
    config = config_file(setup, gate={"metrics": {"entity_f1": {"floor": 0.999, "tolerance": 0.0}}})
    code, held, _ = run_retrain(config)
    assert code == EXIT_HELD
    assert held["champion"] is None
    assert held["gate"]["failures"][0]["kind"] == "floor"
    assert "entity_f1" in held["reason"] and "0.999" in held["reason"]


def test_a_second_concurrent_run_is_refused(setup: dict) -> None:
    config = config_file(setup)
    with retrain_lock(work_dir(default_root(), "flywheel") / "lock"):
        code, summary, stderr = run_retrain(config)
    assert code == EXIT_FAILED
    assert summary["status"] == "error"
    assert "another retrain is running" in stderr and "pid" in summary["reason"]
    assert SnapshotStore(default_root()).versions("flywheel") == []


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_promotion_delivers_the_champion_and_calls_the_webhook(setup: dict) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    deploy = setup["dir"] / "deploy"
    try:
        delivery = {"location": str(deploy), "webhook": f"http://127.0.0.1:{server.server_port}/hook"}
        code, summary, _ = run_retrain(config_file(setup, delivery=delivery))
    finally:
        server.shutdown()
    assert code == 0 and summary["status"] == "promoted"
    current = deploy / "current"
    assert current.is_symlink()
    assert (current / "labels.json").is_file() and (current / "metrics.json").is_file()
    assert any(p.suffix == ".safetensors" for p in current.iterdir())
    assert _Hook.received and _Hook.received[-1]["model"] == summary["model"]


def test_label_quality_is_scored_beside_the_new_snapshot(setup: dict) -> None:
    code, summary, _ = run_retrain(config_file(setup, label_quality={"enabled": True, "folds": 2}))
    assert code == 0
    quality = summary["label_quality"]
    assert quality["rows"] > 0 and Path(quality["path"]).is_file()


def test_a_bad_config_is_a_usage_error_naming_the_key(setup: dict) -> None:
    code = CliRunner().invoke(
        app, ["retrain", "--config", str(config_file(setup, gate={"metrics": {"speed": {}}}))]
    )
    assert code.exit_code == 2
    assert "speed" in code.stderr


def test_the_airflow_dag_runs_the_documented_command() -> None:
    source = (EXAMPLES / "airflow_dag.py").read_text()
    values = {
        node.targets[0].id: node.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    assert ast.literal_eval(values["HELD_BY_GATE"]) == EXIT_HELD
    assert "retrain --config" in source and "--json" in source
    assert f"SuccessExitStatus={EXIT_HELD}" in (EXAMPLES / "honkdata-retrain.service").read_text()


def test_the_airflow_dag_imports_when_airflow_is_installed() -> None:
    pytest.importorskip("airflow")
    import importlib.util

    spec = importlib.util.spec_from_file_location("honkdata_dag", EXAMPLES / "airflow_dag.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.dag.dag_id == "honkdata_retrain"
    assert module.dag.get_task("retrain").skip_on_exit_code == [EXIT_HELD]
