"""The engine interface: token ids in, token ids out, streamed one by one or for a batch of prompts.

Three engines implement it: transformers (the reference: PyTorch, float32, the LoRA adapter attached by peft),
ONNX Runtime GenAI and CTranslate2 (int8 conversions made once into the model store by `bot.backends`, the
adapter merged into the weights). `bot.chat_model.LocalChatModel` sits on top: it renders the prompt, turns the
token ids into text once (`bot.answer_text`) and applies the one stop policy; nothing above this module knows
which engine answers.

An engine ends an answer at one of its end tokens (not given to the caller) or after `max_new_tokens`; closing
the stream stops generation at the next token. Engines are not re-entrant: the chat model's lock guards every
call, so two requests never share the cores.
"""

import json
import os
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from bot.backends import BACKENDS, MANIFEST, REFERENCE_BACKEND, convert_model
from bot.errors import TandemError
from bot.models import LoadedModel, checked_source, load_model, load_tokenizer

SPINNING_ENV = "TANDEM_ONNX_SPINNING"
ONNX_SPINNING = os.environ.get(SPINNING_ENV, "0")
"""Whether ONNX Runtime's worker threads spin while they wait for work ("1") or sleep ("0", the default). Spinning
decodes about a third faster on an idle machine and half as fast when another process keeps a core busy
(benchmarks/decode_chain.py); $TANDEM_ONNX_SPINNING=1 suits a server that runs nothing else."""
SAMPLING_TOP_K = 50
"""Sampling draws from the 50 likeliest tokens, as transformers' generate() does when a model sets no top_k."""


@dataclass(frozen=True)
class Sampling:
    """How one answer is drawn: greedy when `temperature` is 0."""

    max_new_tokens: int
    repetition_penalty: float = 1.0
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    """Set, sampled answers repeat (transformers and ONNX Runtime; CTranslate2 seeds its own generators once)."""

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0


DEFAULT_SAMPLING = Sampling(max_new_tokens=256, repetition_penalty=1.1, temperature=0.3, top_p=0.9)
"""What a request gets when neither its persona nor its caller says otherwise, on this machine or a server; small
models loop without the repetition penalty."""


class Engine(ABC):
    """A base model, possibly with its adapter, that generates token ids; `use_adapter=False` answers with the
    base model alone."""

    batches = False
    """Whether `generate` answers a batch's prompts together (faster per answer) rather than one after another."""

    def __init__(self, tokenizer, name: str, adapter: Path | None, backend: str, end_ids: set[int]):
        self.tokenizer, self.name, self.adapter, self.backend = tokenizer, name, adapter, backend
        self.end_ids = frozenset(end_ids)
        self.merged = False

    def describe(self) -> str:
        adapter = f"adapter {self.adapter}" if self.adapter else "no adapter"
        return f"{self.name} + {adapter}" + (f" on {self.backend}" if self.backend != REFERENCE_BACKEND else "")

    @abstractmethod
    def stream(self, prompt: list[int], sampling: Sampling, use_adapter: bool = True) -> Iterator[int]:
        """The answer's token ids as they are generated."""

    def generate(self, prompts: list[list[int]], sampling: Sampling, use_adapter: bool = True) -> list[list[int]]:
        """Each prompt's answer, one after another (engines that batch answer them together)."""
        return [list(self.stream(prompt, sampling, use_adapter)) for prompt in prompts]

    def merge_adapter(self) -> None:
        """Fold the adapter into the weights for speed; the base model alone is no longer available."""
        self.merged = True

    def _check_base_available(self, use_adapter: bool) -> None:
        if not use_adapter and self.adapter is not None and self.merged:
            raise RuntimeError("the adapter is merged into the weights; the base model alone is no longer available")


def end_ids(tokenizer, generation_config) -> set[int]:
    """Tokens that end an answer: the tokenizer's end and padding tokens, and every end token the model's generation
    config names (a model's end of turn, such as ChatML's <|im_end|> or Llama 3's <|eot_id|>)."""
    eos = getattr(generation_config, "eos_token_id", None)
    ids = {tokenizer.eos_token_id, tokenizer.pad_token_id, *([eos] if isinstance(eos, int) else eos or [])}
    return {token for token in ids if token is not None}


class TorchEngine(Engine):
    """transformers' generate() on the PyTorch model, on a worker thread while streaming (its streamer hands each
    token over, and a stopping criterion ends it when the stream is closed)."""

    batches = True

    def __init__(self, loaded: LoadedModel):
        super().__init__(loaded.tokenizer, loaded.name, loaded.adapter, REFERENCE_BACKEND,
                         end_ids(loaded.tokenizer, loaded.model.generation_config))
        self.model = loaded.model

    def stream(self, prompt: list[int], sampling: Sampling, use_adapter: bool = True) -> Iterator[int]:
        import torch
        from transformers import StoppingCriteria

        self._check_base_available(use_adapter)

        def produce(put, cancelled: threading.Event) -> None:
            class Handover:
                """The streamer generate() feeds: the prompt first (skipped), then each new token."""

                prompt_seen = False

                def put(self, value) -> None:
                    if self.prompt_seen:
                        for token in value.reshape(-1).tolist():
                            put(token)
                    self.prompt_seen = True

                def end(self) -> None:
                    pass

            class StopWhenCancelled(StoppingCriteria):
                def __call__(self, input_ids, scores, **_) -> bool:
                    return cancelled.is_set()

            with torch.inference_mode(), self._adapter(use_adapter):
                self._seed(sampling)
                self.model.generate(input_ids=torch.tensor([prompt]), streamer=Handover(),
                                    attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                                    stopping_criteria=[StopWhenCancelled()], **self._settings(sampling))

        yield from _read_ahead(produce, self.end_ids)

    def generate(self, prompts: list[list[int]], sampling: Sampling, use_adapter: bool = True) -> list[list[int]]:
        """One left-padded generate() for the batch: one forward pass per step for every row."""
        import torch

        self._check_base_available(use_adapter)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        width = max(len(prompt) for prompt in prompts)
        input_ids = torch.tensor([[pad] * (width - len(prompt)) + prompt for prompt in prompts])
        attention_mask = torch.tensor([[0] * (width - len(prompt)) + [1] * len(prompt) for prompt in prompts])
        with torch.inference_mode(), self._adapter(use_adapter):
            self._seed(sampling)
            output = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, pad_token_id=pad,
                                         **self._settings(sampling))
        return [_until_end(row, self.end_ids) for row in output[:, width:].tolist()]

    def merge_adapter(self) -> None:
        if self.adapter is not None and not self.merged:
            self.model.merge_adapter()
        super().merge_adapter()

    def _adapter(self, use_adapter: bool):
        """The base model alone for this request, when an adapter is attached (peft bypasses it until the block ends)."""
        return nullcontext() if use_adapter or self.adapter is None else self.model.disable_adapter()

    @staticmethod
    def _seed(sampling: Sampling) -> None:
        import torch

        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)

    def _settings(self, sampling: Sampling) -> dict:
        settings = {"max_new_tokens": sampling.max_new_tokens, "repetition_penalty": sampling.repetition_penalty,
                    "eos_token_id": sorted(self.end_ids)}
        if sampling.greedy:
            return {**settings, "do_sample": False}
        return {**settings, "do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p}


def _read_ahead(produce, end: frozenset[int]) -> Iterator[int]:
    """The tokens `produce(put, cancelled)` puts, generated on a worker thread while the reader handles the ones
    before (so the engine never waits for the text, the leak guard and LangChain between two tokens), up to the
    first end token. Closing the stream sets `cancelled`, which `produce` checks at every token, and waits for it."""
    tokens: queue.Queue = queue.Queue()
    cancelled = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            produce(tokens.put, cancelled)
        except BaseException as error:  # raised again in the reader's thread below
            failure.append(error)
        finally:
            tokens.put(None)

    thread = threading.Thread(target=run, name="tandem-generate", daemon=True)
    thread.start()
    try:
        while (token := tokens.get()) is not None and token not in end:
            yield token
    finally:
        cancelled.set()  # the reader stopped early (Stop button, closed stream): generation ends at the next token
        thread.join()
    if failure:
        raise failure[0]


def _until_end(tokens: list[int], end: frozenset[int]) -> list[int]:
    """The answer up to (without) its first end token."""
    return next((tokens[:i] for i, token in enumerate(tokens) if token in end), tokens)


class ConvertedEngine(Engine):
    """An engine's conversions of the base model and of the model with its adapter merged (`bot.backends`)."""

    def __init__(self, tokenizer, name: str, adapter: Path | None, backend: str, base_dir: Path,
                 tuned_dir: Path | None, threads: int):
        manifest = json.loads((base_dir / MANIFEST).read_text())
        super().__init__(tokenizer, name, adapter, backend, set(manifest["end_ids"]) | end_ids(tokenizer, None))
        self.threads = threads
        self.base = self._load(base_dir)
        self.tuned = self._load(tuned_dir) if tuned_dir is not None else None

    @abstractmethod
    def _load(self, directory: Path):
        """The engine's model in `directory`."""

    def _answering(self, use_adapter: bool):
        """The merged model, or the base one for `use_adapter=False` (or when there is no adapter)."""
        self._check_base_available(use_adapter)
        return self.tuned if use_adapter and self.tuned is not None else self.base


class OnnxEngine(ConvertedEngine):
    """ONNX Runtime GenAI: a token per call, in a loop on a worker thread that ends when its reader stops. A batch's
    prompts are answered one after another: each answer is then what it would be alone."""

    def _load(self, directory: Path):
        import onnxruntime_genai as og

        if ONNX_SPINNING not in ("0", "1"):
            raise TandemError(f"${SPINNING_ENV}={ONNX_SPINNING!r}: expected 0 (worker threads sleep) or 1 (they spin)")
        config = og.Config(str(directory))
        options = {"intra_op_num_threads": self.threads, "session.intra_op.allow_spinning": ONNX_SPINNING}
        config.overlay(json.dumps({"model": {"decoder": {"session_options": options}}}))
        return og.Model(config)

    def stream(self, prompt: list[int], sampling: Sampling, use_adapter: bool = True) -> Iterator[int]:
        import onnxruntime_genai as og

        model = self._answering(use_adapter)
        params = og.GeneratorParams(model)
        options = {"max_length": len(prompt) + sampling.max_new_tokens, "do_sample": not sampling.greedy,
                   "repetition_penalty": sampling.repetition_penalty}
        if not sampling.greedy:
            options.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=SAMPLING_TOP_K,
                           random_seed=_random_seed(sampling))
        params.set_search_options(**options)

        def produce(put, cancelled: threading.Event) -> None:
            generator = og.Generator(model, params)
            generator.append_tokens(prompt)
            for _ in range(sampling.max_new_tokens):
                if cancelled.is_set() or generator.is_done():
                    return
                generator.generate_next_token()
                token = int(generator.get_next_tokens()[0])
                put(token)
                if token in self.end_ids:
                    return

        yield from _read_ahead(produce, self.end_ids)


def _random_seed(sampling: Sampling) -> int:
    """The sampling seed: the request's, else one drawn from torch's generator (which tests and evaluation seed)."""
    import torch

    return sampling.seed if sampling.seed is not None else int(torch.randint(0, 2**31 - 1, ()))


class CT2Engine(ConvertedEngine):
    """CTranslate2 generators, which stream through an iterator and answer a batch together. Sampling draws from
    CTranslate2's own random generators, one per worker thread and seeded once, so a seed does not make sampled
    answers repeat here (greedy answers always do).

    A batch reads its prompts in one pass only up to the shortest prompt's length; the rest of each longer prompt
    goes in a token per step, and those tokens count for the repetition penalty. So prompts of very different
    lengths make a batch slower, and its answers may differ from the same prompts' answers one at a time when the
    penalty is on.
    """

    batches = True

    def _load(self, directory: Path):
        import ctranslate2

        return ctranslate2.Generator(str(directory), device="cpu", intra_threads=self.threads)

    def stream(self, prompt: list[int], sampling: Sampling, use_adapter: bool = True) -> Iterator[int]:
        steps = self._answering(use_adapter).generate_tokens(
            self.tokenizer.convert_ids_to_tokens(prompt), max_length=sampling.max_new_tokens, **self._options(sampling))
        try:
            for step in steps:
                if step.token_id in self.end_ids:
                    return
                yield step.token_id
        finally:
            steps.close()  # stops CTranslate2's generation thread

    def generate(self, prompts: list[list[int]], sampling: Sampling, use_adapter: bool = True) -> list[list[int]]:
        results = self._answering(use_adapter).generate_batch(
            [self.tokenizer.convert_ids_to_tokens(prompt) for prompt in prompts], max_length=sampling.max_new_tokens,
            include_prompt_in_result=False, **self._options(sampling))
        return [_until_end(result.sequences_ids[0], self.end_ids) for result in results]

    def _options(self, sampling: Sampling) -> dict:
        return {"end_token": sorted(self.end_ids), "repetition_penalty": sampling.repetition_penalty,
                "sampling_topk": 1 if sampling.greedy else SAMPLING_TOP_K,
                "sampling_topp": 1.0 if sampling.greedy else sampling.top_p,
                "sampling_temperature": 1.0 if sampling.greedy else sampling.temperature}


CONVERTED_ENGINES = {"ctranslate2": CT2Engine, "onnxruntime": OnnxEngine}


def load_engine(name: str, adapter: str | Path | None = None, backend: str = REFERENCE_BACKEND,
                quantization: str | None = None) -> Engine:
    """Base model `name` (+ `adapter`) ready to generate on `backend`.

    Everything loads through the one loader (`bot.models.load_model`); ctranslate2 and onnxruntime answer from their
    conversions of the base model and of the model with its adapter merged, made once from that loader's model.
    """
    import torch

    if backend not in BACKENDS:
        raise TandemError(f"unknown backend {backend!r}; backends: {', '.join(BACKENDS)}")
    if backend == REFERENCE_BACKEND:
        return TorchEngine(load_model(name, adapter))
    source, adapter_path = checked_source(name, adapter)
    base = convert_model(backend, name, source, None, quantization)
    tuned = convert_model(backend, name, source, adapter_path, quantization) if adapter_path is not None else None
    # As many threads as torch uses, so OMP_NUM_THREADS and torch.set_num_threads govern every engine.
    return CONVERTED_ENGINES[backend](load_tokenizer(source), name, adapter_path, backend, base, tuned,
                                      torch.get_num_threads())
