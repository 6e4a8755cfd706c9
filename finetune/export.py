"""Merge a LoRA adapter into its base model and save a standalone model that plain transformers loads."""

import json
import time
from pathlib import Path

from bot.errors import TandemError
from bot.files import write_atomically
from bot.models import adapter_base_model, load_model


def export_merged(adapter: Path, out: Path) -> Path:
    """Write base + adapter, merged, as safetensors with the tokenizer and chat template into `out`."""
    if out.exists():
        raise TandemError(f"--out {out} already exists; choose a new directory")
    base = adapter_base_model(adapter)
    if base is None:
        raise TandemError(f"{adapter} has no tandem-adapter.json naming its base model")
    loaded = load_model(base, adapter)
    merged = loaded.model.merge_and_unload()
    with write_atomically(out) as staging:
        merged.save_pretrained(staging, safe_serialization=True)
        loaded.tokenizer.save_pretrained(staging)
        (staging / "tandem-export.json").write_text(json.dumps(
            {"base_model": base, "adapter": str(adapter), "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
            indent=2) + "\n")
    print(f"tandem: merged model written to {out}")
    return out
