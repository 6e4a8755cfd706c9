"""Train tokens/s and peak memory: TRL's defaults against `tandem train`'s trainer, on the same rows, in one run.

    .venv/bin/python benchmarks/train_speed.py [--data FILE ...] [--steps 8] [--variants trl,tandem]

Both variants train the same LoRA (the default recipe's rank and modules) on the same tokenized rows
(`finetune.train.prepare`: grounded with passages, as `tandem train` builds them) for `--steps`
optimiser steps. The first step is a warm-up and is not counted. Each variant runs in a child
process of its own, so its peak resident memory is its own.

- trl: `SFTTrainer` with `SFTConfig`'s defaults (gradient checkpointing, TRL's fused LM head, which
  scores every position on a CPU), fp32 unless the recipe's bf16 is on.
- tandem: `finetune.train.make_trainer` (no gradient checkpointing, batches grouped by length, the LM
  head on answer tokens only, bf16 autocast on CPUs with AVX-512 bf16).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from finetune.data import SAMPLE_DOMAIN


def run_variant(variant: str, data: list[Path], steps: int, csv_columns: tuple[str, str], settings: dict) -> dict:
    import torch
    from transformers import TrainerCallback

    from bot.models import load_model
    from finetune.data import CsvColumns
    from finetune.recipe import load_recipe, with_overrides
    from finetune.train import TrainRequest, make_trainer, prepare, read_training_data, use_bf16

    recipe = with_overrides(load_recipe("default"), {"general_replay": 0, "validation_fraction": 0.0, **settings})
    request = TrainRequest(data=data, out=Path(f"/tmp/tandem-bench-{variant}"), recipe=recipe,
                           columns=CsvColumns(*csv_columns))
    loaded = load_model(recipe.base_model)
    prepared = prepare(request, loaded, read_training_data(request))
    rows = [r.as_dict() for r in prepared.train_rows][: steps * recipe.batch_size]
    stamps = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            stamps.append(time.monotonic())

    if variant == "tandem":
        trainer = make_trainer(loaded.model, loaded.tokenizer, recipe, request.out, prepared.max_length, rows, [])
    else:
        from datasets import Dataset
        from peft import LoraConfig
        from trl import SFTConfig, SFTTrainer

        config = SFTConfig(output_dir=str(request.out), per_device_train_batch_size=recipe.batch_size,
                           learning_rate=recipe.learning_rate, use_cpu=not torch.cuda.is_available(),
                           bf16=use_bf16(recipe.bf16), max_length=prepared.max_length, report_to=[],
                           save_strategy="no", disable_tqdm=True)
        lora = LoraConfig(task_type="CAUSAL_LM", r=recipe.lora_r, lora_alpha=recipe.lora_alpha,
                          target_modules=recipe.target_modules)
        trainer = SFTTrainer(model=loaded.model, args=config, processing_class=loaded.tokenizer, peft_config=lora,
                             train_dataset=Dataset.from_list(rows))
    trainer.args.max_steps = steps
    trainer.args.save_strategy = "no"
    trainer.add_callback(Clock())
    started = time.monotonic()
    trainer.train()
    counted = rows[recipe.batch_size:]  # the first step is a warm-up
    seconds = stamps[-1] - stamps[0]
    return {"variant": variant, "settings": settings, "steps": steps, "rows": len(rows),
            "tokens_per_row": round(sum(len(r["input_ids"]) for r in rows) / len(rows)),
            "train_tokens_per_second": round(sum(len(r["input_ids"]) for r in counted) / seconds, 1),
            "wall_seconds": round(time.monotonic() - started, 1),
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", action="append", type=Path, help="training file (default: the sample domain)")
    parser.add_argument("--question-col", default="question")
    parser.add_argument("--answer-col", default="answer")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--variants", default="trl,tandem")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="recipe override for both variants (repeatable), e.g. --set lora_layers=15")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = args.data or [SAMPLE_DOMAIN / "train.jsonl"]
    if args.child:
        settings = dict(item.split("=", 1) for item in args.set)
        print(json.dumps(run_variant(args.child, data, args.steps, (args.question_col, args.answer_col), settings)))
        return
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # as `tandem train` sets it
    results = []
    for variant in args.variants.split(","):
        command = [sys.executable, __file__, "--child", variant, "--steps", str(args.steps),
                   "--question-col", args.question_col, "--answer-col", args.answer_col]
        command += [f"--set={item}" for item in args.set]
        for path in data:
            command += ["--data", str(path)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    if len(results) == 2:
        ratio = results[1]["train_tokens_per_second"] / results[0]["train_tokens_per_second"]
        print(f"{results[1]['variant']} / {results[0]['variant']}: {ratio:.2f}x train tokens/s, peak memory "
              f"{results[0]['peak_memory_mb']} -> {results[1]['peak_memory_mb']} MB")


if __name__ == "__main__":
    main()
