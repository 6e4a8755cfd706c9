"""Decode speed of the default model through Tandem's own chat model, as tokens per second.

    .venv/bin/python benchmarks/decode_speed.py [--model NAME] [--tokens 128] [--runs 3]

Prints one line per run and the median; greedy decoding with a fixed prompt, so runs are comparable.
"""

import argparse
import statistics
import time

from langchain_core.messages import HumanMessage

from bot.chat_model import load_chat_model
from bot.models import DEFAULT_MODEL


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    chat = load_chat_model(args.model, temperature=0, max_new_tokens=args.tokens, repetition_penalty=1.0)
    print(f"load: {time.perf_counter() - started:.1f} s")
    tokenizer = chat.loaded.tokenizer
    prompt = [HumanMessage("Write a long, detailed explanation of how refunds work for an online subscription.")]
    speeds = []
    for run in range(args.runs):
        started = time.perf_counter()
        first = None
        text = ""
        for chunk in chat.stream(prompt):
            first = first or time.perf_counter() - started
            text += chunk.content
        elapsed = time.perf_counter() - started
        tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        speeds.append(tokens / elapsed)
        print(f"run {run + 1}: {tokens} tokens in {elapsed:.2f} s = {tokens / elapsed:.1f} tokens/s "
              f"(first token after {first:.2f} s)")
    print(f"median: {statistics.median(speeds):.1f} tokens/s")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    return parser


if __name__ == "__main__":
    main(make_parser().parse_args())
