"""Every front end's answers go into the conversation log, each under a session id that says where it came from
(`ask:`, `chat:`, `compare:`; the API's `api:` is in test_api), on SQLite or PostgreSQL (--db, $TANDEM_DB_URL);
--no-log records nothing."""

import io
import re
from pathlib import Path

import pytest
from gradio_client import Client

from bot.app import BASE, TUNED, build_app
from bot.cli import main
from bot.personas import load_catalog
from bot.store import ConversationStore
from tests.conftest import serving

SESSION = r"[0-9a-f]{32}"


@pytest.fixture
def echo_cli(echo_model, monkeypatch):
    """`tandem` in this process, answering with the echo model (recorded in the log as base "echo" + adapters/test)."""
    echo_model.adapter = Path("adapters/test")
    monkeypatch.setattr("bot.chat_model.load_chat_model", lambda *args, **settings: echo_model)
    return echo_model


def test_ask_logs_its_answer_in_the_default_log(echo_cli, tandem_home, capsys):
    assert main(["ask", "How long is the warranty?", "--persona", "plain", "--instruction", "steps",
                 "--no-knowledge"]) == 0
    printed = capsys.readouterr().out
    [turn] = ConversationStore(tandem_home / "conversations.sqlite3").turns()
    assert re.fullmatch(f"ask:{SESSION}", turn["session_id"])
    assert (turn["persona_id"], turn["instruction_id"], turn["question"]) == ("plain", "steps",
                                                                            "How long is the warranty?")
    catalog = load_catalog()
    assert turn["persona_hash"] == catalog.persona("plain").content_hash
    assert turn["instruction_hash"] == catalog.instruction("steps").content_hash
    assert turn["answer"] == printed.rstrip("\n") and turn["answer"].startswith("[")
    assert (turn["base_model"], turn["adapter"], turn["retrieval"]) == ("echo", "adapters/test", False)


def test_no_log_records_nothing(echo_cli, tandem_home, monkeypatch):
    assert main(["ask", "Hi?", "--no-knowledge", "--no-log"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("Hi?\n/quit\n"))
    assert main(["chat", "--no-knowledge", "--no-log"]) == 0
    assert not (tandem_home / "conversations.sqlite3").exists()


def test_chat_logs_every_turn_and_a_reset_starts_a_new_session(echo_cli, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("First?\nSecond?\n/persona executive\nThird?\n/reset\nFourth?\n/quit\n"))
    assert main(["chat", "--no-knowledge", "--db", str(tmp_path / "chat.sqlite3")]) == 0
    turns = ConversationStore(tmp_path / "chat.sqlite3").turns()
    assert [t["question"] for t in turns] == ["First?", "Second?", "Third?", "Fourth?"]
    assert [t["persona_id"] for t in turns] == ["support", "support", "executive", "executive"]
    sessions = [t["session_id"] for t in turns]
    assert all(re.fullmatch(f"chat:{SESSION}", s) for s in sessions)
    assert sessions[0] == sessions[1] == sessions[2] != sessions[3]
    assert "First?" in turns[1]["answer"], "the second answer saw the first turn as history"


def test_ask_logs_into_postgresql_named_by_db_or_by_the_environment(echo_cli, postgres_url, monkeypatch, capsys):
    assert main(["ask", "By flag?", "--no-knowledge", "--db", postgres_url]) == 0
    monkeypatch.setenv("TANDEM_DB_URL", postgres_url)
    assert main(["ask", "By environment?", "--no-knowledge"]) == 0
    turns = ConversationStore(postgres_url).turns()
    assert [t["question"] for t in turns] == ["By flag?", "By environment?"]
    assert all(t["session_id"].startswith("ask:") for t in turns)


def test_serve_and_api_name_their_log_without_its_password(echo_cli, postgres_url, monkeypatch, capsys):
    import gradio as gr
    import uvicorn

    with_password = postgres_url.replace("tandem@", "tandem:hunter2@")  # the test server trusts local connections
    monkeypatch.setattr(gr.Blocks, "launch", lambda app, **settings: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **settings: None)
    assert main(["serve", "--no-knowledge", "--db", with_password]) == 0
    assert main(["api", "--no-knowledge", "--db", with_password]) == 0
    out = capsys.readouterr().out
    assert out.count(f"conversation log: {postgres_url.replace('tandem@', 'tandem:***@')}") == 2
    assert "hunter2" not in out


def test_a_log_that_cannot_be_reached_stops_the_command_before_the_model_loads(capsys, monkeypatch):
    loaded = []
    monkeypatch.setattr("bot.chat_model.load_chat_model", lambda *args, **settings: loaded.append(args))
    assert main(["ask", "Hi?", "--db", "mysql://me@db/log"]) == 2
    assert capsys.readouterr().err.startswith("tandem: mysql://me@db/log: not a database Tandem can use")
    assert loaded == []


def test_the_compare_tab_logs_each_answer_under_one_compare_session(echo_model, tmp_path):
    echo_model.adapter = Path("adapters/test")
    store = ConversationStore(tmp_path / "log.sqlite3")
    app = build_app(echo_model, load_catalog(), echo_model.describe(), has_adapter=True, store=store)
    slots = [True, BASE, "support", "direct", False, True, TUNED, "executive", "steps", False,
             False, BASE, "plain", "direct", False, True, TUNED, "plain", "direct", False]
    with serving(app) as url:
        client = Client(url, verbose=False)
        first = client.predict("Which plan suits me?", *slots, api_name="/compare")
        client.predict("And the cheapest?", *slots, api_name="/compare")
    turns = store.turns()
    assert [(t["question"], t["persona_id"], t["instruction_id"], t["adapter"]) for t in turns[:3]] == [
        ("Which plan suits me?", "support", "direct", None),
        ("Which plan suits me?", "executive", "steps", "adapters/test"),
        ("Which plan suits me?", "plain", "direct", "adapters/test")]
    assert [t["answer"] for t in turns[:3]] == [first[0], first[1], first[3]]
    sessions = [t["session_id"] for t in turns]
    assert len(turns) == 6 and all(re.fullmatch(f"compare:{SESSION}", s) for s in sessions)
    assert len(set(sessions[:3])) == len(set(sessions[3:])) == 1 and sessions[0] != sessions[3]


def test_the_flywheel_exports_rated_turns_from_a_postgresql_log(postgres_url, tmp_path, capsys):
    from tests.conftest import rated

    store = ConversationStore(postgres_url)
    rated(store, "Do you ship Sprigbox gardens to Canada?", "Yes, in 5-8 business days.", 1)
    rated(store, "Can I pause my pods?", "No.", -1, "Yes: open Subscriptions and choose Pause.")
    assert main(["data", "export", "--db", postgres_url, "--out", str(tmp_path / "feedback.jsonl")]) == 0
    assert "2 examples written to" in capsys.readouterr().out
    assert len((tmp_path / "feedback.jsonl").read_text().splitlines()) == 2
