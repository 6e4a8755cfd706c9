"""Retrieval grounding: Markdown passages with heading paths, question/answer pairs as passages, the hybrid
(BM25 + MiniLM) retriever, an adapter's knowledge.jsonl, passages in the chain's prompt."""

import numpy as np
import pytest
from langchain_core.documents import Document

from bot.chain import build_chain
from bot.embeddings import embed
from bot.errors import InputError
from bot.personas import load_catalog
from bot.prompts import PromptFormat, render_messages
from bot.retrieval import (KNOWLEDGE_FILE, PASSAGE_CHARS, HybridRetriever, adapter_knowledge, document_passages,
                           knowledge_beside, load_knowledge, pair_passage, read_passages, save_passages,
                           words)
from bot.documents import split_markdown
from tests.conftest import EchoChatModel

KNOWLEDGE = {
    "shipping.md": "# Shipping\n\n## Delivery times\n\nStandard delivery takes 3 to 5 business days. "
                   "Express delivery arrives the next day for orders placed before noon.\n",
    "refunds.md": "# Refunds\n\n## Refund window\n\nYou can return any product within 30 days for a full refund "
                  "of the purchase price to your original payment method.\n",
    "account.md": "# Account\n\n## Password reset\n\nTo reset your password, open the login page, choose "
                  "'Forgot password' and follow the link we e-mail you.\n",
}


@pytest.fixture(scope="module")
def retriever(knowledge):
    return load_knowledge(knowledge, k=2)


def test_passages_keep_their_heading_path():
    text = ("Intro line.\n\n# Guide\n\n## Shipping\n\nShips fast.\n\n### Express\n\nNext day.\n\n"
            "## Returns\n\n30 days.\n")
    passages = split_markdown(text, "guide.md")
    assert [p.page_content for p in passages] == [
        "Intro line.", "Guide › Shipping\nShips fast.", "Guide › Shipping › Express\nNext day.",
        "Guide › Returns\n30 days."]
    assert {p.metadata["source"] for p in passages} == {"guide.md"}
    assert passages[2].metadata["section"] == "Guide › Shipping › Express"


def test_a_long_section_is_split_and_every_piece_keeps_the_heading():
    sentences = " ".join(f"Sentence number {i} explains one more detail of the warranty." for i in range(60))
    passages = split_markdown(f"# Policies\n\n## Warranty\n\n{sentences}\n", "policies.md")
    assert len(passages) >= len(sentences) // PASSAGE_CHARS
    assert all(p.page_content.startswith("Policies › Warranty\n") for p in passages)
    assert all(len(p.page_content) <= PASSAGE_CHARS + len("Policies › Warranty\n") for p in passages)
    assert "number 0 " in passages[0].page_content and "number 59 " in passages[-1].page_content


@pytest.mark.parametrize("query, source", [
    ("How long does delivery take?", "shipping.md"),
    ("Can I get my money back?", "refunds.md"),
    ("I forgot my password", "account.md"),
])
def test_the_passage_about_the_question_comes_first(retriever, query, source):
    found = retriever.invoke(query)
    assert len(found) == 2
    assert found[0].metadata["source"] == source


def test_a_directory_without_documents_is_refused(tmp_path):
    (tmp_path / "sheet.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError, match="no knowledge files"):
        load_knowledge(tmp_path)
    with pytest.raises(InputError, match="no knowledge files"):
        load_knowledge(tmp_path / "missing")


def test_knowledge_is_found_beside_the_data(tmp_path):
    data = tmp_path / "shop" / "eval.jsonl"
    (tmp_path / "shop" / "knowledge").mkdir(parents=True)
    assert knowledge_beside(data) is None, "an empty knowledge/ directory is not knowledge"
    (tmp_path / "shop" / "knowledge" / "faq.md").write_text("# FAQ\n")
    assert knowledge_beside(data) == tmp_path / "shop" / "knowledge"


def test_passages_are_numbered_in_the_system_prompt():
    messages = render_messages(None, None, "Refunds?", passages=["First passage.", "Second passage."])
    assert messages[0]["role"] == "system"
    assert "[1] First passage.\n\n[2] Second passage." in messages[0]["content"]
    assert render_messages(None, None, "Refunds?") == [{"role": "user", "content": "Refunds?"}]


def test_the_chain_puts_retrieved_passages_into_the_system_prompt(echo_model, retriever):
    chain = build_chain(echo_model, load_catalog(), retriever=retriever)
    answer = chain.invoke({"question": "How long does delivery take?", "persona": "support", "retrieval": True})
    assert answer.startswith("[You are a friendly customer support]")
    system = echo_model.calls[-1][0][0]
    assert system.type == "system"
    assert "Reference passages" in system.content
    assert "[1] Shipping › Delivery times\nStandard delivery takes 3 to 5 business days." in system.content

    chain.invoke({"question": "How long does delivery take?", "persona": "support", "retrieval": False})
    system = echo_model.calls[-1][0][0]
    assert system.content.startswith("You are a friendly customer support agent.")
    assert "Reference passages" not in system.content and "Standard delivery" not in system.content


def test_retrieval_is_on_by_default_only_for_a_model_trained_to_read_passages(retriever):
    request = {"question": "How long does delivery take?", "persona": "support"}
    for trained_to_read in (False, True):
        model = EchoChatModel(prompt_format=PromptFormat(retrieval=trained_to_read))
        build_chain(model, load_catalog(), retriever=retriever).invoke(request)
        assert ("Standard delivery" in model.calls[-1][0][0].content) is trained_to_read


# Hybrid search ------------------------------------------------------------------------------------------

CATALOGUE = [
    "Shipping › Delivery times\nStandard delivery takes 3 to 5 business days; express arrives the next day.",
    "Account › Password reset\nTo reset your password, open the login page, choose Forgot password and follow "
    "the e-mail link.",
    "Parts › Catalogue\nZX-14 is the spare lid hinge for the Aero kettle.",
    "Parts › Catalogue\nZX-40 is the spare power base for the Aero kettle.",
    "Parts › Catalogue\nZX-41 is the spare limescale filter for the Aero kettle.",
    "Parts › Catalogue\nZX-42 is the spare water gauge for the Aero kettle.",
    "Parts › Catalogue\nXZ-41 is the spare switch for the Aero kettle.",
    "Store › Opening hours\nThe showroom opens at nine and closes at six, Monday to Saturday.",
]


@pytest.fixture(scope="module")
def catalogue() -> HybridRetriever:
    return HybridRetriever.over([Document(page_content=text, metadata={"source": "parts.md"}) for text in CATALOGUE],
                                k=3)


def dense_ranking(retriever: HybridRetriever, query: str) -> list[int]:
    return np.argsort(-(retriever.vectors @ embed([query])[0]), kind="stable").tolist()


def test_an_exact_code_is_found_where_the_embedding_blurs_it(catalogue):
    query = "Which spare part is ZX-41?"
    assert words(query) == ["spare", "part", "zx-41"], "the code stays one word"
    assert dense_ranking(catalogue, query)[0] != 4, "to MiniLM, ZX-40 and ZX-41 are nearly the same"
    assert catalogue.invoke(query)[0].page_content == CATALOGUE[4]


def test_a_paraphrase_sharing_no_word_is_found(catalogue):
    query = "When does the shop close?"
    assert catalogue.index.lexical(words(query), 20) == [], "no word in common with any passage"
    assert catalogue.invoke(query)[0].page_content == CATALOGUE[7]


def test_rank_fusion_is_deterministic_and_ties_go_to_the_earlier_passage(catalogue):
    twins = [Document(page_content=text) for text in [CATALOGUE[0], CATALOGUE[4], CATALOGUE[7], CATALOGUE[4]]]
    again = HybridRetriever.over(twins, k=4)
    for query in ["Which spare part is ZX-41?", "When does the shop close?", "filter", "zzz"]:
        assert catalogue.ranked(query) == catalogue.ranked(query) == HybridRetriever.over(catalogue.passages).ranked(query)
        ranking = again.ranked(query)
        assert sorted(ranking) == [0, 1, 2, 3] and ranking.index(1) < ranking.index(3), query


def test_passages_after_the_first_come_only_while_they_fit_the_character_budget(catalogue):
    query = "Which spare part is ZX-41?"
    ranked = catalogue.ranked(query)
    sizes = [len(CATALOGUE[i]) for i in ranked]
    assert [d.page_content for d in catalogue.invoke(query)] == [CATALOGUE[i] for i in ranked[:3]], "three fit 1,200"
    for budget, expected in [(sizes[0] + sizes[1], 2), (sizes[0] + sizes[1] - 1, 1), (1, 1)]:
        tight = catalogue.model_copy(update={"max_chars": budget})
        assert tight.top(ranked) == ranked[:expected], budget
        assert [d.page_content for d in tight.invoke(query)] == [CATALOGUE[i] for i in ranked[:expected]]
    assert catalogue.fits([]) and not catalogue.fits(ranked[:4]), "at most k"


def test_question_answer_pairs_are_passages_a_paraphrase_finds(knowledge):
    pair = pair_passage("How do I descale the kettle?", "Boil equal parts water and vinegar, then rinse twice.",
                        "faq.jsonl:7")
    assert pair.page_content == "Q: How do I descale the kettle?\nA: Boil equal parts water and vinegar, then rinse twice."
    retriever = HybridRetriever.over(document_passages(knowledge) + [pair], k=1)
    assert retriever.invoke("What's the way to get limescale out of my kettle?") == [pair]
    assert retriever.invoke("How long does delivery take?")[0].metadata["source"] == "shipping.md"


def test_passages_round_trip_through_knowledge_jsonl(knowledge, tmp_path):
    passages = document_passages(knowledge) + [pair_passage("Ünïcode \"quotes\"?", "Line one.\nLine two.", "faq.jsonl:1")]
    save_passages(passages, tmp_path / KNOWLEDGE_FILE)
    back = read_passages(tmp_path / KNOWLEDGE_FILE)
    assert [(p.page_content, p.metadata) for p in back] == [(p.page_content, p.metadata) for p in passages]
    assert back[0].metadata == {"source": "account.md", "section": "Account › Password reset"}, "the section kept"
    assert back[-1].metadata == {"source": "faq.jsonl:1"}
    assert adapter_knowledge(tmp_path, k=2).passages == back and adapter_knowledge(tmp_path, k=2).k == 2
    assert adapter_knowledge(tmp_path / "no-knowledge") is None, "an adapter trained without retrieval has none"

    with open(tmp_path / KNOWLEDGE_FILE, "a") as f:
        f.write("\n" + '{"source": "x.md"}' + "\n")
    with pytest.raises(InputError, match=f"{tmp_path / KNOWLEDGE_FILE}:{len(passages) + 2}: expected a JSON object"):
        read_passages(tmp_path / KNOWLEDGE_FILE)
