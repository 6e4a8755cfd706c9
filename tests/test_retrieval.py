"""Retrieval grounding: Markdown passages with heading paths, the MiniLM retriever, passages in the chain's prompt."""

import pytest

from bot.chain import build_chain
from bot.errors import InputError
from bot.personas import load_catalog
from bot.prompts import render_messages
from bot.retrieval import PASSAGE_CHARS, knowledge_beside, load_knowledge, split_markdown

DOCS = {
    "shipping.md": "# Shipping\n\n## Delivery times\n\nStandard delivery takes 3 to 5 business days. "
                   "Express delivery arrives the next day for orders placed before noon.\n",
    "refunds.md": "# Refunds\n\n## Refund window\n\nYou can return any product within 30 days for a full refund "
                  "of the purchase price to your original payment method.\n",
    "account.md": "# Account\n\n## Password reset\n\nTo reset your password, open the login page, choose "
                  "'Forgot password' and follow the link we e-mail you.\n",
}


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory):
    directory = tmp_path_factory.mktemp("knowledge")
    for name, text in DOCS.items():
        (directory / name).write_text(text)
    return directory


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


def test_a_directory_without_markdown_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not markdown")
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
    answer = chain.invoke({"question": "How long does delivery take?", "persona": "support"})
    assert answer.startswith("[You are a friendly customer support agent.")
    system = echo_model.calls[-1][0][0]
    assert system.type == "system"
    assert "Reference passages" in system.content
    assert "[1] Shipping › Delivery times\nStandard delivery takes 3 to 5 business days." in system.content

    chain.invoke({"question": "How long does delivery take?", "persona": "support", "retrieval": False})
    system = echo_model.calls[-1][0][0]
    assert system.content.startswith("You are a friendly customer support agent.")
    assert "Reference passages" not in system.content and "Standard delivery" not in system.content
