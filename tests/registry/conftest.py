"""A real trained model folder (the baseline recipe on the `snips@v1` sample snapshot, in seconds),
a registry of each backend, and a webhook endpoint on the loopback interface."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from honkdata.registry import Registry, RegistryConfig, open_registry

BACKENDS = ["local", "mlflow"]
GOLDEN = {"golden": "snips@v1:test", "intent_accuracy": 0.9, "entity_f1": 0.7, "frame_accuracy": 0.6}


@pytest.fixture(scope="session")
def trained_model(labeled_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from honkdata.recipes import baseline
    from honkdata.train.config import DataConfig
    from honkdata.train.run import train

    data = DataConfig(
        snapshot="snips@latest",
        root=str(labeled_store),
        labels="source",
        max_examples=150,
        max_eval_examples=50,
    )
    out = tmp_path_factory.mktemp("trained") / "model"
    train(baseline.Config(data=data, crf_max_iterations=10), out)
    return out


@pytest.fixture(autouse=True)
def own_mlflow_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The MLflow backend's default store is under the test's root, never a shared one."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def make_registry(backend: str, root: Path) -> Registry:
    return open_registry(root, RegistryConfig(backend=backend))


@pytest.fixture(params=BACKENDS)
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Registry:
    return make_registry(request.param, tmp_path / "store")


@dataclass
class Webhook:
    url: str = ""
    status: int = 200  # what the endpoint answers
    bodies: list[dict] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhook]:
    """An HTTP endpoint on the loopback interface that records what is POSTed to it."""
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # a proxy from the environment must not get it
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            hook.content_types.append(self.headers["Content-Type"])
            self.send_response(hook.status)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # not on the test's stderr

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_port}/hooks/honkdata"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
