"""Batched generation through the chain: generated tokens/s at batch sizes 1, 4, 8 and 16.

    .venv/bin/python benchmarks/batch_generation.py [--questions 16] [--adapter adapters/default] [--backend ctranslate2]

Answers the first N questions of the sample domain's eval set under the support persona with the
default model (+ the shipped adapter, merged as `tandem eval` does), greedy, through
`chain.batch` (the chat model generates the calls of one batch together), and prints one line per
batch size. Tokens/s counts the tokens of the answers, not the padding a finished row keeps
receiving while the longest answer in its batch goes on.
"""

import argparse
import json
import time

from bot.backends import BACKEND_HELP, BACKENDS
from bot.chain import build_chain
from bot.chat_model import load_chat_model
from bot.models import default_adapter
from finetune.evaluation.evaluate import SAMPLE_EVAL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--adapter", default=default_adapter())
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--backend", choices=BACKENDS, help=BACKEND_HELP)
    args = parser.parse_args()
    chat_model = load_chat_model(None, args.adapter, args.backend, greedy=True,
                                 max_new_tokens=args.max_new_tokens)
    chat_model.merge_adapter()
    chain = build_chain(chat_model, as_message=True)
    questions = [json.loads(line)["question"] for line in SAMPLE_EVAL.read_text().splitlines()][:args.questions]
    inputs = [{"question": q, "persona": "support", "retrieval": False} for q in questions]
    chain.batch(inputs[:2])  # warm-up
    baseline = None
    for batch_size in (1, 4, 8, 16):
        chat_model.max_batch = batch_size
        started, tokens = time.monotonic(), 0
        for start in range(0, len(inputs), batch_size):
            answers = chain.batch(inputs[start:start + batch_size], config={"max_concurrency": batch_size})
            tokens += sum(a.usage_metadata["output_tokens"] for a in answers)
        rate = tokens / (time.monotonic() - started)
        baseline = baseline or rate
        print(f"batch {batch_size:2d}: {rate:5.1f} generated tokens/s (x{rate / baseline:.1f}), "
              f"{tokens} tokens for {len(inputs)} answers", flush=True)


if __name__ == "__main__":
    main()
