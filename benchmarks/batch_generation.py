"""Evaluation's batched generation: generated tokens/s at batch sizes 1, 4, 8 and 16.

    .venv/bin/python benchmarks/batch_generation.py [--questions 16] [--adapter adapters/default]

Answers the first N questions of the sample domain's eval set under the support persona with the
default model (+ the shipped adapter, merged as `tandem eval` does), greedy, and prints one line per
batch size. Tokens/s counts the tokens of the answers, not the padding a finished row keeps
receiving while the longest answer in its batch goes on.
"""

import argparse
import json
import time

from bot.models import DEFAULT_MODEL, default_adapter, load_model
from bot.personas import load_catalog
from bot.prompts import render_messages
from finetune.evaluate import SAMPLE_EVAL
from finetune.generate import generate_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--adapter", default=default_adapter())
    parser.add_argument("--max-new-tokens", type=int, default=160)
    args = parser.parse_args()
    loaded = load_model(DEFAULT_MODEL, args.adapter)
    if args.adapter:
        loaded.model = loaded.model.merge_and_unload()
    persona = load_catalog().persona("support")
    questions = [json.loads(line)["question"] for line in SAMPLE_EVAL.read_text().splitlines()][:args.questions]
    conversations = [render_messages(persona, None, q, with_examples=False) for q in questions]
    generate_batch(loaded, conversations[:2], 8)  # warm-up
    baseline = None
    for batch_size in (1, 4, 8, 16):
        started, tokens = time.monotonic(), 0
        for start in range(0, len(conversations), batch_size):
            tokens += sum(g.new_tokens for g in generate_batch(loaded, conversations[start:start + batch_size],
                                                               args.max_new_tokens))
        rate = tokens / (time.monotonic() - started)
        baseline = baseline or rate
        print(f"batch {batch_size:2d}: {rate:5.1f} generated tokens/s (x{rate / baseline:.1f}), "
              f"{tokens} tokens for {len(conversations)} answers", flush=True)


if __name__ == "__main__":
    main()
