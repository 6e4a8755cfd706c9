"""Which passages an answer cites and how a citation reads: the rule every front end and the evaluation share."""

import pytest
from langchain_core.documents import Document

from bot.citations import citation_label, cite, cited, clause_number, source_of, sources_line
from bot.specifics import names

PASSAGES = [
    "Plans › Sprigbox\nThe Sprigbox holds 9 pods.",
    "Plans › Sprigbox Mini\nThe Sprigbox Mini holds 3 pods and costs $89.95.",
    "Refunds › Window\nRefunds are accepted within 30 days; email refunds@example.com.",
]


@pytest.mark.parametrize("answer, expected", [
    ("The Mini costs $89.95.", [1]),
    ("Refunds are accepted within 30 days.", [2]),
    ("Write to refunds@example.com.", [2]),
    # Two facts from two passages: the one stating more of the answer comes first, then the rest.
    ("The Sprigbox Mini holds 3 pods for $89.95; ask within 30 days.", [1, 2]),
    # A name alone is a specific: the best-ranked passage that names it.
    ("Take the Sprigbox, it is the biggest.", [0]),
    # A passage that adds nothing the one before did not state is not cited.
    ("The Sprigbox Mini is $89.95.", [1]),
])
def test_an_answer_cites_the_fewest_passages_that_state_its_specifics_and_names(answer, expected):
    assert cited(answer, PASSAGES) == expected


def test_an_answer_that_states_nothing_from_any_passage_cites_the_top_one_and_no_passages_none():
    assert cited("I am not sure, sorry.", PASSAGES) == [0]
    assert cited("It costs $500.", PASSAGES) == [0], "an invented amount points nowhere: the top passage"
    assert cited("The Mini costs $89.95.", []) == []


def test_a_number_must_be_stated_whole_not_inside_another():
    passages = ["Shipping › Fees\nShipping costs $149.95 to the islands.", "Returns › Fees\nA return costs $49.95."]
    assert cited("A return costs $49.95.", passages) == [1]
    assert cited("Allow 5 days.", ["It takes 15 days.", "It takes 5 days."]) == [1]


def test_names_are_capitalised_words_that_do_not_start_a_sentence_or_list_item():
    text = "Open Settings, then Billing. The app works in Germany.\n- Rootlet pods\nI'm sure; A plan"
    assert names(text) == {"settings", "billing", "germany"}


@pytest.mark.parametrize("section, number", [
    ("4. Term and Renewal › 4.3 Renewal price cap", "4.3"),
    ("4. Term and Renewal › Notes", "4"),
    ("Agreement › Section 4.3 Renewal", "4.3"),
    ("Agreement › §4.3 Renewal", "4.3"),
    ("§12 Governing Law", "12"),
    ("Clause 7: Data", "7"),
    ("Schedule B › B.1 Uptime commitment (§6.1)", "B.1"),
    ("Warranty › Claims", None),
    ("2024 pricing", None),
    ("", None),
    (None, None),
])
def test_the_clause_number_comes_from_the_deepest_heading_that_starts_with_one(section, number):
    assert clause_number(section) == number


@pytest.mark.parametrize("source, section, page, style, label", [
    ("agreement.md", "4. Term › 4.3 Renewal price cap", None, "clause", "agreement.md §4.3"),
    ("agreement.pdf", "4. Term › 4.3 Renewal price cap", 3, "document", "agreement.pdf › 4.3 Renewal price cap (p. 3)"),
    ("guide.md", "Warranty › Claims", None, "clause", "guide.md › Claims"),
    ("guide.md", "Warranty › Claims", None, "none", "guide.md › Claims"),
    ("notes.pdf", None, 2, "document", "notes.pdf (p. 2)"),
    ("faq.csv", None, None, "document", "faq.csv"),
    ("/home/me/data/train.jsonl:12", None, None, "document", "train.jsonl:12"),
    ("", "Warranty › Claims", None, "document", "Claims"),
    ("", None, None, "document", ""),
])
def test_a_citation_reads_as_the_style_asks(source, section, page, style, label):
    assert citation_label(source, section, page, style) == label


def test_a_passage_without_section_or_page_is_still_a_source():
    bare = source_of(Document(page_content="Text.", metadata={"source": "old.md"}), 1)
    assert (bare.source, bare.section, bare.page, bare.label, bare.text) == ("old.md", None, None, "old.md", "Text.")
    nothing = source_of(Document(page_content="Given as a string."), 2)
    assert (nothing.source, nothing.label) == ("", "passage 2")
    odd = source_of(Document(page_content="x", metadata={"source": "a.pdf", "section": "", "page": "3"}), 1)
    assert (odd.section, odd.page, odd.label) == (None, None, "a.pdf"), "a page that is not a number is left out"


def test_cite_gives_records_in_citing_order_and_the_line_reads_them_once():
    documents = [Document(page_content=text, metadata={"source": "plans.md", "section": text.split("\n")[0]})
                 for text in PASSAGES]
    sources = cite("The Sprigbox Mini holds 3 pods for $89.95; ask within 30 days.", documents, "document")
    assert [s.label for s in sources] == ["plans.md › Sprigbox Mini", "plans.md › Window"]
    assert sources[0].text == PASSAGES[1] and sources[0].model_dump()["section"] == "Plans › Sprigbox Mini"
    assert sources_line(sources, "document") == "Sources: plans.md › Sprigbox Mini; plans.md › Window"
    assert sources_line(sources + sources[:1], "document").count("Sprigbox Mini") == 1
    assert sources_line(sources, "none") == "" and sources_line([], "clause") == ""


def test_a_turn_carries_its_passages_as_documents_and_its_sources_however_it_is_answered(echo_model):
    from bot.answering import Answerer, Turn
    from bot.personas import load_catalog
    from tests.conftest import SOURCED_PASSAGES, SourcedRetriever

    answerer = Answerer(echo_model, load_catalog(), SourcedRetriever())
    whole = answerer.answer(Turn("Does it renew for 12 months?", "s1", "compliance", history=[], retrieval=True))
    assert whole.passages == SOURCED_PASSAGES and whole.citations == "clause"
    assert [(s.label, s.page) for s in whole.sources] == [("agreement.pdf §4.3", 5)]
    streamed = Turn("Is the late fee 20 EUR?", "s2", "support", retrieval=True)
    assert "".join(answerer.stream(streamed)) == streamed.answer
    assert streamed.citations == "none" and [s.section for s in streamed.sources] == ["3. Fees › 3.2 Late payment"]
    stopped = Turn("Is the late fee 20 EUR?", "s3", "engineer", history=[], retrieval=True)
    pieces = answerer.stream(stopped)
    next(pieces)
    pieces.close()  # Stop in the app, Ctrl-C in the terminal: the sources of the answer as it stood
    assert stopped.sources and stopped.sources[0].text == SOURCED_PASSAGES[0].page_content
    ungrounded = answerer.answer(Turn("Hello?", "s4", "engineer", history=[], retrieval=False))
    assert (ungrounded.passages, ungrounded.sources) == ([], [])
