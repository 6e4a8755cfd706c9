"""Retrieval-augmented fine-tuning (RAFT): the domain's passages, and training examples grounded in them."""

import pytest

from bot.retrieval import HybridRetriever, pair_passage
from finetune.data import Example
from finetune.grounding import NOT_IN_PASSAGES, domain_passages, ground_examples
from bot.specifics import specifics

KNOWLEDGE = {
    "refunds.md": "# Refunds\n\n## Window\n\nYou can return any product within 30 days for a full refund.\n",
    "shipping.md": "# Shipping\n\n## Express\n\nExpress delivery costs $9.95 and arrives the next day.\n",
    "contact.md": "# Contact\n\n## E-mail\n\nWrite to help@fernhollow.example about anything else.\n",
}
EXAMPLES = [  # every answer states specifics, so "covers" can be checked exactly
    Example("How long do I have to send something back?", "You have 30 days to return it.", source="qa:1"),
    Example("What does express shipping cost?", "Express shipping costs $9.95.", source="qa:2"),
    Example("Which address do I write to?", "Write to help@fernhollow.example.", source="qa:3"),
    Example("How much is the Aero kettle?", "The Aero kettle costs $49.95.", source="qa:4"),
    Example("What's the price of the Aero kettle?", "It is $49.95.", source="qa:5"),  # a paraphrase of qa:4
    Example("Which code gives a discount?", "Code SPRIG10 gives 10% off.", source="qa:6"),
    Example("How long is the warranty?", "The warranty lasts 24 months.", source="qa:7"),
    Example("When do invoices go out?", "Invoices go out on the 1st of each month.", source="qa:8"),
]
K = 3


@pytest.fixture(scope="module")
def retriever(knowledge) -> HybridRetriever:
    return HybridRetriever.over(domain_passages(EXAMPLES, knowledge), k=K)


def own_pair(example: Example) -> str:
    return pair_passage(example.question, example.answer, "").page_content


def test_the_domain_is_its_documents_and_its_pairs(knowledge):
    later_turn = Example("And after that?", "Then 5 days.", history=({"role": "user", "content": "Hi"},
                                                                     {"role": "assistant", "content": "Hello."}))
    passages = domain_passages([*EXAMPLES, EXAMPLES[0], later_turn], knowledge)
    assert len(passages) == len(KNOWLEDGE) + len(EXAMPLES), "a repeated pair once, a turn of a conversation never"
    assert [p.page_content for p in passages[len(KNOWLEDGE):]] == [own_pair(e) for e in EXAMPLES]
    assert passages[-1].metadata["source"] == "qa:8"
    beside = domain_passages(EXAMPLES, data_file=knowledge.parent / "train.jsonl")
    assert [p.page_content for p in beside] == [p.page_content for p in passages]
    assert len(domain_passages(EXAMPLES)) == len(EXAMPLES), "pairs alone when the domain has no documents"


def test_a_pairs_source_names_its_file_and_line_not_the_machine_it_was_trained_on():
    passage = pair_passage("How long is the warranty?", "24 months.", "/home/ana/corpora/support/train.jsonl:17")
    assert passage.metadata["source"] == "train.jsonl:17"


def test_every_example_is_answerable_from_its_passages_and_its_own_pair_is_the_last_resort(retriever):
    grounded = ground_examples(EXAMPLES, retriever, unanswerable_fraction=0, seed=0)
    texts = [p.page_content for p in retriever.passages]
    with_own = []
    for example, g in zip(EXAMPLES, grounded):
        assert (g.example, g.answer, len(g.passages)) == (example, example.answer, K)
        assert specifics(example.answer) <= specifics("\n".join(g.passages)), example.source
        others = [texts[i] for i in retriever.ranked(example.question) if texts[i] != own_pair(example)][:K]
        others_cover = specifics(example.answer) <= specifics("\n".join(others))
        assert (own_pair(example) in g.passages) is not others_cover, example.source
        if not others_cover:
            with_own.append(example.source)
    assert "qa:4" not in with_own and "qa:5" not in with_own, "each of the paraphrases states the other's price"
    assert {"qa:6", "qa:7", "qa:8"} <= set(with_own), "facts found nowhere else"
    assert ground_examples(EXAMPLES, retriever, 0, seed=0) == grounded, "a seed decides"


def test_an_unanswerable_example_loses_every_passage_that_states_its_answer(retriever):
    grounded = ground_examples(EXAMPLES, retriever, unanswerable_fraction=1.0, seed=0)
    for example, g in zip(EXAMPLES, grounded):
        assert g.answer == NOT_IN_PASSAGES and g.passages, example.source
        assert own_pair(example) not in g.passages
        for passage in g.passages:
            assert not specifics(passage) & specifics(example.answer), (example.source, passage)
    assert not specifics(NOT_IN_PASSAGES), "the target states nothing a passage would have to support"


def test_about_the_unanswerable_fraction_of_examples_lose_their_passages(retriever):
    examples = EXAMPLES * 25
    answers = [g.answer for g in ground_examples(examples, retriever, unanswerable_fraction=0.2, seed=3)]
    assert 0.1 < answers.count(NOT_IN_PASSAGES) / len(examples) < 0.3


def test_long_passages_come_fewer_to_an_example_and_the_own_pair_still_fits(knowledge):
    """A FAQ with long answers: as many passages as fit `max_chars`, the first always, the own pair put back
    in place of others when the rest do not state the answer."""
    budget = max(len(own_pair(e)) for e in EXAMPLES) + 10  # one pair fits, rarely two
    retriever = HybridRetriever.over(domain_passages(EXAMPLES, knowledge), k=K, max_chars=budget)
    grounded = ground_examples(EXAMPLES, retriever, unanswerable_fraction=0, seed=0)
    for example, g in zip(EXAMPLES, grounded):
        assert 1 <= len(g.passages) < K and (len(g.passages) == 1 or sum(map(len, g.passages)) <= budget)
        assert specifics(example.answer) <= specifics("\n".join(g.passages)), example.source
    for g in ground_examples(EXAMPLES, retriever, unanswerable_fraction=1.0, seed=0):
        assert len(g.passages) == 1 or sum(map(len, g.passages)) <= budget


def test_a_synthesized_pair_is_not_knowledge_and_is_grounded_in_the_passage_it_was_written_from(knowledge):
    from bot.retrieval import document_passages
    from finetune.synthesize import passage_id

    refunds = next(p for p in document_passages(knowledge) if "30 days" in p.page_content)
    misleading = Example("Express delivery aside, how long do I have?", "You have 30 days to return it.",
                         source="synthesized:1", passage=passage_id(refunds))
    plain = Example("How long do I have to return a product?", "Within 30 days.", source="synthesized:2",
                    passage=passage_id(refunds))
    passages = domain_passages([misleading, plain, EXAMPLES[1]], knowledge)
    assert [p.page_content for p in passages[len(KNOWLEDGE):]] == [own_pair(EXAMPLES[1])], \
        "a pair written from a passage restates it: only hand-written pairs are knowledge"
    retriever = HybridRetriever.over(passages, k=1)
    assert retriever.passages[retriever.top(retriever.ranked(misleading.question))[0]] != refunds, \
        "the test needs a question whose top passage is another one"
    for g in ground_examples([misleading, plain], retriever, unanswerable_fraction=0, seed=0):
        assert g.passages == (refunds.page_content,), g.example.source
