"""The optimiser's candidates: the few-shot examples fit for a persona, and the persona a candidate describes.

A candidate is a wording (`finetune.prompt_search.rewrites`) and a set of examples by id. The examples come from the
persona itself, the training data and the conversation log (thumbs-up answers and corrections, scrubbed of personal
data as `tandem data export` scrubs them), kept only when their answers follow the persona's style rules (an example
that breaks them would teach breaking them) and when they ask nothing the run asks, dev or held-out (the same
paraphrase group or the same question: the example would hand the model the answer).
"""

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from bot.personas import Exchange, Persona
from bot.store import ConversationStore
from finetune.data import Example, fold_text, load_examples
from finetune.feedback import SCRUB_KINDS, approved_answer, scrub_text
from finetune.prompt_search.rewrites import rewrite_prompt


@dataclass(frozen=True)
class Candidate:
    """One point of the search: a wording (finetune.prompt_search.rewrites) and few-shot examples by id."""

    layout: str
    rules: str
    grounding: bool
    examples: tuple[str, ...]


@dataclass(frozen=True)
class PoolExample:
    id: str
    """A hash of the exchange: stays the same when the pool grows (a log gets new ratings between reruns)."""
    ref: str
    """How reports name it: the source's initial and its number among that source's examples (p1, t12, l3)."""
    source: str
    """"persona" (its own), "training" or "log"."""
    user: str
    assistant: str


def example_pool(persona: Persona, questions: list[Example], training: list[Path], log: str | None) -> list[PoolExample]:
    """The persona's own examples, then every example of the training files and of the conversation log (a file or
    URL; None: none) fit to be one (see the module docstring). `questions` are the questions the run asks."""
    asked = {fold_text(q.question) for q in questions}
    groups = {q.group for q in questions if q.group}
    found = [("persona", e.user, e.assistant) for e in persona.examples]
    found += [("training", e.question, e.answer) for e in (load_examples(training).examples if training else [])
              if not e.history and (e.group is None or e.group not in groups)]
    found += [("log", question, answer) for question, answer in (log_examples(log) if log else [])]
    pool: dict[str, PoolExample] = {}
    numbers: Counter = Counter()
    for source, user, assistant in found:
        if source != "persona" and (fold_text(user) in asked or persona.style.violations(assistant)):
            continue
        try:
            exchange = Exchange(user=user, assistant=assistant)  # the persona file must load again
        except ValidationError:
            continue
        digest = hashlib.sha256(f"{exchange.user}\0{exchange.assistant}".encode()).hexdigest()[:10]
        if digest not in pool:
            numbers[source] += 1
            pool[digest] = PoolExample(digest, f"{source[0]}{numbers[source]}", source, exchange.user, exchange.assistant)
    return list(pool.values())


def log_examples(location: str) -> list[tuple[str, str]]:
    """(question, approved answer) of every rated turn, personal data replaced as the export replaces it."""
    pairs = []
    for turn in ConversationStore(location).rated_turns():
        answer = approved_answer(turn)
        if answer:
            counts = dict.fromkeys(SCRUB_KINDS, 0)
            pairs.append((scrub_text(turn["question"], set(SCRUB_KINDS), counts),
                          scrub_text(answer, set(SCRUB_KINDS), counts)))
    return pairs


def candidate_persona(original: Persona, candidate: Candidate, pool: dict[str, PoolExample], **fields) -> Persona:
    """The persona a candidate describes (under the original's id unless `fields` say otherwise); style and
    generation settings are the original's."""
    examples = [{"user": pool[i].user, "assistant": pool[i].assistant} for i in candidate.examples]
    system_prompt = rewrite_prompt(original, candidate.layout, candidate.rules, candidate.grounding)
    return Persona.model_validate({**original.model_dump(), "system_prompt": system_prompt, "examples": examples,
                                   **fields})


def describe(candidate: Candidate, start: Candidate, pool: dict[str, PoolExample]) -> str:
    """What a candidate changes from the original persona, in a few words."""
    parts = []
    if candidate.layout != start.layout:
        parts.append(f"layout {candidate.layout}")
    if candidate.rules != start.rules:
        parts.append(f"rules stated {candidate.rules} the text")
    if candidate.grounding != start.grounding:
        parts.append("grounding sentence")
    if candidate.examples != start.examples:
        parts.append("examples " + " ".join(pool[i].ref for i in candidate.examples))
    return ", ".join(parts) or "the original"
