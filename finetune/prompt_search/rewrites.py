"""Rewrites of a persona's wording for the optimiser: the same persona, told to the model another way.

Three independent choices, each a small set, none of them about any domain: every rewrite is built from the
persona's own system prompt and its own style rules, so it applies to any persona file.

    layout     original   the system prompt as written
               concise    its first sentence only: who the answer is for (a small model may follow one
                          instruction better than five)
               checklist  its sentences as a numbered list, one instruction per line
    rules      implicit   as the renderer states them (bot.prompts: after the text, in one line)
               after      every style rule restated as a list after the text
               before     the same, before the text
    grounding  off | on   one sentence asking for the answer first and for no guessed specifics

The style rules themselves never change: they are what persona adherence is judged against.
"""

import re

from bot.personas import Persona
from bot.prompts import stated_rules

LAYOUTS = ("original", "concise", "checklist")
RULES = ("implicit", "after", "before")
GROUNDING = (False, True)
GROUNDING_TEXT = ("Start with the answer itself. State a number, price, date, name or code only when it is given to "
                  "you or you are sure of it; never guess one.")


def rewrite_prompt(persona: Persona, layout: str, rules: str, grounding: bool) -> str:
    """The persona's system prompt under one choice of layout, rules and grounding."""
    if layout not in LAYOUTS or rules not in RULES:
        raise ValueError(f"unknown rewrite {layout!r}/{rules!r}")
    sentences = split_sentences(persona.system_prompt)
    if layout == "concise":
        text = sentences[0]
    elif layout == "checklist":
        text = "Follow these instructions:\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(sentences, start=1))
    else:
        text = persona.system_prompt
    stated = stated_rules(persona.style)
    if stated and rules != "implicit":
        block = "Rules for every answer:\n" + "\n".join(f"- {rule}" for rule in stated)
        text = f"{text}\n\n{block}" if rules == "after" else f"{block}\n\n{text}"
    if grounding:
        text = f"{text}\n\n{GROUNDING_TEXT}"
    return text


def split_sentences(text: str) -> list[str]:
    """The text's sentences, its line breaks folded (persona prompts are wrapped at a column, not by sentence)."""
    flat = " ".join(text.split())
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", flat) if s] or [flat]
