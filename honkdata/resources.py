"""Where the shipped YAML configs live, in a source checkout and in an installed wheel alike."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_config(name: str) -> Path:
    """Path of a file or folder from the repo's configs/ (force-included as honkdata/configs in wheels)."""
    for folder in (_PACKAGE / "configs", _PACKAGE.parent / "configs"):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"shipped config {name!r} not found next to the honkdata package")
