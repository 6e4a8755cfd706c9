"""Where Tandem keeps things: the user's home directory and the project's shipped files."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def tandem_home() -> Path:
    """The user's Tandem directory: `$TANDEM_HOME`, or `~/.cache/tandem`."""
    return Path(os.environ.get("TANDEM_HOME") or Path.home() / ".cache" / "tandem")


def shipped_personas_dir() -> Path:
    return PROJECT_ROOT / "personas"


def shipped_adapter_dir() -> Path:
    """Where the fine-tuning pipeline puts the adapter trained on the sample domain."""
    return PROJECT_ROOT / "adapters" / "default"


def shown_path(path: Path | str) -> str:
    """A path inside the project relative to it (data/x/train.jsonl), so shipped metadata names no machine."""
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
