"""`tandem api`: the OpenAI-compatible endpoint, driven by the official `openai` client and LangChain's
ChatOpenAI against a server started on 127.0.0.1."""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from bot.cli import main
from bot.personas import load_catalog
from bot.prompts import PromptFormat
from bot.store import ConversationStore
from tests.conftest import SOURCED_PASSAGES, EchoChatModel, FixedRetriever, SourcedRetriever, api_server


def post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_openai_client_gets_an_answer_in_the_persona_with_its_own_system_message_after_it(echo_model, api_url):
    from openai import OpenAI

    client = OpenAI(base_url=api_url, api_key="unused", max_retries=0)
    completion = client.chat.completions.create(model="tandem/support", messages=[
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "Hello?"}, {"role": "assistant", "content": "Hi, how can I help?"},
        {"role": "user", "content": "How long does delivery take?"}])
    assert completion.choices[0].message.content.startswith("[You are a friendly customer support]")
    assert completion.choices[0].finish_reason == "stop" and completion.model == "tandem/support"
    messages, _ = echo_model.calls[-1]
    assert [m.type for m in messages[:1]] == ["system"] and messages[0].content.startswith("You are a friendly")
    client_system = [m for m in messages[1:] if m.type == "system"]
    assert [m.content for m in client_system] == ["Answer in one sentence."], "the client's system message follows"
    assert messages[-1].content == "How long does delivery take?" and messages[-2].content == "Hi, how can I help?"


def test_streaming_over_server_sent_events_gives_the_same_text(api_url):
    from openai import OpenAI

    request = {"model": "tandem/plain", "messages": [{"role": "user", "content": "What is a refund?"}]}
    client = OpenAI(base_url=api_url, api_key="unused", max_retries=0)
    whole = client.chat.completions.create(**request).choices[0].message.content
    chunks = list(client.chat.completions.create(**request, stream=True))
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert streamed.strip() == whole.strip() and len(chunks) > 3
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_langchain_chat_openai_works_against_it_streaming_included(api_url):
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(base_url=api_url, api_key="unused", model="tandem/support", max_retries=0)
    answer = model.invoke("Where is my order?").content
    streamed = "".join(chunk.content for chunk in model.stream("Where is my order?"))
    assert answer.startswith("[You are a friendly") and answer.endswith("| Where is my order?")
    assert streamed.strip() == answer.strip()


def test_persona_instruction_retrieval_and_adapter_are_chosen_per_request(echo_model, api_url):
    from openai import OpenAI

    client = OpenAI(base_url=api_url, api_key="unused", max_retries=0)
    names = [model.id for model in client.models.list()]
    client.chat.completions.create(model="tandem/support+base", messages=[{"role": "user", "content": "Hi"}],
                                   max_tokens=7, temperature=0)
    _, base_settings = echo_model.calls[-1]
    client.chat.completions.create(model="tandem/support", messages=[{"role": "user", "content": "Hi"}],
                                   extra_body={"persona": "engineer", "instruction": "steps"})
    engineer_prompt = echo_model.calls[-1][0][0].content
    assert names[0] == "tandem" and "tandem/support" in names and "tandem/support+base" in names
    assert base_settings["use_adapter"] is False and base_settings["max_new_tokens"] == 7
    assert base_settings["temperature"] == 0
    catalog = load_catalog()
    assert engineer_prompt.startswith(catalog.persona("engineer").system_prompt.strip()[:40])
    assert catalog.instruction("steps").prompt in engineer_prompt


def test_errors_come_in_openais_shape_with_the_right_status(api_url):
    import openai
    from openai import OpenAI

    client = OpenAI(base_url=api_url, api_key="unused", max_retries=0)
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    with pytest.raises(openai.BadRequestError) as last_not_user:
        client.chat.completions.create(model="tandem", messages=[{"role": "assistant", "content": "Hi"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="tandem", messages=[{"role": "user", "content": "Hi"}], max_tokens=0)
    status, body = post(f"{api_url}/chat/completions", b"{not json")
    too_big = post(f"{api_url}/chat/completions", b" " * (300 * 1024))
    unknown_persona = post(f"{api_url}/chat/completions", json.dumps(
        {"model": "tandem", "persona": "pirate", "messages": [{"role": "user", "content": "Hi"}]}).encode())
    assert unknown.value.body["code"] == "model_not_found" and "tandem/support" in unknown.value.body["message"]
    assert "last message" in last_not_user.value.body["message"]
    assert status == 400 and set(body["error"]) == {"message", "type", "param", "code"}
    assert too_big[0] == 413
    assert unknown_persona[0] == 404 and "pirate" in unknown_persona[1]["error"]["message"]


def test_keys_are_required_when_configured(echo_model):
    request = json.dumps({"model": "tandem", "messages": [{"role": "user", "content": "Hi"}]}).encode()
    with api_server(echo_model, api_keys=frozenset({"s3cret"})) as (url, _):
        without = post(f"{url}/chat/completions", request)
        wrong = post(f"{url}/chat/completions", request, {"Authorization": "Bearer nope"})
        right = post(f"{url}/chat/completions", request, {"Authorization": "Bearer s3cret"})
    assert without[0] == wrong[0] == 401 and without[1]["error"]["type"] == "authentication_error"
    assert right[0] == 200


class SlowModel(EchoChatModel):
    """Answers only once `release` is set, so a test can hold requests in the house."""

    release: object = None

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.release.wait(timeout=30)
        return super()._generate(messages, stop, run_manager, **kwargs)


def test_a_full_house_answers_429_at_once_instead_of_queueing():
    model = SlowModel(release=threading.Event())
    request = json.dumps({"model": "tandem", "messages": [{"role": "user", "content": "Hi"}]}).encode()
    with api_server(model, capacity=2) as (url, context):
        held = [threading.Thread(target=post, args=(f"{url}/chat/completions", request)) for _ in range(2)]
        for thread in held:
            thread.start()
        while context.in_house < 2:
            time.sleep(0.01)
        refused = post(f"{url}/chat/completions", request)  # queued, it would wait for `release`, then answer 200
        model.release.set()
        for thread in held:
            thread.join()
        after = post(f"{url}/chat/completions", request)
    assert refused[0] == 429 and refused[1]["error"]["type"] == "rate_limit_error"
    assert after[0] == 200 and context.in_house == 0


def test_every_api_turn_goes_into_the_conversation_log(echo_model, tmp_path):
    from openai import OpenAI

    store = ConversationStore(tmp_path / "log.sqlite3")
    echo_model.prompt_format = PromptFormat(retrieval=True)  # a model trained to read passages: retrieval by default
    with api_server(echo_model, store=store, retriever=FixedRetriever()) as (url, _):
        client = OpenAI(base_url=url, api_key="unused", max_retries=0)
        client.chat.completions.create(model="tandem/plain", messages=[{"role": "user", "content": "One?"}],
                                       user="shop-frontend")
        list(client.chat.completions.create(model="tandem/plain+base", stream=True,
                                            messages=[{"role": "user", "content": "Two?"}]))
    first, second = store.turns()
    assert first["session_id"] == "api:shop-frontend" and first["question"] == "One?"
    assert first["persona_id"] == "plain" and first["adapter"] == "adapters/test" and first["retrieval"] == 1
    assert first["answer"].startswith("[")
    assert second["session_id"] == "api:anonymous" and second["adapter"] is None and second["retrieval"] == 0
    assert second["answer"].strip() == echo_model.invoke(echo_model.calls[-1][0]).content.strip()


def test_an_answer_carries_its_sources_whole_and_on_the_last_streamed_chunk(echo_model):
    from openai import OpenAI

    question = [{"role": "user", "content": "Does it renew for 12 months?"}]
    renewal = {"source": "agreement.pdf", "section": "4. Term › 4.3 Renewal", "page": 5,
               "label": "agreement.pdf §4.3", "text": SOURCED_PASSAGES[1].page_content}
    with api_server(echo_model, retriever=SourcedRetriever()) as (url, _):
        client = OpenAI(base_url=url, api_key="unused", max_retries=0)
        whole = client.chat.completions.create(model="tandem/compliance", messages=question,
                                               extra_body={"retrieval": True})
        chunks = list(client.chat.completions.create(model="tandem/compliance", messages=question, stream=True,
                                                     extra_body={"retrieval": True}))
        support = client.chat.completions.create(model="tandem/support", messages=question,
                                                 extra_body={"retrieval": True})
        ungrounded = client.chat.completions.create(model="tandem/compliance", messages=question)
        raw = client.chat.completions.create(model="tandem/raw", messages=question)
    assert whole.model_extra["sources"] == [renewal]
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["sources"] == [renewal]
    assert all("sources" not in (chunk.model_extra or {}) for chunk in chunks[:-1])
    assert support.model_extra["sources"] == [{**renewal, "label": "agreement.pdf › 4.3 Renewal (p. 5)"}], \
        "a persona that shows its readers no sources still gives them to the client"
    assert ungrounded.model_extra["sources"] == [], "no passages, no sources"
    assert "sources" not in (raw.model_extra or {}), "the raw names answer the messages as they are"


def test_the_tiny_model_answers_through_the_api_with_token_counts(tiny_chat_model):
    from openai import OpenAI

    with api_server(tiny_chat_model, adapter=None) as (url, _):
        client = OpenAI(base_url=url, api_key="unused", max_retries=0)
        completion = client.chat.completions.create(model="tandem", max_tokens=5,
                                                    messages=[{"role": "user", "content": "Hello there"}])
        names = [model.id for model in client.models.list()]
    assert completion.usage.completion_tokens <= 5 and completion.usage.prompt_tokens > 5
    assert "tandem/support+base" not in names, "no adapter, so no base variant"


def test_a_non_local_host_without_keys_is_refused_before_anything_loads(capsys):
    assert main(["api", "--host", "0.0.0.0", "--model", "/nonexistent/model"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("tandem: binding to 0.0.0.0 exposes the API") and "\n" not in error


def test_a_stream_whose_client_is_gone_before_it_starts_gives_its_place_back(echo_model):
    """The client hangs up before the first byte: the answer never starts, and its place in the house is freed."""
    import anyio

    from bot.answering import Answerer
    from bot.api import ApiContext, build_api

    context = ApiContext(answerer=Answerer(echo_model, load_catalog()), capacity=1)
    body = json.dumps({"model": "tandem", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}).encode()
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
             "query_string": b"", "root_path": "", "headers": [(b"content-type", b"application/json")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def gone(message):
        raise OSError("the client closed the connection")

    async def request():
        try:
            await build_api(context)(scope, receive, gone)
        except Exception:  # Starlette's ClientDisconnect, however the middleware passes it on
            pass

    for _ in range(3):
        anyio.run(request)
    assert context.in_house == 0, "every admitted request gave its place back"
