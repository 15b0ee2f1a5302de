"""`honkdata train`, `predict` and `eval` over a stand-in recipe (tests/train/conftest.py): the
commands' contract, whatever the recipe."""

import json
import os
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from honkdata.cli import app
from tests.train.conftest import majority_recipe  # noqa: F401 (a fixture)

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "majority.yaml"
    path.write_text("recipe: majority\nepochs: 1\n")
    return path


@pytest.fixture
def model(majority_recipe: ModuleType, labeled_store: Path, tmp_path: Path, config: Path) -> Path:  # noqa: F811
    out = tmp_path / "model"
    result = runner.invoke(
        app,
        ["train", "--config", str(config), "--snapshot", "snips@latest", "--root", str(labeled_store),
         "--out", str(out), "epochs=1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "test: intent accuracy" in result.output
    return out


def test_predict_prints_one_json_line_per_query_in_order(model: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"query": "play jazz"}\n{"query": "skip"}\n')
    result = runner.invoke(app, ["predict", "--model", str(model), "first one", "--in", str(queries)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["first one", "play jazz", "skip"]
    assert set(lines[0]) == {"query", "intent", "confidence", "entities"}


def test_eval_json_has_the_headline_metrics(model: Path, labeled_store: Path, tmp_path: Path) -> None:
    out, page = tmp_path / "metrics.json", tmp_path / "report.html"
    result = runner.invoke(
        app,
        ["eval", "--model", str(model), "--snapshot", "snips", "--root", str(labeled_store), "--json",
         "--out", str(out), "--report", str(page)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("intent_accuracy", "intent_macro_f1", "entity_f1", "frame_accuracy"):
        assert 0.0 <= report[key] <= 1.0
    assert report["n"] > 0 and json.loads(out.read_text())["n"] == report["n"]
    html = page.read_text()
    assert f"{100 * report['frame_accuracy']:.2f} %" in html and "play_music" in html


def test_eval_on_an_outside_labeled_file(model: Path) -> None:
    snips = Path(__file__).parents[2] / "data" / "samples" / "snips" / "validate_PlayMusic.json"
    result = runner.invoke(app, ["eval", "--model", str(model), "--data", str(snips), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 100 and report["per_intent"]["play_music"]["support"] == 100
    limited = runner.invoke(
        app, ["eval", "--model", str(model), "--data", str(snips), "--json", "--limit", "10"]
    )
    assert json.loads(limited.stdout)["n"] == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--recipe", "nope"], "no recipe named 'nope'"),
        (["train", "--config", "{config}", "--resume", "--out", "{tmp}/m"], "no checkpoint"),
        (["train", "--config", "{config}", "epochs"], "expected key=value"),
        (["train", "--config", "{config}", "epochs=many"], "epochs: Input should be a valid integer"),
        (["predict", "--model", "no/such/dir", "x"], "no model folder"),
        (["eval", "--model", "no/such/dir", "--snapshot", "snips"], "no model folder"),
    ],
)
def test_bad_input_is_one_line(
    majority_recipe: ModuleType,  # noqa: F811
    labeled_store: Path,
    config: Path,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    args = [a.format(config=config, tmp=tmp_path) for a in args]
    result = runner.invoke(app, [*args, "--root", str(labeled_store)] if args[0] != "predict" else args)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_eval_split_must_be_a_split(model: Path, labeled_store: Path) -> None:
    args = [
        "eval",
        "--model",
        str(model),
        "--snapshot",
        "snips",
        "--root",
        str(labeled_store),
        "--split",
        "dev",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code != 0 and "--split must be one of" in result.output


def test_eval_refuses_a_model_of_another_taxonomy(model: Path, labeled_store: Path) -> None:
    labels = json.loads((model / "labels.json").read_text())
    labels["intents"] = [*labels["intents"], "play_karaoke"]
    (model / "labels.json").write_text(json.dumps(labels))
    result = runner.invoke(
        app, ["eval", "--model", str(model), "--snapshot", "snips", "--root", str(labeled_store)]
    )
    assert result.exit_code != 0 and "another taxonomy" in result.output


def test_threads_reach_the_math_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from honkdata.cli.common import use_threads

    before = torch.get_num_threads()
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    try:
        use_threads(1)
        assert torch.get_num_threads() == 1
        assert {os.environ[v] for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")} == {
            "1"
        }
    finally:
        torch.set_num_threads(before)
