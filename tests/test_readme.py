"""The README's commands, run as written: the two make targets, every `tandem` line, the embedding example."""

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bot.paths import PROJECT_ROOT
from tests.conftest import REAL_HOME

README = (PROJECT_ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent
INTERACTIVE = {"chat", "serve"}  # long-running: covered by test_cli and test_app instead


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def readme_commands(program: str) -> list[list[str]]:
    lines = [line.split("#")[0].strip() for block in code_blocks("bash") for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line.startswith(program + " ")]


def test_the_two_set_up_commands_come_first_and_ci_runs_the_test_one():
    assert [c[1] for c in readme_commands("make")][:2] == ["chat", "test"]
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_the_make_targets_the_readme_names_exist():
    for target in {c[1] for c in readme_commands("make")}:
        dry = subprocess.run(["make", "-n", target], cwd=PROJECT_ROOT, capture_output=True, text=True)
        assert dry.returncode == 0, (target, dry.stderr)


def write_user_faq(directory: Path) -> None:
    """The files the README's commands name (my-faq.csv), made from a few lines of the sample domain."""
    lines = (PROJECT_ROOT / "data").glob("*-support/train.jsonl")
    rows = [json.loads(line) for line in next(lines).read_text().splitlines()[:16]]
    with open(directory / "my-faq.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["q", "a"])
        writer.writerows([row["question"], row["answer"]] for row in rows)


@pytest.mark.real_model
def test_every_tandem_command_in_the_readme_works_in_order(tmp_path):
    write_user_faq(tmp_path)
    env = {**os.environ, "TANDEM_HOME": str(REAL_HOME), "HF_HUB_OFFLINE": "1"}
    commands = [c for c in readme_commands("tandem") if c[1] not in INTERACTIVE]
    assert {c[1] for c in commands} >= {"ask", "personas", "models", "train", "export"}
    for command in commands:
        result = subprocess.run([str(BIN / "tandem"), *command[1:]], capture_output=True, text=True, env=env,
                                cwd=tmp_path, timeout=900)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        assert (result.stdout + result.stderr).strip(), command
    assert (tmp_path / "my-adapter" / "tandem-adapter.json").is_file()
    assert (tmp_path / "my-model" / "model.safetensors").is_file()


@pytest.mark.real_model
@pytest.mark.parametrize("index", range(len(code_blocks("python"))))
def test_the_python_examples_run(index, monkeypatch, capsys):
    monkeypatch.setenv("TANDEM_HOME", str(REAL_HOME))
    monkeypatch.chdir(PROJECT_ROOT)  # the examples name the sample domain's files relative to the project
    example = code_blocks("python")[index]
    exec(compile(example, "README.md", "exec"), {})
    assert capsys.readouterr().out.strip()
