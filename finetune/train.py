"""LoRA supervised fine-tuning with TRL's SFTTrainer: loss on answer tokens only, prompts from bot.prompts.

    tandem train                                   # the sample domain with the default recipe
    tandem train --data my.csv --question-col q --answer-col a --out my-adapter
    accelerate launch --multi_gpu --num_processes 2 -m bot.cli train --data my.jsonl

The adapter directory is written into a temporary directory and renamed at the end; it holds the
LoRA weights (safetensors), `tandem-adapter.json` (base model and hash, recipe, data hash, prompt
format, time, losses), `metrics.json`, `loss.png` and a model card (`README.md`). Checkpoints go to `<out>.checkpoints/`, each
marked complete only after every file of it is written, so `--resume` never loads a partial one.
"""

import hashlib
import json
import os
import random
import resource
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import TandemError
from bot.models import ADAPTER_METADATA, MANIFEST, load_model, resolve_model
from bot.paths import PROJECT_ROOT, shown_path
from bot.personas import Persona, load_catalog
from bot.prompts import apply_template, render_messages
from finetune.data import CsvColumns, DataError, Example, Problem, data_hash, leakage_report, load_examples, split
from finetune.recipe import Recipe

CHECKPOINT_COMPLETE = "tandem-checkpoint-complete"


@dataclass
class TrainRequest:
    """One training run: data, recipe and where the adapter goes."""

    data: list[Path]
    out: Path
    recipe: Recipe
    format: str | None = None
    columns: CsvColumns = field(default_factory=CsvColumns)
    strict: bool = False
    resume: bool = False
    eval_data: list[Path] = field(default_factory=list)
    """Evaluation sets checked for leakage against the training questions (reported, not used)."""


def train(request: TrainRequest) -> Path:
    """Run the whole pipeline and return the adapter directory."""
    recipe = request.recipe
    _check_out(request)
    data = load_examples(request.data, request.format, request.columns, request.strict)
    _report(data.problems, data.duplicates, len(data.examples))
    loaded = load_model(recipe.base_model)
    tokenizer = loaded.tokenizer
    personas = training_personas(recipe)
    tokenized, long = tokenize_examples(data.examples, tokenizer, recipe.max_length, personas, recipe.seed)
    if long:
        _report(long, 0, len(tokenized))
        if request.strict:
            raise DataError(f"{long[0]} (--strict; {len(long)} such example(s))")
    examples = [example for example, _ in tokenized]
    rows = {id(example): row for example, row in tokenized}  # by identity: an Example with history has dicts
    train_set, validation_set = split(examples, recipe.validation_fraction, recipe.seed)
    leaks = _leakage(train_set, request.eval_data)
    trainer = _make_trainer(loaded.model, tokenizer, recipe, request.out,
                            [rows[id(e)] for e in train_set], [rows[id(e)] for e in validation_set])
    checkpoint = last_complete_checkpoint(checkpoints_dir(request.out)) if request.resume else None
    if request.resume and checkpoint is None:
        print("tandem: no complete checkpoint to resume from; starting from the beginning", file=sys.stderr, flush=True)
    loss_before = None
    if validation_set and checkpoint is None:
        loss_before = trainer.evaluate()["eval_loss"]
    started = time.monotonic()
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    elapsed = time.monotonic() - started
    # The loss of the weights being saved: the last step's, or the best one's under early stopping.
    loss_after = trainer.evaluate()["eval_loss"] if validation_set else None
    if not trainer.is_world_process_zero():
        return request.out
    tokens = sum(len(rows[id(e)]["input_ids"]) for e in train_set)
    metrics = {
        "train_examples": len(train_set), "validation_examples": len(validation_set),
        "skipped_problems": len(data.problems) + len(long), "duplicates_removed": data.duplicates,
        "validation_loss_before": loss_before, "validation_loss_after": loss_after,
        "final_train_loss": result.training_loss, "steps": trainer.state.global_step,
        "epochs_completed": round(trainer.state.epoch or 0, 3), "stopped_early": _stopped_early(trainer),
        "wall_seconds": round(elapsed, 1),
        "train_tokens_per_second": round(tokens * (trainer.state.epoch or 0) / max(elapsed, 1e-9), 1),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "bf16": trainer.args.bf16, "world_size": trainer.args.world_size, "distributed_backend": _backend(), "resumed_from": checkpoint.name if checkpoint else None,
        "leaks": [leak.__dict__ for leak in leaks],
        "history": [{k: v for k, v in entry.items() if k in ("step", "epoch", "loss", "eval_loss")}
                    for entry in trainer.state.log_history if "loss" in entry or "eval_loss" in entry],
    }
    _save_adapter(trainer, loaded, recipe, request, data_hash(examples), metrics)
    return request.out


def _check_out(request: TrainRequest) -> None:
    if request.out.exists() and not (request.out / ADAPTER_METADATA).is_file():
        raise TandemError(f"--out {request.out} exists and is not a Tandem adapter; choose another directory")


def _report(problems: list[Problem], duplicates: int, kept: int) -> None:
    for problem in problems[:20]:
        print(f"tandem: skipped {problem}", file=sys.stderr, flush=True)
    if len(problems) > 20:
        print(f"tandem: ... and {len(problems) - 20} more problems", file=sys.stderr, flush=True)
    if duplicates:
        print(f"tandem: removed {duplicates} duplicate example(s)", file=sys.stderr, flush=True)
    print(f"tandem: {kept} examples", file=sys.stderr, flush=True)


def training_personas(recipe: Recipe) -> list[Persona]:
    """The personas whose system prompts training may put above an example (none for `system_prompts: none`)."""
    if recipe.system_prompts == "none":
        return []
    return list(load_catalog().personas.values())


def system_persona(example: Example, personas: list[Persona], rng: random.Random) -> Persona | None:
    """No system prompt for about half the examples; otherwise a persona whose style rules the answer follows.

    Seeing the same facts with and without persona prompts teaches the model that a persona changes
    how it answers, not what it knows. A persona the answer would break (too long for it, missing its
    required phrase) is never used, so training cannot teach the model to ignore a persona's rules.
    """
    fitting = [p for p in personas if not p.style.violations(example.answer)]
    if not fitting or rng.random() < 0.5:
        return None
    return rng.choice(fitting)


def tokenize_examples(examples: list[Example], tokenizer, max_length: int, personas: list[Persona] = (),
                      seed: int = 0):
    """(example, {"input_ids", "completion_mask"}) pairs, and a Problem for each one over max_length.

    The prompt is rendered exactly as the chain renders it at serving time, under no system prompt or
    a persona's (see `system_persona`), and the answer is the assistant turn the chat template closes.
    """
    rng = random.Random(seed)
    pairs, long = [], []
    for example in examples:
        persona = system_persona(example, list(personas), rng)
        row = _tokenize(example, persona, tokenizer)
        if persona is not None and len(row["input_ids"]) > max_length:
            row = _tokenize(example, None, tokenizer)  # the persona prompt must never cost an example
        if len(row["input_ids"]) > max_length:
            long.append(Problem(example.source,
                                f"over-long example: {len(row['input_ids'])} tokens > max_length {max_length}"))
            continue
        pairs.append((example, row))
    return pairs, long


def _tokenize(example: Example, persona: Persona | None, tokenizer) -> dict:
    messages = render_messages(persona, None, example.question, list(example.history), with_examples=False)
    prompt = apply_template(tokenizer, messages, add_generation_prompt=True)
    full = apply_template(tokenizer, [*messages, {"role": "assistant", "content": example.answer}],
                          add_generation_prompt=False).rstrip()
    if not full.startswith(prompt):
        raise TandemError("the chat template renders a prompt that is not a prefix of the full conversation; "
                          "this model's template cannot be trained on answer tokens only")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
    return {"input_ids": prompt_ids + completion_ids, "completion_mask": [0] * len(prompt_ids) + [1] * len(completion_ids)}


def _leakage(train_set: list[Example], eval_paths: list[Path]):
    questions = []
    for path in eval_paths:
        questions += [e.question for e in load_examples([path]).examples]
    leaks = leakage_report(train_set, questions)
    if questions:
        print(f"tandem: leakage check: {len(leaks)} of {len(questions)} evaluation questions have cosine >= 0.9 "
              "to a training question", file=sys.stderr, flush=True)
        for leak in leaks[:5]:
            print(f"  {leak.cosine}: {leak.eval_question!r} ~ {leak.train_question!r}", file=sys.stderr, flush=True)
    return leaks


def checkpoints_dir(out: Path) -> Path:
    return out.with_name(out.name + ".checkpoints")


def last_complete_checkpoint(directory: Path) -> Path | None:
    """The newest checkpoint marked complete; a checkpoint cut short by a crash has no marker."""
    complete = [p for p in directory.glob("checkpoint-*") if (p / CHECKPOINT_COMPLETE).is_file()]
    return max(complete, key=lambda p: int(p.name.split("-")[1]), default=None)


def use_bf16(setting: str) -> bool:
    import torch

    if setting != "auto":
        return setting == "on"
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _make_trainer(model, tokenizer, recipe: Recipe, out: Path, train_rows: list[dict], validation_rows: list[dict]):
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import EarlyStoppingCallback, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    class MarkCheckpointComplete(TrainerCallback):
        # on_save runs after the Trainer has written every file of the checkpoint.
        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                marker = Path(args.output_dir) / f"checkpoint-{state.global_step}" / CHECKPOINT_COMPLETE
                with open(marker, "w") as f:
                    f.write(str(state.global_step))
                    f.flush()
                    os.fsync(f.fileno())

    has_validation = bool(validation_rows)
    early_stopping = has_validation and recipe.early_stopping_patience > 0
    config = SFTConfig(
        output_dir=str(checkpoints_dir(out)), num_train_epochs=recipe.epochs,
        per_device_train_batch_size=recipe.batch_size, per_device_eval_batch_size=recipe.batch_size,
        gradient_accumulation_steps=recipe.grad_accum, learning_rate=recipe.learning_rate,
        lr_scheduler_type=recipe.lr_scheduler, warmup_steps=recipe.warmup_ratio, weight_decay=recipe.weight_decay,
        logging_steps=max(1, recipe.eval_every // 4), eval_strategy="steps" if has_validation else "no",
        eval_steps=recipe.eval_every, save_strategy="steps", save_steps=recipe.eval_every, save_total_limit=2,
        load_best_model_at_end=early_stopping, metric_for_best_model="eval_loss", greater_is_better=False,
        bf16=use_bf16(recipe.bf16), use_cpu=not torch.cuda.is_available(), seed=recipe.seed, data_seed=recipe.seed,
        max_length=recipe.max_length, completion_only_loss=True, packing=False, report_to=[],
        dataloader_num_workers=0, disable_tqdm=False, dataset_num_proc=None,
        # Batches of similar lengths: examples with and without a system prompt differ by ~100 tokens,
        # and padding every batch to its longest member wasted a third of the compute.
        train_sampling_strategy="group_by_length",
        # TRL turns gradient checkpointing on by default; a 135M model fits in memory many times over,
        # and recomputing activations cost a third of the training speed here.
        gradient_checkpointing=False,
    )
    lora = LoraConfig(task_type="CAUSAL_LM", r=recipe.lora_r, lora_alpha=recipe.lora_alpha,
                      lora_dropout=recipe.lora_dropout, target_modules=recipe.target_modules)
    callbacks = [MarkCheckpointComplete()]
    if early_stopping:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=recipe.early_stopping_patience))
    return SFTTrainer(model=model, args=config, processing_class=tokenizer, peft_config=lora, callbacks=callbacks,
                      train_dataset=Dataset.from_list(train_rows),
                      eval_dataset=Dataset.from_list(validation_rows) if has_validation else None)


def _backend() -> str | None:
    import torch.distributed as dist

    return dist.get_backend() if dist.is_available() and dist.is_initialized() else None


def _stopped_early(trainer) -> bool:
    return trainer.state.global_step < trainer.state.max_steps


def _save_adapter(trainer, loaded, recipe: Recipe, request: TrainRequest, examples_hash: str, metrics: dict) -> None:
    out = request.out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp-{int(time.time())}")
    shutil.rmtree(staging, ignore_errors=True)
    # Record the base model as the user named it, not as a path on this machine.
    for config in trainer.model.peft_config.values():
        config.base_model_name_or_path = recipe.base_model
    trainer.model.save_pretrained(staging, safe_serialization=True)
    metadata = {
        "base_model": recipe.base_model,
        "base_model_hash": base_model_hash(recipe.base_model),
        "recipe": recipe.model_dump(),
        "data": [shown_path(p) for p in request.data],
        "data_hash": examples_hash,
        "prompt_format": {
            "renderer": "bot.prompts.render_messages(persona, instruction=None, with_examples=False) + the tokenizer's "
                        "chat template; persona: none, or for about half the examples one of "
                        + (", ".join(p.id for p in training_personas(recipe)) or "none"),
            "persona_hashes": {p.id: p.content_hash for p in training_personas(recipe)},
            "chat_template_sha256": hashlib.sha256((loaded.tokenizer.chat_template or "").encode()).hexdigest(),
        },
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "validation_loss_before": metrics["validation_loss_before"],
        "validation_loss_after": metrics["validation_loss_after"],
        "final_train_loss": metrics["final_train_loss"],
    }
    (staging / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (staging / "README.md").write_text(model_card(out, metadata, metrics))  # replaces PEFT's empty template
    plot_losses(metrics["history"], staging / "loss.png", metrics["validation_loss_before"])
    # Written last: its presence marks a complete adapter directory.
    (staging / ADAPTER_METADATA).write_text(json.dumps(metadata, indent=2) + "\n")
    previous = out.with_name(f".{out.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if out.exists():
        out.rename(previous)
    staging.rename(out)
    shutil.rmtree(previous, ignore_errors=True)
    shutil.rmtree(checkpoints_dir(out), ignore_errors=True)
    print(f"tandem: adapter written to {out} (validation loss {metrics['validation_loss_before']} -> "
          f"{metrics['validation_loss_after']}, {metrics['train_tokens_per_second']} train tokens/s)", file=sys.stderr, flush=True)


def model_card(out: Path, metadata: dict, metrics: dict) -> str:
    """The adapter's README.md: what it is, what it was trained on, how it went, and how to use it."""
    recipe = metadata["recipe"]
    logged = [entry["loss"] for entry in metrics["history"] if "loss" in entry]
    last = f", {logged[-1]:.3f} at the end" if logged else ""
    return f"""# Tandem adapter: {out.name}

A LoRA adapter (rank {recipe['lora_r']}, alpha {recipe['lora_alpha']}, on {recipe['target_modules']} layers) for
`{metadata['base_model']}`, trained by `tandem train` with TRL's SFTTrainer on the answer tokens only.

| | |
|---|---|
| data | {', '.join(metadata['data'])} (hash {metadata['data_hash'][:12]}) |
| examples | {metrics['train_examples']} for training, {metrics['validation_examples']} for validation |
| schedule | {metrics['epochs_completed']:g} epochs, {metrics['steps']} steps of {recipe['batch_size'] * recipe['grad_accum']}, learning rate {recipe['learning_rate']:g} ({recipe['lr_scheduler']}) |
| validation loss | {_loss(metrics['validation_loss_before'])} before training, {_loss(metrics['validation_loss_after'])} after |
| training loss | {_loss(metrics['final_train_loss'])} on average over the run{last} |
| cost | {metrics['wall_seconds'] / 60:.1f} min, {metrics['train_tokens_per_second']} train tokens/s, peak memory {metrics['peak_memory_mb']} MB |
| prompts | {metadata['prompt_format']['renderer']} |
| trained | {metadata['trained_at']} |

![loss](loss.png)

Use it:

```sh
tandem serve --adapter {shown_path(out)}
tandem eval --adapter {shown_path(out)}     # what it bought over prompting
```

`tandem-adapter.json` has the full recipe, the base model's hash and the persona versions it was
trained under; `metrics.json` has the loss history.
"""


def _loss(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"  # no validation set: no validation loss


def base_model_hash(name: str) -> str:
    """sha256 over the base model's safetensors files (local store or directory), or its hub revision."""
    source = Path(resolve_model(name))
    if not source.is_dir():
        return f"hub:{name}"
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.safetensors")):
        with open(path, "rb") as f:
            while chunk := f.read(1 << 24):
                digest.update(chunk)
    manifest = source / MANIFEST
    if manifest.is_file():
        digest.update(manifest.read_bytes())
    return digest.hexdigest()


def plot_losses(log_history: list[dict], path: Path, validation_before: float | None = None) -> None:
    """Training and validation loss by step; the validation loss before training is drawn at step 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(e["step"], e["loss"]) for e in log_history if "loss" in e]
    validation = [(e["step"], e["eval_loss"]) for e in log_history if "eval_loss" in e]
    if validation_before is not None:
        validation.insert(0, (0, validation_before))
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        axes.plot(*zip(*train), label="training loss", color="#1f77b4")
    if validation:
        axes.plot(*zip(*validation), label="validation loss", color="#d62728", marker="o")
    axes.set_xlabel("step")
    axes.set_ylabel("loss (answer tokens)")
    best = min((loss for _, loss in validation), default=None)
    axes.set_title("LoRA fine-tuning" + (f": best validation loss {best:.2f}" if best is not None else "")
                   + (f" (from {validation_before:.2f})" if validation_before is not None else ""))
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
