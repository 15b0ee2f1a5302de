"""The optimizer's part of a torch recipe's checkpoint: AdamW's moments, the schedule's position and
the random generators, as safetensors and JSON (never a pickle), so that a resumed run continues as
if it had never stopped. The recipe saves and checks its own weights beside them."""

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from honkdata.errors import HonkdataError

_STATE = "state.json"
_MOMENTS = "optimizer.safetensors"
_RNG = "rng.safetensors"


def save_training_state(folder: Path, optimizer: torch.optim.Optimizer, scheduler, meta: dict) -> None:
    """Write the optimizer, scheduler and RNG state into `folder`, with the recipe's `meta` (epoch, ...)."""
    state = optimizer.state_dict()
    moments = {
        f"{index}.{key}": value.detach().cpu().clone()
        for index, slots in state["state"].items()
        for key, value in slots.items()
    }
    save_file(moments, str(folder / _MOMENTS))
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    save_file(rng, str(folder / _RNG))
    meta = {**meta, "optimizer_param_groups": state["param_groups"], "scheduler": scheduler.state_dict()}
    (folder / _STATE).write_text(json.dumps(meta, indent=1))


def read_training_meta(folder: Path) -> dict:
    """The `meta` of `save_training_state`; a one-line error for a checkpoint that cannot be read."""
    try:
        return json.loads((folder / _STATE).read_text())
    except (OSError, ValueError) as e:
        raise HonkdataError(f"checkpoint {folder} is not usable: {e}") from None


def restore_training_state(folder: Path, optimizer: torch.optim.Optimizer, scheduler, meta: dict) -> None:
    """Load the optimizer, scheduler and RNG state of `folder` (after the recipe restored its weights)."""
    try:
        moments = load_file(str(folder / _MOMENTS))
        rng = load_file(str(folder / _RNG))
    except (OSError, ValueError) as e:
        raise HonkdataError(f"checkpoint {folder} is not usable: {e}") from None
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in moments.items():
        index, slot = key.split(".", 1)
        state.setdefault(int(index), {})[slot] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["optimizer_param_groups"]})
    scheduler.load_state_dict(meta["scheduler"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state(rng["cuda"])
