"""Evaluation reports as data: the figures a report holds per cell, and the one checked reader of summary.json.

`tandem eval` (finetune) writes reports; `tandem eval --compare`, `tandem personas stats` and the app's Prompts
tab read them. The reader lives here, in `bot`, so the app can show reports without importing `finetune`.
"""

import json
from pathlib import Path

from bot.errors import TandemError
from bot.userinput import MAX_DATA_BYTES, read_user_file

METRICS = [
    # key, heading, unit, higher is better
    ("key_fact_recall", "Key-fact recall", "%", True),
    ("passage_recall", "Key facts in passages", "%", True),
    ("cited_recall", "Key facts in first cited passage", "%", True),
    ("cited_any_recall", "Key facts in cited passages", "%", True),
    ("unsupported_rate", "Unsupported specifics", "%", False),
    ("similarity", "Similarity to reference", "", True),
    ("adherence", "Persona adherence", "%", True),
    ("reading_ease", "Reading ease", "", True),
    ("agreement", "Paraphrase agreement", "", True),
    ("seconds_per_answer", "s / answer", "", False),
    ("tokens_per_second", "Generated tok/s", "", True),
    ("prompt_tokens", "Prompt tokens", "", False),
]
SUMMARY_FILE = "summary.json"


def load_summary(report: Path) -> dict:
    """A report's summary.json, checked to hold what readers use: a manifest, and cells whose metrics are
    numbers (a report edited by hand or cut short is one line naming it, not a traceback)."""
    path = Path(report) / SUMMARY_FILE
    if not path.exists():
        raise TandemError(f"{report}: not a Tandem report directory (no {SUMMARY_FILE})")
    try:
        summary = json.loads(read_user_file(path, limit=MAX_DATA_BYTES))
    except (ValueError, RecursionError) as error:
        raise TandemError(f"{path}: not valid JSON ({str(error).splitlines()[0][:100]})") from None
    if not (isinstance(summary, dict) and isinstance(summary.get("manifest"), dict)
            and isinstance(summary.get("cells"), list) and all(map(_is_cell, summary["cells"]))):
        raise TandemError(f"{path}: not a Tandem report summary (its manifest or cells are missing or malformed)")
    return summary


def _is_cell(cell) -> bool:
    number = (int, float)
    return isinstance(cell, dict) and isinstance(cell.get("cell"), str) and all(
        cell.get(key) is None or (isinstance(cell[key], number) and not isinstance(cell[key], bool))
        for key, _, _, _ in METRICS)


def find_reports(directories: list[Path]) -> list[Path]:
    """Every report directory in `directories` (each a report itself, or a folder of reports such as reports/),
    oldest name first: report names start with their timestamp."""
    found = []
    for directory in map(Path, directories):
        if (directory / SUMMARY_FILE).is_file():
            found.append(directory)
        elif directory.is_dir():
            found += sorted(path.parent for path in directory.glob(f"*/{SUMMARY_FILE}"))
    return list(dict.fromkeys(found))
