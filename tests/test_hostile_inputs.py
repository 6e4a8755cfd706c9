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
GOOD_PERSONA = """\
id: probe
title: Friendly support
audience: customers
description: A persona for hostile-input tests.
system_prompt: You help.
examples:
  - user: Hi
    assistant: Hello.
  - user: Bye
    assistant: Goodbye.
style:
  max_words: 120
generation:
  temperature: 0.3
  max_new_tokens: 200
"""


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
    directory.mkdir(parents=True, exist_ok=True)
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
    monkeypatch.setattr("bot.chat_model.load_chat_model", lambda *args, **settings: echo_model)
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
    from bot.answering import Answerer
    from bot.api import ApiContext, build_api
    from bot.errors import ModelNotFoundError
    from bot.personas import load_catalog

    line = skipped_persona(capsys, persona_dir(tmp_path, GOOD_PERSONA.replace("title: ", 'title: "\\ud800" #')))
    assert "probe.yaml:2: invalid YAML: a string that is not valid Unicode" in line
    (tmp_path / "tandem-adapter.json").write_text('{"base_model": "\\ud800"}')
    with pytest.raises(ModelNotFoundError, match="not valid Unicode"):
        read_card(tmp_path)
    catalog = load_catalog()
    context = ApiContext(answerer=Answerer(echo_model, catalog))
    response = TestClient(build_api(context)).post("/v1/chat/completions", content=b'{"model": "tandem", "messages": '
                                                   b'[{"role": "user", "content": "\\udc00"}]}')
    assert response.status_code == 400 and "not valid Unicode" in response.json()["error"]["message"]


# Pathological structure -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, fragment", [
    ("a: " + "[" * 5000, "invalid YAML: nested too deeply"),
    ("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 800)), "invalid YAML: nested too deeply"),
    (GOOD_PERSONA.replace("max_words: 120", "max_words: " + "9" * 5000), "probe.yaml:12: invalid YAML: cannot read"),
    (GOOD_PERSONA.replace("temperature: 0.3", "temperature: 1e999"), "field 'generation.temperature'"),
    (GOOD_PERSONA.replace("max_new_tokens: 200", "max_new_tokens: " + "9" * 40), "field 'generation.max_new_tokens'"),
])
def test_pathological_persona_files_are_one_skipped_line(capsys, tmp_path, text, fragment):
    assert fragment in skipped_persona(capsys, persona_dir(tmp_path, text))


@pytest.mark.parametrize("line, fragment", [
    ("[" * 100_000 + "]" * 100_000, "invalid JSON: nested too deeply"),
    ('{"question": "q", "answer": ' + "7" * 5000 + "}", "unreadable JSON: Exceeds the limit (4300 digits)"),
    ('{"question": "q", "answer": "a", "x": ' + '{"y": ' * 50_000 + "1" + "}" * 50_001,
     "invalid JSON: nested too deeply"),
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


# Broken adapter and model directories ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def good_adapter(tiny_model_dir, tmp_path_factory) -> Path:
    from peft import LoraConfig, get_peft_model

    from bot.models import load_model

    out = tmp_path_factory.mktemp("adapter") / "adapter"
    lora = get_peft_model(load_model(str(tiny_model_dir)).model, LoraConfig(task_type="CAUSAL_LM", r=4,
                                                                              target_modules=["q_proj", "v_proj"]))
    lora.save_pretrained(out, safe_serialization=True)
    return out


def broken_copy(source: Path, tmp_path: Path, files: dict, config: dict | None = None, name: str = "adapter.json"):
    """A copy of a model or adapter directory with `files` replaced (None: removed) and `config` merged into
    its JSON file `name`."""
    import shutil

    copy = tmp_path / "broken"
    shutil.copytree(source, copy)
    if config:
        (copy / name).write_text(json.dumps({**json.loads((copy / name).read_text()), **config}))
    for file, content in files.items():
        if content is None:
            (copy / file).unlink()
        else:
            (copy / file).write_bytes(content.encode() if isinstance(content, str) else content)
    return copy


@pytest.mark.parametrize("files, config, fragment", [
    ({"adapter_config.json": "{not json"}, None, "adapter_config.json: not a LoRA adapter config: Expecting"),
    ({"adapter_config.json": "[1, 2]"}, None, "field '(top)'"),
    ({"adapter_config.json": "[" * 100_000}, None, "nested too deeply"),
    ({}, {"r": "eight"}, "field 'r': Input should be a valid integer"),
    ({}, {"r": 0}, "field 'r': Input should be greater than 0"),
    ({}, {"lora_alpha": "x"}, "field 'lora_alpha"),
    ({}, {"target_modules": 42}, "field 'target_modules"),
    ({}, {"peft_type": "MAGIC"}, "field 'peft_type': Input should be 'LORA'"),
    ({}, {"peft_type": "PREFIX_TUNING"}, "field 'peft_type'"),
    ({}, {"task_type": "SEQ_CLS"}, "field 'task_type'"),
    ({"adapter_config.json": None}, None, "not a LoRA adapter directory (no adapter_config.json)"),
    ({}, {"target_modules": ["no_such_proj"]}, "cannot be attached to"),
    ({}, {"r": 8}, "its weights have other shapes than this model's"),
    ({"adapter_model.safetensors": b""}, None, "adapter_model.safetensors: not a valid safetensors file"),
    ({"adapter_model.safetensors": b"\x10\0\0\0\0\0\0\0{\"a\": 1}junk"}, None, "not a valid safetensors file"),
    ({"adapter_model.safetensors": None}, None, "no adapter_model.safetensors"),
    ({"tandem-adapter.json": "{"}, None, "tandem-adapter.json: not a valid adapter card"),
    ({"tandem-adapter.json": '{"base_model": 42}'}, None, "field 'base_model'"),
    ({"tandem-adapter.json": '{"base_model": "m", "prompt_format": {"top_k": 10000}}'}, None, "prompt_format.top_k"),
])
def test_a_broken_adapter_directory_is_one_line_naming_it(capsys, tmp_path, tiny_model_dir, good_adapter, files, config,
                                                          fragment):
    adapter = broken_copy(good_adapter, tmp_path, files, config, name="adapter_config.json")
    line = one_line_error(capsys, "ask", "hi", "--model", tiny_model_dir, "--adapter", adapter, "--no-knowledge")
    assert line.startswith(f"tandem: {adapter}") and fragment in line, line


def test_a_missing_adapter_directory_is_one_line(capsys, tiny_model_dir, tmp_path):
    line = one_line_error(capsys, "ask", "hi", "--model", tiny_model_dir, "--adapter", tmp_path / "nope")
    assert line == f"tandem: {tmp_path / 'nope'}: no such adapter directory"


@pytest.mark.parametrize("files, config, fragment", [
    ({}, {"model_type": "custom_thing", "auto_map": {"AutoModelForCausalLM": "modeling_x.X"}},
     "the model needs its own code to load (auto_map in config.json)"),
    ({}, {"model_type": "nonsense"}, "config.json: model_type 'nonsense' is not an architecture"),
    ({"config.json": "{oops"}, None, "config.json: not valid JSON"),
    ({"config.json": "[]"}, None, "config.json: not a model configuration"),
    ({"config.json": "[" * 100_000}, None, "config.json: not valid JSON: nested too deeply"),
    ({"config.json": None}, None, "not a model directory (no config.json)"),
    ({}, {"hidden_size": "big"}, "cannot load the model: Validation error for field 'hidden_size'"),
    ({"model.safetensors": b""}, None, "cannot load the model: Error while deserializing header"),
    ({"model.safetensors": None}, None, "cannot load the model: Error no file named model.safetensors"),
    ({"tokenizer.json": "{bad"}, None, "cannot load the model"),
])
def test_a_broken_model_directory_is_one_line_naming_it(capsys, tmp_path, tiny_model_dir, files, config, fragment):
    model = broken_copy(tiny_model_dir, tmp_path, files, config, name="config.json")
    line = one_line_error(capsys, "ask", "hi", "--model", model, "--no-knowledge")
    assert line.startswith(f"tandem: {model}") and fragment in line, line


@pytest.mark.parametrize("summary", [b"{bad", b"[]", b'{"cells": []}', b'{"manifest": {}, "cells": [1]}',
                                     b'{"manifest": {}, "cells": [{"cell": "x", "adherence": "high"}]}',
                                     b'{"manifest": {}, "cells": [{"cell": "x", "key_fact_recall": true}]}',
                                     b"[" * 100_000])
def test_a_broken_report_directory_given_to_compare_is_one_line(capsys, tmp_path, summary):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "summary.json").write_bytes(summary)
    line = one_line_error(capsys, "eval", "--compare", tmp_path / "old", tmp_path / "old")
    assert line.startswith(f"tandem: {tmp_path / 'old' / 'summary.json'}: not ")


# Silent acceptance ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, fragment", [
    ("max_new_tokens: 200\n", "max_new_tokens: 200\ntitle: Again\n", "probe.yaml:16: invalid YAML: duplicate key 'title'"),
    ("max_words: 120\n", "max_words: 120\n  max_words: 90\n", "probe.yaml:13: invalid YAML: duplicate key 'max_words'"),
    ("max_words: 120", 'max_words: "120"', "probe.yaml:12: field 'style.max_words': Input should be a valid integer"),
    ("max_words: 120", "max_words: true", "probe.yaml:12: field 'style.max_words'"),
    ("max_words: 120", "max_words: 1.5", "probe.yaml:12: field 'style.max_words'"),
    ("temperature: 0.3", 'temperature: "0.3"', "probe.yaml:14: field 'generation.temperature'"),
    ("max_words: 120", "max_words: 120\n  no_exclamations: 'yes'", "field 'style.no_exclamations'"),
    ("title: Friendly support", 'title: "Friendly\\e[31m support"',
     "probe.yaml:2: field 'title': Value error, holds the control character \\x1b"),
    ("title: Friendly support", 'title: "Friendly\\nsupport"', "holds the control character \\n"),
])
def test_values_a_persona_file_would_have_had_silently_accepted_are_refused_at_their_line(capsys, tmp_path, old, new,
                                                                                          fragment):
    assert fragment in skipped_persona(capsys, persona_dir(tmp_path, GOOD_PERSONA.replace(old, new)))


def test_two_persona_files_with_one_id_in_a_directory_keep_the_first_and_name_the_second(capsys, tmp_path):
    directory = persona_dir(tmp_path, GOOD_PERSONA, "a.yaml")
    persona_dir(tmp_path, GOOD_PERSONA.replace("Friendly support", "Impostor"), "b.yaml")
    line = skipped_persona(capsys, directory)
    assert line == f"tandem: skipped {directory / 'b.yaml'}:1: field 'id': 'probe' is already the id of a.yaml in the " \
                   "same directory"
    code, out, _ = run(capsys, "personas", "show", "probe", "--personas", directory)
    assert "title: Friendly support" in out
    # Across directories a later file still replaces an earlier one: that is how a user overrides a shipped persona.
    code, out, err = run(capsys, "personas", "show", "support", "--personas",
                         persona_dir(tmp_path / "mine", GOOD_PERSONA.replace("id: probe", "id: support")))
    assert code == 0 and err == ""


@pytest.mark.parametrize("recipe, fragment", [
    ("epochs: 2\nepochs: 3\n", "r.yaml:2: invalid YAML: duplicate key 'epochs'"),
    ('epochs: "2"\n', "r.yaml:1: field 'epochs': Input should be a valid number"),
    ("seed: true\n", "r.yaml:1: field 'seed': Input should be a valid integer"),
    ('retrieval: "false"\n', "r.yaml:1: field 'retrieval': Input should be a valid boolean"),
    ("lora_r: 8.0\n", "r.yaml:1: field 'lora_r'"),
])
def test_values_a_recipe_file_would_have_had_silently_accepted_are_refused_at_their_line(capsys, tmp_path, recipe,
                                                                                         fragment):
    (tmp_path / "r.yaml").write_text(recipe)
    assert fragment in one_line_error(capsys, "train", "--recipe", tmp_path / "r.yaml")


def test_a_recipe_reads_1e_minus_4_as_the_number_it_is(tmp_path):
    from finetune.recipe import load_recipe

    (tmp_path / "r.yaml").write_text("learning_rate: 1e-4\nwarmup_ratio: 5E-2\n")
    recipe = load_recipe(tmp_path / "r.yaml")
    assert (recipe.learning_rate, recipe.warmup_ratio) == (1e-4, 0.05)


# Degenerate training data ---------------------------------------------------------------------------------

def train_args(tiny_model_dir: Path, data: Path, *extra) -> list:
    return ["train", "--data", data, "--out", data.parent / "adapter", "--base-model", tiny_model_dir,
            "--general-replay", "0", "--retrieval", "false", "--bf16", "off", *extra]


@pytest.mark.parametrize("rows, extra, fragment", [
    ([{"question": "q", "answer": "a"}], [], "only 1 usable example(s); training needs at least 2"),
    ([{"question": "Q?", "answer": "A."}, {"question": "q", "answer": "a"}], [],
     "only 1 usable example(s) (1 duplicate(s) removed); training needs at least 2"),
    ([{"question": "q", "answer": "a"}] * 30, [], "(29 duplicate(s) removed)"),
    ([{"question": f"q{i} " + "word " * 50, "answer": "a"} for i in range(30)], ["--max-length", "17"],
     "no example of the data fits max_length 17 tokens"),
    ([{"question": "one", "answer": "a"}, {"question": "two", "answer": "b"}], ["--validation-fraction", "0.9"],
     "every example went to validation (validation_fraction 0.9)"),
])
def test_data_training_cannot_use_is_refused_with_one_line_and_no_adapter(capsys, tmp_path, tiny_model_dir, rows,
                                                                          extra, fragment):
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    code, _, err = run(capsys, *train_args(tiny_model_dir, data, *extra))
    assert code == 2 and err.strip().splitlines()[-1].startswith("tandem: ") and fragment in err, err
    assert "Traceback" not in err and not (tmp_path / "adapter").exists()


@pytest.mark.parametrize("rows, warning", [
    ([{"question": "q", "answer": "a"}], "only 1 usable example(s); training needs at least 2"),
    ([{"question": "q", "answer": "a"}] * 5, "only 1 usable example(s) (4 duplicate(s) removed)"),
    ([{"question": f"q{i}", "answer": "Yes."} for i in range(30)], "all 30 examples have the same answer"),
    ([{"question": "q", "answer": f"a{i}"} for i in range(30)], "all 30 examples ask the same question"),
    ([{"question": f"q{i}", "answer": f"a{i}"} for i in range(5)], "only 5 usable example(s); the adapter will mostly"),
])
def test_data_check_warns_of_data_that_trains_poorly(capsys, tmp_path, rows, warning):
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    code, out, _ = run(capsys, "data", "check", data)
    assert f"warning: {warning}" in out
    assert code == (1 if len({json.dumps(r) for r in rows}) < 2 else 0), "fails only on data training refuses"


def test_plenty_of_ordinary_data_has_no_warning(tmp_path):
    from finetune.data import load_examples, training_warnings

    assert training_warnings(load_examples([write_qa(tmp_path / "train.jsonl", 36)]).examples) == []


# Terminal safety ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["evil\x1b[2J\x1b[31m.jsonl", "two\nlines.jsonl", "tab\tand\rreturn.csv",
                                  "bidi\u202egpj.jsonl", "bell\x07.jsonl"])
def test_file_names_with_control_characters_are_escaped_in_errors(capsys, tmp_path, name):
    line = one_line_error(capsys, "data", "check", tmp_path / name)
    assert printable(str(tmp_path / name)) in line and "\\" in line
    assert line.isprintable()


def test_keys_and_names_with_control_characters_are_escaped_in_problem_lines(capsys, tmp_path):
    data = tmp_path / "evil\x1b]0;owned\x07.jsonl"
    data.write_text('{"question": "fine", "answer": "yes"}\nnot json\n')
    code, out, _ = run(capsys, "data", "check", data)
    assert code == 1 and "\x1b" not in out and "\x07" not in out and "evil\\x1b]0;owned\\x07.jsonl:2" in out
    line = skipped_persona(capsys, persona_dir(tmp_path, GOOD_PERSONA + '"\\e[2J\\n": 1\n'))
    assert "field '\\x1b[2J\\n': unknown field" in line and line.isprintable()
    directory = persona_dir(tmp_path / "names", "id: [", "new\nline\x1b.yaml")
    assert "new\\nline\\x1b.yaml:1: invalid YAML" in skipped_persona(capsys, directory)


@pytest.mark.parametrize("text, shown", [
    ("plain text, é and 日本", "plain text, é and 日本"),
    ("\x1b[31mred", "\\x1b[31mred"),
    ("a\nb\r\tc", "a\\nb\\r\\tc"),
    ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),
    ("\u202e\u200b", "\\u202e\\u200b"),
    ("\udcff", "\\udcff"),
])
def test_printable_escapes_what_a_terminal_would_act_on(text, shown):
    assert printable(text) == shown


@pytest.mark.parametrize("text, shown", [
    ("line one\nline two\tend", "line one\nline two\tend"),
    ("\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\x07"),
    ("\x9b31m and \x7f", "\\x9b31m and \\x7f"),
    ("no\u00a0break, 👩\u200d💻, 日本", "no\u00a0break, 👩\u200d💻, 日本"),
])
def test_model_output_streamed_to_a_terminal_cannot_drive_it(text, shown):
    from bot.userinput import terminal_text

    assert terminal_text(text) == shown


def test_ask_prints_an_answer_with_escape_codes_escaped(capsys, monkeypatch):
    from langchain_core.messages import AIMessage
    from langchain_core.runnables import RunnableLambda

    import bot.answering

    monkeypatch.setattr(bot.answering, "build_chain",
                        lambda *a, **k: RunnableLambda(lambda _: AIMessage("ok \x1b[2J done")))
    monkeypatch.setattr("bot.flags.chat_model_from_flags", lambda args: None)
    monkeypatch.setattr("bot.flags.retriever_from_flags", lambda args, model: None)
    code, out, _ = run(capsys, "ask", "hello", "--no-log")  # no model to record in the log: only the output matters
    assert code == 0 and "\x1b" not in out and "ok \\x1b[2J done" in out


# Knowledge files and the chain's own check -------------------------------------------------------------------

def test_a_fifo_or_bad_bytes_among_knowledge_files_is_one_line_and_the_rest_is_read(tmp_path, capsys):
    from bot.errors import InputError
    from bot.retrieval import document_passages

    (tmp_path / "good.md").write_text("# Shipping\nThree days.\n")
    os.mkfifo(tmp_path / "pipe.md")
    (tmp_path / "bad.md").write_bytes(b"# Title\n\xff\xfe\n")
    assert [p.page_content for p in document_passages(tmp_path)] == ["Shipping\nThree days."]
    assert capsys.readouterr().err.splitlines()[:2] == [
        f"tandem: skipped {tmp_path / 'bad.md'}:2: not valid UTF-8 (byte 9)",
        f"tandem: skipped {tmp_path / 'pipe.md'}: a FIFO, not a regular file"]
    os.remove(tmp_path / "good.md")
    with pytest.raises(InputError, match="every knowledge file was skipped"):
        document_passages(tmp_path)


@pytest.mark.parametrize("line", ['{"text": 5}', '{"text": "\\ud800"}', '{"source": "x"}', "[" * 100_000, "not json"])
def test_a_broken_knowledge_jsonl_in_an_adapter_is_one_line_naming_its_line(tmp_path, line):
    from bot.errors import InputError
    from bot.retrieval import read_passages

    path = tmp_path / "knowledge.jsonl"
    path.write_text('{"text": "fine", "source": "a.md"}\n' + line + "\n")
    with pytest.raises(InputError, match=r"knowledge.jsonl:2: expected a JSON object"):
        read_passages(path)


@pytest.mark.parametrize("question", ["\udcff", "ok \ud800"])
def test_every_front_end_gets_the_unicode_check_from_the_chain(echo_model, question):
    from bot.chain import build_chain
    from bot.errors import InputError
    from bot.personas import load_catalog

    with pytest.raises(InputError, match="not valid Unicode"):
        build_chain(echo_model, load_catalog()).invoke({"question": question, "persona": "support"})
    assert not echo_model.calls, "nothing reached the model"


def test_bad_training_data_is_reported_before_the_base_model_loads(capsys, tmp_path, monkeypatch):
    import bot.models

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the data was checked")

    monkeypatch.setattr(bot.models, "load_model", no_load)
    monkeypatch.setattr("finetune.train.load_model", no_load, raising=False)
    data = tmp_path / "one.jsonl"
    data.write_text('{"question": "only one?", "answer": "yes"}\n')
    code, _, err = run(capsys, "train", "--data", data, "--out", tmp_path / "adapter")
    assert code == 2 and err.strip().splitlines()[-1].startswith("tandem: only 1 usable example")


@pytest.mark.parametrize("field, fragment", [("limit: true", "valid integer"), ("batch_size: \"8\"", "valid integer"),
                                             ("drift_threshold: yes", "valid number"), ("personas: support", "valid list")])
def test_an_eval_config_is_as_strict_as_a_recipe(capsys, tmp_path, field, fragment):
    config = tmp_path / "eval.yaml"
    config.write_text(f"data: [{tmp_path / 'eval.jsonl'}]\nout: {tmp_path / 'reports'}\n{field}\n")
    line = one_line_error(capsys, "eval", "--config", config)
    assert f"{config}:3" in line and fragment in line


def test_an_eval_config_still_takes_paths_as_strings(tmp_path):
    from finetune.evaluation.evaluate import load_eval_config

    config = tmp_path / "eval.yaml"
    config.write_text("data: [a.jsonl, b.csv]\nknowledge: docs\nadapters: [adapters/x]\nlimit: 5\n")
    loaded = load_eval_config(config)
    assert loaded.data == [Path("a.jsonl"), Path("b.csv")] and loaded.knowledge == Path("docs") and loaded.limit == 5
