"""The encoder recipe: word-piece alignment, a few training steps on a tiny BERT, the model folder,
save/load, resume, and one pass of the real packaged MiniLM."""

import string
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertModel, BertTokenizer

from honkdata.errors import HonkdataError
from honkdata.models.joint_encoder import IGNORE, JointEncoder, JointPredictor, collate, to_pieces
from honkdata.recipes import encoder
from honkdata.tokens import tokenize
from honkdata.train.examples import Example, TrainingData
from honkdata.train.frames import Entity, entities_to_tags
from honkdata.train.labels import LabelSpace
from honkdata.train.run import TrainingRun, latest_checkpoint

WORDS = ["play", "add", "to", "my", "playlist", "some", "taylor", "swift", "abba", "gym", "chill", "songs"]
LABELS = LabelSpace("taxonomy", ("add_to_playlist", "play_music"), ("artist", "playlist"), "play_music")


def _tokenizer() -> BertTokenizer:
    """A WordPiece tokenizer over a few whole words and every single letter, so that any lowercase
    word splits into pieces and anything else is [UNK]."""
    letters = list(string.ascii_lowercase) + [f"##{c}" for c in string.ascii_lowercase]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "'", ".", *string.digits, *WORDS, *letters]
    return BertTokenizer(vocab={w: i for i, w in enumerate(dict.fromkeys(vocab))})


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny matrices gain nothing from threads, and on a busy machine the threads' waiting on each
    other makes these tests ten times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with its tokenizer, saved as a local model folder."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = _tokenizer()
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer.get_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _example(i: int, text: str, intent: str, entities: dict[str, str]) -> Example:
    tokens = tuple(tokenize(text))
    spans = tuple(
        Entity(kind, text.index(part), text.index(part) + len(part), part) for kind, part in entities.items()
    )
    return Example(f"e{i}", text, tokens, intent, spans, tuple(entities_to_tags(tokens, spans)))


def _data() -> TrainingData:
    rows = [
        ("play taylor swift", "play_music", {"artist": "taylor swift"}),
        ("play some abba", "play_music", {"artist": "abba"}),
        ("play chill songs", "play_music", {}),
        ("add abba to my gym playlist", "add_to_playlist", {"artist": "abba", "playlist": "gym"}),
        ("add taylor swift to chill", "add_to_playlist", {"artist": "taylor swift", "playlist": "chill"}),
        ("add this to my gym playlist", "add_to_playlist", {"playlist": "gym"}),
    ]
    examples = [_example(i, *row) for i, row in enumerate(rows * 4)]
    return TrainingData(LABELS, examples, examples[:6], examples[:6])


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


def _config(base: Path, **fields) -> encoder.Config:
    settings = {
        "base_model": str(base),
        "finetune": "lora",
        "epochs": 2,
        "batch_size": 4,
        "device": "cpu",
        "lr": 5e-3,
        "head_lr": 5e-3,
    }
    return encoder.Config(**{**settings, **fields})


QUERIES = ["play taylor swift", "add abba to my gym playlist 🎸", "Play ÉLAN", ""]


def _spans_are_into_the_query(frames, queries) -> None:
    for frame, query in zip(frames, queries, strict=True):
        for entity in frame.entities:
            assert query[entity.start : entity.end] == entity.text


def test_each_token_is_labeled_on_its_first_piece():
    tokenizer = _tokenizer()
    # "taylor" is one piece, "zq" two, "don't" three ("don" "'" "t", each split again), "3.5" is
    # split by the tokenizer at the dot, "🎸" is [UNK], and a zero-width space has no piece at all.
    words = [["taylor", "zq", "don't", "3.5", "🎸", "\u200b", "play"]]
    (pieces,) = to_pieces(tokenizer, words, max_length=64)
    names = tokenizer.convert_ids_to_tokens(pieces.input_ids)
    assert names[0] == "[CLS]" and names[-1] == "[SEP]"
    first = pieces.first_piece
    assert [names[p] for p in first if p >= 0] == ["taylor", "z", "d", "3", "[UNK]", "play"]
    assert first[5] == -1  # the zero-width space: the tokenizer drops it
    with_pieces = [p for p in first if p >= 0]
    assert with_pieces == sorted(with_pieces) and len(set(with_pieces)) == 6  # in order, none shared
    assert names[first[2] : first[3]] == ["d", "##o", "##n", "'", "t"]  # "don't": all its pieces are its own
    labels = pieces.labels([1, 2, 3, 4, 5, 6, 7])
    assert [labels[p] for p in first if p >= 0] == [1, 2, 3, 4, 5, 7]
    assert sum(label != IGNORE for label in labels) == 6  # one label per token that has a piece
    assert labels[0] == labels[-1] == IGNORE


def test_a_long_query_is_cut_and_its_last_tokens_have_no_piece():
    (pieces,) = to_pieces(_tokenizer(), [["play"] * 20], max_length=8)
    assert len(pieces.input_ids) == 8  # [CLS] + 6 words + [SEP]
    assert pieces.first_piece[:6] == [1, 2, 3, 4, 5, 6] and pieces.first_piece[6:] == [-1] * 14
    batch = collate(
        [pieces, to_pieces(_tokenizer(), [["abba"]], 8)[0]], 0, [pieces.labels([1] * 20), [IGNORE] * 3]
    )
    assert batch["input_ids"].shape == batch["tag_labels"].shape == (2, 8)
    assert batch["attention_mask"][1].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]  # [CLS] abba [SEP]
    assert (batch["tag_labels"][1] == IGNORE).all()


def test_a_few_lora_steps_save_a_folder_that_loads_to_the_same_predictions(tiny_base, tmp_path):
    data, config = _data(), _config(tiny_base, max_length=8)  # 8 pieces: the long query is cut
    run = _run(tmp_path, data)
    predictor = encoder.train(config, data, run)
    assert [e.epoch for e in run.history] == [1, 2] and "validation_frame_accuracy" in run.history[0].metrics
    assert run.examples_seen == 2 * len(data.train) and run.tokens_seen > run.examples_seen
    files = {p.name for p in run.folder.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "heads.safetensors", "config.json"} <= files
    assert {"tokenizer.json", "tokenizer_config.json"} <= files and "model.safetensors" not in files
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pkl"))] and "README.md" not in files
    assert any(".lora_A." in k for k in load_file(run.folder / "adapter_model.safetensors"))

    queries = [*QUERIES, " ".join(["play taylor swift"] * 10)]
    frames = predictor.predict(queries)
    assert len(frames) == len(queries) and all(
        f.intent in LABELS.intents and 0 < f.confidence <= 1 for f in frames
    )
    _spans_are_into_the_query(frames, queries)
    assert all(e.end <= len(queries[-1][:35]) for e in frames[-1].entities)  # 6 words had pieces
    assert encoder.load(run.folder, LABELS, config).predict(queries) == frames
    other = LabelSpace("taxonomy", ("a", "b", "c"), ("artist",), "a")
    with pytest.raises(HonkdataError, match="does not fit the label space"):
        encoder.load(run.folder, other, config)


@pytest.mark.parametrize("fields", [{"finetune": "full"}, {"merge": True}], ids=["full", "lora-merged"])
def test_full_weights_are_one_model_safetensors(tiny_base, tmp_path, fields):
    data, config = _data(), _config(tiny_base, epochs=1, **fields)
    predictor = encoder.train(config, data, _run(tmp_path, data))
    files = {p.name for p in (tmp_path / "model").iterdir()}
    assert {"model.safetensors", "heads.safetensors", "config.json", "tokenizer.json"} <= files
    assert not files & {"adapter_model.safetensors", "adapter_config.json"}
    reloaded = encoder.load(tmp_path / "model", LABELS, config).predict(QUERIES)
    assert reloaded == predictor.predict(QUERIES)


class _Killed(Exception):
    pass


class _KilledAt:
    """A run that dies when epoch `epoch` ends, before its checkpoint is sealed."""

    def __init__(self, run: TrainingRun, epoch: int):
        self.run, self.epoch = run, epoch

    def __getattr__(self, name: str):
        return getattr(self.run, name)

    def end_epoch(self, epoch, predictor, logs):
        if epoch == self.epoch:
            raise _Killed
        return self.run.end_epoch(epoch, predictor, logs)


def test_resume_continues_as_if_the_run_had_never_stopped(tiny_base, tmp_path):
    data, config = _data(), _config(tiny_base, epochs=3)
    # Without a validation split every epoch is the best so far: both runs keep epoch 3's model.
    data = TrainingData(LABELS, data.train, [], [])
    straight = _run(tmp_path / "straight", data)
    encoder.train(config, data, straight)
    with pytest.raises(_Killed):
        encoder.train(config, data, _KilledAt(_run(tmp_path / "killed", data), 2))
    checkpoint = latest_checkpoint(tmp_path / "killed" / "checkpoints")
    assert checkpoint is not None and checkpoint.name == "epoch-0001"
    resumed = _run(tmp_path / "resumed", data, resume_from=checkpoint)
    predictor = encoder.train(config, data, resumed)
    assert [e.epoch for e in resumed.history] == [2, 3]  # the epoch counter was restored
    last = [
        load_file(r.checkpoints / "epoch-0003" / name)
        for r in (straight, resumed)
        for name in ("trainable.safetensors", "optimizer.safetensors")
    ]
    for ours, theirs in ((last[0], last[2]), (last[1], last[3])):  # weights, then AdamW's moments and steps
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert predictor.predict(QUERIES) == encoder.load(straight.folder, LABELS, config).predict(QUERIES)


def test_a_checkpoint_of_another_mode_is_refused(tiny_base, tmp_path):
    data = _data()
    lora = _run(tmp_path / "lora", data)
    encoder.train(_config(tiny_base, epochs=1), data, lora)
    with pytest.raises(HonkdataError, match="another model or finetune mode"):
        encoder.train(
            _config(tiny_base, finetune="full"),
            data,
            _run(tmp_path / "full", data, lora.checkpoints / "epoch-0001"),
        )


def test_the_packaged_minilm_trains_a_step_and_predicts(tmp_path):
    data = _data()
    data = TrainingData(LABELS, data.train[:8], data.validation[:2], [])
    # base_model: the packaged MiniLM; LoRA, so that the base weights are read from the package at load.
    config = encoder.Config(epochs=1, batch_size=4, device="cpu", finetune="lora")
    predictor = encoder.train(config, data, _run(tmp_path, data))
    frames = predictor.predict(QUERIES[:2])
    assert [f.intent in LABELS.intents for f in frames] == [True, True]
    _spans_are_into_the_query(frames, QUERIES[:2])
    assert (tmp_path / "model" / "vocab.txt").is_file() or (tmp_path / "model" / "tokenizer.json").is_file()


def test_tags_are_read_as_the_best_valid_bio_path(tiny_base):
    # A tag head that scores I-artist highest on every piece, then O, then B-artist: read token by
    # token that is an entity starting with an inside tag; the best valid path is all O for two
    # tokens (2 + 2 > 0 + 3) and one artist over all four (0 + 3 * 3 > 4 * 2).
    model = JointEncoder(BertModel.from_pretrained(tiny_base), 32, 2, len(LABELS.tags), "mean", 0.0)
    with torch.no_grad():
        model.tag_head.weight.zero_()
        model.tag_head.bias.copy_(torch.tensor([2.0, 0.0, 3.0, -9.0, -9.0]))
    predictor = JointPredictor(model, _tokenizer(), LABELS, torch.device("cpu"), 16, 8)
    assert LABELS.tags == ("O", "B-artist", "I-artist", "B-playlist", "I-playlist")
    two, four = predictor.predict(["play abba", "play some taylor swift"])
    assert two.entities == ()
    assert [(e.type, e.text) for e in four.entities] == [("artist", "play some taylor swift")]
