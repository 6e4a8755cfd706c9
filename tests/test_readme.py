"""The README's commands, run as written: the two make targets, every `tandem` line, the embedding example."""

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


def test_the_two_make_targets_exist():
    assert [c[1] for c in readme_commands("make")] == ["chat", "test"]
    for target in ("chat", "test"):
        dry = subprocess.run(["make", "-n", target], cwd=PROJECT_ROOT, capture_output=True, text=True)
        assert dry.returncode == 0, dry.stderr
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


@pytest.mark.real_model
@pytest.mark.parametrize("command", [c for c in readme_commands("tandem") if c[1] not in INTERACTIVE],
                         ids=lambda c: " ".join(c[1:3]))
def test_every_tandem_command_in_the_readme_works(command):
    env = {**os.environ, "TANDEM_HOME": str(REAL_HOME), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([str(BIN / "tandem"), *command[1:]], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.real_model
def test_the_embedding_example_runs(monkeypatch, capsys):
    monkeypatch.setenv("TANDEM_HOME", str(REAL_HOME))
    [example] = code_blocks("python")
    exec(compile(example, "README.md", "exec"), {})
    assert capsys.readouterr().out.strip()
