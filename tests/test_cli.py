"""The `tandem` command through subprocess: output, exit codes, one-line errors without tracebacks."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.model_store import DEFAULT_MODEL

TANDEM = str(Path(sys.executable).parent / "tandem")
KNOWLEDGE = {"warranty.md": "# Warranty\n\nEvery kettle is covered for 24 months.\n"}
"""The knowledge the grounded answers are checked against (the `knowledge` fixture writes it)."""


def tandem(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([TANDEM, *args], capture_output=True, text=True, input=input, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def assert_user_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def test_personas_list_puts_the_id_first_and_json_is_parseable():
    plain = tandem("personas", "list")
    assert plain.returncode == 0
    ids = [line.split("\t")[0] for line in plain.stdout.splitlines()]
    assert {"support", "engineer", "executive", "plain", "compliance"} <= set(ids)
    as_json = json.loads(tandem("personas", "list", "--json").stdout)
    assert [p["id"] for p in as_json] == ids
    assert all(len(p["examples"]) >= 2 for p in as_json)


def test_personas_show_prints_the_validated_persona():
    result = tandem("personas", "show", "plain")
    assert result.returncode == 0
    assert "id: plain" in result.stdout and "max_sentence_words" in result.stdout


def test_unknown_persona_lists_valid_ids():
    assert_user_error(tandem("personas", "show", "pirate"), "unknown persona 'pirate'", "support")
    assert_user_error(tandem("ask", "hi", "--persona", "pirate"), "valid ids:", "executive")
    assert_user_error(tandem("ask", "hi", "--instruction", "sing"), "unknown instruction 'sing'", "steps")


def test_a_malformed_persona_file_is_one_line_naming_file_and_field(tmp_path):
    (tmp_path / "bad.yaml").write_text("id: bad\ntitle: Bad\naudience: x\ndescription: x\nexamples: []\n")
    result = tandem("personas", "list", "--personas", str(tmp_path))
    assert_user_error(result, "bad.yaml", "system_prompt")
    assert "support\t" in result.stdout, "the valid personas are still listed"


def test_missing_personas_directory():
    assert_user_error(tandem("personas", "list", "--personas", "/no/such/dir"), "no such directory")


def test_ask_streams_an_answer_from_a_local_model_directory(noisy_model_dir):
    result = tandem("ask", "How do I reset my password?", "--model", str(noisy_model_dir), "--persona", "engineer",
                    "--instruction", "steps")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize("question, fragment", [("   ", "empty"), ("x" * 4001, "limit is 4,000")])
def test_ask_refuses_bad_messages_before_loading_a_model(question, fragment):
    # No model is pulled in this home: reaching the loader would give a different error.
    assert_user_error(tandem("ask", question), fragment)


def test_ask_without_a_pulled_model_names_the_pull_command():
    assert_user_error(tandem("ask", "hello"), "tandem models pull")
    assert_user_error(tandem("ask", "hello", "--model", "org/not-cached"), "hub is unreachable", "tandem models pull")


def test_chat_switches_persona_and_reports_mistakes(tiny_model_dir):
    script = "/persona executive\nhello there\n/persona pirate\n/instruction steps\n   \n/quit\n"
    result = tandem("chat", "--model", str(tiny_model_dir), input=script)
    assert result.returncode == 0, result.stderr
    assert "persona: Executive brief" in result.stdout
    assert "[executive] you>" in result.stdout
    assert "bot> " in result.stdout
    assert "unknown persona 'pirate'; valid ids:" in result.stdout
    assert "instruction: Step by step" in result.stdout
    assert "message is empty" in result.stdout


def test_serve_refuses_a_public_bind_without_auth():
    assert_user_error(tandem("serve", "--host", "0.0.0.0"), "--auth USER:PASSWORD")
    assert_user_error(tandem("serve", "--auth", "nopassword"), "USER:PASSWORD")


def test_serve_launches_on_its_address_only_even_when_the_environment_asks_for_a_public_link(
        tiny_chat_model, monkeypatch):
    import gradio as gr

    from bot.cli import main

    launched = {}
    monkeypatch.setenv("GRADIO_SHARE", "True")
    monkeypatch.setattr("bot.chat_model.load_chat_model", lambda *args, **settings: tiny_chat_model)
    monkeypatch.setattr(gr.Blocks, "launch", lambda app, **settings: launched.update(settings))
    assert main(["serve", "--model", "tiny", "--port", "7999", "--no-log", "--no-knowledge"]) == 0
    assert launched["share"] is False
    assert (launched["server_name"], launched["server_port"], launched["auth"]) == ("127.0.0.1", 7999, None)


def test_models_list_and_pull_of_an_unknown_name():
    listing = tandem("models", "list")
    assert listing.returncode == 0
    assert f"{DEFAULT_MODEL} (default)\tApache-2.0\tnot pulled (tandem models pull {DEFAULT_MODEL})" in listing.stdout
    assert "qwen2.5-coder-1.5b-instruct\tApache-2.0\tnot pulled (tandem models pull qwen2.5-coder-1.5b-instruct)" \
        in listing.stdout
    rows = json.loads(tandem("models", "list", "--json").stdout)
    assert [row["name"] for row in rows if row["default"]] == [DEFAULT_MODEL]
    assert {row["name"]: row["wheels"] for row in rows}["qwen2.5-coder-0.5b-instruct"] == 6
    assert not any(row["pulled"] for row in rows)
    assert_user_error(tandem("models", "pull", "gpt-17"), "unknown model 'gpt-17'")


def test_tandem_model_names_the_model_every_command_uses_when_none_is_named(noisy_model_dir, monkeypatch):
    from finetune.recipe import load_recipe

    monkeypatch.setenv("TANDEM_MODEL", "qwen2.5-coder-1.5b-instruct")
    rows = json.loads(tandem("models", "list", "--json").stdout)
    assert [row["name"] for row in rows if row["default"]] == ["qwen2.5-coder-1.5b-instruct"]
    assert load_recipe("default").base_model == "qwen2.5-coder-1.5b-instruct"
    assert load_recipe("smollm2-135m").base_model == "smollm2-135m-instruct", "a recipe that names its model keeps it"
    monkeypatch.setenv("TANDEM_MODEL", str(noisy_model_dir))
    answer = tandem("ask", "hello", "--persona", "plain", "--no-knowledge", "--no-log")
    assert answer.returncode == 0 and answer.stdout.strip(), answer.stderr
    assert "was trained on" not in answer.stderr, "the shipped adapter stays with the model it was trained on"


@pytest.mark.parametrize("command", [["ask", "hi"], ["chat"], ["serve"]])
def test_a_bad_knowledge_directory_is_reported_before_any_model_loads(command, tmp_path):
    (tmp_path / "sheet.xlsx").write_bytes(b"PK")
    for knowledge in ("/nonexistent", str(tmp_path)):
        # The model is missing too: reaching the loader would report that instead.
        result = tandem(*command, "--knowledge", knowledge, "--model", "/nonexistent-dir")
        assert_user_error(result, f"tandem: --knowledge {knowledge}: not a directory of documents "
                                  "(.pdf, .docx, .html, .htm, .md, .markdown, .txt)")


@pytest.mark.parametrize("command", [["ask", "How long is the warranty?"], ["chat"]])
def test_knowledge_grounds_the_answers_of_a_base_model(command, knowledge, echo_model, monkeypatch, capsys):
    from bot.cli import main
    from bot.index import directory_index_name

    monkeypatch.setattr("bot.chat_model.load_chat_model", lambda *args, **settings: echo_model)
    for extra in (["--knowledge", str(knowledge)], []):
        monkeypatch.setattr("sys.stdin", io.StringIO("How long is the warranty?\n/quit\n"))  # for chat
        assert main([*command, "--model", "a-base-model", *extra]) == 0
    grounded, plain = (next(m.content for m in messages if m.type == "system") for messages, _ in echo_model.calls)
    assert "[1] Warranty\nEvery kettle is covered for 24 months." in grounded
    assert "24 months" not in plain
    assert f"tandem: knowledge {knowledge} (index {directory_index_name(knowledge)}): 1 added" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["ask", "How long is the warranty?"], ["chat"]])
def test_a_grounded_answer_is_followed_by_its_sources_when_the_persona_cites_them(command, knowledge, echo_model,
                                                                                   monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setattr("bot.chat_model.load_chat_model", lambda *args, **settings: echo_model)
    shown = {}
    for persona in ("engineer", "support"):
        monkeypatch.setattr("sys.stdin", io.StringIO("How long is the warranty?\n/quit\n"))  # for chat
        assert main([*command, "--model", "a-base-model", "--knowledge", str(knowledge), "--persona", persona]) == 0
        shown[persona] = capsys.readouterr().out.splitlines()
    answer = next(i for i, line in enumerate(shown["engineer"]) if "heard:" in line)
    assert shown["engineer"][answer + 1] == "Sources: warranty.md › Warranty", "one line, right after the answer"
    assert not any(line.startswith("Sources:") for line in shown["support"]), "support shows its customers none"
