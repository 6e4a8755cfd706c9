"""Adapter directories: the card (what a trained adapter says about itself, one typed model with one reader)
and the check that a directory is a LoRA adapter Tandem can load, before any model is.

Training writes `tandem-adapter.json` last, so its presence marks a complete adapter; everything that
needs to know an adapter's base model, prompt format or knowledge reads it through `read_card`.
"""

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ModelNotFoundError
from bot.prompts import PromptFormat
from bot.userinput import read_user_file, valid_unicode

CARD_FILE = "tandem-adapter.json"
CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"


class AdapterCard(BaseModel):
    """tandem-adapter.json. Fields the reader does not know (from newer versions) are kept, not refused."""

    model_config = ConfigDict(extra="allow")

    base_model: str
    """The base model as the user named it: an embedded name, a hub id or a directory."""
    base_model_hash: str = ""
    """sha256 of the base model's weights (or `hub:ID`), so a changed base is noticed."""
    prompt_format: PromptFormat = PromptFormat()
    """How training rendered its prompts; serving and evaluation render the same way."""
    recipe: dict = {}
    data: list[str] = []
    data_hash: str = ""
    trained_at: str = ""
    validation_loss_before: float | None = None
    validation_loss_after: float | None = None
    final_train_loss: float | None = None

    @field_validator("prompt_format", mode="before")
    @classmethod
    def _format_of_an_older_card(cls, value):
        # Cards written before PromptFormat existed described the renderer in words ({"renderer",
        # "persona_hashes", "chat_template_sha256"}); such an adapter was served with the defaults.
        if isinstance(value, dict) and "renderer" in value and not value.keys() & PromptFormat.model_fields.keys():
            return PromptFormat()
        return value


class LoraSettings(BaseModel):
    """The fields of PEFT's adapter_config.json that Tandem relies on, checked before PEFT reads them (PEFT
    takes `"r": "eight"` and fails deep inside torch). Other fields are PEFT's business."""

    model_config = ConfigDict(extra="allow", strict=True)

    peft_type: Literal["LORA"]
    task_type: Literal["CAUSAL_LM"] | None = None
    r: int = Field(gt=0)
    lora_alpha: int | float = Field(gt=0)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] | str | None = None
    layers_to_transform: list[int] | int | None = None


def read_card(adapter: str | Path) -> AdapterCard | None:
    """The adapter's card, None for a plain PEFT directory without one, ModelNotFoundError for a broken one."""
    path = Path(adapter) / CARD_FILE
    if not path.exists():
        return None
    return _read_json(path, AdapterCard, "not a valid adapter card")


def check_adapter(adapter: str | Path) -> LoraSettings:
    """The adapter's LoRA settings, once the directory is known to hold a LoRA adapter PEFT can load:
    a valid adapter_config.json, a valid card if it has one, and a readable safetensors file. Anything else
    is one ModelNotFoundError naming the directory, found before a model is loaded."""
    from safetensors import SafetensorError, safe_open

    adapter = Path(adapter)
    if not adapter.is_dir():
        raise ModelNotFoundError(f"{adapter}: no such adapter directory")
    if not (adapter / CONFIG_FILE).exists():
        raise ModelNotFoundError(f"{adapter}: not a LoRA adapter directory (no {CONFIG_FILE})")
    settings = _read_json(adapter / CONFIG_FILE, LoraSettings, "not a LoRA adapter config")
    read_card(adapter)  # a broken card is found now, not after the model has loaded
    weights = adapter / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelNotFoundError(f"{adapter}: no {WEIGHTS_FILE} (only safetensors adapters are loaded)")
    try:
        with safe_open(weights, framework="pt") as tensors:  # reads the header only
            if not list(tensors.keys()):
                raise ModelNotFoundError(f"{weights}: holds no tensors")
    except SafetensorError as error:
        raise ModelNotFoundError(f"{weights}: not a valid safetensors file: {error}") from None
    return settings


def _read_json(path: Path, kind: type[BaseModel], what: str):
    """The JSON file at `path` validated into `kind`; any problem is one ModelNotFoundError naming the file."""
    data = read_user_file(path, ModelNotFoundError)
    try:
        parsed = json.loads(data)
        if not valid_unicode(parsed):
            raise ValueError("a string with a lone surrogate escape (such as \\ud800), not valid Unicode")
        return kind.model_validate(parsed)
    except ValidationError as error:
        detail = error.errors()[0]
        problem = f"field {'.'.join(map(str, detail['loc'])) or '(top)'!r}: {detail['msg']}"
    except RecursionError:
        problem = "nested too deeply"
    except ValueError as error:  # invalid JSON or UTF-8, or an integer of 5,000 digits
        problem = str(error).splitlines()[0].split(";")[0]
    raise ModelNotFoundError(f"{path}: {what}: {problem}")


def adapter_format(adapter: str | Path | None) -> PromptFormat:
    """The prompt format requests to this adapter use (the base model's when there is no adapter or card)."""
    card = read_card(adapter) if adapter is not None else None
    return card.prompt_format if card else PromptFormat()
