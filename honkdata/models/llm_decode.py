"""Constrained greedy decoding of frames from a causal LM, and the predictor of the `llm` recipe.

At every step each query's allowed next tokens are those that keep its output a prefix of a frame
in the label space, written as llm_format.py writes targets:

- fixed JSON pieces are forced token by token;
- the intent and each entity type are walked down a token trie of the label space's names (each
  name followed by the piece after it, so no name is a prefix of another's path);
- after the intent and after each entity the model may close the list or open one more entity
  (at most `max_entities`);
- entity text may only grow into a substring of the (JSON-escaped) query, at least one token long.

The output of a row that finishes is parsed with `json.loads` and checked once more against the
label space and the query; a row that runs out of `max_new_tokens`, or whose text cannot be mapped
back onto the query, becomes the label space's fallback intent with confidence 0 and valid=False.

Confidence is the probability of the chosen intent's token path, each step's distribution
renormalized over the tokens the label space allows there: so the intents' probabilities sum to 1
and the number is the model's own belief, not a calibrated one.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache, PreTrainedModel

from honkdata.models.llm_format import (
    AFTER_INTENT,
    AFTER_TYPE,
    CLOSE,
    ENTITY_CLOSE,
    ENTITY_OPEN,
    OPEN,
    SEPARATOR,
    FrameFormat,
    escape,
)
from honkdata.train.frames import Entity, Frame
from honkdata.train.labels import LabelSpace


@dataclass
class _Node:
    children: dict[int, "_Node"] = field(default_factory=dict)
    value: str | None = None  # set on the node that ends a path: what the path chose


def _trie(paths: dict[str, Sequence[int]]) -> _Node:
    root = _Node()
    for value, ids in paths.items():
        node = root
        for token in ids:
            node = node.children.setdefault(token, _Node())
        node.value = value
    return root


class FrameGrammar:
    """The token-level grammar of frames for one tokenizer and label space."""

    def __init__(self, fmt: FrameFormat, max_entities: int) -> None:
        p = fmt.pieces
        end = (*p[CLOSE], fmt.eos)
        self.max_entities = max_entities
        self.open = _trie({"open": p[OPEN]})
        self.intents = _trie({name: (*ids, *p[AFTER_INTENT]) for name, ids in fmt.intent_ids.items()})
        self.first = _trie({"end": end, "entity": p[ENTITY_OPEN]})
        self.more = _trie({"end": end, "entity": (*p[SEPARATOR], *p[ENTITY_OPEN])})
        self.end = _trie({"end": end})
        self.types = _trie({name: (*ids, *p[AFTER_TYPE]) for name, ids in fmt.type_ids.items()})
        self.close = _trie({"close": p[ENTITY_CLOSE]})
        self.close_start = next(iter(self.close.children))
        self.token_text = _token_texts(fmt)

    def text_tokens(self, escaped_query: str) -> dict[int, str]:
        """The tokens that can be part of an entity text of this query: those whose text occurs in it."""
        return {token: text for token, text in self.token_text.items() if text in escaped_query}


def _token_texts(fmt: FrameFormat) -> dict[int, str]:
    """The text each ordinary token adds when it follows another token.

    Decoding a token alone is not enough: SentencePiece tokenizers drop the leading space of a
    sequence's first token. So each token is decoded after an anchor token and the anchor's text
    taken off."""
    tokenizer = fmt.tokenizer
    anchor = fmt.piece("a")[:1]
    prefix = tokenizer.decode(anchor, clean_up_tokenization_spaces=False)
    special = set(tokenizer.all_special_ids)
    ids = [i for i in range(len(tokenizer)) if i not in special]
    texts = tokenizer.batch_decode([[*anchor, i] for i in ids], clean_up_tokenization_spaces=False)
    out = {}
    for i, text in zip(ids, texts, strict=True):
        # "\ufffd": a byte-level token that is part of a multi-byte character; it cannot be matched
        # against the query's characters alone.
        if text.startswith(prefix) and len(text) > len(prefix) and "\ufffd" not in text:
            out[i] = text[len(prefix) :]
    return out


class _Row:
    """The decoding state of one query."""

    def __init__(self, grammar: FrameGrammar, query: str) -> None:
        self.grammar = grammar
        self.escaped = escape(query)
        self.candidates = grammar.text_tokens(self.escaped)
        self.phase = "open"
        self.node = grammar.open
        self.entities = 0
        self.text = ""
        self.tokens: list[int] = []
        self.intent_logprob = 0.0
        self.finished = False  # reached EOS through the grammar
        self.stuck = False  # no token is allowed (e.g. an empty query cannot hold an entity text)

    @property
    def active(self) -> bool:
        return not (self.finished or self.stuck)

    def allowed(self) -> list[int]:
        if self.phase == "text":
            ids = [t for t, s in self.candidates.items() if self.text + s in self.escaped]
            if self.text:
                ids.append(self.grammar.close_start)
            return ids
        return list(self.node.children)

    def advance(self, token: int, logprob: float) -> None:
        self.tokens.append(token)
        if self.phase == "text":
            if token != self.grammar.close_start:
                self.text += self.candidates[token]
                return
            self.phase, self.node = "close", self.grammar.close
        if self.phase == "intent":
            self.intent_logprob += logprob
        self.node = self.node.children[token]
        if self.node.value is not None:
            self._next_phase(self.node.value)

    def _next_phase(self, value: str) -> None:
        g = self.grammar
        if self.phase in ("intent", "close"):
            self.entities += self.phase == "close"
            can_add = self.entities < g.max_entities
            self.phase = "list"
            self.node = (g.more if self.entities else g.first) if can_add else g.end
        elif self.phase == "open":
            self.phase, self.node = "intent", g.intents
        elif self.phase == "list" and value == "end":
            self.finished = True
        elif self.phase == "list":
            self.phase, self.node = "type", g.types
        elif self.phase == "type":
            self.phase, self.text = "text", ""


def parse_frame(output: str, query: str, labels: LabelSpace, confidence: float) -> Frame:
    """The frame of a decoded `output` for `query`, or the invalid fallback frame when `output` is not
    JSON of the frame's shape, names an intent or type outside `labels`, or holds an entity text that
    is not in the query. Entity texts map to the first occurrence at or after the previous entity's
    end (else the first anywhere), with surrounding spaces left out of the span."""
    invalid = Frame(labels.fallback_intent, 0.0, (), valid=False)
    try:
        data = json.loads(output)
    except ValueError:
        return invalid
    if not isinstance(data, dict) or data.get("intent") not in labels.intents:
        return invalid
    items = data.get("entities")
    if not isinstance(items, list):
        return invalid
    entities = []
    cursor = 0
    for item in items:
        if not isinstance(item, dict) or item.get("type") not in labels.entity_types:
            return invalid
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            return invalid
        text = text.strip()
        start = query.find(text, cursor)
        if start < 0:
            start = query.find(text)
        if start < 0:
            return invalid
        cursor = start + len(text)
        entities.append(Entity(item["type"], start, cursor, text))
    return Frame(data["intent"], confidence, tuple(entities))


@torch.no_grad()
def decode(
    model: PreTrainedModel,
    fmt: FrameFormat,
    grammar: FrameGrammar,
    queries: Sequence[str],
    max_new_tokens: int,
) -> list[Frame]:
    """Frames of `queries` (one batch) by greedy decoding under `grammar`, with a KV cache."""
    device = model.device
    rows = [_Row(grammar, q) for q in queries]
    prompts = fmt.prompts(queries)
    pad = fmt.tokenizer.pad_token_id
    length = max(len(p) for p in prompts)
    # Left padding: every row's next token goes at the same (last) column.
    input_ids = torch.tensor([[pad] * (length - len(p)) + list(p) for p in prompts], device=device)
    mask = torch.tensor([[0] * (length - len(p)) + [1] * len(p) for p in prompts], device=device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache(config=model.config)
    logits = model(
        input_ids=input_ids,
        attention_mask=mask,
        position_ids=positions,
        cache=cache,
        use_cache=True,
        logits_to_keep=1,
    ).logits[:, -1]
    for _ in range(max_new_tokens):
        bias = torch.full(logits.shape, -math.inf, device=device)
        for i, row in enumerate(rows):
            allowed = row.allowed() if row.active else []
            if row.active and not allowed:
                row.stuck = True
            bias[i, allowed] = 0.0
        if not any(row.active for row in rows):
            break
        scores = torch.log_softmax(logits.float() + bias, dim=-1)
        choice = scores.argmax(-1)
        chosen = scores.gather(-1, choice[:, None])[:, 0].tolist()
        for i, row in enumerate(rows):
            if row.active:
                row.advance(int(choice[i]), chosen[i])
            else:
                choice[i] = pad  # a finished row idles on padding until the batch is done
        if not any(row.active for row in rows):
            break
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=-1)
        positions = positions[:, -1:] + 1
        logits = model(
            input_ids=choice[:, None],
            attention_mask=mask,
            position_ids=positions,
            cache=cache,
            use_cache=True,
        ).logits[:, -1]
    frames = []
    for row, query in zip(rows, queries, strict=True):
        if not row.finished:
            frames.append(Frame(fmt.labels.fallback_intent, 0.0, (), valid=False))
            continue
        output = fmt.tokenizer.decode(
            row.tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False
        )
        frames.append(parse_frame(output, query, fmt.labels, math.exp(row.intent_logprob)))
    return frames


class CausalLMPredictor:
    """Reads queries into frames with a causal LM under the frame grammar, in batches of similar
    prompt length (less padding), bf16 autocast on CUDA."""

    def __init__(
        self,
        model: PreTrainedModel,
        fmt: FrameFormat,
        *,
        batch_size: int = 32,
        max_new_tokens: int = 128,
        max_entities: int = 8,
    ) -> None:
        self.model = model
        self.fmt = fmt
        self.labels = fmt.labels
        self.grammar = FrameGrammar(fmt, max_entities)
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.invalid = 0  # outputs that failed and became the fallback frame, over this predictor's life

    def predict(self, texts: Sequence[str]) -> list[Frame]:
        self.model.eval()  # during training the loop turns dropout back on at the next epoch
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        frames: list[Frame | None] = [None] * len(texts)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.model.device.type == "cuda")
        with autocast:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                decoded = decode(
                    self.model, self.fmt, self.grammar, [texts[i] for i in batch], self.max_new_tokens
                )
                for i, frame in zip(batch, decoded, strict=True):
                    frames[i] = frame
                    self.invalid += not frame.valid
        return frames
