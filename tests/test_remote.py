"""--model openai:URL: the chain on an OpenAI-compatible server, tested against `tandem api` as the stand-in server
(vLLM needs a GPU). Tandem renders the persona once, retrieves on the client, asks for base and tuned by name,
streams, logs on the client, and says what went wrong in one line."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.chain import build_chain
from bot.chat_model import load_chat_model
from bot.paths import PROJECT_ROOT
from bot.personas import load_catalog
from bot.prompts import render_messages
from bot.remote import RemoteModelError
from bot.store import ConversationStore
from finetune.data import SAMPLE_DOMAIN
from tests.conftest import FixedRetriever, api_server

TANDEM = str(Path(sys.executable).parent / "tandem")
SHIPPED = PROJECT_ROOT / "adapters" / "default"
QUESTION = "How long is the warranty?"


def tandem(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([TANDEM, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})


def remote(url: str, adapter: Path | None = SHIPPED, **settings):
    return load_chat_model(f"openai:{url}", adapter, max_retries=0, **settings)


def sent(call) -> list[tuple[str, str]]:
    """The messages a request to the stand-in server reached its chat model with."""
    messages, _ = call
    return [(message.type, message.content) for message in messages]


def rendered(persona: str, with_examples: bool, passages: list[str] = ()) -> list[tuple[str, str]]:
    catalog = load_catalog()
    messages = render_messages(catalog.persona(persona), catalog.instruction("direct"), QUESTION,
                               with_examples=with_examples, passages=passages)
    return [({"system": "system", "user": "human", "assistant": "ai"}[m["role"]], m["content"]) for m in messages]


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    [line] = result.stderr.strip().splitlines()
    return line


def test_ask_sends_the_prompt_tandem_rendered_once_and_logs_the_turn_on_the_client(echo_model, tmp_path):
    server_log = ConversationStore(tmp_path / "server.sqlite3")
    with api_server(echo_model, store=server_log) as (url, _):
        result = tandem("ask", QUESTION, "--persona", "support", "--model", f"openai:{url}", "--no-knowledge",
                        "--db", str(tmp_path / "client.sqlite3"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[You are a friendly customer support]")
    [call] = echo_model.calls
    # Exactly what the chain renders for the shipped adapter (no few-shot examples), one system message: the
    # server added no persona of its own, and the adapter stayed on.
    assert sent(call) == rendered("support", with_examples=False)
    assert "use_adapter" not in call[1]
    [turn] = ConversationStore(tmp_path / "client.sqlite3").turns()
    assert turn["session_id"].startswith("ask:") and turn["question"] == QUESTION
    assert turn["answer"].strip() == result.stdout.strip() and turn["adapter"] == str(SHIPPED)
    assert turn["base_model"] == f"tandem/raw+base at openai:{url}"
    assert server_log.turns() == [], "the client logs the turn; the server does not log it a second time"


def test_the_chain_streams_and_asks_for_base_or_tuned_by_name(echo_model, api_url):
    chain = build_chain(remote(api_url), load_catalog())
    tuned = chain.invoke({"question": QUESTION, "persona": "support"})
    chunks = list(chain.stream({"question": QUESTION, "persona": "support"}))
    base = chain.invoke({"question": QUESTION, "persona": "support", "adapter": False})
    assert len(chunks) > 3 and "".join(chunks).strip() == tuned.strip()
    assert tuned.startswith("[You are a friendly customer support]") and base.startswith("[You are a friendly")
    assert [call[1].get("use_adapter", True) for call in echo_model.calls] == [True, True, False]
    # Each variant asked the way it should be: the tuned one as its card says, the base one with the persona's examples.
    assert sent(echo_model.calls[0]) == rendered("support", with_examples=False)
    assert sent(echo_model.calls[2]) == rendered("support", with_examples=True)


def test_retrieval_stays_on_the_client_and_its_passages_go_in_the_one_system_message(echo_model, api_url):
    chain = build_chain(remote(api_url), load_catalog(), retriever=FixedRetriever())
    chain.invoke({"question": QUESTION, "persona": "support", "retrieval": True})
    [call] = echo_model.calls
    assert sent(call) == rendered("support", with_examples=False,
                                  passages=["PASSAGE-42: the warranty lasts 24 months."])


def test_without_an_adapter_every_request_goes_to_the_base_model(echo_model):
    with api_server(echo_model, adapter=None) as (url, _):
        chain = build_chain(remote(url, adapter=None), load_catalog())
        answer = chain.invoke({"question": QUESTION, "persona": "plain"})
    assert answer.startswith("[") and sent(echo_model.calls[0]) == rendered("plain", with_examples=True)


def test_generation_settings_become_request_fields():
    model = remote("http://127.0.0.1:1/v1", greedy=True, max_new_tokens=160, max_new_tokens_cap=160)
    assert model._request({"max_new_tokens": 400, "temperature": 0.7, "repetition_penalty": 1.2}) == {
        "model": "tandem/raw", "max_tokens": 160, "temperature": 0, "extra_body": {"repetition_penalty": 1.2}}
    assert model._request({"use_adapter": False})["model"] == "tandem/raw+base"
    assert remote("http://127.0.0.1:1/v1")._request({}) == {"model": "tandem/raw", "max_tokens": 256,
                                                            "temperature": 0.3}


def test_eval_runs_its_base_and_tuned_cells_through_the_server(echo_model, api_url, tmp_path):
    (tmp_path / "eval.jsonl").write_text("".join(
        (SAMPLE_DOMAIN / "eval.jsonl").read_text().splitlines(keepends=True)[:2]))
    (tmp_path / "general.jsonl").write_text(json.dumps({"question": "What is a haiku?"}) + "\n")
    result = tandem("eval", "--base-model", f"openai:{api_url}", "--data", str(tmp_path / "eval.jsonl"),
                    "--limit", "2", "--prompts", "persona", "--personas", "support",
                    "--general-questions", str(tmp_path / "general.jsonl"), "--out", str(tmp_path / "reports"))
    assert result.returncode == 0, result.stderr[-2000:]
    [report] = (tmp_path / "reports").iterdir()
    rows = [json.loads(line) for line in (report / "results.jsonl").read_text().splitlines()]
    assert {(row["model"], row["kind"]) for row in rows} == {("base", "domain"), ("tuned", "domain"),
                                                             ("base", "general"), ("tuned", "general")}
    assert all(row["answer"].startswith("[") for row in rows)
    adapter_on = [call[1].get("use_adapter", True) for call in echo_model.calls]
    assert adapter_on.count(False) == adapter_on.count(True) == 3  # 2 questions + 1 general question each
    assert all(call[1]["temperature"] == 0 and call[1]["max_new_tokens"] == 160 for call in echo_model.calls)


def test_an_eval_of_two_adapters_on_one_server_is_refused(tmp_path):
    result = tandem("eval", "--base-model", "openai:http://127.0.0.1:1/v1", "--adapter", str(SHIPPED),
                    "--adapter", str(SHIPPED), "--limit", "2")
    assert "one adapter at a time" in one_line_error(result)


def test_the_app_compares_base_and_tuned_on_the_server_and_logs_both(echo_model, api_url, tmp_path):
    from gradio_client import Client

    from bot.app import BASE, TUNED, build_app
    from tests.conftest import serving

    store = ConversationStore(tmp_path / "log.sqlite3")
    chat_model = remote(api_url)
    app = build_app(chat_model, load_catalog(), chat_model.describe(), has_adapter=True, store=store)
    with serving(app) as app_url:
        slots = [True, BASE, "support", "direct", False, True, TUNED, "plain", "direct", False,
                 False, BASE, "plain", "direct", False, False, BASE, "plain", "direct", False]
        result = Client(app_url, verbose=False).predict(QUESTION, *slots, api_name="/compare")
    assert result[8] == "" and result[0].startswith("[You are a friendly") and result[1].startswith("[")
    assert [call[1].get("use_adapter", True) for call in echo_model.calls] == [False, True]
    base, tuned = store.turns()
    assert base["session_id"] == tuned["session_id"] and base["session_id"].startswith("compare:")
    assert (base["persona_id"], base["adapter"]) == ("support", None)
    assert (tuned["persona_id"], tuned["adapter"]) == ("plain", str(SHIPPED))


# Errors: one line, no traceback ----------------------------------------------------------------------------

def test_a_server_that_is_down_is_one_line():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = one_line_error(tandem("ask", "hi", "--model", f"openai:http://127.0.0.1:{port}/v1", "--no-knowledge",
                                 "--no-log"))
    assert line == f"tandem: cannot reach the model server at http://127.0.0.1:{port}/v1: [Errno 111] Connection refused"


def test_a_wrong_url_and_a_model_the_server_lacks_are_one_line(api_url):
    wrong_path = one_line_error(tandem("ask", "hi", "--model", f"openai:{api_url.removesuffix('/v1')}",
                                       "--no-knowledge", "--no-log"))
    not_http = one_line_error(tandem("ask", "hi", "--model", "openai:localhost:8000", "--no-log"))
    chain = build_chain(remote(api_url, model_name="llama-tuned"), load_catalog())
    with pytest.raises(RemoteModelError, match="answered 404: no model 'llama-tuned'.*must serve llama-tuned"):
        chain.invoke({"question": "hi"})
    assert "answered 404: Not Found (is the URL right? it usually ends in /v1" in wrong_path
    assert not_http == "tandem: --model openai:localhost:8000: expected openai:http://HOST:PORT/v1"


def test_a_server_that_wants_a_key_gets_it_from_the_environment(echo_model):
    with api_server(echo_model, api_keys=frozenset({"s3cret"})) as (url, _):
        refused = tandem("ask", "hi", "--model", f"openai:{url}", "--no-knowledge", "--no-log")
        accepted = tandem("ask", "hi", "--model", f"openai:{url}", "--no-knowledge", "--no-log",
                          env={"TANDEM_API_KEY": "s3cret"})
    assert one_line_error(refused) == (f"tandem: the model server at {url} refused the API key (401); "
                                       "set $TANDEM_API_KEY to its key")
    assert accepted.returncode == 0 and accepted.stdout.startswith("[")


# The stand-in's side: the raw names --------------------------------------------------------------------------

def test_the_api_serves_the_raw_names_and_keeps_their_messages_as_sent(echo_model, tmp_path):
    from openai import BadRequestError, OpenAI

    store = ConversationStore(tmp_path / "log.sqlite3")
    messages = [{"role": "system", "content": "ONLY SYSTEM"}, {"role": "user", "content": "Hi"}]
    with api_server(echo_model, store=store) as (url, _):
        client = OpenAI(base_url=url, api_key="unused", max_retries=0)
        names = [model.id for model in client.models.list()]
        answer = client.chat.completions.create(model="tandem/raw+base", messages=messages, max_tokens=9,
                                                top_p=0.5, extra_body={"repetition_penalty": 1.3})
        with pytest.raises(BadRequestError, match="takes the messages as they are"):
            client.chat.completions.create(model="tandem/raw", messages=messages, extra_body={"persona": "plain"})
    assert names[-2:] == ["tandem/raw", "tandem/raw+base"]
    assert answer.choices[0].message.content.startswith("[ONLY SYSTEM] heard: Hi")
    [call] = echo_model.calls
    assert sent(call) == [("system", "ONLY SYSTEM"), ("human", "Hi")]
    assert call[1] == {"max_new_tokens": 9, "top_p": 0.5, "repetition_penalty": 1.3, "use_adapter": False}
    assert store.turns() == []
