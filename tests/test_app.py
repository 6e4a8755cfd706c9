"""The Gradio chat driven through gradio_client on a free localhost port."""

import threading
import time

import pytest
from gradio_client import Client
from gradio_client.utils import Status

from langchain_core.documents import Document

from bot.app import BASE, TUNED, build_app, show_passages
from bot.citations import source_of
from bot.personas import load_catalog
from tests.conftest import FixedRetriever, SourcedRetriever, echo_header, serving, text_of


@pytest.fixture
def served(echo_model):
    """The app on the echo model, launched on 127.0.0.1 without blocking; yields (url, model)."""
    with serving(build_app(echo_model, load_catalog(), echo_model.describe(), max_chars=200)) as url:
        yield url, echo_model


def ask(client: Client, message: str, persona: str, instruction: str = "direct"):
    return client.predict(message, persona, instruction, api_name="/respond")


def test_two_concurrent_sessions_keep_their_own_history_and_persona(served):
    url, _ = served
    catalog = load_catalog()
    results: dict[str, list] = {}

    def converse(name: str, persona: str):
        client = Client(url, verbose=False)
        results[name] = [ask(client, f"{name}-nonce-{turn}", persona) for turn in range(3)]

    threads = [threading.Thread(target=converse, args=args) for args in [("ann", "support"), ("bob", "executive")]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for name, persona, other in [("ann", "support", "bob"), ("bob", "executive", "ann")]:
        chat, text, status = results[name][-1]
        assert [text_of(m) for m in chat if m["role"] == "user"] == [f"{name}-nonce-{i}" for i in range(3)]
        answers = [text_of(m) for m in chat if m["role"] == "assistant"]
        assert len(answers) == 3
        assert all(a.startswith(echo_header(catalog.persona(persona).system_prompt)) for a in answers)
        assert all(f"{name}-nonce-0" in a for a in answers[1:]), "the model sees this session's history"
        assert not any(f"{other}-nonce" in text_of(m) for m in chat), "no trace of the other session"
        assert text == "" and status == ""


def test_switching_persona_applies_to_the_next_message_and_shows_in_the_chat(served):
    url, model = served
    client = Client(url, verbose=False)
    ask(client, "first", "support")
    chat, _, _ = ask(client, "second", "plain")
    notices = [m for m in chat if (m.get("metadata") or {}).get("title") == "Persona switched"]
    assert len(notices) == 1 and "Plain English" in text_of(notices[0])
    assert chat.index(notices[0]) == 2, "the notice sits between the two exchanges"
    last_prompt = model.calls[-1][0]
    assert load_catalog().persona("plain").system_prompt in last_prompt[0].content
    assert "Now answering as" not in " ".join(m.content for m in last_prompt), "notices are not sent to the model"


@pytest.mark.parametrize("message, notice", [("   ", "empty"), ("x" * 201, "limit is 200")])
def test_bad_messages_get_a_notice_and_no_model_call(served, message, notice):
    url, model = served
    chat, text, status = ask(Client(url, verbose=False), message, "support")
    assert notice in status
    assert chat == [] and text == message, "the message stays in the box to be fixed"
    assert model.calls == []


def test_a_full_queue_answers_at_once_with_a_clear_message(echo_model):
    gate = threading.Event()
    original_stream = echo_model._stream

    def held_stream(*args, **kwargs):
        gate.wait(60)  # hold the one running request until the queue has been filled
        yield from original_stream(*args, **kwargs)

    object.__setattr__(echo_model, "_stream", held_stream)
    try:
        with serving(build_app(echo_model, load_catalog(), "echo", queue_size=1)) as url:
            clients = [Client(url, verbose=False) for _ in range(3)]
            jobs = []
            for i, (client, state) in enumerate(zip(clients, [Status.PROCESSING, Status.IN_QUEUE, None])):
                jobs.append(client.submit(f"q{i}", "support", "direct", api_name="/respond"))
                while state and jobs[-1].status().code != state:  # one running, one waiting: the queue is full
                    time.sleep(0.05)
            with pytest.raises(Exception, match="(?i)queue is full"):
                jobs[2].result(timeout=30)
            gate.set()
            assert [len(job.result(timeout=60)[0]) for job in jobs[:2]] == [2, 2]
    finally:
        gate.set()


def test_the_page_names_the_model_and_binds_locally(served):
    url, _ = served
    config = Client(url, verbose=False).config
    texts = " ".join(str(c.get("props", {}).get("value", "")) for c in config["components"])
    assert "echo (test fake)" in texts
    assert url.startswith("http://127.0.0.1:")


def test_the_app_opens_no_tunnel_and_calls_no_one_whatever_the_environment_says(echo_model, monkeypatch):
    import gradio.analytics
    import gradio.networking

    monkeypatch.setenv("GRADIO_SHARE", "True")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")
    outbound = []
    monkeypatch.setattr(gradio.analytics, "version_check", lambda: outbound.append("version check"))
    monkeypatch.setattr(gradio.analytics, "_do_analytics_request", lambda topic, data: outbound.append(topic))
    monkeypatch.setattr(gradio.networking, "setup_tunnel", lambda *args, **kwargs: outbound.append("tunnel"))
    app = build_app(echo_model, load_catalog(), "echo")
    with serving(app) as url:
        ask(Client(url, verbose=False), "hello", "support")
    assert outbound == [] and app.share_url is None


@pytest.fixture
def served_full(echo_model):
    """The app with a retriever and an adapter offered in the compare view."""
    app = build_app(echo_model, load_catalog(), echo_model.describe(), max_chars=200,
                    retriever=FixedRetriever(), has_adapter=True)
    with serving(app) as url:
        yield url, echo_model


def system_prompt_of(call) -> str:
    messages, _ = call
    return next((m.content for m in messages if m.type == "system"), "")


def passage_notices(chat: list[dict]) -> list[dict]:
    return [m for m in chat if (m.get("metadata") or {}).get("title", "").startswith("Passages this answer")]


def test_the_knowledge_toggle_puts_passages_into_the_prompt_and_under_the_answer_only_when_on(served_full):
    url, model = served_full
    client = Client(url, verbose=False)
    client.predict("warranty?", "support", "direct", True, api_name="/respond")
    chat, _, status = client.predict("warranty again?", "support", "direct", False, api_name="/respond")
    assert status == ""
    assert "PASSAGE-42" in system_prompt_of(model.calls[0])
    assert not any("PASSAGE-42" in m.content for m in model.calls[1][0]), "neither in the prompt nor in the history"
    [shown] = passage_notices(chat)
    assert shown["metadata"]["title"] == "Passages this answer was given (1)", "support shows no sources in the title"
    assert text_of(shown) == "**[1]** · cited  \nPASSAGE-42: the warranty lasts 24 months."
    assert chat.index(shown) == 2, "under the grounded answer; the answer without knowledge has none"


def test_the_fold_is_headed_by_the_cited_sources_and_each_passage_by_its_document_section_and_page(echo_model):
    app = build_app(echo_model, load_catalog(), echo_model.describe(), retriever=SourcedRetriever())
    with serving(app) as url:
        chat, _, _ = Client(url, verbose=False).predict("Does it renew for 12 months?", "compliance", "direct", True,
                                                        api_name="/respond")
    [shown] = [m for m in chat if (m.get("metadata") or {}).get("title", "").startswith("Sources:")]
    assert shown["metadata"]["title"] == "Sources: agreement.pdf §4.3 · 2 passages given"
    assert text_of(shown) == ("**[1] agreement.pdf › 3.2 Late payment (p. 4)**  \nFees › Late payment  \n"
                              "A late fee of 20 EUR applies after 14 days.\n\n"
                              "**[2] agreement.pdf › 4.3 Renewal (p. 5)** · cited  \nTerm › Renewal  \n"
                              "The agreement renews for 12 months at a time.")


def test_passages_are_shown_numbered_with_their_own_markdown_as_plain_text():
    passages = [Document(page_content="Refunds › Window\nWithin *30* days.", metadata={"source": "refunds.md"}),
                Document(page_content="# Not a heading")]
    shown = show_passages(passages, [source_of(passages[1], 2)])
    assert shown == ("**[1] refunds.md**  \nRefunds › Window  \nWithin \\*30\\* days.\n\n"
                     "**[2]** · cited  \n\\# Not a heading")


def test_compare_answers_every_chosen_combination_with_its_own_model_persona_and_latency(served_full):
    url, model = served_full
    client = Client(url, verbose=False)
    slots = [True, BASE, "support", "direct", False,
             True, TUNED, "executive", "steps", True,
             False, BASE, "plain", "direct", False,
             True, TUNED, "plain", "direct", False]
    result = client.predict("Which plan suits me?", *slots, api_name="/compare")
    answers, latencies, status = result[:4], result[4:8], result[8]
    assert status == ""
    catalog = load_catalog()
    for slot, persona in ((0, "support"), (1, "executive"), (3, "plain")):
        assert echo_header(catalog.persona(persona).system_prompt) in answers[slot]
        assert "Which plan suits me?" in answers[slot]
        assert latencies[slot].startswith("first token") and "total" in latencies[slot]
    assert answers[2] == "" and latencies[2] == "", "a combination left off is not run"
    # One call per chosen combination, in order; only the base one turns the adapter off.
    assert [call[1].get("use_adapter", True) for call in model.calls] == [False, True, True]
    assert ["PASSAGE-42" in system_prompt_of(call) for call in model.calls] == [False, True, False]
    assert "Task:" in system_prompt_of(model.calls[1]) and catalog.instruction("steps").prompt.split()[0] in \
        system_prompt_of(model.calls[1])


def test_compare_with_nothing_chosen_says_so(served_full):
    url, model = served_full
    slots = [False, BASE, "support", "direct", False] * 4
    result = Client(url, verbose=False).predict("q", *slots, api_name="/compare")
    assert "Choose at least one" in result[8] and model.calls == []
