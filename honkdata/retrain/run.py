"""`honkdata retrain` as a function: new logs in, maybe a new champion out.

One run: find the input files the latest snapshot was not built from; build the next version (the
latest as its parent, the champion labeling what has no label); train the configured recipe on it;
score the challenger and the champion on the same frozen golden set; promote through the gate;
deliver a new champion; score the new snapshot's labels for review; and record the run. Nothing new
and a model already trained on the latest snapshot: nothing is done, and the result says so.
"""

import shutil
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from honkdata.build import build
from honkdata.config import BuildConfig, load_config
from honkdata.errors import HonkdataError, HonkdataWarning
from honkdata.evaluate.metrics import HEADLINE
from honkdata.evaluate.report import html_report
from honkdata.evaluate.run import evaluate_details
from honkdata.recipes import get_recipe
from honkdata.registry import ModelVersion, Registry, open_registry
from honkdata.registry.delivery import deliver, export_release
from honkdata.registry.gate import Decision, decide
from honkdata.resources import shipped_config
from honkdata.retrain.config import GOLDEN_TAG, RetrainConfig
from honkdata.retrain.history import append_run, work_dir
from honkdata.retrain.inputs import changes_since
from honkdata.retrain.lock import retrain_lock
from honkdata.snapshot.drift import drift_warnings, snapshot_drift
from honkdata.snapshot.store import SnapshotRef, SnapshotStore
from honkdata.train.config import load_recipe_config
from honkdata.train.run import train

# The challenger's golden-set report, in its model folder: delivered with it, read in review.
REPORT_FILE = "report.html"
OnStep = Callable[[str], None]


def retrain(
    config: RetrainConfig,
    sources: list[str] | None = None,
    name: str | None = None,
    root: str | Path | None = None,
    recipe: str | None = None,
    on_step: OnStep | None = None,
) -> dict:
    """Run one retrain cycle and return its summary (what `honkdata retrain` prints as its last line).

    `sources`, `name`, `root` and `recipe` override the config's. `on_step` hears the name of each
    step as it starts. Raises HonkdataError, with nothing half-published, when a step fails; a second
    run of the same dataset while one runs is refused.
    """
    build_config = load_config(
        Path(config.build) if config.build else shipped_config("build.yaml"),
        sources=[{"path": s} for s in sources] if sources else None,
        name=name or config.name,
        root=str(root) if root else None,
    )
    store = SnapshotStore(build_config.root_path())
    work = work_dir(store.root, build_config.name)
    with retrain_lock(work / "lock"):
        started, clock = datetime.now(UTC), time.perf_counter()
        stamp = {"started_at": started.isoformat(timespec="seconds")}
        try:
            cycle = _Cycle(
                config, build_config, store, work, recipe or config.recipe, on_step or (lambda _: None)
            )
            summary = {**cycle.run(), **stamp}
        except HonkdataError as e:
            # The run history is what the notebooks and an on-call engineer read: failures belong in it.
            append_run(work, {"status": "error", "reason": str(e), **stamp})
            raise
        summary["seconds"] = round(time.perf_counter() - clock, 1)
        append_run(work, summary)
    return summary


class _Cycle:
    """The steps of one run, sharing what they need; `run()` reads as the cycle."""

    def __init__(
        self,
        config: RetrainConfig,
        build_config: BuildConfig,
        store: SnapshotStore,
        work: Path,
        recipe: str,
        step: OnStep,
    ) -> None:
        self.config, self.build_config, self.store, self.work = config, build_config, store, work
        self.recipe, self.step = recipe, step
        self.model_name = config.model_name or build_config.name
        self.registry: Registry = open_registry(store.root, config.registry)
        get_recipe(recipe)  # an unknown recipe fails before the build

    def run(self) -> dict:
        latest = self.store.latest(self.build_config.name)
        changes = changes_since(self.store, latest, self.build_config)
        snapshot, parent = (self._build(), latest) if changes or latest is None else (latest, None)
        summary: dict = {
            "snapshot": str(snapshot),
            "parent": str(parent) if parent else None,
            "new_inputs": changes.new_inputs,
            "new_human_labels": changes.new_human_labels,
            "recipe": self.recipe,
        }
        golden = self._golden(snapshot)
        summary["golden"] = f"{golden}:{self.config.golden.split}"
        if parent is not None:
            summary.update(self._drift(parent, snapshot))
        champion = self.registry.alias(self.model_name, "champion")
        if (trained := self._model_trained_on(snapshot)) is not None:
            return {
                "status": "up_to_date",
                "reason": f"no new input since {snapshot}, and {trained.ref} was trained on it",
                **summary,
                "model": trained.ref,
                "champion": champion.ref if champion else None,
            }
        return {**summary, **self._train_and_gate(snapshot, golden, champion)}

    def _build(self) -> SnapshotRef:
        self.step("build")
        config = self.build_config
        champion = self.registry.alias(self.model_name, "champion")
        if self.config.label_with_champion and champion is not None:
            labels = config.labels.model_copy(update={"model": str(champion.path)})
            config = config.model_copy(update={"labels": labels})
        return build(config).ref

    def _golden(self, snapshot: SnapshotRef) -> SnapshotRef:
        """The pinned golden snapshot; with none configured, the `golden` tag, set on first use."""
        if self.config.golden.snapshot is not None:
            return self.store.resolve(self.config.golden.snapshot)
        if GOLDEN_TAG not in self.store.tags(snapshot.name):
            self.store.tag(snapshot, GOLDEN_TAG)
        return self.store.resolve(f"{snapshot.name}@{GOLDEN_TAG}")

    def _drift(self, parent: SnapshotRef, snapshot: SnapshotRef) -> dict:
        self.step("drift")
        drift = snapshot_drift(self.store, parent, snapshot)
        found = drift_warnings(drift, self.config.drift)
        for line in found:
            warnings.warn(f"drift from {parent} to {snapshot}: {line}", HonkdataWarning, stacklevel=2)
        return {"drift": drift, "drift_warnings": found}

    def _model_trained_on(self, snapshot: SnapshotRef) -> ModelVersion | None:
        content_hash = self.store.manifest(snapshot)["content_hash"]
        for version in reversed(self.registry.versions(self.model_name)):
            lineage = version.lineage
            if (
                lineage.get("snapshot") == str(snapshot)
                and lineage.get("content_hash") == content_hash
                and version.recipe == self.recipe
            ):
                return version
        return None

    def _train_and_gate(
        self, snapshot: SnapshotRef, golden: SnapshotRef, champion: ModelVersion | None
    ) -> dict:
        folder = self.work / "models" / f"{snapshot.version}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
        try:
            self.step("train")
            self._train(snapshot, folder)
            self.step("evaluate")
            scored = self._golden_metrics(folder, golden, report=folder / REPORT_FILE)
            before = self._golden_metrics(champion.path, golden) if champion else None
            decision = decide(scored, before, self.config.gate)
            version = self.registry.register(self.model_name, folder, scored, move=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)  # gone already when registered (moved)
        self.registry.set_challenger(self.model_name, version.version)
        result: dict = {
            "status": "promoted" if decision.promote else "held",
            "reason": decision.reason,
            "model": version.ref,
            "previous_champion": champion.ref if champion else None,
            "metrics": {"challenger": scored, "champion": before},
            "gate": decision.to_dict(),
        }
        if decision.promote:
            self._promote(version, decision, result)
        now = self.registry.alias(self.model_name, "champion")
        result["champion"] = now.ref if now else None
        if self.config.label_quality.enabled:
            result["label_quality"] = self._label_quality(snapshot)
        return result

    def _promote(self, version: ModelVersion, decision: Decision, result: dict) -> None:
        """Make `version` the champion and deliver it. The export comes first: a deploy location that
        cannot take it fails the run with the old champion still in place."""
        delivery, report = self.config.delivery, version.path / REPORT_FILE
        if delivery.location:
            self.step("export")
            export_release(version, delivery, result, report)
        self.step("promote")
        self.registry.promote(
            self.model_name,
            version.version,
            reason=decision.reason,
            evidence=decision.to_dict(),
            by="retrain",
        )
        if delivery.location or delivery.webhook:
            self.step("deliver")
            result["delivery"] = deliver(version, delivery, {**result, "champion": version.ref}, report)
            if error := result["delivery"].get("webhook_error"):
                # The team hears of it some other way; the promotion and the export stand.
                warnings.warn(f"webhook {delivery.webhook} failed: {error}", HonkdataWarning, stacklevel=2)

    def _train(self, snapshot: SnapshotRef, folder: Path) -> None:
        module = get_recipe(self.recipe)
        settings = load_recipe_config(
            module.Config,
            Path(self.config.train_config)
            if self.config.train_config
            else shipped_config(f"train/{self.recipe}.yaml"),
            [],
            {
                **self.config.train,
                "recipe": self.recipe,
                "data.snapshot": str(snapshot),
                "data.root": str(self.store.root),
            },
        )
        train(settings, folder)

    def _golden_metrics(self, model: Path, golden: SnapshotRef, report: Path | None = None) -> dict:
        """The model's headline metrics on the golden set; `report`: write the HTML report there too."""
        details = evaluate_details(
            model, snapshot=str(golden), root=self.store.root, split=self.config.golden.split
        )
        if report is not None:
            report.write_text(html_report(details), encoding="utf-8")
        scored = details.metrics
        if not scored["n"]:
            raise HonkdataError(
                f"the golden set {golden}:{self.config.golden.split} has no labeled rows to score"
            )
        kept = (*HEADLINE, "intent_ece", "n")
        return {"golden": f"{golden}:{self.config.golden.split}", **{k: scored[k] for k in kept}}

    def _label_quality(self, snapshot: SnapshotRef) -> dict:
        from honkdata.label.quality import score_label_quality

        self.step("label quality")
        return score_label_quality(self.store, snapshot, folds=self.config.label_quality.folds)
