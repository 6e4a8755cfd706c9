"""The adapter card: what a trained adapter directory says about itself, as one typed model with one reader.

Training writes `tandem-adapter.json` last, so its presence marks a complete adapter; everything that
needs to know an adapter's base model, prompt format or knowledge reads it through `read_card`.
"""

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.errors import ModelNotFoundError
from bot.prompts import PromptFormat

CARD_FILE = "tandem-adapter.json"


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


def read_card(adapter: str | Path) -> AdapterCard | None:
    """The adapter's card, None for a plain PEFT directory without one, ModelNotFoundError for a broken one."""
    path = Path(adapter) / CARD_FILE
    if not path.is_file():
        return None
    try:
        return AdapterCard.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, ValidationError) as error:
        first = str(error).splitlines()[0] if not isinstance(error, ValidationError) else _first_error(error)
        raise ModelNotFoundError(f"{path}: not a valid adapter card: {first}") from None


def _first_error(error: ValidationError) -> str:
    detail = error.errors()[0]
    return f"field {'.'.join(map(str, detail['loc'])) or '(top)'!r}: {detail['msg']}"


def adapter_format(adapter: str | Path | None) -> PromptFormat:
    """The prompt format requests to this adapter use (the base model's when there is no adapter or card)."""
    card = read_card(adapter) if adapter is not None else None
    return card.prompt_format if card else PromptFormat()
