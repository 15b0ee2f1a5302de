"""Delivery: export a champion to the deploy location, point `current` at it, tell a webhook.

    <location>/
      music-queries-v3/      one release per promoted version: the model folder with merged
                             safetensors weights (an adapter is merged into its base), tokenizer,
                             labels.json, the model card (README.md), metrics.json, config.yaml; the
                             report (report.html) and the promotion's summary.json when given; and
                             release.json, written last (ref, lineage, golden metrics, every file's sha256)
      current -> music-queries-v3    the live release

In a local folder `current` is a symlink, replaced in one rename (os.replace), and a release becomes
visible in one rename too. At any other fsspec URL (s3://, gs://, memory://) `current.json`
({"release": ...}) is the pointer, written in one put, and a release counts once its release.json,
uploaded after every other file, is there. A release already at the location is not copied again, so
a rollback only moves the pointer.

A webhook failure does not undo anything: it is reported in the result (`webhook_status`, the HTTP
status or None when no answer came; `webhook_error`, what went wrong), for the caller to warn about.
"""

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import fsspec
import orjson
from fsspec.implementations.local import LocalFileSystem

import honkdata
from honkdata.errors import HonkdataError
from honkdata.recipes import get_recipe
from honkdata.registry.config import DeliveryConfig
from honkdata.registry.store import ModelVersion, now_iso
from honkdata.snapshot.mirror import upload_marker_last
from honkdata.snapshot.store import fsync_dir, fsync_tree
from honkdata.snapshot.write import file_sha256
from honkdata.train.folder import read_model_config, write_json

RELEASE_FILE = "release.json"
CURRENT = "current"
CURRENT_FILE = "current.json"
_ADAPTER_CONFIG = "adapter_config.json"


def release_name(version: ModelVersion) -> str:
    return f"{version.name}-v{version.version}"


def _location(config: DeliveryConfig) -> tuple[fsspec.AbstractFileSystem, str]:
    if not config.location:
        raise HonkdataError("delivery.location is not set in the config: nowhere to deliver to")
    try:
        fs, path = fsspec.core.url_to_fs(config.location)
    except (ImportError, ValueError) as e:
        raise HonkdataError(f"delivery.location {config.location}: {e}") from None
    return fs, path.rstrip("/") or "/"


def _local(fs: fsspec.AbstractFileSystem) -> bool:
    return isinstance(fs, LocalFileSystem)


def deliver(
    version: ModelVersion, config: DeliveryConfig, summary: dict, report: Path | None = None
) -> dict | None:
    """Export `version` to the deploy location (once), point `current` at it, and POST `summary` (with
    a `delivery` entry naming the release) to the webhook. None when the config has neither."""
    if not config.location and not config.webhook:
        return None
    result: dict = {"location": config.location, "release": None, "previous": None}
    if config.location:
        release = export_release(version, config, summary, report)
        result["previous"] = current_release(config)
        point_current(config, release)
        result["release"] = release
    status, error = (None, None)
    if config.webhook:
        status, error = post_webhook(config, {**summary, "delivery": result})
    return {**result, "webhook_status": status, "webhook_error": error}


def export_release(
    version: ModelVersion, config: DeliveryConfig, summary: dict, report: Path | None = None
) -> str:
    """Write `version`'s release at the location unless it is there already; returns its name.
    Nothing is pointed at it: call before promoting, so a failed export leaves the champion as it was."""
    fs, root = _location(config)
    release = release_name(version)
    if fs.exists(f"{root}/{release}/{RELEASE_FILE}"):
        return release
    if _local(fs):
        target = Path(root) / release
        if os.path.lexists(target):
            raise HonkdataError(f"{target} is in the way of release {release} (it has no {RELEASE_FILE})")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".staging-{release}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            _build(version, staging, summary, report)
            fsync_tree(staging)
            staging.rename(target)
            fsync_dir(target.parent)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return release
    with tempfile.TemporaryDirectory(prefix="honkdata-release-") as tmp:
        staging = Path(tmp) / release
        _build(version, staging, summary, report)
        files = sorted(p for p in staging.rglob("*") if p.is_file() and p.name != RELEASE_FILE)
        names = [p.relative_to(staging).as_posix() for p in files]
        try:
            # release.json last: until it is there, the release does not count.
            upload_marker_last(fs, staging, f"{root}/{release}", names, RELEASE_FILE)
        except OSError as e:
            raise HonkdataError(f"cannot upload {release} to {config.location}: {e}") from None
    return release


def _build(version: ModelVersion, dest: Path, summary: dict, report: Path | None) -> None:
    _export_model(version.path, dest)
    if report is not None:
        shutil.copyfile(report, dest / f"report{Path(report).suffix or '.html'}")
    write_json(dest / "summary.json", orjson.loads(orjson.dumps(summary, default=str)))
    files = {p.relative_to(dest).as_posix(): file_sha256(p) for p in sorted(dest.rglob("*")) if p.is_file()}
    write_json(
        dest / RELEASE_FILE,
        {
            "release": dest.name,
            "model": version.ref,
            "recipe": version.recipe,
            "lineage": version.lineage,
            "metrics": version.metrics,
            "exported_at": now_iso(),
            "honkdata_version": honkdata.__version__,
            "files": files,
        },
    )


def _export_model(folder: Path, dest: Path) -> None:
    """The model folder with whole weights: an adapter is merged into its base model by its recipe,
    so the release loads without the base model's files."""
    config, _ = read_model_config(folder)
    if not (folder / _ADAPTER_CONFIG).is_file():
        shutil.copytree(folder, dest)
        return
    recipe = get_recipe(str(config["recipe"]))
    if not hasattr(recipe, "export_merged"):
        raise HonkdataError(f"{folder}: the {config['recipe']} recipe cannot merge its adapter for export")
    dest.mkdir(parents=True)
    recipe.export_merged(folder, dest)


def point_current(config: DeliveryConfig, release: str) -> None:
    """Make `release` (already at the location) the live one, in one atomic step."""
    fs, root = _location(config)
    if not fs.exists(f"{root}/{release}/{RELEASE_FILE}"):
        raise HonkdataError(f"no release {release} at {config.location}: nothing to point current at")
    if not _local(fs):
        fs.pipe_file(f"{root}/{CURRENT_FILE}", orjson.dumps({"release": release, "at": now_iso()}))
        return
    current, link = Path(root) / CURRENT, Path(root) / f".{CURRENT}-{os.getpid()}"
    link.unlink(missing_ok=True)
    os.symlink(release, link)  # relative: the location can move or be mounted elsewhere
    try:
        os.replace(link, current)
    except OSError as e:
        link.unlink(missing_ok=True)
        raise HonkdataError(f"cannot point {current} at {release}: {e.strerror}") from None
    fsync_dir(Path(root))


def current_release(config: DeliveryConfig) -> str | None:
    """The release `current` names; None without a location or before the first delivery."""
    if not config.location:
        return None
    fs, root = _location(config)
    if _local(fs):
        current = Path(root) / CURRENT
        return os.readlink(current) if current.is_symlink() else None
    try:
        return orjson.loads(fs.cat_file(f"{root}/{CURRENT_FILE}"))["release"]
    except FileNotFoundError:
        return None
    except (orjson.JSONDecodeError, KeyError, TypeError) as e:
        raise HonkdataError(f"{config.location}/{CURRENT_FILE} is damaged: {e}") from None


def post_webhook(config: DeliveryConfig, body: dict) -> tuple[int | None, str | None]:
    """POST `body` as JSON; (HTTP status, None) on success, (status or None, what failed) otherwise."""
    request = urllib.request.Request(
        str(config.webhook),
        data=orjson.dumps(body, default=str),
        headers={"Content-Type": "application/json", "User-Agent": f"honkdata/{honkdata.__version__}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=config.webhook_timeout_s) as response:
            return response.status, None
    except urllib.error.HTTPError as e:
        return e.code, f"HTTP {e.code} {e.reason}"
    except urllib.error.URLError as e:
        return None, str(e.reason)
    except OSError as e:  # a timeout while reading the answer
        return None, str(e) or type(e).__name__
