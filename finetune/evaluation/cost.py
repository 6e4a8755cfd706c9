"""The verdict's cost line: what each configuration cost next to what it bought, and what optimising a prompt
bought against fine-tuning.

Costs come from what a report already holds: training minutes and tokens from the adapter's metrics.json
(recorded in the manifest by `tandem eval`), prompt tokens per request and seconds per answer from the
results rows (`finetune.evaluation.report.summarise`), and an optimisation report's own cost in answers and
minutes.
"""

import json
from pathlib import Path

from bot.errors import TandemError
from bot.reports import find_reports, load_summary
from bot.userinput import read_user_text


def cost_lines(cells: list[dict], manifest: dict, lead: str | None, optimised: dict | None = None) -> list[str]:
    """Sentences for the verdict: the per-request cost of every cell, what fine-tuning cost once and the recall
    it bought, and (given an optimisation record) what optimising the prompt bought beside it."""
    if not cells:
        return []
    lines = ["Cost per request: " + "; ".join(
        f"{c['cell']} {c['prompt_tokens']:.0f} prompt tokens and {c['seconds_per_answer']:.1f} s an answer"
        for c in cells) + "."]
    for model, adapter in manifest.get("adapters", {}).items():
        gained = recall_gained(cells, model)
        bought = f"it bought {gained}" if gained else "no cell compares it with the base model"
        lines.append(f"Fine-tuning ({model}) cost {training_text(adapter.get('training'))}, once; {bought}.")
    lines += bigger_model_lines(cells)
    if optimised:
        lines.append(optimisation_against_tuning(optimised, cells, manifest, lead))
    return lines


OTHER_PREFIX = "base:"
"""The variant of an other base model in a report (`tandem eval --other-models`): `base:<its name>`."""


def other_label(model: str) -> str:
    return OTHER_PREFIX + Path(model).name


def is_base_variant(variant: str) -> bool:
    """The base model or an other base model: no adapter answers."""
    return variant == "base" or variant.startswith(OTHER_PREFIX)


def bigger_model_lines(cells: list[dict]) -> list[str]:
    """Each other base model against every fine-tuned model on the same prompt: recall and seconds an answer."""
    lines = []
    for other in [c for c in cells if c["model"].startswith(OTHER_PREFIX)]:
        text = (f"A bigger model with a good prompt: {other['model'][len(OTHER_PREFIX):]} under {other['prompt']}, no "
                f"fine-tuning, reaches key-fact recall {_percent(other['key_fact_recall'])} at "
                f"{other['seconds_per_answer']:.1f} s an answer")
        for tuned in [c for c in cells if not is_base_variant(c["model"]) and c["prompt"] == other["prompt"]]:
            text += (f"; {tuned['model']} reaches {_percent(tuned['key_fact_recall'])} at "
                     f"{tuned['seconds_per_answer']:.1f} s an answer")
        lines.append(text + ".")
    return lines


def recall_gained(cells: list[dict], model: str) -> str:
    """Key-fact recall of the base model against `model`, for every prompt both were asked under."""
    base = {c["prompt"]: c for c in cells if c["model"] == "base"}
    pairs = [(base[c["prompt"]], c) for c in cells if c["model"] == model and c["prompt"] in base
             and c["key_fact_recall"] is not None and base[c["prompt"]]["key_fact_recall"] is not None]
    return "; ".join(f"key-fact recall under {b['prompt']} {b['key_fact_recall']:.0f}% → {t['key_fact_recall']:.0f}% "
                     f"({points(b['key_fact_recall'], t['key_fact_recall'])})" for b, t in pairs)


def training_text(training: dict | None) -> str:
    if not training:
        return "an unrecorded training time (the adapter has no metrics.json)"
    steps = f", {training['steps']} steps" if training.get("steps") else ""
    return f"{training['minutes']:g} min of training over about {training['tokens']:,} tokens{steps}"


def optimisation_against_tuning(record: dict, cells: list[dict], manifest: dict, lead: str | None) -> str:
    """One sentence: the optimisation's held-out gain and cost, and fine-tuning's gain and cost in this report."""
    before, after, cost = record["before"], record["after"], record["cost"]
    text = (f"Optimising the {record['persona']} prompt ({record['model']} model, report {Path(record['report']).name}) "
            f"moved held-out key-fact recall {_percent(before['key_fact_recall'])} → "
            f"{_percent(after['key_fact_recall'])} ({points(before['key_fact_recall'], after['key_fact_recall'])}) "
            f"and persona adherence {_percent(before['adherence'])} → {_percent(after['adherence'])} "
            f"({points(before['adherence'], after['adherence'])}) for {cost['answers']} answers and "
            f"{cost['minutes']:.0f} minutes of generation")
    by = {(c["model"], c["prompt"]): c for c in cells}
    tuned = list(manifest.get("adapters", {}).items())
    prompt = f"{lead}+retrieval" if record.get("retrieval") and ("base", f"{lead}+retrieval") in by else lead
    for model, adapter in tuned:
        base_cell, tuned_cell = by.get(("base", prompt)), by.get((model, prompt))
        if base_cell and tuned_cell:
            text += (f"; fine-tuning ({model}) moved key-fact recall under {prompt} "
                     f"{_percent(base_cell['key_fact_recall'])} → {_percent(tuned_cell['key_fact_recall'])} "
                     f"({points(base_cell['key_fact_recall'], tuned_cell['key_fact_recall'])}) and adherence "
                     f"{_percent(base_cell['adherence'])} → {_percent(tuned_cell['adherence'])} "
                     f"({points(base_cell['adherence'], tuned_cell['adherence'])}) for "
                     f"{training_text(adapter.get('training'))}")
    if not tuned:
        text += "; this report has no fine-tuned model to set it against"
    return text + "."


def _percent(value) -> str:
    return "–" if value is None else f"{value:.0f}%"


def points(before, after) -> str:
    """The change between two percentages as shown rounded, so "2% → 2%" reads "+0 points", never "-0"."""
    return "–" if before is None or after is None else f"{round(after) - round(before):+d} points"


def training_cost(adapter: Path) -> dict | None:
    """What training the adapter cost, from its metrics.json: minutes, tokens trained on (tokens/s × seconds, so
    every epoch counts) and steps; None when the adapter has no readable metrics."""
    path = Path(adapter) / "metrics.json"
    if not path.is_file():
        return None
    try:
        metrics = json.loads(read_user_text(path))
    except (ValueError, RecursionError, TandemError):
        return None
    seconds, rate = (metrics.get("wall_seconds"), metrics.get("train_tokens_per_second")) if isinstance(metrics, dict) \
        else (None, None)
    if not _is_number(seconds) or not _is_number(rate):
        return None
    return {"minutes": round(seconds / 60, 1), "tokens": round(seconds * rate), "steps": metrics.get("steps"),
            "epochs": metrics.get("epochs_completed")}


def load_optimisation(report: Path) -> dict:
    """The optimisation record of a `tandem personas optimise` report, with the report's path."""
    record = load_summary(report).get("optimisation")
    if not _is_record(record):
        raise TandemError(f"{report}: not a prompt optimisation report (made by tandem personas optimise)")
    return {**record, "report": str(report)}


def _is_record(record) -> bool:
    """Holds what the cost line reads, with numbers where numbers go (a hand-edited summary is refused, not a crash)."""
    def figures(entry) -> bool:
        return isinstance(entry, dict) and all(
            entry.get(key) is None or _is_number(entry[key]) for key in ("key_fact_recall", "adherence"))

    return (isinstance(record, dict) and isinstance(record.get("persona"), str) and isinstance(record.get("model"), str)
            and figures(record.get("before")) and figures(record.get("after")) and isinstance(record.get("cost"), dict)
            and isinstance(record["cost"].get("answers"), int) and _is_number(record["cost"].get("minutes")))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def find_optimisation(directories: list[Path], personas: list[str]) -> dict | None:
    """The newest optimisation report in `directories` for one of `personas`, or None."""
    for report in reversed(find_reports(directories)):
        try:
            record = load_optimisation(report)
        except TandemError:
            continue
        if record.get("persona") in personas:
            return record
    return None
