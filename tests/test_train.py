"""LoRA training on the tiny model: the files it writes, their card, rows (answer-only loss, passages, personas,
max_length), resume, export."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.models import load_model
from bot.personas import Catalog, load_catalog
from bot.prompts import PromptFormat
from finetune.data import Example, data_hash, load_examples
from finetune.grounding import GroundedExample
from finetune.recipe import load_recipe, with_overrides
from finetune.rows import system_persona, tokenize, tokenize_examples
from finetune.train import TrainRequest, last_complete_checkpoint, micro_batches, train
from tests.conftest import tiny_recipe, write_qa

TANDEM = str(Path(sys.executable).parent / "tandem")
TUNED_FORMAT = PromptFormat(few_shot=False, retrieval=True, top_k=5)
"""What training records for the default recipe: trained on 3 passages an example, it reads 5 at serving."""


def tiny_cli_args(model_dir: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return [TANDEM, "train", "--data", str(data), "--out", str(out), "--base-model", str(model_dir),
            "--batch-size", "4", "--general-replay", "4", "--bf16", "off", *extra]


def bare(examples: list[Example]) -> list[GroundedExample]:
    """Examples as training rows take them, without passages."""
    return [GroundedExample(e, (), e.answer) for e in examples]


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    """One training run on the tiny model, shared by the tests that only read its output."""
    tmp = tmp_path_factory.mktemp("train")
    request = TrainRequest(data=[write_qa(tmp / "train.jsonl")], out=tmp / "adapter", recipe=tiny_recipe(tiny_model_dir))
    return train(request), request


def test_the_run_writes_exactly_the_adapter_files(trained):
    out, _ = trained
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "adapter_config.json", "adapter_model.safetensors", "knowledge.jsonl", "loss.png", "metrics.json",
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
    assert metrics["train_examples"] + metrics["validation_examples"] == 36 + metrics["general_replay_examples"]
    assert metrics["general_replay_examples"] <= request.recipe.general_replay
    assert metrics["validation_loss_before"] > metrics["validation_loss_after"]
    last_validation = [entry for entry in metrics["history"] if "eval_loss" in entry][-1]
    assert last_validation["step"] == metrics["steps"], "the trainer measures the last step"
    assert metrics["validation_loss_after"] == last_validation["eval_loss"], "and that is the saved weights' loss"
    assert metrics["train_tokens_per_second"] > 0 and metrics["peak_memory_mb"] > 0


def test_max_length_follows_the_data_and_every_example_keeps_its_passages(trained):
    out, request = trained
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["knowledge_passages"] == 36, "one passage per question/answer pair (no knowledge/ directory)"
    assert metrics["passages_dropped"] == 0 and metrics["skipped_problems"] == 0
    assert 0 < metrics["max_length"] < request.recipe.max_length, "padding to the longest example, not to the cap"


def test_the_card_says_how_to_ask_the_adapter_and_it_carries_its_knowledge(trained):
    from bot.adapters import read_card
    from bot.chain import default_retriever
    from bot.chat_model import LocalChatModel
    from bot.engines import TorchEngine
    from bot.retrieval import HybridRetriever, read_passages

    out, request = trained
    card = read_card(out)
    assert card.prompt_format == TUNED_FORMAT
    assert (card.base_model, card.recipe) == (request.recipe.base_model, request.recipe.model_dump())
    chat_model = LocalChatModel(engine=TorchEngine(load_model(request.recipe.base_model, out)))
    assert chat_model.prompt_format == TUNED_FORMAT
    retriever = default_retriever(chat_model)
    assert isinstance(retriever, HybridRetriever) and retriever.k == 5
    assert retriever.passages == read_passages(out / "knowledge.jsonl")
    found = [d.page_content for d in retriever.invoke("What is fact number 17?")]
    assert "Q: What is fact number 17?\nA: Fact 17 is 119 days." in found
    assert default_retriever(LocalChatModel(engine=TorchEngine(load_model(request.recipe.base_model)))) is None, "no adapter"


def test_the_adapter_loads_through_the_one_loader_and_answers(trained):
    from bot.chain import build_chain
    from bot.chat_model import LocalChatModel
    from bot.engines import TorchEngine

    out, request = trained
    loaded = load_model(request.recipe.base_model, out)
    assert loaded.adapter == out and any("lora_A" in name for name, _ in loaded.model.named_parameters())
    chain = build_chain(LocalChatModel(engine=TorchEngine(loaded), seed=0, max_new_tokens=8), as_message=True)
    answer = chain.invoke({"question": "fact 3?"})
    assert answer.usage_metadata["output_tokens"] > 0


def test_loss_is_on_the_answer_tokens_only(tiny_chat_model):
    tokenizer = tiny_chat_model.tokenizer
    catalog = load_catalog()
    [example] = load_examples([write_qa(Path(os.environ["TANDEM_HOME"]).parent / "one.jsonl", 1)]).examples
    row = tokenize(example, example.answer, catalog.persona("support"), catalog.instruction("direct"),
                   ["A passage."], TUNED_FORMAT, tokenizer)
    answer_ids = [t for t, m in zip(row.input_ids, row.completion_mask) if m]
    assert tokenizer.decode(answer_ids) == example.answer + "<|im_end|>"
    prompt = tokenizer.decode([t for t, m in zip(row.input_ids, row.completion_mask) if not m])
    assert "A passage." in prompt and example.question in prompt and example.answer not in prompt
    assert row.completion_mask == sorted(row.completion_mask), "the prompt first, then the answer"


def test_multi_turn_chat_data_trains(tiny_model_dir, tmp_path):
    turns = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
    with open(tmp_path / "chat.jsonl", "w") as f:
        for i in range(12):
            f.write(json.dumps({"messages": [*turns, {"role": "user", "content": f"Fact {i}?"},
                                             {"role": "assistant", "content": f"It is {i}."}]}) + "\n")
    out = train(TrainRequest(data=[tmp_path / "chat.jsonl"], out=tmp_path / "adapter",
                             recipe=tiny_recipe(tiny_model_dir, epochs=1)))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_examples"] - metrics["general_replay_examples"] == 11
    assert metrics["knowledge_passages"] == 0, "a turn of a longer conversation is not a passage"


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
    ("truncated.jsonl", b'{"question": "q", "answer": "a"}\n{"question": "q2", "ans'),
    ("ragged.csv", b'question,answer\nq,a\nq2,b,extra\n'),
    ("long.jsonl", b'{"question": "q", "answer": "a"}\n{"question": "' + b"word " * 200 + b'", "answer": "b"}\n'),
])
def test_each_malformed_data_class_fails_strict_training_with_no_adapter(tiny_model_dir, tmp_path, name, content):
    data = tmp_path / name
    data.write_bytes(content)
    out = tmp_path / "adapter"
    result = subprocess.run(tiny_cli_args(tiny_model_dir, data, out, "--strict", "--epochs", "1", "--max-length", "400"),
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
    personas = list(load_catalog().personas.values())
    answers = ["Yes. " * 110,                    # too long for plain (100) and executive (80)
               "Great news, it ships today!",    # an exclamation: not compliance or engineer
               "The bottom line: it ships today.",
               "word " * 200]                    # too long for every persona
    rng = random.Random(0)
    for answer in answers:
        fitting = {p.id for p in personas if not p.style.violations(answer)}
        chosen = [system_persona(answer, personas, rng) for _ in range(200)]
        assert {p.id for p in chosen if p is not None} == fitting
    assert fitting == set(), "the last answer fits no persona, so it never had one"


def test_system_persona_is_none_for_about_half_and_always_without_personas():
    personas = list(load_catalog().personas.values())
    answer = "The bottom line: it ships today."
    picks = [system_persona(answer, personas, random.Random(7)) for _ in range(3)]
    assert picks[0] == picks[1] == picks[2], "a seed decides the choice"
    rng = random.Random(0)
    nones = sum(system_persona(answer, personas, rng) is None for _ in range(1000))
    assert 420 < nones < 580
    assert all(system_persona(answer, [], rng) is None for _ in range(100))


def only_support() -> Catalog:
    catalog = load_catalog()
    return Catalog({"support": catalog.persona("support")}, catalog.instructions, [])


def test_a_persona_prompt_that_makes_an_example_too_long_falls_back_to_no_system_prompt(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    catalog = only_support()
    examples = bare([Example(f"What is fact {i}?", f"Fact {i} is {i} days.", source=f"facts.jsonl:{i}")
                     for i in range(20)])
    recipe = load_recipe("default")
    plain, _ = tokenize_examples(examples, tokenizer, catalog, with_overrides(recipe, {"system_prompts": "none"}),
                                 TUNED_FORMAT)
    roomy, _ = tokenize_examples(examples, tokenizer, catalog, recipe, TUNED_FORMAT)
    with_persona = [i for i, (a, b) in enumerate(zip(plain, roomy)) if len(b.input_ids) > len(a.input_ids)]
    assert 0 < len(with_persona) < 20, "with room, some examples carry the persona prompt"

    tight = max(len(row.input_ids) for row in plain)
    fitted, long = tokenize_examples(examples, tokenizer, catalog, with_overrides(recipe, {"max_length": tight}),
                                     TUNED_FORMAT)
    assert long == [], "no example is lost to the persona prompt"
    assert [row.as_dict() for row in fitted] == [row.as_dict() for row in plain]

    _, long = tokenize_examples(examples, tokenizer, catalog, with_overrides(recipe, {"max_length": tight - 1}),
                                TUNED_FORMAT)
    assert long and all("over-long example" in p.message for p in long), "too long even without a persona"


def test_an_over_long_example_loses_passages_last_first_and_is_kept(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    catalog = load_catalog()
    recipe = with_overrides(load_recipe("default"), {"system_prompts": "none"})
    passages = tuple(f"PASSAGE-{n}: " + "the kettle is green. " * 10 for n in range(1, 4))
    example = Example("What colour is the kettle?", "It is green.", source="kettle.jsonl:1")
    [full], _ = tokenize_examples([GroundedExample(example, passages, example.answer)], tokenizer, catalog, recipe,
                                  TUNED_FORMAT)
    [one], _ = tokenize_examples([GroundedExample(example, passages[:1], example.answer)], tokenizer, catalog, recipe,
                                 TUNED_FORMAT)
    [none], _ = tokenize_examples(bare([example]), tokenizer, catalog, recipe, TUNED_FORMAT)
    assert len(none.input_ids) < len(one.input_ids) < len(full.input_ids)

    # Room for one passage: the last two go, the first stays, and the example is trained on.
    capped = with_overrides(recipe, {"max_length": len(one.input_ids)})
    [row], problems = tokenize_examples([GroundedExample(example, passages, example.answer)], tokenizer, catalog,
                                        capped, TUNED_FORMAT)
    assert problems == [] and row.passages_dropped == 2
    assert row.input_ids == one.input_ids
    prompt = tokenizer.decode(row.input_ids)
    assert "PASSAGE-1" in prompt and "PASSAGE-2" not in prompt and "PASSAGE-3" not in prompt

    # Too long even with no passage left: reported as a problem naming the example, never truncated.
    too_tight = with_overrides(recipe, {"max_length": len(none.input_ids) - 1})
    rows, [problem] = tokenize_examples([GroundedExample(example, passages, example.answer)], tokenizer, catalog,
                                        too_tight, TUNED_FORMAT)
    assert rows == []
    assert str(problem) == (f"kettle.jsonl:1: over-long example: {len(none.input_ids)} tokens > max_length "
                            f"{len(none.input_ids) - 1} even without passages")


@pytest.mark.parametrize("batch_size, grad_accum, max_length, expected", [
    (16, 1, 256, (16, 1)),     # the whole batch fits in one pass of 4096 tokens
    (16, 1, 1024, (4, 4)),
    (16, 1, 800, (4, 4)),      # room for 5 rows, but 5 x 4 passes would be a batch of 20
    (16, 2, 1024, (4, 8)),
    (16, 1, 8192, (1, 16)),    # longer than a pass: one row at a time
    (4, 1, 200, (4, 1)),       # never more rows than the batch
])
def test_micro_batches_bound_the_tokens_of_a_pass_and_keep_the_batch(batch_size, grad_accum, max_length, expected):
    recipe = with_overrides(load_recipe("default"), {"batch_size": batch_size, "grad_accum": grad_accum})
    rows, passes = micro_batches(recipe, max_length)
    assert (rows, passes) == expected
    assert rows * passes == batch_size * grad_accum
    assert rows * max_length <= recipe.micro_batch_tokens or rows == 1


def test_prepare_grounds_the_examples_and_pads_to_the_longest(tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    from finetune.grounding import NOT_IN_PASSAGES
    from finetune.train import prepare, read_training_data

    request = TrainRequest(data=[write_qa(tmp_path / "train.jsonl", 20)], out=tmp_path / "adapter",
                           recipe=tiny_recipe(tiny_model_dir, general_replay=0, unanswerable_fraction=0.5))
    prepared = prepare(request, load_model(str(tiny_model_dir)), read_training_data(request))
    rows = prepared.train_rows + prepared.validation_rows
    assert prepared.prompt_format == TUNED_FORMAT
    assert (len(prepared.passages), prepared.replayed, len(rows)) == (20, 0, 20)
    assert prepared.train_rows and prepared.validation_rows
    assert prepared.max_length == max(len(r.input_ids) for r in rows)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    targets = [tokenizer.decode([t for t, m in zip(r.input_ids, r.completion_mask) if m]) for r in rows]
    prompts = [tokenizer.decode([t for t, m in zip(r.input_ids, r.completion_mask) if not m]) for r in rows]
    assert all("Reference passages" in prompt for prompt in prompts), "every example carries its passages"
    assert all(t in (r.example.answer + "<|im_end|>", NOT_IN_PASSAGES + "<|im_end|>") for r, t in zip(rows, targets))
    assert targets.count(NOT_IN_PASSAGES + "<|im_end|>") == prepared.unanswerable
    assert 0 < prepared.unanswerable < 20, "about half the targets say the passages do not cover the question"
