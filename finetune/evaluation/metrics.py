"""Scores for one answer or a set of answers: key facts, similarity, style, readability, agreement.

Every function here is pure (text in, number out) apart from the embedding model, so the report's
figures can be recomputed from `results.jsonl` alone.
"""

import re
from functools import lru_cache

from bot.specifics import fact_tokens, specifics, stated_specifics


def contains_fact(answer: str, fact: str) -> bool:
    """Whether the fact's tokens appear, in order and contiguous, among the answer's tokens."""
    needle, haystack = fact_tokens(fact), fact_tokens(answer)
    if not needle:
        return False
    return any(haystack[i:i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def key_fact_recall(answer: str, key_facts: list[str]) -> float | None:
    """The share of key facts the answer states (None when the question has no key facts)."""
    if not key_facts:
        return None
    return sum(contains_fact(answer, fact) for fact in key_facts) / len(key_facts)


def cited_recall(passages: list[str], cited: list[int], key_facts: list[str]) -> tuple[float | None, float | None]:
    """(share of the key facts the first cited passage holds, share the cited passages hold together); None for
    both when nothing is cited or the question has no key facts."""
    if not cited or not key_facts:
        return None, None
    return (key_fact_recall(passages[cited[0]], key_facts),
            key_fact_recall("\n\n".join(passages[i] for i in cited), key_facts))


def unsupported_specifics(answer: str, sources: list[str]) -> list[str]:
    """The answer's specifics that appear in none of the sources (the passages it was given, the reference)."""
    stated = specifics(answer)
    return sorted(stated - stated_specifics("\n".join(sources), stated))


@lru_cache(maxsize=1)
def _hyphenator():
    import pyphen

    return pyphen.Pyphen(lang="en_US")


def reading_ease(text: str) -> float | None:
    """Flesch reading ease (higher is easier; 60-70 is plain English), syllables by pyphen's hyphenation."""
    words = re.findall(r"[A-Za-z]+(?:'[a-z]+)?", text)
    if not words:
        return None
    sentences = max(1, len([s for s in re.split(r"[.!?]+(?:\s|$)", text) if s.strip()]))
    syllables = sum(max(1, len(_hyphenator().positions(word)) + 1) for word in words)
    return round(206.835 - 1.015 * len(words) / sentences - 84.6 * syllables / len(words), 1)


def cosine_pairs(left: list[str], right: list[str]) -> list[float]:
    """Cosine similarity of each left text with the right text at the same position (MiniLM embeddings)."""
    from bot.embeddings import embed

    if not left:
        return []
    a, b = embed(left), embed(right)
    return [round(float(x), 4) for x in (a * b).sum(axis=1)]


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None
