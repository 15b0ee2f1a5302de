"""How a query and its frame are written for a causal LM: the prompt, and the JSON target.

prompt = the query as the user turn of the tokenizer's chat template, after a one-line system turn
naming the task; target = compact JSON `{"intent":"...","entities":[{"type":"...","text":"..."}]}`
and the EOS token.

The target is tokenized piece by piece — each fixed piece of JSON, each intent and type name, each
entity text on its own — and the pieces concatenated. The constrained decoder (llm_decode.py) walks
the same pieces, so the token sequences it allows are exactly the ones the model was trained on (a
tokenizer run over the whole string would merge tokens across piece boundaries, differently for
every query, and the decoder could not follow).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from honkdata.train.labels import LabelSpace

SYSTEM = "Read the user's query and answer with its intent and entities as JSON."

# The fixed pieces of the target, in order of appearance.
OPEN = '{"intent":"'
AFTER_INTENT = '","entities":['
ENTITY_OPEN = '{"type":"'
AFTER_TYPE = '","text":"'
ENTITY_CLOSE = '"}'
SEPARATOR = ","
CLOSE = "]}"


def escape(text: str) -> str:
    """`text` as the inside of a JSON string."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


@dataclass(frozen=True)
class Encoded:
    """One example as token ids: the prompt, and the target the loss is taken on."""

    prompt: tuple[int, ...]
    target: tuple[int, ...]


class FrameFormat:
    """The prompt and target format of one tokenizer and label space."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, labels: LabelSpace) -> None:
        self.tokenizer = tokenizer
        self.labels = labels
        if tokenizer.eos_token_id is None:
            raise ValueError("the tokenizer has no EOS token to end a target with")
        self.eos = int(tokenizer.eos_token_id)

    def piece(self, text: str) -> tuple[int, ...]:
        """The token ids of one piece of target text, without special tokens."""
        return tuple(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    @cached_property
    def pieces(self) -> dict[str, tuple[int, ...]]:
        """The token ids of the fixed pieces, by their text."""
        fixed = (OPEN, AFTER_INTENT, ENTITY_OPEN, AFTER_TYPE, ENTITY_CLOSE, SEPARATOR, CLOSE)
        return {text: self.piece(text) for text in fixed}

    @cached_property
    def intent_ids(self) -> dict[str, tuple[int, ...]]:
        return {intent: self.piece(intent) for intent in self.labels.intents}

    @cached_property
    def type_ids(self) -> dict[str, tuple[int, ...]]:
        return {kind: self.piece(kind) for kind in self.labels.entity_types}

    def prompts(self, queries: Sequence[str]) -> list[tuple[int, ...]]:
        """The prompt token ids of each query, ending where the assistant's answer begins."""
        texts = [
            self.tokenizer.apply_chat_template(
                [{"role": "system", "content": SYSTEM}, {"role": "user", "content": query}],
                tokenize=False,
                add_generation_prompt=True,
            )
            for query in queries
        ]
        # The template already holds the special tokens (BOS, turn markers) it wants.
        return [tuple(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def target(self, intent: str, entities: Sequence[tuple[str, str]]) -> tuple[int, ...]:
        """The target token ids of a frame: `entities` as (type, text) in query order, then EOS."""
        p = self.pieces
        ids = [*p[OPEN], *self.intent_ids[intent], *p[AFTER_INTENT]]
        for i, (kind, text) in enumerate(entities):
            if i:
                ids += p[SEPARATOR]
            ids += [*p[ENTITY_OPEN], *self.type_ids[kind], *p[AFTER_TYPE]]
            ids += [*self.piece(escape(text)), *p[ENTITY_CLOSE]]
        ids += [*p[CLOSE], self.eos]
        return tuple(ids)

    def encode(
        self, queries: Sequence[str], frames: Sequence[tuple[str, Sequence[tuple[str, str]]]]
    ) -> list[Encoded]:
        """Prompt and target ids of each (query, (intent, [(type, text), ...]))."""
        prompts = self.prompts(queries)
        return [
            Encoded(prompt, self.target(intent, entities))
            for prompt, (intent, entities) in zip(prompts, frames, strict=True)
        ]
