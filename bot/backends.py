"""Decode backends: ONNX Runtime GenAI (int8, the default), CTranslate2 (int8) or transformers (the reference and
the fallback), and the conversions the two engines answer from, made once into the model store.

`--backend ctranslate2` or `--backend onnxruntime` converts the base model, and the base model with its
adapter merged, into `$TANDEM_HOME/models/<engine>/` the first time they are asked for, and serves both from
there (`bot.engines`): the base model for `"adapter": False` and the Compare tab, the merged one otherwise.

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
from pathlib import Path
from typing import Literal, get_args

from bot.errors import TandemError
from bot.files import write_atomically
from bot.model_store import models_dir
from bot.models import load_model

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


def default_backend() -> str:
    """$TANDEM_BACKEND if set (for a machine where an engine is missing or misbehaves), else DEFAULT_BACKEND."""
    chosen = os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
    if chosen not in BACKENDS:
        raise TandemError(f"${BACKEND_ENV}={chosen!r} is not a backend; backends: {', '.join(BACKENDS)}")
    return chosen


def engine_store(engine: str) -> Path:
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
