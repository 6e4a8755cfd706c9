"""Decode backends: ONNX Runtime GenAI (int8, the default), CTranslate2 (int8) or transformers (the reference and
the fallback); the two engines' models are converted once into the model store.

`--backend ctranslate2` or `--backend onnxruntime` converts the base model, and the base model with its
adapter merged, into `$TANDEM_HOME/models/<engine>/` the first time they are asked for, and serves both from
there: the base model for `"adapter": False` and the Compare tab, the merged one otherwise. `CT2Model` and
`ORTModel` stand where the transformers model stands in `bot.models.LoadedModel`: each answers the part of
transformers' `generate()` and of peft's `disable_adapter()` that `bot.chat_model.LocalChatModel` calls, so
the chat model (streaming, Stop, batching) and everything above it run on any backend unchanged.

Why these engines among those that install from a wheel: both convert a transformers Llama model from a
local directory with no network and need nothing the project lacks. CTranslate2 stores int8 weights and
streams through a per-token callback; ONNX Runtime GenAI's own model builder writes int8 weights in blocks
of 128, multiplied in int8 (`accuracy_level=4`), and generates a token per call, so stopping is a loop that
ends. OpenVINO GenAI could not convert here (optimum-intel needs transformers < 5.6); ONNX Runtime
GenAI's runtime LoRA needs adapters converted by Olive, so its adapter is merged, as for CTranslate2.
Differences that stay: int8 arithmetic, and CTranslate2's repetition penalty counts the answer's
tokens only, transformers' the prompt's too (`benchmarks/decode_backends.py` measures how often the answers
still agree).
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, get_args

from bot.errors import TandemError
from bot.files import write_atomically

Backend = Literal["transformers", "ctranslate2", "onnxruntime"]
BACKENDS: tuple[str, ...] = get_args(Backend)
REFERENCE_BACKEND: Backend = "transformers"
"""The model as PyTorch runs it: what training, export and conversion load, and what the others are compared with."""
DEFAULT_BACKEND: Backend = "onnxruntime"
"""What answers unless `--backend` or $TANDEM_BACKEND says otherwise: several times transformers' decode speed and a
faster first token, at about the same key-fact recall (benchmarks/decode_backends.py; benchmarks/README.md, "Decode
backends")."""
BACKEND_ENV = "TANDEM_BACKEND"
BACKEND_HELP = ("what generates: onnxruntime (int8), ctranslate2 (int8) or transformers (the reference); the two "
                "engines convert the model, and the model with its adapter merged, once into the model store "
                f"(default: {DEFAULT_BACKEND}, or ${BACKEND_ENV})")
QUANTIZATION = {"ctranslate2": "int8", "onnxruntime": "int8"}
"""How each engine stores the weights: the matrices in int8, the rest in float32."""
ENGINE_PACKAGES = {"ctranslate2": "ctranslate2", "onnxruntime": "onnxruntime-genai"}
ENGINE_NAMES = {"ctranslate2": "CTranslate2", "onnxruntime": "ONNX Runtime GenAI"}
BUILD_OPTIONS = {"ctranslate2": [], "onnxruntime": ["accuracy_level=4", "block_size=128", "prune_lm_head=true"]}
"""Options of the engine's converter beyond the quantization (see `_convert_weights`); part of a conversion's name,
so changing them converts again."""
MANIFEST = "tandem-conversion.json"
SAMPLING_TOP_K = 50
"""Sampling draws from the 50 likeliest tokens, as transformers' generate() does when a model sets no top_k."""


def default_backend() -> str:
    """$TANDEM_BACKEND if set (for a machine where an engine is missing or misbehaves), else DEFAULT_BACKEND."""
    chosen = os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
    if chosen not in BACKENDS:
        raise TandemError(f"${BACKEND_ENV}={chosen!r} is not a backend; backends: {', '.join(BACKENDS)}")
    return chosen


def engine_store(engine: str) -> Path:
    from bot.model_store import models_dir

    return models_dir() / engine


def converted_dir(engine: str, name: str, source: str, adapter: Path | None, quantization: str | None = None) -> Path:
    """Where the conversion of this base model (+ merged adapter) lives: a new directory whenever a weights
    file, the engine's version or its build options change. Files are fingerprinted by size and modification
    time, not content: hashing a 540 MB model on every start would cost seconds, and rewriting a file changes
    its time."""
    from importlib.metadata import version

    quantization = quantization or QUANTIZATION[engine]
    options = " ".join(BUILD_OPTIONS[engine])
    digest = hashlib.sha256(f"{source}|{quantization}|{options}|{engine} {version(ENGINE_PACKAGES[engine])}".encode())
    for directory in [Path(source), adapter]:
        if directory is not None and directory.is_dir():
            for path in sorted(directory.iterdir()):
                if path.suffix in (".safetensors", ".json"):
                    stat = path.stat()
                    digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    label = Path(name).name + (f"+{adapter.name}" if adapter is not None else "")
    return engine_store(engine) / f"{label}-{quantization}-{digest.hexdigest()[:12]}"


def is_converted(directory: Path) -> bool:
    # The manifest is written last, so its presence means the conversion completed.
    return (directory / MANIFEST).is_file()


def convert_model(engine: str, name: str, source: str, adapter: Path | None, quantization: str | None = None,
                  quiet: bool = False) -> Path:
    """The `engine` conversion of base model `name` (+ `adapter`, merged into the weights), made once.

    The model loads through the one loader (`bot.models.load_model`) and is written as safetensors to a
    temporary directory that the engine's converter reads; the result is renamed into the store whole.
    """
    from tqdm.auto import tqdm

    from bot.models import load_model

    quantization = quantization or QUANTIZATION[engine]
    target = converted_dir(engine, name, source, adapter, quantization)
    if is_converted(target):
        return target
    what = f"{name} + {adapter}" if adapter is not None else name
    started = time.monotonic()
    with tqdm(total=3, desc=f"{ENGINE_NAMES[engine]}: {what}", unit="step", disable=quiet) as bar, \
            tempfile.TemporaryDirectory(prefix=".convert-", dir=_made(engine_store(engine))) as tmp:
        bar.set_postfix_str("loading" + (" and merging the adapter" if adapter is not None else ""))
        loaded = load_model(name, adapter)
        model = loaded.model.merge_and_unload() if adapter is not None else loaded.model
        bar.update()
        bar.set_postfix_str("writing safetensors")
        weights = Path(tmp) / "weights"
        model.save_pretrained(weights, safe_serialization=True)
        loaded.tokenizer.save_pretrained(weights)
        bar.update()
        bar.set_postfix_str(f"converting to {quantization}")
        with write_atomically(target) as staged:
            _convert_weights(engine, weights, staged, quantization, Path(tmp) / "cache")
            manifest = {"engine": engine, "model": name, "source": source,
                        "adapter": None if adapter is None else str(adapter), "quantization": quantization,
                        "end_ids": _end_ids(model.generation_config),
                        "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        bar.update()
    if not quiet:
        print(f"converted {what} for {ENGINE_NAMES[engine]} into {target} in {time.monotonic() - started:.0f} s",
              file=sys.stderr, flush=True)
    return target


def _convert_weights(engine: str, weights: Path, out: Path, quantization: str, cache: Path) -> None:
    """Run the engine's own converter on a transformers model directory."""
    if engine == "ctranslate2":
        from ctranslate2.converters import TransformersConverter

        TransformersConverter(str(weights)).convert(str(out), quantization=quantization)
        return
    # ONNX Runtime GenAI's model builder is a command-line program. int8 in blocks of 128 with int8 arithmetic
    # (accuracy_level=4): the fastest first token among the settings that still agree with transformers on most
    # greedy answers; int4 decodes faster but agrees on almost none (benchmarks/README.md, "Decode backends on the
    # 135M"). prune_lm_head scores only a prompt's last position, not all of them.
    command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(weights), "-o", str(out),
               "-p", quantization, "-e", "cpu", "-c", str(cache),
               "--extra_options", *BUILD_OPTIONS[engine]]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        raise TandemError(f"ONNX Runtime GenAI's model builder failed on {weights}: "
                          f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")


def _made(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _end_ids(generation_config) -> list[int]:
    """The tokens transformers' generate() stops at, so the engines stop at the same ones."""
    eos = generation_config.eos_token_id
    return sorted({eos} if isinstance(eos, int) else set(eos or []))


def load_engine_model(engine: str, name: str, source: str, adapter: Path | None,
                      quantization: str | None = None) -> "ConvertedModel":
    """The base model and, with an adapter, the merged model on `engine` (converted first when they are not
    in the store yet)."""
    base = convert_model(engine, name, source, None, quantization)
    tuned = convert_model(engine, name, source, adapter, quantization) if adapter is not None else None
    return {"ctranslate2": CT2Model, "onnxruntime": ORTModel}[engine](base, tuned)


class ConvertedModel(ABC):
    """A base model and its merged model on an engine, behind transformers' `generate()` (the arguments
    LocalChatModel passes) and peft's `disable_adapter()`. Not re-entrant: LocalChatModel's lock guards every
    call, as for torch. Subclasses load a directory (`_load`) and generate."""

    def __init__(self, base_dir: Path, tuned_dir: Path | None):
        import torch

        # As many threads as torch uses, so OMP_NUM_THREADS and torch.set_num_threads govern every backend.
        self.threads = torch.get_num_threads()
        self.base = self._load(base_dir)
        self.tuned = self._load(tuned_dir) if tuned_dir else None
        # The tokens transformers' generate() stops at; with none, the end token the converter recorded.
        self.end_ids = json.loads((base_dir / MANIFEST).read_text())["end_ids"]
        self._adapter_disabled = False

    @abstractmethod
    def _load(self, directory: Path):
        """The engine's model in `directory`."""

    @abstractmethod
    def generate(self, input_ids, attention_mask, tokenizer, max_new_tokens: int, repetition_penalty: float,
                 pad_token_id: int, do_sample: bool, temperature: float = 1.0, top_p: float = 1.0,
                 stop_strings: list[str] | None = None, streamer=None, stopping_criteria=()):
        """Prompt + answer token ids, one row per prompt padded on the right with `pad_token_id`, as
        transformers returns them; the answer streams into `streamer` token by token when one is given."""

    @contextmanager
    def disable_adapter(self):
        """The base model answers until the block ends (peft's name for it)."""
        self._adapter_disabled = True
        try:
            yield
        finally:
            self._adapter_disabled = False

    def merge_adapter(self) -> None:
        """Nothing to do: the adapter was merged into the weights at conversion."""

    def answering(self):
        """The engine's model that answers now: the base one inside `disable_adapter()`, else the merged one."""
        return self.base if self._adapter_disabled or self.tuned is None else self.tuned


def _prompts(input_ids, attention_mask) -> list[list[int]]:
    """Each row's prompt without its padding."""
    return [row[mask.bool()].tolist() for row, mask in zip(input_ids, attention_mask)]


def _stops(prompt: list[int], answer: list[int], tokenizer, stop_strings, stopping_criteria) -> bool:
    """Whether the answer so far ends here: a stopping criterion (Stop) or a stop string says so."""
    import torch

    if stopping_criteria:
        row = torch.tensor([prompt + answer])
        if any(bool(criterion(row, None)) for criterion in stopping_criteria):
            return True
    return bool(stop_strings) and any(s in tokenizer.decode(answer) for s in stop_strings)


def _with_answers(input_ids, answers: list[list[int]], pad_token_id: int):
    """Prompt + answer token ids, one row per prompt, the answers padded on the right, as transformers returns them."""
    import torch

    width = max(len(answer) for answer in answers)
    padded = [answer + [pad_token_id] * (width - len(answer)) for answer in answers]
    return torch.cat([input_ids, torch.tensor(padded, dtype=input_ids.dtype).reshape(len(answers), width)], dim=1)


class CT2Model(ConvertedModel):
    """CTranslate2 generators. Sampling draws from CTranslate2's own random generators, one per worker thread
    and seeded once, so a chat model's `seed` does not make sampled answers repeat here (greedy answers always do).

    A batch reads its prompts in one pass only up to the shortest prompt's length; the rest of each longer
    prompt goes in a token per step, while the shorter rows already answer, and those tokens count for the
    repetition penalty. So prompts of very different lengths make a batch slower, and its answers may differ
    from the same prompts' answers one at a time when the penalty is on.
    """

    def _load(self, directory: Path):
        import ctranslate2

        return ctranslate2.Generator(str(directory), device="cpu", intra_threads=self.threads)

    def generate(self, input_ids, attention_mask, tokenizer, max_new_tokens: int, repetition_penalty: float,
                 pad_token_id: int, do_sample: bool, temperature: float = 1.0, top_p: float = 1.0,
                 stop_strings: list[str] | None = None, streamer=None, stopping_criteria=()):
        import torch

        prompts = _prompts(input_ids, attention_mask)
        answers: list[list[int]] = [[] for _ in prompts]
        if streamer is not None:
            streamer.put(torch.tensor(prompts[0]))  # as generate() does: the streamer skips the prompt

        def on_token(step) -> bool:
            """Called by CTranslate2 after each token; True stops that row."""
            answers[step.batch_id].append(step.token_id)
            if streamer is not None:
                streamer.put(torch.tensor([step.token_id]))
            return _stops(prompts[step.batch_id], answers[step.batch_id], tokenizer, stop_strings, stopping_criteria)

        self.answering().generate_batch(
            [tokenizer.convert_ids_to_tokens(prompt) for prompt in prompts], max_length=max_new_tokens,
            include_prompt_in_result=False, end_token=self.end_ids or None, repetition_penalty=repetition_penalty,
            sampling_topk=SAMPLING_TOP_K if do_sample else 1, sampling_topp=top_p if do_sample else 1.0,
            sampling_temperature=temperature if do_sample else 1.0, callback=on_token)
        return _with_answers(input_ids, answers, pad_token_id)


class ORTModel(ConvertedModel):
    """ONNX Runtime GenAI models. The prompts of a batch are answered one after another: one stream already
    decodes several times faster than torch's batches (benchmarks/README.md, "Decode backends"), and each answer is
    then what it would be alone."""

    def _load(self, directory: Path):
        import onnxruntime_genai as og

        config = og.Config(str(directory))
        config.overlay(json.dumps({"model": {"decoder": {"session_options": {"intra_op_num_threads": self.threads}}}}))
        return og.Model(config)

    def generate(self, input_ids, attention_mask, tokenizer, max_new_tokens: int, repetition_penalty: float,
                 pad_token_id: int, do_sample: bool, temperature: float = 1.0, top_p: float = 1.0,
                 stop_strings: list[str] | None = None, streamer=None, stopping_criteria=()):
        import onnxruntime_genai as og
        import torch

        prompts = _prompts(input_ids, attention_mask)
        if streamer is not None:
            streamer.put(torch.tensor(prompts[0]))  # as generate() does: the streamer skips the prompt
        model, answers = self.answering(), []
        for prompt in prompts:
            params = og.GeneratorParams(model)
            options = {"max_length": len(prompt) + max_new_tokens, "do_sample": do_sample,
                       "repetition_penalty": repetition_penalty}
            if do_sample:
                # The seed comes from torch's generator, so a chat model's `seed` makes sampled answers repeat here too.
                options.update(temperature=temperature, top_p=top_p, top_k=SAMPLING_TOP_K,
                               random_seed=int(torch.randint(0, 2**31 - 1, ())))
            params.set_search_options(**options)
            generator = og.Generator(model, params)
            generator.append_tokens(prompt)
            answer: list[int] = []
            while len(answer) < max_new_tokens and not generator.is_done():
                generator.generate_next_token()
                answer.append(int(generator.get_next_tokens()[0]))
                if streamer is not None:
                    streamer.put(torch.tensor(answer[-1:]))
                if answer[-1] in self.end_ids or _stops(prompt, answer, tokenizer, stop_strings, stopping_criteria):
                    break
            answers.append(answer)
        return _with_answers(input_ids, answers, pad_token_id)
