"""Hostile input: every bad input is one `tandem: ...` line and exit 2 (or a reported, skipped line), never a
traceback, a hang or an exhausted memory. One section per class of input, several cases each, through the
command line where that is how users meet it."""

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.userinput import printable
from tests.conftest import write_qa

TANDEM = str(Path(sys.executable).parent / "tandem")
GOOD_PERSONA = (Path(__file__).resolve().parent.parent / "personas" / "support.yaml").read_text().replace(
    "id: support", "id: probe")


@pytest.fixture(autouse=True)
def no_hang():
    """A test that would hang (a FIFO read blocks for ever) fails instead of stopping the suite."""
    def expire(*_):
        raise TimeoutError("hung")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv) -> str:
    """The single stderr line of a command that must fail with exit 2."""
    code, _, err = run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("tandem: "), (code, err)
    assert "\x1b" not in err
    return lines[0]


def persona_dir(tmp_path: Path, text: str | bytes, name: str = "probe.yaml") -> Path:
    directory = tmp_path / "personas"
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return directory


def skipped_persona(capsys, directory: Path) -> str:
    """`personas list` over a directory whose one file is refused: exit 2 and the one line that says why."""
    code, out, err = run(capsys, "personas", "list", "--personas", directory)
    assert code == 2 and "support\t" in out, "the shipped personas still work"
    [line] = err.strip().splitlines()
    assert line.startswith("tandem: skipped ") and "\x1b" not in line
    return line


# Text that is not valid Unicode ---------------------------------------------------------------------------

def test_invalid_utf8_on_the_command_line_is_refused_before_any_model_loads():
    # The model named does not exist: reaching the loader would be a different error.
    result = subprocess.run([TANDEM.encode(), b"ask", b"caf\xe9 \xff", b"--model", b"/nonexistent"],
                            capture_output=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert result.stderr.decode().startswith("tandem: the question is not valid Unicode: character 4 is \\udce9")


@pytest.mark.parametrize("question", ["\udcff", "hi \ud800 there", "\udfff\ud800"])
def test_a_question_with_lone_surrogates_is_one_line(capsys, question):
    assert "not valid Unicode" in one_line_error(capsys, "ask", question, "--model", "/nonexistent")


def test_invalid_utf8_typed_into_chat_is_refused_and_the_session_goes_on(capsys, monkeypatch, echo_model):
    monkeypatch.setattr("bot.chat_model.load_chat_model", lambda model, adapter: echo_model)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"caf\xe9\n\xed\xa0\x80\nhello\n/quit\n"),
                                                       encoding="utf-8"))
    code, out, _ = run(capsys, "chat", "--model", "echo", "--no-knowledge")
    assert code == 0
    assert out.count("tandem: the message is not valid Unicode") == 2
    assert "| hello \n" in out, "the next message is answered"


@pytest.mark.parametrize("record", [
    {"question": "\ud800", "answer": "a"},
    {"question": "q", "answer": "ok \udfff"},
    {"messages": [{"role": "user", "content": "\udc80"}, {"role": "assistant", "content": "a"}]},
    {"question": "q", "answer": "a", "category": "\ud83d"},
])
def test_a_training_row_with_a_lone_surrogate_is_a_problem_not_a_crash(capsys, tmp_path, record):
    path = tmp_path / "data.jsonl"
    # json.dumps writes the surrogate as the escape "\udXXX": valid JSON, invalid Unicode.
    path.write_text(json.dumps({"question": "fine", "answer": "yes"}) + "\n" + json.dumps(record) + "\n")
    code, out, _ = run(capsys, "data", "check", path)
    assert code == 1 and f"{path}:2: a string with a lone surrogate escape" in out
    assert "the data (--strict)" in one_line_error(capsys, "data", "check", path, "--strict")


def test_lone_surrogates_in_a_persona_an_adapter_card_and_an_api_request_are_refused(capsys, tmp_path, echo_model):
    from fastapi.testclient import TestClient

    from bot.adapters import read_card
    from bot.api import ApiContext, build_api
    from bot.chain import build_chain
    from bot.errors import ModelNotFoundError
    from bot.personas import load_catalog

    line = skipped_persona(capsys, persona_dir(tmp_path, GOOD_PERSONA.replace("title: ", 'title: "\\ud800" #')))
    assert "probe.yaml:2: invalid YAML: a string that is not valid Unicode" in line
    (tmp_path / "tandem-adapter.json").write_text('{"base_model": "\\ud800"}')
    with pytest.raises(ModelNotFoundError, match="not valid Unicode"):
        read_card(tmp_path)
    catalog = load_catalog()
    context = ApiContext(chain=build_chain(echo_model, catalog, as_message=True), catalog=catalog, base_model="echo",
                         adapter=None)
    response = TestClient(build_api(context)).post("/v1/chat/completions", content=b'{"model": "tandem", "messages": '
                                                   b'[{"role": "user", "content": "\\udc00"}]}')
    assert response.status_code == 400 and "not valid Unicode" in response.json()["error"]["message"]


# Pathological structure -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, fragment", [
    ("a: " + "[" * 5000, "invalid YAML: nested too deeply"),
    ("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 800)), "invalid YAML: nested too deeply"),
    (GOOD_PERSONA.replace("max_words: 120", "max_words: " + "9" * 5000), "probe.yaml:16: invalid YAML: cannot read"),
    (GOOD_PERSONA.replace("temperature: 0.3", "temperature: 1e999"), "field 'generation.temperature'"),
    (GOOD_PERSONA.replace("max_new_tokens: 200", "max_new_tokens: " + "9" * 40), "field 'generation.max_new_tokens'"),
])
def test_pathological_persona_files_are_one_skipped_line(capsys, tmp_path, text, fragment):
    assert fragment in skipped_persona(capsys, persona_dir(tmp_path, text))


@pytest.mark.parametrize("line, fragment", [
    ("[" * 100_000 + "]" * 100_000, "invalid JSON: nested too deeply"),
    ('{"question": "q", "answer": ' + "7" * 5000 + "}", "unreadable JSON: Exceeds the limit (4300 digits)"),
    ('{"question": "q", "answer": "a", "x": ' + "{\"y\": " * 50_000 + "1" + "}" * 50_001, "invalid JSON: nested too deeply"),
])
def test_pathological_json_lines_are_reported_and_skipped(capsys, tmp_path, line, fragment):
    path = tmp_path / "data.jsonl"
    path.write_text('{"question": "fine", "answer": "yes"}\n' + line + "\n")
    code, out, _ = run(capsys, "data", "check", path)
    assert code == 1 and f"{path}:2: {fragment}" in out
    path.write_text(line + "\n" + '{"question": "fine", "answer": "yes"}\n')  # the first line picks the format
    assert run(capsys, "data", "check", path)[0] == 1


def test_a_csv_cell_over_the_field_limit_is_one_problem_and_the_other_rows_are_kept(capsys, tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text("question,answer\nq1,a1\nq2," + "x" * 200_000 + "\nq3,a3\n")
    code, out, _ = run(capsys, "data", "check", path)
    assert code == 1 and f"{path}:3: unreadable CSV row: field larger than field limit" in out
    assert "2 usable examples" in out
    path.write_text("question," + "x" * 200_000 + "\nq,a\n")
    assert f"{path}:1: unreadable CSV header" in one_line_error(capsys, "data", "check", path)


@pytest.mark.parametrize("recipe, fragment", [
    ("epochs: " + "[" * 3000, "nested too deeply"),
    ("seed: " + "1" * 5000, "cannot read this value"),
    ("epochs: .inf", "field 'epochs': Input should be a finite number"),
    ("learning_rate: .nan", "field 'learning_rate'"),
    ("lora_r: 100000000000", "field 'lora_r': Input should be less than or equal to 4096"),
    ("seed: 18446744073709551616", "field 'seed'"),
])
def test_pathological_recipes_are_one_line_before_any_model_loads(capsys, tmp_path, recipe, fragment):
    (tmp_path / "r.yaml").write_text(recipe + "\n")
    assert fragment in one_line_error(capsys, "train", "--recipe", tmp_path / "r.yaml", "--base-model", "/nonexistent")


@pytest.mark.parametrize("flag, value", [("--lora-r", "9" * 5000), ("--epochs", "inf"), ("--learning-rate", "nan"),
                                         ("--seed", "-1"), ("--max-length", str(10 ** 12))])
def test_pathological_numbers_on_the_command_line_are_one_line(capsys, flag, value):
    assert flag in one_line_error(capsys, "train", flag, value, "--base-model", "/nonexistent")


# Special files ----------------------------------------------------------------------------------------------

@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "fifo.yaml"
    os.mkfifo(path)
    return path


def test_a_fifo_among_persona_files_is_skipped_without_waiting_for_a_writer(capsys, tmp_path):
    directory = persona_dir(tmp_path, GOOD_PERSONA)
    os.mkfifo(directory / "pipe.yaml")
    assert "pipe.yaml: a FIFO, not a regular file" in skipped_persona(capsys, directory)


@pytest.mark.parametrize("command", [
    ["data", "check", "{special}"],
    ["data", "check", "{special}", "--format", "csv"],
    ["train", "--recipe", "{special}"],
    ["train", "--data", "{special}", "--base-model", "{tiny}", "--out", "{out}"],
    ["eval", "--config", "{special}"],
    ["api", "--api-keys-file", "{special}"],
])
@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "directory"])
def test_devices_fifos_and_directories_named_as_files_are_one_line(capsys, tmp_path, fifo, tiny_model_dir, command,
                                                                   special):
    path = {"fifo": str(fifo), "directory": str(tmp_path)}.get(special, special)
    argv = [part.format(special=path, tiny=tiny_model_dir, out=tmp_path / "adapter") for part in command]
    assert f"{path}: " in one_line_error(capsys, *argv) and "not a regular file" in one_line_error(capsys, *argv)


def test_files_over_the_size_limit_are_refused(capsys, tmp_path):
    from bot.userinput import MAX_CONFIG_BYTES

    big = GOOD_PERSONA + "# padding\n" * (MAX_CONFIG_BYTES // 10)
    assert "larger than 1,048,576 bytes" in skipped_persona(capsys, persona_dir(tmp_path, big))
    (tmp_path / "r.yaml").write_text("seed: 1\n" + "#\n" * MAX_CONFIG_BYTES)
    assert "larger than" in one_line_error(capsys, "train", "--recipe", tmp_path / "r.yaml")


def test_a_fifo_as_an_adapter_card_is_an_error_not_a_hang(tmp_path):
    from bot.adapters import read_card
    from bot.errors import ModelNotFoundError

    os.mkfifo(tmp_path / "tandem-adapter.json")
    with pytest.raises(ModelNotFoundError, match="a FIFO, not a regular file"):
        read_card(tmp_path)
