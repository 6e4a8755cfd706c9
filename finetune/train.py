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
import math
import os
import resource
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.adapters import CARD_FILE
from bot.errors import TandemError
from bot.files import write_atomically
from bot.knowledge import directory_index
from bot.models import load_model, resolve_model
from bot.paths import shown_path, tandem_home
from bot.personas import Persona, load_catalog
from bot.prompts import PromptFormat
from bot.retrieval import KNOWLEDGE_FILE, HybridRetriever, knowledge_beside, save_passages
from bot.userinput import printable
from finetune.card import model_card, plot_losses
from finetune.data import (MIN_EXAMPLES, SAMPLE_DOMAIN, CsvColumns, DataError, Example, LoadedData, Problem,
                           columns_from_flags, data_hash, leakage_report, load_examples, split, training_warnings)
from finetune.flags import apply_field_flags
from finetune.grounding import NOT_IN_PASSAGES, GroundedExample, domain_passages, ground_examples
from finetune.recipe import Recipe, RecipeError, load_recipe
from finetune.replay import replay_examples
from finetune.rows import Row, tokenize_examples, training_personas

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
    knowledge: Path | None = None
    """A folder of knowledge documents (PDF, Word, HTML, text, Markdown) for retrieval; default: the knowledge/
    directory beside the first data file."""


def request_from_flags(args) -> TrainRequest:
    """The run `tandem train`'s flags ask for: the sample domain by default, eval.jsonl beside the first data file
    checked for leakage, the recipe with the flags' overrides, the adapter in $TANDEM_HOME/adapters/NAME. With
    `--knowledge DIR` and no `--data`, the data is pairs synthesized from DIR (`finetune.synthesize`) first."""
    knowledge = args.knowledge
    data = args.data or ([synthesized_data(knowledge)] if knowledge else [SAMPLE_DOMAIN / "train.jsonl"])
    eval_data = args.eval_data
    if eval_data is None:
        beside = (domain_dir(knowledge) if knowledge and not args.data else data[0].parent) / "eval.jsonl"
        eval_data = [beside] if beside.is_file() and beside != data[0] else []
    recipe = apply_field_flags(load_recipe(args.recipe), args, "recipe_", RecipeError)
    name = data[0].parent.name if data[0].stem == "train" else data[0].stem  # data/shop/train.jsonl -> shop
    return TrainRequest(data=data, out=args.out or tandem_home() / "adapters" / name, recipe=recipe,
                        format=args.format, columns=columns_from_flags(args), strict=args.strict, resume=args.resume,
                        eval_data=eval_data, knowledge=knowledge)


def domain_dir(knowledge: Path) -> Path:
    """The domain a knowledge directory belongs to: data/shop for data/shop/knowledge, else the directory itself."""
    knowledge = Path(knowledge).resolve()
    return knowledge.parent if knowledge.name == "knowledge" else knowledge


def synthesized_data(knowledge: Path) -> Path:
    """Training pairs written from `knowledge`'s passages into $TANDEM_HOME/synthesized/NAME.jsonl (resumed when a
    run was interrupted; nothing new to write when it is complete)."""
    from finetune.synthesize import SynthesisConfig, synthesize

    out = tandem_home() / "synthesized" / f"{domain_dir(knowledge).name}.jsonl"
    print(f"tandem: no --data: writing training pairs from {knowledge}'s passages into {out}", file=sys.stderr,
          flush=True)
    tally = synthesize(SynthesisConfig(knowledge=Path(knowledge), out=out))
    print(f"tandem: {tally.summary()}", file=sys.stderr, flush=True)
    return out


def train_from_flags(args) -> int:
    """`tandem train`: the run the flags ask for."""
    # Transparent huge pages for PyTorch's large CPU buffers (read at the first tensor allocation, so set before
    # anything loads). Training allocates and frees hundreds of MB of activations and logits every step; with 4 KB
    # pages the kernel spent as much time faulting pages in as the model spent computing. Measured on 216 sample
    # examples, 1 epoch: 113 -> 168 train tokens/s, the same losses. `THP_MEM_ALLOC_ENABLE=0` turns it off.
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    train(request_from_flags(args))
    return 0


@dataclass
class Prepared:
    """Everything training needs besides the model: the rows, and what went into them (for the metrics)."""

    examples: list[Example]
    train_rows: list[Row]
    validation_rows: list[Row]
    passages: list
    prompt_format: PromptFormat
    personas: list[Persona]
    problems: int
    duplicates: int
    unanswerable: int
    replayed: int

    @property
    def max_length(self) -> int:
        """Padding follows the data: the longest row, not the recipe's cap."""
        return max(len(r.input_ids) for r in self.train_rows + self.validation_rows)


def read_training_data(request: TrainRequest):
    """The request's examples, validated and reported on: called before any model loads, so bad data costs nothing."""
    data = load_examples(request.data, request.format, request.columns, request.strict)
    _report(data.problems, data.duplicates, len(data.examples))
    _check_enough(data)
    return data


def prepare(request: TrainRequest, loaded, data) -> Prepared:
    """Split, ground (RAFT) and tokenize the data (from `read_training_data`); add the general replay."""
    recipe = request.recipe
    catalog = load_catalog()
    prompt_format = PromptFormat(few_shot=False, retrieval=recipe.retrieval, top_k=recipe.serve_top_k or recipe.top_k,
                                 passage_chars=recipe.passage_chars)
    train_set, validation_set = split(data.examples, recipe.validation_fraction, recipe.seed)
    passages = domain_passages(data.examples, request.knowledge, request.data[0]) if recipe.retrieval else []
    grounded = _ground(train_set + validation_set, passages, recipe, request.knowledge or knowledge_beside(request.data[0]))
    replay = [GroundedExample(e, (), e.answer) for e in replay_examples(loaded, catalog, recipe.general_replay)]
    rows, long = tokenize_examples(grounded + replay, loaded.tokenizer, catalog, recipe, prompt_format)
    if long:
        _report(long, 0, len(rows))
        if request.strict:
            raise DataError(f"{long[0]} (--strict; {len(long)} such example(s))")
    in_validation = {id(e) for e in validation_set}
    train_rows = [r for r in rows if id(r.example) not in in_validation]
    _check_rows(train_rows, rows, replay, recipe)
    return Prepared(examples=data.examples, train_rows=train_rows,
                    validation_rows=[r for r in rows if id(r.example) in in_validation], passages=passages,
                    prompt_format=prompt_format, personas=training_personas(recipe, catalog),
                    problems=len(data.problems) + len(long), duplicates=data.duplicates,
                    unanswerable=sum(g.answer == NOT_IN_PASSAGES for g in grounded), replayed=len(replay))


def train(request: TrainRequest) -> Path:
    """Run the whole pipeline and return the adapter directory."""
    recipe = request.recipe
    _check_out(request)
    data = read_training_data(request)
    loaded = load_model(recipe.base_model)
    prepared = prepare(request, loaded, data)
    leaks = _leakage([r.example for r in prepared.train_rows], request.eval_data)
    print_plan(prepared.train_rows, recipe, prepared.max_length, loaded.model)
    trainer = make_trainer(loaded.model, loaded.tokenizer, recipe, request.out, prepared.max_length,
                           [r.as_dict() for r in prepared.train_rows], [r.as_dict() for r in prepared.validation_rows])
    checkpoint = last_complete_checkpoint(checkpoints_dir(request.out)) if request.resume else None
    if request.resume and checkpoint is None:
        print("tandem: no complete checkpoint to resume from; starting from the beginning", file=sys.stderr, flush=True)
    loss_before = None
    if prepared.validation_rows and checkpoint is None:
        loss_before = trainer.evaluate()["eval_loss"]
    started = time.monotonic()
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    elapsed = time.monotonic() - started
    loss_after = _final_validation_loss(trainer) if prepared.validation_rows else None
    if not trainer.is_world_process_zero():
        return request.out
    tokens = sum(len(r.input_ids) for r in prepared.train_rows)
    metrics = {
        "train_examples": len(prepared.train_rows), "validation_examples": len(prepared.validation_rows),
        "general_replay_examples": prepared.replayed, "knowledge_passages": len(prepared.passages),
        "unanswerable_examples": prepared.unanswerable,
        "passages_dropped": sum(r.passages_dropped for r in prepared.train_rows + prepared.validation_rows),
        "max_length": prepared.max_length, "skipped_problems": prepared.problems,
        "duplicates_removed": prepared.duplicates,
        "validation_loss_before": loss_before, "validation_loss_after": loss_after,
        "final_train_loss": result.training_loss, "steps": trainer.state.global_step,
        "epochs_completed": round(trainer.state.epoch or 0, 3), "stopped_early": _stopped_early(trainer),
        "wall_seconds": round(elapsed, 1),
        "train_tokens_per_second": round(tokens * (trainer.state.epoch or 0) / max(elapsed, 1e-9), 1),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "bf16": trainer.args.bf16, "world_size": trainer.args.world_size, "distributed_backend": _backend(),
        "resumed_from": checkpoint.name if checkpoint else None,
        "leaks": [leak.__dict__ for leak in leaks],
        "history": [{k: v for k, v in entry.items() if k in ("step", "epoch", "loss", "eval_loss")}
                    for entry in trainer.state.log_history if "loss" in entry or "eval_loss" in entry],
    }
    _save_adapter(trainer, loaded, recipe, request, data_hash(prepared.examples), metrics, prepared)
    return request.out


FORWARD_TOKENS_PER_SECOND = 400.0
"""SmolLM2-135M on this project's 2-core machine: training costs one forward pass over every layer plus
a backward pass (about twice a forward) over the layers with LoRA, so tokens/s = this / (1 + 2 x share of
layers trained). Calibrated on `tandem train` runs (benchmarks/README.md, "Training speed and memory"); scaled by parameter count
for other models. An estimate: the progress bar shows the real ETA."""
MEMORY_BASE_MB = 1500
MEMORY_PER_TOKEN_LAYER_MB = 0.065
"""Peak resident memory ≈ base + this × tokens in one forward pass × layers trained (benchmarks/README.md, "Training speed and memory")."""


def print_plan(rows: list[Row], recipe: Recipe, max_length: int, model) -> None:
    """Say what training will do before it starts: steps, time and memory, so nobody waits blind."""
    layers = model.config.get_text_config().num_hidden_layers
    trained = min(recipe.lora_layers or layers, layers)
    rows_per_pass, passes = micro_batches(recipe, max_length)
    steps = math.ceil(math.ceil(len(rows) / (rows_per_pass * passes)) * recipe.epochs)
    tokens = sum(len(r.input_ids) for r in rows) * recipe.epochs
    parameters = sum(p.numel() for p in model.parameters())
    rate = FORWARD_TOKENS_PER_SECOND * 135e6 / parameters / (1 + 2 * trained / layers)
    memory = MEMORY_BASE_MB * parameters / 135e6 + MEMORY_PER_TOKEN_LAYER_MB * rows_per_pass * max_length * trained
    print(f"tandem: plan: {len(rows)} examples, {recipe.epochs:g} epoch(s) = {steps} steps of {rows_per_pass * passes} "
          f"({passes} pass(es) of {rows_per_pass}), {tokens:,.0f} tokens (longest example {max_length}); expect about "
          f"{tokens / rate / 60:.0f} min and {memory / 1024:.1f} GB of memory on a 2-core CPU", file=sys.stderr, flush=True)


def _ground(examples: list[Example], passages, recipe: Recipe, knowledge: Path | None = None) -> list[GroundedExample]:
    """The examples with their passages (RAFT), or bare when the recipe trains without retrieval. The documents'
    vectors come from the `knowledge` directory's index (updated first), so only the pairs are embedded."""
    if not passages:
        return [GroundedExample(e, (), e.answer) for e in examples]
    reuse = directory_index(knowledge) if knowledge is not None else None
    print(f"tandem: indexing {len(passages)} passages and retrieving for {len(examples)} examples",
          file=sys.stderr, flush=True)
    retriever = HybridRetriever.over(passages, k=recipe.top_k, max_chars=recipe.passage_chars, reuse=reuse)
    return ground_examples(examples, retriever, recipe.unanswerable_fraction, recipe.seed)


def _check_enough(data: LoadedData) -> None:
    """Refuse data no training can use; warn about data that trains poorly, and go on."""
    warnings = training_warnings(data.examples, data.duplicates)
    if len(data.examples) < MIN_EXAMPLES:
        raise DataError(warnings[0])
    for warning in warnings:
        print(f"tandem: warning: {warning}", file=sys.stderr, flush=True)


def _check_rows(train_rows: list[Row], rows: list[Row], replay: list[GroundedExample], recipe: Recipe) -> None:
    """Training goes ahead only with rows of the user's own data to train on: the general replay alone
    would spend the run teaching the base model its own answers."""
    replayed = {id(g.example) for g in replay}
    if not any(id(r.example) not in replayed for r in rows):
        raise DataError(f"no example of the data fits max_length {recipe.max_length} tokens, even without passages "
                        "(each was skipped above); raise --max-length")
    if not any(id(r.example) not in replayed for r in train_rows):
        raise DataError(f"every example went to validation (validation_fraction {recipe.validation_fraction}); "
                        "lower --validation-fraction or add examples")


def _check_out(request: TrainRequest) -> None:
    if request.out.exists() and not (request.out / CARD_FILE).is_file():
        raise TandemError(f"--out {request.out} exists and is not a Tandem adapter; choose another directory")


def _report(problems: list[Problem], duplicates: int, kept: int) -> None:
    for problem in problems[:20]:
        print(f"tandem: skipped {printable(problem)}", file=sys.stderr, flush=True)
    if len(problems) > 20:
        print(f"tandem: ... and {len(problems) - 20} more problems", file=sys.stderr, flush=True)
    if duplicates:
        print(f"tandem: removed {duplicates} duplicate example(s)", file=sys.stderr, flush=True)
    print(f"tandem: {kept} examples", file=sys.stderr, flush=True)


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


def _final_validation_loss(trainer) -> float:
    """The validation loss of the weights being saved: the last step's, or the best one's under early stopping.
    The trainer has usually just measured the last step's (a validation pass costs about a tenth of an epoch)."""
    last = next((entry for entry in reversed(trainer.state.log_history) if "eval_loss" in entry), None)
    if trainer.args.load_best_model_at_end or last is None or last["step"] != trainer.state.global_step:
        return trainer.evaluate()["eval_loss"]
    return last["eval_loss"]


def make_trainer(model, tokenizer, recipe: Recipe, out: Path, max_length: int, train_rows: list[dict],
                  validation_rows: list[dict]):
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import EarlyStoppingCallback, TrainerCallback
    from trl import SFTConfig

    from finetune.loss import AnswerOnlyTrainer, add_answer_only_head

    class MarkCheckpointComplete(TrainerCallback):
        # on_save runs after the Trainer has written every file of the checkpoint.
        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                marker = Path(args.output_dir) / f"checkpoint-{state.global_step}" / CHECKPOINT_COMPLETE
                with open(marker, "w") as f:
                    f.write(str(state.global_step))
                    f.flush()
                    os.fsync(f.fileno())

    class ReturnFreedMemory(TrainerCallback):
        # glibc keeps what a step freed for the next step, where batches of other lengths cannot reuse all of it, so
        # resident memory grew with every step (5.2 GB after 37 steps of a 600-row CSV). malloc_trim hands it back.
        def on_step_end(self, args, state, control, **kwargs):
            release_freed_memory()

    has_validation = bool(validation_rows)
    early_stopping = has_validation and recipe.early_stopping_patience > 0
    micro_batch, accumulation = micro_batches(recipe, max_length)
    config = SFTConfig(
        output_dir=str(checkpoints_dir(out)), num_train_epochs=recipe.epochs,
        per_device_train_batch_size=micro_batch, per_device_eval_batch_size=micro_batch,
        gradient_accumulation_steps=accumulation, learning_rate=recipe.learning_rate,
        lr_scheduler_type=recipe.lr_scheduler, warmup_steps=recipe.warmup_ratio, weight_decay=recipe.weight_decay,
        logging_steps=max(1, recipe.eval_every // 4), eval_strategy="steps" if has_validation else "no",
        eval_steps=recipe.eval_every, save_strategy="steps", save_steps=recipe.eval_every, save_total_limit=2,
        load_best_model_at_end=early_stopping, metric_for_best_model="eval_loss", greater_is_better=False,
        bf16=use_bf16(recipe.bf16), use_cpu=not torch.cuda.is_available(), seed=recipe.seed, data_seed=recipe.seed,
        max_length=max_length, completion_only_loss=True, packing=False, report_to=[],
        dataloader_num_workers=0, disable_tqdm=False, dataset_num_proc=None,
        # Batches of similar lengths: examples with and without a system prompt differ by ~100 tokens,
        # and padding every batch to its longest member wasted a third of the compute.
        train_sampling_strategy="group_by_length",
        # TRL turns gradient checkpointing on by default; a 135M model fits in memory many times over,
        # and recomputing activations cost a third of the training speed here.
        gradient_checkpointing=False,
        # Batches padded to a multiple of 64 tokens, so the CPU kernels see a few dozen shapes, not hundreds: each
        # new shape leaves its own buffers behind, and peak memory grew with every step (benchmarks/README.md,
        # "Training speed and memory").
        pad_to_multiple_of=64,
    )
    layers = model.config.get_text_config().num_hidden_layers
    top = list(range(layers - recipe.lora_layers, layers)) if recipe.lora_layers and recipe.lora_layers < layers else None
    targets = recipe.target_modules
    if top and targets == "all-linear":  # peft picks layers only from named modules
        targets = linear_module_names(model)
    lora = LoraConfig(task_type="CAUSAL_LM", r=recipe.lora_r, lora_alpha=recipe.lora_alpha,
                      lora_dropout=recipe.lora_dropout, target_modules=targets, layers_to_transform=top)
    callbacks = [MarkCheckpointComplete(), ReturnFreedMemory()]
    if early_stopping:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=recipe.early_stopping_patience))
    add_answer_only_head(model)
    return AnswerOnlyTrainer(model=model, args=config, processing_class=tokenizer, peft_config=lora, callbacks=callbacks,
                      train_dataset=Dataset.from_list(train_rows),
                      eval_dataset=Dataset.from_list(validation_rows) if has_validation else None)


def release_freed_memory() -> None:
    """Return the memory the C allocator holds free to the system (glibc's malloc_trim; elsewhere nothing)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl): no malloc_trim
        return
    trim(0)


def linear_module_names(model) -> list[str]:
    """The names of the model's linear layers ("q_proj", "down_proj", ...), the output head excepted:
    what peft's "all-linear" means, spelled out."""
    import torch

    head = model.get_output_embeddings()
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                   if isinstance(module, torch.nn.Linear) and module is not head})


def micro_batches(recipe: Recipe, max_length: int) -> tuple[int, int]:
    """(rows per forward pass, passes per optimiser step): the recipe's batch, split so that one pass holds
    at most `micro_batch_tokens` tokens. Activation memory grows with the tokens of one pass, so this
    bounds peak memory whatever the data's length."""
    total = recipe.batch_size * recipe.grad_accum
    most = max(1, min(recipe.batch_size, recipe.micro_batch_tokens // max_length))
    # A divisor of the batch, so that rows x passes is the recipe's batch and not a larger one (5 x 4 for 16).
    rows = max(r for r in range(1, most + 1) if total % r == 0)
    return rows, total // rows


def _backend() -> str | None:
    import torch.distributed as dist

    return dist.get_backend() if dist.is_available() and dist.is_initialized() else None


def _stopped_early(trainer) -> bool:
    return trainer.state.global_step < trainer.state.max_steps


def _save_adapter(trainer, loaded, recipe: Recipe, request: TrainRequest, examples_hash: str, metrics: dict,
                  prepared: Prepared) -> None:
    out = request.out
    with write_atomically(out) as staging:  # replaces an adapter already there
        # Record the base model as the user named it, not as a path on this machine.
        for config in trainer.model.peft_config.values():
            config.base_model_name_or_path = recipe.base_model
        trainer.model.save_pretrained(staging, safe_serialization=True)
        if prepared.passages:
            save_passages(prepared.passages, staging / KNOWLEDGE_FILE)  # the adapter carries the knowledge it learnt to read
        metadata = {
            "base_model": recipe.base_model,
            "base_model_hash": base_model_hash(recipe.base_model),
            "recipe": recipe.model_dump(),
            "data": [shown_path(p) for p in request.data],
            "data_hash": examples_hash,
            "prompt_format": prepared.prompt_format.model_dump(),
            "persona_hashes": {p.id: p.content_hash for p in prepared.personas},
            "chat_template_sha256": hashlib.sha256((loaded.tokenizer.chat_template or "").encode()).hexdigest(),
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "validation_loss_before": metrics["validation_loss_before"],
            "validation_loss_after": metrics["validation_loss_after"],
            "final_train_loss": metrics["final_train_loss"],
        }
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        (staging / "README.md").write_text(model_card(out, metadata, metrics))  # replaces PEFT's empty template
        plot_losses(metrics["history"], staging / "loss.png", metrics["validation_loss_before"])
        # Written last: its presence marks a complete adapter directory.
        (staging / CARD_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    shutil.rmtree(checkpoints_dir(out), ignore_errors=True)
    print(f"tandem: adapter written to {out} (validation loss {metrics['validation_loss_before']} -> "
          f"{metrics['validation_loss_after']}, {metrics['train_tokens_per_second']} train tokens/s)", file=sys.stderr, flush=True)


def base_model_hash(name: str) -> str:
    """sha256 over the base model's safetensors files (local store or directory), or its hub revision.

    Only the weights are hashed: the store's manifest records when a model was pulled, and the same
    weights pulled on another machine must give the same hash.
    """
    source = Path(resolve_model(name))
    if not source.is_dir():
        return f"hub:{name}"
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.safetensors")):
        with open(path, "rb") as f:
            while chunk := f.read(1 << 24):
                digest.update(chunk)
    return digest.hexdigest()
