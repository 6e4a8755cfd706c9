"""LoRA training on the tiny model: the files it writes, their metadata, answer-only loss, resume, export."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.models import load_model
from finetune.data import data_hash, load_examples
from finetune.recipe import load_recipe, with_overrides
from finetune.train import TrainRequest, last_complete_checkpoint, tokenize_examples, train

TANDEM = str(Path(sys.executable).parent / "tandem")
CATEGORIES = ["billing", "shipping", "accounts"]


def write_qa(path: Path, count: int = 36) -> Path:
    with open(path, "w") as f:
        for i in range(count):
            f.write(json.dumps({"question": f"What is fact number {i}?", "answer": f"Fact {i} is {i * 7} days.",
                                "category": CATEGORIES[i % 3]}) + "\n")
    return path


def tiny_recipe(model_dir: Path, **overrides):
    settings = {"base_model": str(model_dir), "epochs": 2, "batch_size": 4, "eval_every": 3, "max_length": 96,
                "early_stopping_patience": 0, "bf16": "off", **overrides}
    return with_overrides(load_recipe("default"), settings)


def tiny_cli_args(model_dir: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return [TANDEM, "train", "--data", str(data), "--out", str(out), "--base-model", str(model_dir),
            "--batch-size", "4", "--max-length", "96", "--bf16", "off", *extra]


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    """One training run on the tiny model, shared by the tests that only read its output."""
    tmp = tmp_path_factory.mktemp("train")
    request = TrainRequest(data=[write_qa(tmp / "train.jsonl")], out=tmp / "adapter", recipe=tiny_recipe(tiny_model_dir))
    return train(request), request


def test_the_run_writes_exactly_the_adapter_files(trained):
    out, _ = trained
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "adapter_config.json", "adapter_model.safetensors", "loss.png", "metrics.json",
        "tandem-adapter.json"]
    assert not out.with_name("adapter.checkpoints").exists(), "checkpoints are removed after a finished run"
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    card = (out / "README.md").read_text()
    assert card.startswith("# Tandem adapter: adapter")
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"{metrics['train_examples']} for training, {metrics['validation_examples']} for validation" in card


def test_metadata_matches_the_recipe_and_the_data(trained):
    out, request = trained
    metadata = json.loads((out / "tandem-adapter.json").read_text())
    assert metadata["recipe"] == request.recipe.model_dump()
    assert metadata["data_hash"] == data_hash(load_examples(request.data).examples)
    assert metadata["base_model"] == request.recipe.base_model and len(metadata["base_model_hash"]) == 64
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_examples"] + metrics["validation_examples"] == 36
    assert metrics["validation_loss_before"] > metrics["validation_loss_after"]
    assert metrics["train_tokens_per_second"] > 0 and metrics["peak_memory_mb"] > 0


def test_the_adapter_loads_through_the_one_loader_and_answers(trained):
    from bot.chain import build_chain
    from bot.chat_model import LocalChatModel

    out, request = trained
    loaded = load_model(request.recipe.base_model, out)
    answer = build_chain(LocalChatModel(loaded=loaded, seed=0, max_new_tokens=8)).invoke({"question": "fact 3?"})
    assert isinstance(answer, str)


def test_loss_is_on_the_answer_tokens_only(tiny_chat_model):
    tokenizer = tiny_chat_model.loaded.tokenizer
    [example] = load_examples([write_qa(Path(os.environ["TANDEM_HOME"]).parent / "one.jsonl", 1)]).examples
    [(_, row)], long = tokenize_examples([example], tokenizer, 512)
    answer_ids = [t for t, m in zip(row["input_ids"], row["completion_mask"]) if m]
    assert tokenizer.decode(answer_ids) == example.answer + "<|im_end|>"
    assert long == []
    _, long = tokenize_examples([example], tokenizer, 10)
    assert "over-long example" in long[0].message


def test_multi_turn_chat_data_trains(tiny_model_dir, tmp_path):
    turns = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
    with open(tmp_path / "chat.jsonl", "w") as f:
        for i in range(12):
            f.write(json.dumps({"messages": [*turns, {"role": "user", "content": f"Fact {i}?"},
                                             {"role": "assistant", "content": f"It is {i}."}]}) + "\n")
    out = train(TrainRequest(data=[tmp_path / "chat.jsonl"], out=tmp_path / "adapter",
                             recipe=tiny_recipe(tiny_model_dir, epochs=1)))
    assert json.loads((out / "metrics.json").read_text())["train_examples"] == 11


def test_training_is_deterministic_for_a_seed(tiny_model_dir, tmp_path, trained):
    from safetensors.torch import load_file

    out, request = trained
    again = train(TrainRequest(data=request.data, out=tmp_path / "again", recipe=request.recipe))
    first, second = load_file(out / "adapter_model.safetensors"), load_file(again / "adapter_model.safetensors")
    assert first.keys() == second.keys()
    assert all((first[k] == second[k]).all() for k in first)


def test_export_merges_into_a_model_plain_transformers_loads(trained, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from finetune.export import export_merged

    out, request = trained
    merged_dir = export_merged(out, tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    tuned = load_model(request.recipe.base_model, out).model
    ids = torch.tensor([[1, 5, 9, 12]])
    assert torch.allclose(merged(ids).logits, tuned(ids).logits, atol=1e-4)
    assert (merged_dir / "tokenizer.json").is_file()


def test_kill_9_then_resume_continues_from_the_last_complete_checkpoint(tiny_model_dir, tmp_path):
    data, out = write_qa(tmp_path / "train.jsonl", 48), tmp_path / "adapter"
    checkpoints = tmp_path / "adapter.checkpoints"
    args = tiny_cli_args(tiny_model_dir, data, out, "--epochs", "400", "--eval-every", "2",
                         "--early-stopping-patience", "0")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(checkpoints.glob("checkpoint-*/tandem-checkpoint-complete"))) < 2:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    complete = last_complete_checkpoint(checkpoints)
    assert complete is not None, "a checkpoint was written before the kill"
    assert not out.exists(), "a killed run leaves no adapter directory"
    partial = checkpoints / "checkpoint-99999"  # what a kill in the middle of saving leaves
    partial.mkdir()
    (partial / "trainer_state.json").write_text("{trunc")

    resumed = subprocess.run(args[:args.index("400")] + ["6", *args[args.index("400") + 1:], "--resume"],
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from"] == complete.name
    assert metrics["steps"] > int(complete.name.split("-")[1])


@pytest.mark.parametrize("name, content", [
    ("bad-json.jsonl", b'{"question": "q", "answer": "a"}\n{"question": "q2", "answer": \n'),
    ("missing.jsonl", b'{"question": "q", "answer": "a"}\n{"question": "q2"}\n'),
    ("empty.jsonl", b'{"question": "q", "answer": "a"}\n{"question": "q2", "answer": "  "}\n'),
    ("type.jsonl", b'{"question": "q", "answer": "a"}\n{"question": "q2", "answer": 42}\n'),
    ("latin1.jsonl", b'{"question": "q", "answer": "a"}\n{"question": "caf\xe9", "answer": "b"}\n'),
    ("bom.jsonl", b'\xef\xbb\xbf{"question": "q", "answer": "a"}\n'),
    ("crlf.jsonl", b'{"question": "q", "answer": "a"}\r\n{"question": "q2", "answer": "b"}\r\n'),
    ("truncated.jsonl", b'{"question": "q", "answer": "a"}\n{"question": "q2", "ans'),
    ("ragged.csv", b'question,answer\nq,a\nq2,b,extra\n'),
    ("long.jsonl", b'{"question": "q", "answer": "a"}\n{"question": "' + b"word " * 200 + b'", "answer": "b"}\n'),
])
def test_each_malformed_data_class_fails_strict_training_with_no_adapter(tiny_model_dir, tmp_path, name, content):
    data = tmp_path / name
    data.write_bytes(content)
    out = tmp_path / "adapter"
    result = subprocess.run(tiny_cli_args(tiny_model_dir, data, out, "--strict", "--epochs", "1"),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert f"{name}:" in result.stderr or "over-long" in result.stderr
    assert not out.exists() and not (tmp_path / "adapter.checkpoints").exists()


def test_the_same_training_runs_under_accelerate_with_two_cpu_processes(tiny_model_dir, tmp_path):
    data, out = write_qa(tmp_path / "train.jsonl", 32), tmp_path / "adapter"
    accelerate = str(Path(sys.executable).parent / "accelerate")
    # On a machine without GPUs, accelerate's --multi_gpu launcher is torchrun, and the Trainer uses gloo.
    command = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "-m", "bot.cli", *tiny_cli_args(tiny_model_dir, data, out, "--epochs", "1")[1:]]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["world_size"], metrics["distributed_backend"]) == (2, "gloo")
    assert metrics["steps"] == 4, "29 training examples, batch 4 per process, 2 processes: 4 steps an epoch"
    assert (out / "adapter_model.safetensors").is_file()


def test_the_default_recipe_file_mirrors_the_recipe_defaults():
    from finetune.recipe import Recipe

    assert load_recipe("default") == Recipe()


def test_recipe_files_and_overrides_are_validated(tmp_path):
    from finetune.recipe import RecipeError

    (tmp_path / "r.yaml").write_text("epochs: 2\nlearning_rat: 0.1\n")
    with pytest.raises(RecipeError, match="r.yaml:2: field 'learning_rat': unknown field"):
        load_recipe(tmp_path / "r.yaml")
    with pytest.raises(RecipeError, match="--epochs: Input should be greater than 0"):
        with_overrides(load_recipe(), {"epochs": 0})
    with pytest.raises(RecipeError, match="shipped recipes: default"):
        load_recipe("nope")


def test_system_persona_never_picks_a_persona_whose_rules_the_answer_breaks():
    import random

    from bot.personas import load_catalog
    from finetune.data import Example
    from finetune.train import system_persona

    personas = list(load_catalog().personas.values())
    answers = ["Yes. " * 110,                    # too long for plain (100) and executive (80)
               "Great news, it ships today!",    # an exclamation: not compliance or engineer
               "The bottom line: it ships today.",
               "word " * 200]                    # too long for every persona
    rng = random.Random(0)
    for answer in answers:
        fitting = {p.id for p in personas if not p.style.violations(answer)}
        chosen = [system_persona(Example("Q", answer), personas, rng) for _ in range(200)]
        assert {p.id for p in chosen if p is not None} == fitting
    assert fitting == set(), "the last answer fits no persona, so it never had one"


def test_system_persona_is_none_for_about_half_and_always_without_personas():
    import random

    from bot.personas import load_catalog
    from finetune.data import Example
    from finetune.train import system_persona

    personas = list(load_catalog().personas.values())
    example = Example("Q", "The bottom line: it ships today.")
    picks = [system_persona(example, personas, random.Random(7)) for _ in range(3)]
    assert picks[0] == picks[1] == picks[2], "a seed decides the choice"
    rng = random.Random(0)
    nones = sum(system_persona(example, personas, rng) is None for _ in range(1000))
    assert 420 < nones < 580
    assert all(system_persona(example, [], rng) is None for _ in range(100))


def test_a_persona_prompt_that_makes_an_example_too_long_falls_back_to_no_system_prompt(tiny_model_dir):
    from transformers import AutoTokenizer

    from bot.personas import load_catalog
    from finetune.data import Example

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    support = load_catalog().persona("support")
    examples = [Example(f"What is fact {i}?", f"Fact {i} is {i} days.", source=f"facts.jsonl:{i}") for i in range(20)]
    plain, _ = tokenize_examples(examples, tokenizer, 10_000)
    roomy, _ = tokenize_examples(examples, tokenizer, 10_000, [support], seed=0)
    with_persona = [i for i, ((_, a), (_, b)) in enumerate(zip(plain, roomy)) if len(b["input_ids"]) > len(a["input_ids"])]
    assert 0 < len(with_persona) < 20, "with room, some examples carry the persona prompt"

    tight = max(len(row["input_ids"]) for _, row in plain)
    fitted, long = tokenize_examples(examples, tokenizer, tight, [support], seed=0)
    assert long == [], "no example is lost to the persona prompt"
    assert [row for _, row in fitted] == [row for _, row in plain]

    _, long = tokenize_examples(examples, tokenizer, tight - 1, [support], seed=0)
    assert long and all("over-long example" in p.message for p in long), "too long even without a persona"
