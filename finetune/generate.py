"""Batched greedy generation for evaluation: left padding, one forward pass per step for the whole batch.

Serving streams one answer at a time (`bot.chat_model`); evaluation has hundreds of prompts known in
advance, and on a CPU a batch of 8 costs little more per step than a single prompt (measured in
README.md), so it generates them together.
"""

import time
from dataclasses import dataclass

from bot.models import LoadedModel
from bot.prompts import apply_template

REPETITION_PENALTY = 1.1
"""The serving default (bot.chat_model), so evaluated answers are the answers users get, minus sampling."""


@dataclass
class Generated:
    text: str
    prompt_tokens: int
    new_tokens: int
    batch_seconds: float
    """Wall time of the whole batch this answer was generated in."""
    batch_size: int
    truncated: bool
    """Stopped by max_new_tokens rather than by the end-of-turn token."""


def generate_batch(loaded: LoadedModel, conversations: list[list[dict]], max_new_tokens: int) -> list[Generated]:
    """Greedy answers to each conversation (chat messages), generated together in one batch."""
    import torch

    tokenizer, model = loaded.tokenizer, loaded.model
    prompts = [apply_template(tokenizer, messages) for messages in conversations]
    tokenizer.padding_side = "left"  # generation continues from the right edge of every row
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token  # padding is masked out, so any token will do
    pad_id = tokenizer.pad_token_id
    inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    started = time.monotonic()
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                repetition_penalty=REPETITION_PENALTY, pad_token_id=pad_id)
    seconds = time.monotonic() - started
    new = output[:, inputs["input_ids"].shape[1]:]
    stops = _stop_ids(tokenizer)
    results = []
    for row, mask in zip(new.tolist(), inputs["attention_mask"].tolist()):
        end = next((i for i, token in enumerate(row) if token in stops), None)
        tokens = row if end is None else row[:end]
        results.append(Generated(text=tokenizer.decode(tokens, skip_special_tokens=True).strip(),
                                 prompt_tokens=sum(mask), new_tokens=len(tokens) + (end is not None),
                                 batch_seconds=seconds, batch_size=len(prompts), truncated=end is None))
    return results


def _stop_ids(tokenizer) -> set[int]:
    stops = {tokenizer.eos_token_id, tokenizer.pad_token_id}
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tokenizer.get_vocab() else None
    return {token for token in (*stops, end_of_turn) if token is not None}
