"""The one prompt renderer: persona + instruction + examples + history + question → chat messages → template.

Serving, training and evaluation all call these two functions, so what the model saw in training is
what it sees in production. Persona and user text are data: they are placed into messages as they
are and never evaluated as templates (the tokenizer's Jinja template treats message content as a
value, so `{{7*7}}` in a message stays `{{7*7}}`).
"""

from pydantic import BaseModel, ConfigDict, Field

from bot.personas import Instruction, Persona, StyleRules
from bot.retrieval import PASSAGES_MAX_CHARS, TOP_K

MAX_HISTORY_MESSAGES = 12
"""Older turns are dropped so a long chat cannot outgrow a small model's context."""


class PromptFormat(BaseModel):
    """How requests to one model are rendered: the defaults every front end, training and evaluation share.

    Training records the format it used in the adapter card (`bot.adapters`); serving and evaluation
    read it from there, so a tuned model is asked the way it was taught. A model without an adapter
    gets `PromptFormat()`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    few_shot: bool = True
    """Show the persona's example exchanges before the conversation. A tuned model learnt the domain's
    voice from its data and spends no context on them."""
    retrieval: bool = False
    """Whether requests to this model retrieve passages unless they say otherwise: True for a model trained
    to answer from passages in its prompt."""
    top_k: int = Field(TOP_K, gt=0, le=20)
    """Passages put into the prompt, at most."""
    passage_chars: int = Field(PASSAGES_MAX_CHARS, gt=0, le=100_000)
    """Passages after the first are put in only while together they stay within this many characters."""


def render_messages(persona: Persona | None, instruction: Instruction | None, question: str,
                    history: list[dict] = (), with_examples: bool = True, passages: list[str] = ()) -> list[dict]:
    """Chat messages ({"role", "content"}) for one request.

    `persona=None` and no instruction or passages means no system prompt; `passages` (retrieval
    grounding) go into the system prompt, numbered, after the persona and the instruction.
    """
    messages = []
    system = system_prompt(persona, instruction, passages)
    if system:
        messages.append({"role": "system", "content": system})
    if persona is not None and with_examples:
        for example in persona.examples:
            messages.append({"role": "user", "content": example.user})
            messages.append({"role": "assistant", "content": example.assistant})
    for turn in list(history)[-MAX_HISTORY_MESSAGES:]:
        messages.append({"role": turn["role"], "content": turn["content"]})
    messages.append({"role": "user", "content": question})
    return messages


def system_prompt(persona: Persona | None, instruction: Instruction | None, passages: list[str] = ()) -> str:
    """The system message: the persona, its stated style rules, the task, then any passages."""
    parts = []
    if persona is not None:
        parts.append(persona.system_prompt)
        rules = _describe_rules(persona.style)
        if rules:
            parts.append(rules)
    if instruction is not None:
        parts.append(f"Task: {instruction.prompt}")
    if passages:
        numbered = "\n\n".join(f"[{i}] {text}" for i, text in enumerate(passages, start=1))
        parts.append("Reference passages from the knowledge base. Answer from them when they cover the "
                     f"question; do not invent details they do not give.\n\n{numbered}")
    return "\n\n".join(parts)


def _describe_rules(style: StyleRules) -> str:
    """The checkable style rules, stated to the model in words, so it is told what it is judged on."""
    return " ".join(stated_rules(style))


def stated_rules(style: StyleRules) -> list[str]:
    """Every style rule in words, one sentence each, in the order the judge checks them."""
    rules = []
    if style.must_include_any:
        phrases = " or ".join(f'"{phrase}"' for phrase in style.must_include_any)
        rules.append(f"Always include the words {phrases} in your answer.")
    if style.max_words:
        rules.append(f"Answer in at most {style.max_words} words.")
    if style.max_sentence_words:
        rules.append(f"Keep every sentence under {style.max_sentence_words} words.")
    if style.avoid_words:
        rules.append("Never use these words: " + ", ".join(style.avoid_words) + ".")
    if style.no_exclamations:
        rules.append("Do not use exclamation marks.")
    return rules


def apply_template(tokenizer, messages: list[dict], add_generation_prompt: bool = True) -> str:
    """The tokenizer's own chat template over the messages, as text ready to tokenize."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def encode_prompt(tokenizer, messages: list[dict]) -> list[int]:
    """The token ids the model is given for these messages, up to the start of its answer.

    The template already holds every special token, so the tokenizer must not add its own.
    """
    return tokenizer(apply_template(tokenizer, messages), add_special_tokens=False)["input_ids"]
