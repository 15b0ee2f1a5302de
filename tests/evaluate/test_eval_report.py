"""`honkdata eval --report` and `--json` on a real baseline model, and the page's escaping."""

import base64
import json
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from honkdata.cli import app
from honkdata.evaluate.calibration import calibration
from honkdata.evaluate.data import META
from honkdata.evaluate.metrics import confusion, score
from honkdata.evaluate.report import html_report
from honkdata.evaluate.run import EvalDetails
from honkdata.evaluate.slices import slice_metrics
from honkdata.recipes import baseline
from honkdata.train.config import DataConfig
from honkdata.train.examples import Example
from honkdata.train.frames import Entity, Frame

runner = CliRunner()
SNIPS_FILE = Path(__file__).parents[2] / "data" / "samples" / "snips" / "validate_PlayMusic.json"
# What `evaluate()` and `--json` give: the gate's and retrain's keys, and nothing per example.
KEYS = {
    "model", "snapshot", "split", "n", "intent_accuracy", "intent_macro_f1", "entity_precision",
    "entity_recall", "entity_f1", "frame_accuracy", "invalid", "per_intent", "per_entity_type",
    "intent_ece", "calibration", "confusion", "slices", "queries_per_second",
}  # fmt: skip
_VOID = {"meta", "img", "br"}


class _Tags(HTMLParser):
    """Every element closed, in order, inside one <html>."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.roots: list[str] = []
        self.mismatched: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        if tag in _VOID:
            return
        if not self.open:
            self.roots.append(tag)
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.mismatched.append(tag)


def _check_page(page: str) -> _Tags:
    assert page.startswith("<!doctype html>\n")
    tags = _Tags()
    tags.feed(page)
    tags.close()
    assert (tags.roots, tags.open, tags.mismatched) == (["html"], [], [])
    # Self-contained: no script, no stylesheet or image to fetch.
    assert "<script" not in page.lower() and "<link" not in page.lower() and "href=" not in page
    assert tags.images and all(src.startswith("data:image/png;base64,") for src in tags.images)
    return tags


@pytest.fixture(scope="module")
def model(labeled_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real baseline model of `snips@v1`, kept small so it trains in seconds."""
    from honkdata.train.run import train

    out = tmp_path_factory.mktemp("eval") / "model"
    data = DataConfig(snapshot="snips@latest", root=str(labeled_store), max_examples=400)
    train(baseline.Config(data=data, crf_max_iterations=10), out)
    return out


def test_eval_writes_a_self_contained_report_and_json_with_intent_ece(
    model: Path, labeled_store: Path, tmp_path: Path
) -> None:
    page_file = tmp_path / "report.html"
    result = runner.invoke(
        app,
        ["eval", "--model", str(model), "--snapshot", "snips", "--root", str(labeled_store),
         "--report", str(page_file), "--json", "--threads", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == KEYS
    bins = report["calibration"]
    assert sum(b["n"] for b in bins) == report["n"] and 0.0 <= report["intent_ece"] <= 1.0
    ece = sum(b["n"] * abs(b["accuracy"] - b["confidence"]) for b in bins if b["n"]) / report["n"]
    assert report["intent_ece"] == pytest.approx(ece)
    right = sum(row.get(gold, 0) for gold, row in report["confusion"].items())
    assert right == round(report["intent_accuracy"] * report["n"])
    assert report["slices"]["label_source"]["gold"]["n"] == report["n"]  # snips@v1 is all gold
    assert sum(m["n"] for m in report["slices"]["frequency"].values()) == report["n"]

    page = page_file.read_text(encoding="utf-8")
    tags = _check_page(page)
    assert len(tags.images) == 2  # the confusion matrix and the reliability diagram
    assert all(base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n" for src in tags.images)
    for heading in ("Intent confusion", "Per intent", "Per entity type", "Calibration", "By surface",
                    "By locale", "By label source", "By query frequency", "Worst errors"):  # fmt: skip
        assert f">{heading}" in page
    assert f"{100 * report['intent_ece']:.2f} %" in page and "play_music" in page
    worst = page.split("Worst errors", 1)[1].count("<tr>") - 1
    assert 0 < worst <= 25

    text = runner.invoke(
        app, ["eval", "--model", str(model), "--snapshot", "snips", "--root", str(labeled_store)]
    )
    assert text.exit_code == 0, text.output
    assert f"intent ECE: {report['intent_ece']:.2%}" in text.stdout
    assert f"label source: gold {report['n']:,}:" in text.stdout


def test_eval_on_a_file_slices_what_the_file_does_not_say_as_unknown(model: Path) -> None:
    result = runner.invoke(app, ["eval", "--model", str(model), "--data", str(SNIPS_FILE), "--json"])
    assert result.exit_code == 0, result.output
    slices = json.loads(result.stdout)["slices"]
    for dimension in ("surface", "locale", "label_source", "frequency"):
        assert list(slices[dimension]) == ["unknown"] and slices[dimension]["unknown"]["n"] == 100


def test_user_text_is_escaped_and_the_page_stays_valid() -> None:
    attack = "<script>alert('x')</script>"
    spans = (Entity("artist", 5, 9, "<b>o"),)
    examples = [
        Example("1", f"play {attack}", (), "play_music", spans, ()),
        Example("2", "skip & stop", (), "playback_control", (), ()),
    ]
    frames = [Frame("like", 0.9, spans), Frame("playback_control", 0.8)]
    meta = pa.table(
        {"surface": ['voice"><img src=x>', None], "locale": ["en-US", None], "label_source": ["gold", "gold"],
         "count": [3, 1]},
        schema=META,
    )  # fmt: skip
    reliability = calibration([False, True], [0.9, 0.8])
    metrics = {
        "model": "models/<i>m</i>",
        "snapshot": "snips@v1",
        "split": "test",
        **score(examples, frames),
        "intent_ece": reliability["ece"],
        "calibration": reliability["bins"],
        "confusion": confusion(examples, frames),
        "slices": slice_metrics(meta, examples, frames),
    }
    page = html_report(EvalDetails(metrics, examples, frames, meta))
    tags = _check_page(page)
    assert len(tags.images) == 2  # the surface value's <img> stayed text
    assert "play &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "artist: &lt;b&gt;o" in page and "skip &amp; stop" not in page  # a right frame is no error
    assert "voice&quot;&gt;&lt;img src=x&gt;" in page and "models/&lt;i&gt;m&lt;/i&gt;" in page
