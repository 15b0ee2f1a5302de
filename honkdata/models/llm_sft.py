"""Supervised fine-tuning batches for a causal LM: padding or packing, and the loss on target tokens.

Packing puts several examples in one row, each with position ids starting again at 0, and passes no
2-D attention mask: transformers (5.x, `masking_utils.find_packed_sequence_indices`) then reads the
example boundaries off the position ids and builds a causal mask that is also block-diagonal, for
the sdpa, eager, flex and flash attention paths alike. The padding at the end of a packed row is one
more "example" (its own positions from 0) that no target belongs to. tests/recipes/test_llm.py
proves a packed batch gives each example the loss it gets alone.

Labels are shifted here, per example (the label at position t is the example's token t+1 when that
token is part of the target, else -100), so no position predicts across an example boundary. The
loss runs the LM head over the target positions only: the head's 49k-wide logits over every prompt
token were most of the memory and a good part of the compute of a plain loop.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel

from honkdata.models.llm_format import Encoded

IGNORE = -100


@dataclass(frozen=True)
class Batch:
    input_ids: torch.Tensor  # (rows, length)
    labels: torch.Tensor  # (rows, length): next target token, or IGNORE
    weights: torch.Tensor  # (rows, length): the example's weight at each labelled position
    position_ids: torch.Tensor  # (rows, length): from 0 in each example
    owner: torch.Tensor  # (rows, length): index into the encoded list of the example there, -1 for padding
    attention_mask: torch.Tensor | None  # a 2-D padding mask, or None when packed
    examples: int
    tokens: int  # prompt and target tokens of its examples (padding not counted)

    @property
    def target_tokens(self) -> int:
        return int((self.labels != IGNORE).sum())

    def to(self, device: torch.device | str) -> "Batch":
        moved = {
            name: getattr(self, name).to(device)
            for name in ("input_ids", "labels", "weights", "position_ids", "owner")
        }
        mask = None if self.attention_mask is None else self.attention_mask.to(device)
        return replace(self, **moved, attention_mask=mask)


def pack(lengths: Sequence[int], indices: Sequence[int], max_length: int) -> list[list[int]]:
    """Rows of example indices, in the given order, each holding at most `max_length` tokens: first
    fit over the open rows, so short examples fill the gaps long ones leave."""
    rows: list[list[int]] = []
    room: list[int] = []
    for i in indices:
        for r, free in enumerate(room):
            if lengths[i] <= free:
                rows[r].append(i)
                room[r] -= lengths[i]
                break
        else:
            rows.append([i])
            room.append(max_length - lengths[i])
    return rows


def _row(encoded: Sequence[Encoded], members: Sequence[int], weights: Sequence[float]) -> dict[str, list]:
    row: dict[str, list] = {"input_ids": [], "labels": [], "weights": [], "position_ids": [], "owner": []}
    for i in members:
        example = encoded[i]
        ids = [*example.prompt, *example.target]
        first_target = len(example.prompt)
        row["input_ids"] += ids
        # Position t predicts token t+1: a label where t+1 is a target token; none at the last token.
        row["labels"] += [ids[t + 1] if t + 1 >= first_target else IGNORE for t in range(len(ids) - 1)]
        row["labels"].append(IGNORE)
        row["weights"] += [weights[i]] * len(ids)
        row["position_ids"] += range(len(ids))
        row["owner"] += [i] * len(ids)
    return row


def collate(
    encoded: Sequence[Encoded],
    rows: Sequence[Sequence[int]],
    weights: Sequence[float],
    pad_id: int,
    packed: bool,
) -> Batch:
    """One batch of `rows` (lists of indices into `encoded`), right-padded to the longest row."""
    built = [_row(encoded, members, weights) for members in rows]
    length = max(len(r["input_ids"]) for r in built)
    columns: dict[str, list[list]] = {name: [] for name in built[0]}
    mask = []
    for r in built:
        pad = length - len(r["input_ids"])
        columns["input_ids"].append(r["input_ids"] + [pad_id] * pad)
        columns["labels"].append(r["labels"] + [IGNORE] * pad)
        columns["weights"].append(r["weights"] + [0.0] * pad)
        # Packed: the padding is a sequence of its own (positions from 0), so no example attends to it.
        columns["position_ids"].append(r["position_ids"] + list(range(pad)))
        columns["owner"].append(r["owner"] + [-1] * pad)
        mask.append([1] * len(r["input_ids"]) + [0] * pad)
    tensors = {name: torch.tensor(values) for name, values in columns.items()}
    tensors["weights"] = tensors["weights"].float()
    return Batch(
        **tensors,
        attention_mask=None if packed else torch.tensor(mask),
        examples=sum(len(members) for members in rows),
        tokens=sum(len(r["input_ids"]) for r in built),
    )


def batches(
    encoded: Sequence[Encoded],
    order: Sequence[int],
    weights: Sequence[float],
    *,
    batch_size: int,
    max_length: int,
    packing: bool,
    pad_id: int,
) -> list[Batch]:
    """The batches of one epoch over `encoded` in `order`: `batch_size` rows each, a row being one
    example (padded) or, packed, as many examples as fit in `max_length` tokens."""
    lengths = [len(e.prompt) + len(e.target) for e in encoded]
    rows = pack(lengths, order, max_length) if packing else [[i] for i in order]
    return [
        collate(encoded, rows[start : start + batch_size], weights, pad_id, packing)
        for start in range(0, len(rows), batch_size)
    ]


def token_losses(model: PreTrainedModel, batch: Batch) -> torch.Tensor:
    """The cross-entropy of every labelled position of `batch` (flattened, in row-major order), in fp32.

    `model` is the causal LM (LoRA layers injected); its decoder runs over the whole batch, its LM
    head over the labelled positions only."""
    hidden = model.get_decoder()(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        use_cache=False,
    ).last_hidden_state
    selected = batch.labels != IGNORE
    logits = model.get_output_embeddings()(hidden[selected]).float()
    return F.cross_entropy(logits, batch.labels[selected], reduction="none")
