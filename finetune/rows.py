"""Training rows: each example rendered by the serving renderer and tokenized, with labels on the answer only.

The prompt is what the chain would send for the same request: `bot.prompts.render_messages` with the
catalog's default instruction, the model's `PromptFormat` (no few-shot examples for a tuned model),
the passages retrieval found, and either no persona or a persona whose style rules the answer already
follows. `max_length` follows the data: the longest example sets it, up to the recipe's cap, and an
example over the cap loses passages (the last first) before it is ever dropped.
"""

import random
from dataclasses import dataclass

from bot.errors import TandemError
from bot.personas import Catalog, Instruction, Persona
from bot.prompts import PromptFormat, apply_template, encode_prompt, render_messages
from finetune.data import Example, Problem
from finetune.grounding import GroundedExample
from finetune.recipe import Recipe


@dataclass
class Row:
    example: Example
    input_ids: list[int]
    completion_mask: list[int]
    passages_dropped: int = 0

    def as_dict(self) -> dict:
        return {"input_ids": self.input_ids, "completion_mask": self.completion_mask}


def training_personas(recipe: Recipe, catalog: Catalog) -> list[Persona]:
    """The personas whose system prompts training may put above an example (none for `system_prompts: none`)."""
    return [] if recipe.system_prompts == "none" else list(catalog.personas.values())


def system_persona(answer: str, personas: list[Persona], rng: random.Random) -> Persona | None:
    """No persona for about half the examples; otherwise one whose style rules the answer follows.

    Seeing the same facts with and without persona prompts teaches the model that a persona changes
    how it answers, not what it knows. A persona the answer would break (too long for it, missing its
    required phrase) is never used, so training cannot teach the model to ignore a persona's rules.
    """
    fitting = [p for p in personas if not p.style.violations(answer)]
    if not fitting or rng.random() < 0.5:
        return None
    return rng.choice(fitting)


def tokenize_examples(examples: list[GroundedExample], tokenizer, catalog: Catalog, recipe: Recipe,
                      prompt_format: PromptFormat) -> tuple[list[Row], list[Problem]]:
    """A Row per example that fits `recipe.max_length` (passages dropped as needed), a Problem per one that does not."""
    rng = random.Random(recipe.seed)
    personas = training_personas(recipe, catalog)
    instruction = catalog.instruction(catalog.default_instruction)
    rows, problems = [], []
    for grounded in examples:
        persona = system_persona(grounded.answer, personas, rng)
        passages = list(grounded.passages)
        row = tokenize(grounded.example, grounded.answer, persona, instruction, passages, prompt_format, tokenizer)
        dropped = 0
        while len(row.input_ids) > recipe.max_length and (passages or persona):
            if passages:
                passages.pop()  # passages go before the answer or the question ever would
                dropped += 1
            else:
                persona = None
            row = tokenize(grounded.example, grounded.answer, persona, instruction, passages, prompt_format, tokenizer)
        if len(row.input_ids) > recipe.max_length:
            problems.append(Problem(grounded.example.source, f"over-long example: {len(row.input_ids)} tokens > "
                                                             f"max_length {recipe.max_length} even without passages"))
            continue
        row.passages_dropped = dropped
        rows.append(row)
    return rows, problems


def tokenize(example: Example, answer: str, persona: Persona | None, instruction: Instruction | None,
             passages: list[str], prompt_format: PromptFormat, tokenizer) -> Row:
    """One example as the model sees it at serving time, followed by its answer and the end-of-turn token."""
    messages = render_messages(persona, instruction, example.question, list(example.history),
                               with_examples=prompt_format.few_shot, passages=passages)
    prompt = apply_template(tokenizer, messages, add_generation_prompt=True)
    full = apply_template(tokenizer, [*messages, {"role": "assistant", "content": answer}],
                          add_generation_prompt=False).rstrip()
    if not full.startswith(prompt):
        raise TandemError("the chat template renders a prompt that is not a prefix of the full conversation; "
                          "this model's template cannot be trained on answer tokens only")
    prompt_ids = encode_prompt(tokenizer, messages)
    completion_ids = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
    return Row(example, prompt_ids + completion_ids, [0] * len(prompt_ids) + [1] * len(completion_ids))
