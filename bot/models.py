"""The one model loader: base model (embedded, hub id or directory) + optional LoRA adapter."""

import json
from dataclasses import dataclass
from pathlib import Path

from bot.adapters import check_adapter, read_card
from bot.errors import ModelNotFoundError
from bot.model_store import EMBEDDED_MODELS, default_model, is_pulled, model_dir, models_dir
from bot.paths import shipped_adapter_dir
from bot.userinput import read_user_file, valid_unicode


@dataclass
class LoadedModel:
    """A PyTorch base model, possibly with a LoRA adapter attached, and its tokenizer (training, export, and the
    transformers engine: `bot.engines`)."""

    model: object
    tokenizer: object
    name: str
    """What the user asked for: an embedded name, a hub id or a directory."""
    adapter: Path | None


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


def checked_source(name: str, adapter: str | Path | None) -> tuple[str, Path | None]:
    """Where model `name` loads from, and the adapter's path, once both are known to be what they claim: a directory
    that is not a model or not an adapter, or an adapter trained on another model, is one ModelNotFoundError naming
    it, before anything loads."""
    adapter_path = None if adapter is None else Path(adapter).expanduser()
    if adapter_path is not None:
        check_adapter(adapter_path)
        _check_adapter_base(adapter_path, name)
    source = resolve_model(name)
    if Path(source).is_dir():
        _check_model_dir(Path(source))
    return source, adapter_path


def load_tokenizer(source: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(source, trust_remote_code=False)


def load_model(name: str | None = None, adapter: str | Path | None = None) -> LoadedModel:
    """The one loader: safetensors weights only, never remote code, `HF_HUB_OFFLINE` honoured."""
    import torch
    from transformers import AutoModelForCausalLM

    name = name or default_model()
    source, adapter_path = checked_source(name, adapter)
    local = Path(source).is_dir()
    try:
        tokenizer = load_tokenizer(source)
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


def _check_adapter_base(adapter: Path, name: str) -> None:
    """An adapter whose card names another embedded model than the one asked for is refused before loading:
    its weights fit the model it was trained on only. (A hub id and a directory may name the same model, so
    only embedded names are compared.)"""
    trained_on = adapter_base_model(adapter)
    if trained_on is None or trained_on == name:
        return
    if trained_on in EMBEDDED_MODELS or name in EMBEDDED_MODELS:
        raise ModelNotFoundError(f"{adapter} was trained on {trained_on}, not {name}: leave out --model, "
                                 "or pass --no-adapter, or train an adapter for this model")


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


def shipped_adapter_for(model: str) -> Path | None:
    """The shipped adapter when it was trained on `model`: it comes with that model only."""
    adapter = default_adapter()
    return adapter if adapter is not None and adapter_base_model(adapter) == model else None
