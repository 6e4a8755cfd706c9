"""What the chain adds per token: the engine alone against `build_chain().stream`, quiet and on a busy machine.

    .venv/bin/python benchmarks/decode_chain.py [--tokens 160] [--runs 3] [--no-api] [--threads N] [--spinning 0|1]
        [--profile FILE]

On the default model with the shipped adapter and the default backend, greedy, the same rendered prompt (the
support persona, the passages the shipped knowledge gives the model when serving, a question that asks for a long answer) and the same
number of new tokens for every path (the model's end tokens are ignored, so every answer runs to --tokens):

- engine: token ids from `engine.stream` (`bot.engines`), nothing else;
- chain: `build_chain(chat_model).stream(...)`, which adds the chat model (text assembled from the ids, the stop
  policy), the leak guard and LangChain;
- api: `tandem api` in its own process, the same messages as a `tandem/raw` request with "stream": true, read
  as server-sent events (what other apps see).

Each is measured quiet, then with a CPU-bound process that the benchmark starts pinned to one of the cores
(any user's laptop running something else). Speed is tokens after the first over the seconds from the first to
the last, median of --runs. The last line is `chain/engine ratio: R (quiet), L (loaded)`, where R is the quiet
chain's speed over the quiet engine's and L the loaded chain's over the quiet chain's.
"""

import argparse
import cProfile
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import torch

import bot.engines
from bot.chain import build_chain, find_passages
from bot.chat_model import load_chat_model
from bot.engines import Sampling
from bot.models import default_model, shipped_adapter_for
from bot.personas import load_catalog
from bot.prompts import encode_prompt, render_messages
from bot.retrieval import adapter_knowledge

QUESTION = "Explain everything about refunds, returns, shipping and warranties, step by step, in detail."


def main(args: argparse.Namespace) -> None:
    if args.spinning is not None:
        bot.engines.ONNX_SPINNING = args.spinning
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    model = default_model()
    adapter = shipped_adapter_for(model)
    chat_model = load_chat_model(model, adapter, greedy=True, max_new_tokens=args.tokens)
    engine = chat_model.engine
    engine.end_ids = frozenset()  # every answer runs to --tokens
    catalog = load_catalog()
    top_k = chat_model.prompt_format.top_k
    passages = [p.page_content for p in find_passages(adapter_knowledge(adapter, k=top_k), QUESTION)] if adapter else []
    inputs = {"question": QUESTION, "persona": "support", "passages": passages, "max_new_tokens": args.tokens}
    messages = render_messages(catalog.persona("support"), catalog.instruction(catalog.default_instruction), QUESTION,
                               passages=passages, with_examples=chat_model.prompt_format.few_shot)
    prompt = encode_prompt(engine.tokenizer, messages)
    sampling = Sampling(max_new_tokens=args.tokens, repetition_penalty=chat_model.repetition_penalty)
    chain = build_chain(chat_model, catalog)
    say(f"{engine.describe()}, {torch.get_num_threads()} threads, spinning {bot.engines.ONNX_SPINNING}; prompt of "
        f"{len(prompt)} tokens, {args.tokens} new tokens, {args.runs} runs each")

    generated = []  # the tokens the engine gave in the current run: the chain's chunks may join several
    engine_stream = engine.stream

    def counted_stream(*args, **kwargs):
        for token in engine_stream(*args, **kwargs):
            generated.append(token)
            yield token

    engine.stream = counted_stream

    def engine_run() -> tuple[list[float], int]:
        generated.clear()
        return [time.perf_counter() for _ in engine.stream(prompt, sampling)], len(generated)

    def chain_run() -> tuple[list[float], int]:
        generated.clear()
        return [time.perf_counter() for _ in chain.stream(inputs)], len(generated)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(chain_run)
        profiler.dump_stats(args.profile)
        say(f"profile of one streamed answer through the chain: {args.profile}")

    api = api_server(model, args.tokens) if args.api else None
    try:
        if api is not None:
            api_run = lambda: sse_run(api, messages, args.tokens, chat_model.repetition_penalty)  # noqa: E731
        rows = {}
        for load in ("quiet", "loaded"):
            with (busy_core() if load == "loaded" else nothing()):
                rows["engine", load] = speed(engine_run, args.runs)
                rows["chain", load] = speed(chain_run, args.runs)
                if api is not None:
                    rows["api (SSE)", load] = speed(api_run, args.runs)
            for path in ("engine", "chain", "api (SSE)"):
                if (path, load) in rows:
                    tokens_per_s, tokens = rows[path, load]
                    print(f"{path:>10} {load:>6}: {tokens_per_s:6.1f} tokens/s ({tokens} tokens)", flush=True)
    finally:
        if api is not None:
            api[1].terminate()
            api[1].wait(timeout=30)
    quiet_ratio = rows["chain", "quiet"][0] / rows["engine", "quiet"][0]
    loaded_ratio = rows["chain", "loaded"][0] / rows["chain", "quiet"][0]
    if api is not None:
        print(f"api/chain ratio: {rows['api (SSE)', 'quiet'][0] / rows['chain', 'quiet'][0]:.2f} (quiet), "
              f"{rows['api (SSE)', 'loaded'][0] / rows['api (SSE)', 'quiet'][0]:.2f} (loaded over quiet)")
    print(f"chain/engine ratio: {quiet_ratio:.2f} (quiet), {loaded_ratio:.2f} (loaded)")


def speed(run, runs: int) -> tuple[float, int]:
    """Median tokens/s over `runs` runs: the tokens after the first over the seconds from the first chunk to the
    last; and the tokens of the last run."""
    rates, tokens = [], 0
    for _ in range(runs):
        stamps, tokens = run()
        rates.append((tokens - 1) / max(stamps[-1] - stamps[0], 1e-9))
    return statistics.median(rates), tokens


@contextmanager
def busy_core():
    """A CPU-bound process pinned to the last core for the duration of the block."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    os.sched_setaffinity(spinner.pid, {max(os.sched_getaffinity(0))})
    time.sleep(1)
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


@contextmanager
def nothing():
    yield


def api_server(model: str, tokens: int):
    """`tandem api` on a free 127.0.0.1 port in its own process; (URL, process) once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TANDEM_MODEL": model, "OMP_NUM_THREADS": str(torch.get_num_threads()),
           bot.engines.SPINNING_ENV: bot.engines.ONNX_SPINNING}
    process = subprocess.Popen([str(Path(sys.executable).parent / "tandem"), "api", "--port", str(port),
                                "--max-tokens", str(tokens)], env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).read()
            return url, process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"tandem api exited with {process.returncode}")
            time.sleep(1)
    process.terminate()
    raise SystemExit("tandem api did not answer within 10 minutes")


def sse_run(api, messages: list[dict], tokens: int, repetition_penalty: float) -> tuple[list[float], int]:
    """The arrival time of every content chunk of one streamed `tandem/raw` answer, and its completion tokens as
    the server counts them in its final usage (greedy; end tokens are not ignored there: the prompt asks for a long
    answer, and --tokens caps it)."""
    url, _ = api
    body = json.dumps({"model": "tandem/raw", "messages": messages, "stream": True, "max_tokens": tokens,
                       "temperature": 0, "repetition_penalty": repetition_penalty}).encode()
    # Server-sent events carry one chunk per piece of text, about a token each; counted as tokens here.
    request = urllib.request.Request(f"{url}/chat/completions", body, {"Content-Type": "application/json"})
    stamps = []
    with urllib.request.urlopen(request, timeout=600) as response:
        for line in response:
            if line.startswith(b"data: {"):
                delta = json.loads(line[6:])["choices"][0]["delta"]
                if delta.get("content"):
                    stamps.append(time.perf_counter())
    return stamps, len(stamps)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=160, help="new tokens per answer (default 160)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measure; the median counts (default 3)")
    parser.add_argument("--no-api", dest="api", action="store_false", help="leave out the API's server-sent events")
    parser.add_argument("--threads", type=int, help="threads the engine runs on (default: one per core)")
    parser.add_argument("--spinning", choices=["0", "1"], help="ONNX Runtime's workers spin while waiting (1) or "
                                                                f"sleep (0); default {bot.engines.ONNX_SPINNING}")
    parser.add_argument("--profile", type=Path, help="write a cProfile of one streamed chain answer to FILE")
    main(parser.parse_args())
