"""The commands of the README and the docs pages, run as written: the two make targets, every `tandem` line, the
Python examples.

The pages are read in the order of DOCS, README first. Every shell block is ```bash and every `tandem`
line in one runs, in order, except the few left out below, each with its reason; every one of them, run or not,
must parse with the `tandem` command's own parser.
"""

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.paths import PROJECT_ROOT
from finetune.data import SAMPLE_DOMAIN
from tests.conftest import REAL_HOME, api_server, rated

DOCS = [PROJECT_ROOT / name for name in ("README.md", "docs/training.md", "docs/evaluation.md", "docs/personas.md",
                                          "docs/flywheel.md", "docs/serving.md", "docs/models.md")]
"""The pages whose commands run, in this order: the README's tour first, then the guides whose commands build on it
(the export needs the tour's my-adapter; the flywheel's compare needs the evaluations before it)."""
BIN = Path(sys.executable).parent

LONG_RUNNING = {"chat", "serve", "api"}
"""Commands that wait for a person or serve until stopped: test_cli, test_app, test_browser and test_api drive them."""
NOT_RUN = {
    "tandem eval": "the default matrix (about 60 questions, base and tuned, the drift check) takes longer than the "
                   "rest of the suite; `tandem eval --data my-eval.jsonl ...` runs the same path on two questions",
    "tandem eval --adapter adapters/candidate": "the same default matrix, for the flywheel's candidate",
    "tandem personas optimise plain --no-adapter": "a search of up to 600 answers or 30 minutes; the quick look above "
                                                   "it runs the same path on 24 answers",
    "tandem personas optimise executive --no-adapter --budget-answers 900 --budget-minutes 60": "the same, longer",
}
"""Commands that would run as written but take too long for a test, each with what covers it instead."""
STAND_IN = "openai:http://127.0.0.1:8000/v1"
"""The model server of docs/serving.md's "Serving on vLLM": vLLM there; here `tandem api` on the echo model stands in
for it (test_the_scaling_out_commands_run_against_tandem_api_as_the_stand_in), so the in-order run leaves them out."""
MY_EVAL_YAML = "data: [my-eval.jsonl]\nadapters: [my-adapter]\npersonas: [support, plain]\nknowledge: my-docs/\n"
"""my-eval.yaml: the evaluation of the `--data my-eval.jsonl` line as YAML, so their two reports compare clean."""
LOGGED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
"""After the flywheel's `--since 2026-11-01`."""


def code_blocks(language: str) -> list[str]:
    """The `language` blocks of every page of DOCS, in order."""
    return [block for page in DOCS for block in re.findall(rf"```{language}\n(.*?)```", page.read_text(), flags=re.S)]


def page_of(block: str) -> str:
    """The page a code block comes from, for tracebacks."""
    return next(str(page.relative_to(PROJECT_ROOT)) for page in DOCS if block in page.read_text())


def readme_commands(program: str) -> list[list[str]]:
    """Every `program` command of the bash blocks in order, comments dropped, `a && b` as two commands."""
    lines = [line.split("#")[0].strip() for block in code_blocks("bash") for line in block.splitlines()]
    commands = [part.strip() for line in lines for part in line.split("&&")]
    return [shlex.split(command) for command in commands if command.startswith(program + " ") or command == program]


def runs_in_tests(command: list[str]) -> bool:
    return command[1] not in LONG_RUNNING and shlex.join(command) not in NOT_RUN and STAND_IN not in command


def test_every_shell_block_is_bash_so_none_is_left_unrun():
    for page in DOCS:
        languages = set(re.findall(r"^```(\w*)\n", page.read_text(), flags=re.M))
        assert languages <= {"bash", "python", "yaml", ""}, (page.name, languages)


def test_every_tandem_command_in_the_readme_parses():
    from bot.cli import make_parser

    for command in readme_commands("tandem"):
        try:
            make_parser().parse_args(command[1:])
        except SystemExit:
            pytest.fail(f"the documented `{shlex.join(command)}` does not parse")


def test_every_command_left_out_is_in_the_readme():
    written = {shlex.join(command) for command in readme_commands("tandem")}
    assert set(NOT_RUN) <= written


def test_the_two_set_up_commands_come_first_and_ci_runs_the_test_one():
    assert [c[1] for c in readme_commands("make")][:2] == ["chat", "test"]
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_the_make_targets_the_readme_names_exist():
    for target in {c[1] for c in readme_commands("make")}:
        dry = subprocess.run(["make", "-n", target], cwd=PROJECT_ROOT, capture_output=True, text=True)
        assert dry.returncode == 0, (target, dry.stderr)


# The files and the home the commands expect ---------------------------------------------------------------

def write_user_files(directory: Path) -> None:
    """The files the documented commands name, made small from the sample domain: the test checks that the
    commands work, not how long they take on a full corpus. The flywheel's `data/fernhollow-support/train.jsonl`
    is relative, so here it names 16 rows of the sample corpus."""
    rows = (SAMPLE_DOMAIN / "train.jsonl").read_text().splitlines(keepends=True)[:16]
    with open(directory / "my-faq.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["q", "a"])
        writer.writerows([row["question"], row["answer"]] for row in map(json.loads, rows))
    (directory / "data" / "fernhollow-support").mkdir(parents=True)
    (directory / "data" / "fernhollow-support" / "train.jsonl").write_text("".join(rows))
    questions = (SAMPLE_DOMAIN / "eval.jsonl").read_text().splitlines(keepends=True)[:2]
    (directory / "my-eval.jsonl").write_text("".join(questions))
    (directory / "my-docs").mkdir()
    shutil.copy(SAMPLE_DOMAIN / "knowledge" / "billing-and-refunds.md", directory / "my-docs")
    (directory / "my-eval.yaml").write_text(MY_EVAL_YAML)


def seed_conversation_log(home: Path) -> None:
    """Rated turns, as chatting in `tandem serve` leaves them, for the flywheel's export."""
    from bot.store import ConversationStore

    store = ConversationStore(home / "conversations.sqlite3")
    rated(store, "Do you ship Sprigbox gardens to Canada?", "Yes, we ship to Canada in 5-8 business days.", 1,
          at=LOGGED_AT)
    rated(store, "Can I pause my pod subscription for a month?", "No.", -1,
          "Yes: open Subscriptions in your account and choose Pause; you can pause for up to three months.",
          at=LOGGED_AT)


def name_the_reports(reports: Path) -> None:
    """The documented placeholders for two reports (OLD and NEW; BEFORE and AFTER in the flywheel) name the last
    two made: the same evaluation by flags and by my-eval.yaml, so the gate has nothing to stop."""
    if (reports / "OLD").exists():
        return
    *_, first, second = sorted(p for p in reports.iterdir() if p.is_dir())
    for names, report in ((("OLD", "BEFORE"), first), (("NEW", "AFTER"), second)):
        for name in names:
            shutil.copytree(report, reports / name)


def test_my_eval_yaml_asks_for_what_the_flags_line_asks_for(tmp_path):
    from bot.cli import make_parser
    from finetune.evaluation.evaluate import EVAL_FLAGS, EvalConfig, load_eval_config
    from finetune.flags import apply_field_flags

    write_user_files(tmp_path)
    [flags] = [c for c in readme_commands("tandem") if c[1] == "eval" and "--data" in c]
    by_flags = apply_field_flags(EvalConfig(), make_parser().parse_args(flags[1:]), "eval_", custom=EVAL_FLAGS)
    assert load_eval_config(tmp_path / "my-eval.yaml") == by_flags


def test_the_flywheel_export_and_its_training_data_work_as_written(tmp_path):
    write_user_files(tmp_path)
    seed_conversation_log(tmp_path / "home")
    env = {**os.environ, "TANDEM_HOME": str(tmp_path / "home")}
    [export] = [c for c in readme_commands("tandem") if c[1:3] == ["data", "export"]]
    result = subprocess.run([str(BIN / "tandem"), *export[1:]], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0 and "2 examples written to feedback.jsonl" in result.stdout, result.stderr
    [retrain] = [c for c in readme_commands("tandem") if "adapters/candidate" in c and c[1] == "train"]
    data = [retrain[i + 1] for i, arg in enumerate(retrain) if arg == "--data"]
    check = subprocess.run([str(BIN / "tandem"), "data", "check", *data], capture_output=True, text=True, cwd=tmp_path)
    assert check.returncode == 0 and "18 usable examples, 0 problems" in check.stdout, check.stdout + check.stderr


# The commands themselves, on the real model ---------------------------------------------------------------

SMALL_MODEL = "smollm2-135m-instruct"
"""The in-order run's model (`$TANDEM_MODEL`): the commands' paths are the same on every embedded model, and the
smallest trains and answers in a third of the default's time. The default model's own tests are test_real_model,
test_shipped_adapter, test_prompt_extraction, test_backends and the Python examples below."""


@pytest.mark.real_model
def test_every_tandem_command_in_the_readme_works_in_order(tmp_path, monkeypatch):
    from bot.model_store import pull_model

    monkeypatch.setenv("TANDEM_HOME", str(REAL_HOME))
    pull_model(SMALL_MODEL, quiet=True)  # `make test` pulled the default; the README's first command comes before its pull
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    write_user_files(work)
    seed_conversation_log(home)
    for shared in ("models", "replay"):  # the pulled model and the replayed general answers, not pulled again
        (REAL_HOME / shared).mkdir(parents=True, exist_ok=True)
        (home / shared).symlink_to(REAL_HOME / shared)
    env = {**os.environ, "TANDEM_HOME": str(home), "HF_HUB_OFFLINE": "1", "TANDEM_MODEL": SMALL_MODEL}
    env.pop("TANDEM_BACKEND")  # on the default backend, as a user runs them
    commands = [c for c in readme_commands("tandem") if runs_in_tests(c)]
    assert {c[1] for c in commands} >= {"ask", "personas", "models", "train", "export", "eval", "data"}
    for command in commands:
        if "--compare" in command:
            name_the_reports(work / "reports")
        started = time.monotonic()
        result = subprocess.run([str(BIN / "tandem"), *command[1:]], capture_output=True, text=True, env=env,
                                cwd=work, timeout=900)
        print(f"{time.monotonic() - started:6.1f} s  {shlex.join(command)}")  # shown with pytest -s
        assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
        assert (result.stdout + result.stderr).strip(), command
    assert (work / "my-adapter" / "tandem-adapter.json").is_file()
    assert (work / "my-model" / "model.safetensors").is_file()
    assert (work / "adapters" / "candidate" / "tandem-adapter.json").is_file()
    assert (work / "reports" / "AFTER" / "compare-BEFORE.md").is_file()


def test_the_scaling_out_commands_run_against_tandem_api_as_the_stand_in(echo_model, tmp_path):
    """Every documented command that names the model server runs as written, against `tandem api` on 127.0.0.1:8000
    (over the echo model: this checks the client's path, not answers), from a fresh home."""
    commands = [c for c in readme_commands("tandem") if STAND_IN in c]
    assert {c[1] for c in commands} == {"ask", "eval", "serve"}
    env = {**os.environ, "TANDEM_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    with api_server(echo_model, port=8000):
        for command in [c for c in commands if c[1] not in LONG_RUNNING]:
            result = subprocess.run([str(BIN / "tandem"), *command[1:]], capture_output=True, text=True, env=env,
                                    cwd=tmp_path, timeout=600)
            assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
            assert result.stdout.strip(), command
    assert [kwargs.get("use_adapter", True) for _, kwargs in echo_model.calls].count(False) > 0, "base cells too"
    assert all(sum(m.type == "system" for m in messages) == 1 for messages, _ in echo_model.calls)


API_URL = "http://127.0.0.1:8000"
"""Where the documented `tandem api` client examples look for the server."""


@pytest.mark.real_model
@pytest.mark.parametrize("index", range(len(code_blocks("python"))))
def test_the_python_examples_run(index, monkeypatch, capsys, request):
    monkeypatch.setenv("TANDEM_HOME", str(REAL_HOME))
    monkeypatch.delenv("TANDEM_BACKEND")  # on the default backend, as a user runs them
    monkeypatch.chdir(PROJECT_ROOT)  # the examples name the sample domain's files relative to the project
    example = code_blocks("python")[index]
    if API_URL in example:  # a client of `tandem api`: the server it talks to runs for the example
        chat_model = request.getfixturevalue("real_chat_model")
        with api_server(chat_model, port=int(API_URL.rsplit(":", 1)[1]), adapter=str(chat_model.adapter)):
            exec(compile(example, page_of(example), "exec"), {})
    else:
        exec(compile(example, page_of(example), "exec"), {})
    assert capsys.readouterr().out.strip()
