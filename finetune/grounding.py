"""Retrieval-augmented fine-tuning (RAFT, Zhang et al. 2024): training examples that carry passages.

A 135M model cannot memorise a domain well enough to restate its facts for new phrasings, so it is
trained to *read*: each example's prompt holds the passages the retriever finds for its question,
exactly as serving will put them there, and the answer is the example's own. In a share of the
examples (`unanswerable_fraction`) every passage that supports the answer is taken out and the target
says plainly that the passages do not cover it, so the model learns to answer from what it is given
and not to invent. Nothing here knows the domain: support is judged from the answer's own specifics.
"""

import random
from dataclasses import dataclass

from langchain_core.documents import Document

from bot.retrieval import HybridRetriever, document_passages, knowledge_beside, pair_passage
from finetune.data import Example
from bot.specifics import specifics, stated_specifics

NOT_IN_PASSAGES = ("I'm sorry, but the information I have does not cover that, so I can't give you a reliable "
                   "answer. Please ask a colleague who can check it for you.")
"""The target when no passage supports the answer. Persona-neutral: no company, no contact details."""
SUPPORT_COSINE = 0.8
"""An answer without specifics is supported by a passage this close to it (MiniLM cosine)."""


@dataclass(frozen=True)
class GroundedExample:
    example: Example
    passages: tuple[str, ...]
    answer: str
    """The example's answer, or NOT_IN_PASSAGES when its supporting passages were taken out."""


def domain_passages(examples: list[Example], knowledge_dir=None, data_file=None) -> list[Document]:
    """The domain's knowledge: its documents (`knowledge_dir`, or knowledge/ beside the data) and its pairs. Pairs
    synthesized from the documents are left out: they restate a passage, and an answer should cite the document's
    clause, not a machine-written question."""
    directory = knowledge_dir or (knowledge_beside(data_file) if data_file else None)
    passages = document_passages(directory) if directory else []
    seen = set()
    for example in examples:
        if example.history or example.passage or (example.question, example.answer) in seen:
            continue  # a turn of a longer conversation does not stand alone as a passage
        seen.add((example.question, example.answer))
        passages.append(pair_passage(example.question, example.answer, example.source))
    return passages


def ground_examples(examples: list[Example], retriever: HybridRetriever, unanswerable_fraction: float,
                    seed: int) -> list[GroundedExample]:
    """Each example with the top passages for its question, as serving would retrieve them (`retriever.top`).

    The example's own pair is never among its passages (serving never sees the user's exact
    question in the knowledge); when the other passages do not support the answer, the own pair is
    put back at a random position, as a paraphrase of a known question would find it. A synthesized
    pair has no pair of its own in the knowledge: the document passage it was written from stands in.
    """
    from bot.embeddings import embed
    from finetune.synthesize import passage_id

    rng = random.Random(seed)
    texts = [p.page_content for p in retriever.passages]
    own = {text: index for index, text in enumerate(texts)}
    written_from = {passage_id(p): index for index, p in enumerate(retriever.passages)}
    answer_vectors = embed([e.answer for e in examples])
    grounded = []
    for example, answer_vector in zip(examples, answer_vectors):
        if example.passage:
            own_index, ranked = written_from.get(example.passage), retriever.ranked(example.question)
        else:
            own_index = own.get(pair_passage(example.question, example.answer, "").page_content)
            ranked = [i for i in retriever.ranked(example.question) if i != own_index]
        covers, touches = _support_tests(example.answer, answer_vector, retriever, texts)
        if rng.random() < unanswerable_fraction:
            chosen = retriever.top([i for i in ranked if not touches(i)])
            grounded.append(GroundedExample(example, tuple(texts[i] for i in chosen), NOT_IN_PASSAGES))
            continue
        chosen = retriever.top(ranked)
        if not covers(chosen) and own_index is not None and own_index not in chosen:
            chosen = chosen[:retriever.k - 1]
            while chosen and not retriever.fits(chosen + [own_index]):
                chosen.pop()
            chosen.insert(rng.randrange(len(chosen) + 1), own_index)
        grounded.append(GroundedExample(example, tuple(texts[i] for i in chosen), example.answer))
    return grounded


def _support_tests(answer: str, answer_vector, retriever: HybridRetriever, texts: list[str]):
    """Two tests on passages (by index), judged from the answer's specifics (numbers, codes, e-mail
    addresses), or for an answer without any, from MiniLM closeness to it:
    `covers(indices)`: together they state everything the answer states;
    `touches(index)`: this passage states any part of it (so it must go when the answer is taken away)."""
    needed = specifics(answer)

    def stated(text: str) -> set[str]:
        return stated_specifics(text, needed)

    def close(index: int) -> bool:
        return float(retriever.vectors[index] @ answer_vector) >= SUPPORT_COSINE

    def covers(indices: list[int]) -> bool:
        if needed:
            return stated("\n".join(texts[i] for i in indices)) == needed
        return any(close(i) for i in indices)

    def touches(index: int) -> bool:
        return bool(stated(texts[index])) if needed else close(index)

    return covers, touches
