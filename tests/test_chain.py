"""The chain: invoke, stream, batch and async on the tiny model; persona, passages and prompt format per call;
refusals; memory."""

import asyncio
import warnings

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from bot.chain import build_chain, default_retriever, model_format, with_session_memory
from bot.citations import Source
from bot.errors import InputError, PersonaError
from bot.personas import load_catalog
from bot.prompts import PromptFormat
from tests.conftest import SOURCED_PASSAGES, EchoChatModel, SourcedRetriever, echo_header


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_invoke_stream_and_batch_on_the_tiny_model(noisy_model_dir, catalog):
    from bot.chat_model import load_chat_model

    chain = build_chain(load_chat_model(str(noisy_model_dir), seed=0), catalog)
    request = {"question": "How do I reset my password?", "persona": "support", "instruction": "direct"}
    answer = chain.invoke(request)
    assert isinstance(answer, str) and answer
    chunks = list(chain.stream(request))
    assert len(chunks) > 1, "tokens arrive one by one"
    # Greedy, as the shipped personas decode: the same text; invoke's arrives whole and stripped of the whitespace
    # a stream may begin with.
    assert "".join(chunks).strip() == answer
    batch = chain.batch([request, {**request, "persona": "engineer"}, {**request, "persona": "plain"}])
    assert batch[0] == answer and len(batch) == 3 and all(isinstance(a, str) for a in batch)


def test_async_variants(tiny_chat_model, catalog):
    chain = build_chain(tiny_chat_model, catalog)
    request = {"question": "Refunds?", "persona": "compliance"}

    async def run():
        answer = await chain.ainvoke(request)
        chunks = [c async for c in chain.astream(request)]
        batch = await chain.abatch([request, {**request, "persona": "executive"}])
        return answer, chunks, batch

    answer, chunks, batch = asyncio.run(run())
    assert "".join(chunks).strip() == answer == batch[0]


def test_each_call_chooses_its_persona_instruction_and_settings(echo_model, catalog):
    chain = build_chain(echo_model, catalog)
    answers = chain.batch([{"question": "q1", "persona": "support"},
                           {"question": "q2", "persona": "executive", "instruction": "summarise"}])
    assert answers[0].startswith(echo_header(catalog.persona("support").system_prompt))
    assert answers[1].startswith(echo_header(catalog.persona("executive").system_prompt))
    settings = sorted((kwargs["max_new_tokens"], kwargs["temperature"]) for _, kwargs in echo_model.calls)
    expected = sorted((catalog.persona(p).generation.max_new_tokens, catalog.persona(p).generation.temperature)
                      for p in ("support", "executive"))
    assert settings == expected
    executive_system = next(m for m in echo_model.calls[-1][0] + echo_model.calls[0][0]
                            if m.type == "system" and "executive" in m.content)
    assert catalog.instruction("summarise").prompt in executive_system.content


def test_defaults_when_persona_and_instruction_are_left_out(echo_model, catalog):
    build_chain(echo_model, catalog).invoke({"question": "q"})
    system = echo_model.calls[0][0][0].content
    assert catalog.persona("support").system_prompt in system
    assert catalog.instruction("direct").prompt in system


@pytest.mark.parametrize("question", ["", "   \n\t", None])
def test_empty_messages_never_reach_the_model(echo_model, catalog, question):
    with pytest.raises(InputError, match="empty"):
        build_chain(echo_model, catalog).invoke({"question": question})
    assert echo_model.calls == []


def test_long_messages_are_refused_not_truncated(echo_model, catalog):
    chain = build_chain(echo_model, catalog, max_chars=50)
    assert chain.invoke({"question": "x" * 50})
    with pytest.raises(InputError, match="51 characters; the limit is 50"):
        chain.invoke({"question": "x" * 51})
    assert len(echo_model.calls) == 1


def test_unknown_persona_lists_valid_ids(echo_model, catalog):
    with pytest.raises(PersonaError, match="valid ids"):
        build_chain(echo_model, catalog).invoke({"question": "q", "persona": "pirate"})


def test_injection_strings_reach_the_model_literally(echo_model, catalog):
    question = "{system} {{7*7}} {x.__class__}"
    assert question in build_chain(echo_model, catalog).invoke({"question": question})


def test_history_is_passed_in_order(echo_model, catalog):
    chain = build_chain(echo_model, catalog)
    chain.invoke({"question": "third", "history": [("human", "first"), ("ai", "second")]})
    contents = [m.content for m in echo_model.calls[0][0][-3:]]
    assert contents == ["first", "second", "third"]


def test_session_memory_keeps_sessions_apart(echo_model, catalog):
    chat = with_session_memory(build_chain(echo_model, catalog))
    alice, bob = {"configurable": {"session_id": "alice"}}, {"configurable": {"session_id": "bob"}}
    chat.invoke({"question": "alice-1"}, config=alice)
    chat.invoke({"question": "bob-1"}, config=bob)
    answer = chat.invoke({"question": "alice-2"}, config=alice)
    assert "alice-1" in answer and "alice-2" in answer and "bob-1" not in answer


def test_session_memory_streams_remembers_what_was_said_and_never_warns(echo_model, catalog):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chat = with_session_memory(build_chain(echo_model, catalog))
        bob = {"configurable": {"session_id": "bob"}}
        chunks = list(chat.stream({"question": "bob-1"}, config=bob))
        chat.invoke({"question": "bob-2"}, config=bob)
    assert len(chunks) > 1, "tokens arrive one by one"
    assert [(m.type, m.content) for m in echo_model.calls[-1][0][-3:]] == [
        ("human", "bob-1"), ("ai", "".join(chunks)), ("human", "bob-2")]
    assert [str(w.message) for w in caught] == []


def test_session_memory_forgets_a_stopped_answer_and_needs_a_session_id(echo_model, catalog):
    chat = with_session_memory(build_chain(echo_model, catalog))
    carol = {"configurable": {"session_id": "carol"}}
    stream = chat.stream({"question": "carol-1"}, config=carol)
    next(stream)
    stream.close()
    assert "carol-1" not in chat.invoke({"question": "carol-2"}, config=carol)
    with pytest.raises(ValueError, match="session_id"):
        chat.invoke({"question": "whose?"})


def test_sessions_live_in_the_checkpointer_given(echo_model, catalog):
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver()  # LangGraph's SQLite or Postgres saver keeps sessions across restarts the same way
    dave = {"configurable": {"session_id": "dave"}}
    with_session_memory(build_chain(echo_model, catalog), saver).invoke({"question": "dave-1"}, config=dave)
    answer = with_session_memory(build_chain(echo_model, catalog), saver).invoke({"question": "dave-2"}, config=dave)
    assert "dave-1" in answer


def test_closing_a_stream_stops_generation(tiny_model_dir):
    from langchain_core.messages import HumanMessage

    from bot.chat_model import load_chat_model

    endless = load_chat_model(str(tiny_model_dir), temperature=0, max_new_tokens=1_000_000)
    stream = endless.stream([HumanMessage("q")])
    next(stream)
    stream.close()  # returns only once the generation thread has ended, far short of a million tokens
    assert endless.lock.acquire(blocking=False), "the model is free for the next request"
    endless.lock.release()


class CountingRetriever(BaseRetriever):
    """Finds one fixed passage and counts the searches."""

    searches: list = Field(default_factory=list)

    def _get_relevant_documents(self, query, *, run_manager=None):
        self.searches.append(query)
        return [Document(page_content="RETRIEVED: the warranty lasts 24 months.")]


def system_of(model: EchoChatModel) -> str:
    return next((m.content for m in model.calls[-1][0] if m.type == "system"), "")


def test_persona_none_means_no_persona_and_a_missing_persona_the_default(echo_model, catalog):
    chain = build_chain(echo_model, catalog)
    chain.invoke({"question": "q", "persona": None})
    assert system_of(echo_model) == "Task: " + catalog.instruction("direct").prompt
    assert [m.type for m in echo_model.calls[-1][0]] == ["system", "human"], "no persona, so no examples either"
    assert echo_model.calls[-1][1] == {}, "and no persona generation settings"
    chain.invoke({"question": "q"})
    assert system_of(echo_model).startswith(catalog.persona("support").system_prompt)


def test_passages_given_with_the_request_skip_the_retriever(echo_model, catalog):
    retriever = CountingRetriever()
    chain = build_chain(echo_model, catalog, retriever=retriever)
    chain.invoke({"question": "warranty?", "passages": ["GIVEN: one.", "GIVEN: two."]})
    assert "[1] GIVEN: one.\n\n[2] GIVEN: two." in system_of(echo_model) and "RETRIEVED" not in system_of(echo_model)
    assert retriever.searches == []
    chain.invoke({"question": "warranty?", "retrieval": True})
    assert "[1] RETRIEVED" in system_of(echo_model) and retriever.searches == ["warranty?"]


def test_few_shot_and_retrieval_default_to_the_models_prompt_format(catalog):
    retriever = CountingRetriever()
    examples = [e.user for e in catalog.persona("support").examples]

    def asked(model: EchoChatModel, **inputs) -> tuple[bool, bool]:
        """(few-shot examples shown, passages retrieved) for one request."""
        build_chain(model, catalog, retriever=retriever).invoke({"question": "warranty?", **inputs})
        humans = [m.content for m in model.calls[-1][0] if m.type == "human"]
        return humans[:len(examples)] == examples, "RETRIEVED" in system_of(model)

    base, tuned = EchoChatModel(), EchoChatModel(prompt_format=PromptFormat(few_shot=False, retrieval=True))
    assert asked(base) == (True, False)
    assert asked(tuned) == (False, True)
    assert asked(tuned, few_shot=True, retrieval=False) == (True, False), "a request's own switches win"
    assert asked(base, few_shot=False, retrieval=True) == (False, True)
    assert asked(tuned, adapter=False) == (True, False), "the base model without its adapter has the base format"
    assert tuned.calls[-1][1] == {**catalog.persona("support").generation.as_kwargs(), "use_adapter": False}


def test_model_format_and_default_retriever_for_models_without_an_adapter(echo_model, tiny_chat_model):
    tuned = EchoChatModel(prompt_format=PromptFormat(retrieval=True))
    assert model_format(echo_model) == PromptFormat() == model_format(tuned, use_adapter=False)
    assert model_format(tuned) == PromptFormat(retrieval=True)
    assert default_retriever(tuned) is None, "no adapter directory to carry knowledge"
    assert tiny_chat_model.prompt_format == PromptFormat() and default_retriever(tiny_chat_model) is None


def test_as_message_returns_the_answer_with_its_token_counts(tiny_model_dir, catalog):
    from bot.chat_model import load_chat_model

    chain = build_chain(load_chat_model(str(tiny_model_dir), greedy=True, max_new_tokens=4), catalog, as_message=True)
    message = chain.invoke({"question": "How do I reset my password?", "persona": None})
    assert isinstance(message, AIMessage)
    usage, metadata = message.usage_metadata, message.response_metadata
    assert usage["input_tokens"] > 0 and usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert metadata["finish_reason"] in ("stop", "length") and metadata["batch_size"] == 1
    assert metadata["batch_seconds"] >= 0
    text = build_chain(load_chat_model(str(tiny_model_dir), greedy=True, max_new_tokens=4), catalog).invoke(
        {"question": "How do I reset my password?", "persona": None})
    assert text == message.content


# Answers with their sources ------------------------------------------------------------------------------

def test_with_sources_answers_with_the_passages_given_and_those_cited(echo_model, catalog):
    retriever = SourcedRetriever()
    chain = build_chain(echo_model, catalog, retriever=retriever, with_sources=True)
    result = chain.invoke({"question": "Does it renew for 12 months?", "persona": "engineer", "retrieval": True})
    assert set(result) == {"answer", "context", "sources"}
    assert result["answer"].startswith(echo_header(catalog.persona("engineer").system_prompt))
    assert result["context"] == SOURCED_PASSAGES, "the passages the model was given, with their metadata"
    assert "[2] Term › Renewal" in system_of(echo_model)
    assert result["sources"] == [Source(source="agreement.pdf", section="4. Term › 4.3 Renewal", page=5,
                                        label="agreement.pdf › 4.3 Renewal (p. 5)", text=SOURCED_PASSAGES[1].page_content)]
    text = build_chain(echo_model, catalog, retriever=retriever).invoke(
        {"question": "Does it renew for 12 months?", "persona": "engineer", "retrieval": True})
    assert text == result["answer"].strip(), "the default output is still the answer's text (the fake streams spaces)"


def test_the_persona_decides_how_the_sources_read_and_a_persona_that_shows_none_still_gets_them(echo_model, catalog):
    chain = build_chain(echo_model, catalog, retriever=SourcedRetriever(), with_sources=True)
    request = {"question": "Is the late fee 20 EUR?", "retrieval": True}
    assert [s.label for s in chain.invoke({**request, "persona": "compliance"})["sources"]] == ["agreement.pdf §3.2"]
    assert [s.label for s in chain.invoke({**request, "persona": "support"})["sources"]] == \
        ["agreement.pdf › 3.2 Late payment (p. 4)"]
    assert [s.label for s in chain.invoke({**request, "persona": None})["sources"]] == \
        ["agreement.pdf › 3.2 Late payment (p. 4)"]


def test_with_sources_streams_the_context_then_the_answer_then_the_sources(echo_model, catalog):
    chain = build_chain(echo_model, catalog, retriever=SourcedRetriever(), with_sources=True)
    request = {"question": "Does it renew for 12 months?", "retrieval": True}
    chunks = list(chain.stream(request))
    assert chunks[0] == {"context": SOURCED_PASSAGES}
    assert all(set(chunk) == {"answer"} for chunk in chunks[1:-1]) and len(chunks) > 4, "the answer token by token"
    assert set(chunks[-1]) == {"sources"} and chunks[-1]["sources"][0].page == 5
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    assert whole == chain.invoke(request), "the chunks add up to the whole answer"

    async def streamed_async():
        return [chunk async for chunk in chain.astream(request)]

    assert asyncio.run(streamed_async()) == chunks
    assert asyncio.run(chain.ainvoke(request)) == whole


def test_with_sources_takes_passages_as_strings_or_documents_and_none_means_no_sources(echo_model, catalog):
    chain = build_chain(echo_model, catalog, with_sources=True)
    given = chain.invoke({"question": "Is it 24 months?", "passages": ["Warranty: 24 months.", SOURCED_PASSAGES[0]]})
    assert [(s.label, s.text) for s in given["sources"]] == [("passage 1", "Warranty: 24 months.")]
    assert [d.page_content for d in given["context"]] == ["Warranty: 24 months.", SOURCED_PASSAGES[0].page_content]
    ungrounded, batched = chain.invoke({"question": "Hello?"}), chain.batch([{"question": "Hello?"}] * 2)
    assert (ungrounded["context"], ungrounded["sources"]) == ([], []) and ungrounded["answer"]
    assert batched == [ungrounded, ungrounded]
    with pytest.raises(InputError):
        chain.invoke({"question": "  "})
    with pytest.raises(ValueError, match="not both"):
        build_chain(echo_model, catalog, with_sources=True, as_message=True)


def test_session_memory_over_the_chain_with_sources_remembers_the_answers_text(echo_model, catalog):
    chat = with_session_memory(build_chain(echo_model, catalog, retriever=SourcedRetriever(), with_sources=True))
    config = {"configurable": {"session_id": "reviewer"}}
    first = chat.invoke({"question": "Does it renew for 12 months?", "persona": None, "retrieval": True}, config)
    second = chat.invoke({"question": "And after that?", "persona": None, "retrieval": True}, config)
    assert first["sources"][0].section == "4. Term › 4.3 Renewal"
    history = [m.content for m in echo_model.calls[-1][0][1:-1]]
    assert history == ["Does it renew for 12 months?", first["answer"]], "the answer's text, not the dict"
    assert second["answer"].endswith("And after that? ")
