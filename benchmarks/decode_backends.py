"""Decode backends side by side: decode speed, first token, batched speed and agreement with transformers.

    .venv/bin/python benchmarks/decode_backends.py [--backends transformers,ctranslate2,onnxruntime] [--questions 50]
        [--model NAME[=ADAPTER] ...] [--tokens 128] [--runs 3] [--batch 16] [--max-new-tokens 160]

For each model (default: the default model with the shipped adapter, and SmolLM2-135M with the adapter named
after `=` or none) and each backend (the CTranslate2 and ONNX Runtime GenAI conversions are made first when the
store lacks them, before anything is timed):

- decode: tokens/s of one streamed answer after its first token, greedy, median of --runs (the adapter as
  `tandem chat` applies it: peft's LoRA layers on transformers, merged weights on the engines);
- first token: seconds to the first streamed text for a prompt of about 500 tokens (support persona, the
  passages of adapters/default/knowledge.jsonl, a question), rendered by bot.prompts; the stream is then
  closed, which stops generation;
- batch: generated tokens/s answering --questions questions of the sample eval set through `chain.batch`,
  --batch at a time, adapter merged, as `tandem eval` runs them (support persona and the passages retrieval
  finds for each question, found once and given to every backend);
- agreement: how many of those answers are the transformers backend's text exactly (greedy), at the served
  repetition penalty (1.1) and without one (1.0: what is left is the arithmetic, int8 against fp32).

Timings mean something only on a quiet machine. Prints one table at the end, a column per model and backend.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from langchain_core.messages import convert_to_messages

from bot.backends import BACKENDS, REFERENCE_BACKEND, convert_model
from bot.chain import build_chain, find_passages
from bot.chat_model import load_chat_model
from bot.models import adapter_base_model, default_adapter, default_model, resolve_model
from bot.paths import PROJECT_ROOT
from bot.personas import load_catalog
from bot.prompts import encode_prompt, render_messages
from bot.retrieval import adapter_knowledge, load_knowledge

EVAL_SET = PROJECT_ROOT / "data" / "fernhollow-support" / "eval.jsonl"
SAMPLE_KNOWLEDGE = PROJECT_ROOT / "data" / "fernhollow-support" / "knowledge"
LONG_QUESTION = "Write a long, detailed explanation of how refunds and returns work, step by step."


def main(args: argparse.Namespace) -> None:
    catalog = load_catalog()
    questions = [json.loads(line)["question"] for line in EVAL_SET.read_text().splitlines()][:args.questions]
    table: dict[str, dict[str, str]] = {}
    for model, adapter in args.models:
        say(f"{model} + {adapter or 'no adapter'}")
        for backend, row in measure_model(args, catalog, questions, model, adapter).items():
            table[f"{short_name(model)} {backend}"] = row
    print_table(table)


def measure_model(args, catalog, questions: list[str], model: str, adapter: str | None) -> dict[str, dict[str, str]]:
    """Every measure of one model (+ adapter) on each backend, agreement against the transformers backend's answers."""
    retriever = adapter_knowledge(adapter) if adapter else None
    retriever = retriever or load_knowledge(SAMPLE_KNOWLEDGE)
    inputs = [{"question": q, "persona": "support", "passages": find_passages(retriever, q)} for q in questions]
    table: dict[str, dict[str, str]] = {}
    answers: dict[tuple[str, float], list[str]] = {}
    for backend in args.backends:
        if backend != REFERENCE_BACKEND:  # converted (once) before the load is timed
            source = resolve_model(model)
            for converted in (None, adapter):
                convert_model(backend, model, source, None if converted is None else Path(converted))
        say(f"{backend}: loading")
        started = time.perf_counter()
        chat_model = load_chat_model(model, adapter, backend, greedy=True, max_new_tokens=args.tokens,
                                     max_batch=args.batch)
        row = table[backend] = {"load (s)": f"{time.perf_counter() - started:.1f}"}
        say(f"{backend}: decode")
        row["decode tokens/s"] = f"{statistics.median(decode_rate(chat_model, catalog) for _ in range(args.runs)):.1f}"
        messages = long_prompt(catalog, chat_model.tokenizer)
        row["prompt tokens"] = str(len(encode_prompt(chat_model.tokenizer, messages)))
        say(f"{backend}: first token")
        row["first token (s)"] = f"{statistics.median(first_token(chat_model, messages) for _ in range(args.runs)):.2f}"
        chat_model.merge_adapter()  # as tandem eval does, once the base model's turns are over
        chain = build_chain(chat_model, catalog, as_message=True)
        for penalty in (1.1, 1.0):
            say(f"{backend}: {len(inputs)} answers, batches of {args.batch}, repetition penalty {penalty}")
            chat_model.repetition_penalty = penalty
            started, texts, tokens = time.perf_counter(), [], 0
            for start in range(0, len(inputs), args.batch):
                batch = [{**i, "max_new_tokens": args.max_new_tokens} for i in inputs[start:start + args.batch]]
                replies = chain.batch(batch, config={"max_concurrency": args.batch})
                texts += [reply.content for reply in replies]
                tokens += sum(reply.usage_metadata["output_tokens"] for reply in replies)
            if penalty == 1.1:
                row[f"batch {args.batch} tokens/s"] = f"{tokens / (time.perf_counter() - started):.1f}"
            answers[backend, penalty] = texts
        del chat_model, chain
    for backend, row in table.items():
        for penalty in (1.1, 1.0):
            reference = answers.get((REFERENCE_BACKEND, penalty))
            same = sum(a == b for a, b in zip(answers[backend, penalty], reference)) if reference else None
            row[f"agreement, penalty {penalty}"] = "n/a" if same is None else f"{same}/{len(questions)}"
    return table


def short_name(model: str) -> str:
    return Path(model).name.replace("-instruct", "")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def decode_rate(chat_model, catalog) -> float:
    """Tokens/s of one streamed answer, counted from its first token to its last."""
    messages = convert_to_messages(render_messages(catalog.persona("support"), None, LONG_QUESTION, with_examples=False))
    started, first, text = time.perf_counter(), None, ""
    for chunk in chat_model.stream(messages):
        first = first or time.perf_counter()
        text += chunk.content
    tokens = len(chat_model.tokenizer(text, add_special_tokens=False)["input_ids"])
    return (tokens - 1) / max(time.perf_counter() - (first or started), 1e-9)


def long_prompt(catalog, tokenizer, target_tokens: int = 500) -> list[dict]:
    """Persona + passages + question: passages of the shipped knowledge, in file order, each taken when the
    prompt stays within `target_tokens`, until it is within 20 tokens of it."""
    knowledge = PROJECT_ROOT / "adapters" / "default" / "knowledge.jsonl"
    passages: list[str] = []

    def render() -> list[dict]:
        return render_messages(catalog.persona("support"), catalog.instruction("direct"),
                               "How do I sign in, and who can have an account?", passages=passages, with_examples=False)

    for line in knowledge.read_text().splitlines():
        passages.append(json.loads(line)["text"])
        tokens = len(encode_prompt(tokenizer, render()))
        if tokens > target_tokens:
            passages.pop()
        elif tokens >= target_tokens - 20:
            break
    return render()


def first_token(chat_model, messages: list[dict]) -> float:
    """Seconds to the first streamed text; closing the stream then stops generation (the Stop button)."""
    started = time.perf_counter()
    stream = chat_model.stream(convert_to_messages(messages))
    next(stream)
    seconds = time.perf_counter() - started
    stream.close()
    return seconds


def print_table(table: dict[str, dict[str, str]]) -> None:
    names = list(table)
    measures = list(dict.fromkeys(key for row in table.values() for key in row))
    width = max(len(m) for m in measures) + 2
    columns = [max(len(name), 10) + 2 for name in names]
    print("".ljust(width) + "".join(name.rjust(c) for name, c in zip(names, columns)))
    for measure in measures:
        print(measure.ljust(width) + "".join(table[name].get(measure, "").rjust(c) for name, c in zip(names, columns)))


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", type=lambda text: text.split(","), default=list(BACKENDS),
                        help=f"comma-separated, transformers first for agreement (default: {','.join(BACKENDS)})")
    parser.add_argument("--model", dest="models", action="append", type=model_and_adapter, metavar="NAME[=ADAPTER]",
                        help="a model and its adapter, repeatable (default: the default model with the shipped "
                             "adapter, then smollm2-135m-instruct with none)")
    parser.add_argument("--tokens", type=int, default=128, help="longest streamed answer")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=160, help="longest batched answer, as in tandem eval")
    return parser


def model_and_adapter(text: str) -> tuple[str, str | None]:
    name, _, adapter = text.partition("=")
    return name, adapter or None


def default_models() -> list[tuple[str, str | None]]:
    adapter, name = default_adapter(), default_model()
    shipped = (name, str(adapter) if adapter and adapter_base_model(adapter) == name else None)
    return [shipped] + ([("smollm2-135m-instruct", None)] if name != "smollm2-135m-instruct" else [])


if __name__ == "__main__":
    parsed = make_parser().parse_args()
    parsed.models = parsed.models or default_models()
    main(parsed)
