"""The evaluation report: figures per cell computed from results.jsonl, charts, a verdict, and comparisons.

    reports/<timestamp>/results.jsonl    every question, answer and score
    reports/<timestamp>/summary.json     the figures per cell, the drift check, the verdict, the manifest
    reports/<timestamp>/report.md        tables, charts and verdict (report.html: the same, as a web page)
    reports/<timestamp>/*.png            correctness by configuration; correctness against persona adherence

`summarise` is the only place figures are computed, so anyone can recompute a report from its rows.
"""

import html
import json
import sys
from pathlib import Path

from bot.errors import TandemError
from bot.reports import METRICS, load_summary
from finetune.evaluation.cost import cost_lines, is_base_variant, points
from finetune.evaluation.metrics import mean


def summarise(rows: list[dict]) -> list[dict]:
    """One summary per cell (in the order cells first appear): the report's every figure comes from here."""
    cells: dict[str, list[dict]] = {}
    for row in rows:
        if row["kind"] == "domain":
            cells.setdefault(row["cell"], []).append(row)
    summaries = []
    for label, members in cells.items():
        first = members[0]
        adherent = [r["adherence"] for r in members if r["adherence"] is not None]
        seconds = sum(r["seconds"] for r in members)
        summaries.append({
            "cell": label, "model": first["model"], "prompt": first["prompt"], "persona": first["persona"],
            "few_shot": first["few_shot"], "retrieval": first["retrieval"], "answers": len(members),
            "key_fact_recall": _percent(r["key_fact_recall"] for r in members),
            "passage_recall": _percent(r.get("passage_recall") for r in members),
            "cited_recall": _percent(r.get("cited_recall") for r in members),
            "cited_any_recall": _percent(r.get("cited_any_recall") for r in members),
            "unsupported_rate": round(100 * sum(bool(r.get("unsupported")) for r in members) / len(members), 1),
            "similarity": _round(mean(r["similarity"] for r in members), 3),
            "adherence": round(100 * sum(adherent) / len(adherent), 1) if adherent else None,
            "reading_ease": _round(mean(r["reading_ease"] for r in members), 1),
            "agreement": _round(mean(r["agreement"] for r in members), 3),
            "seconds_per_answer": round(seconds / len(members), 3),
            "tokens_per_second": round(sum(r["new_tokens"] for r in members) / seconds, 1) if seconds else None,
            "prompt_tokens": round(mean(r["prompt_tokens"] for r in members), 1),
            "truncated": sum(r["truncated"] for r in members),
        })
    return summaries


def drift(rows: list[dict], threshold: float) -> list[dict]:
    """Per adapter: mean similarity of its answers to general questions with the base model's; flagged below threshold."""
    models: dict[str, list[float]] = {}
    for row in rows:
        if row["kind"] == "general" and row["model"] != "base" and row.get("base_similarity") is not None:
            models.setdefault(row["model"], []).append(row["base_similarity"])
    return [{"model": model, "questions": len(scores), "similarity_to_base": round(mean(scores), 3),
             "flagged": mean(scores) < threshold} for model, scores in models.items()]


def _percent(shares) -> float | None:
    """The mean of shares (0 to 1) as a percentage to one decimal; None when there are none."""
    share = mean(shares)
    return None if share is None else round(100 * share, 1)


def _round(value, digits):
    return None if value is None else round(value, digits)


def verdict(cells: list[dict], lead: str | None) -> list[str]:
    """Plain-language sentences: what fine-tuning bought under the lead persona, and what retrieval alone reaches."""
    by = {(c["model"], c["prompt"]): c for c in cells}
    sentences = []
    tuned_models = list(dict.fromkeys(c["model"] for c in cells if not is_base_variant(c["model"])))
    for model in tuned_models:
        base, tuned = by.get(("base", lead)), by.get((model, lead))
        if base and tuned and base["key_fact_recall"] is not None:
            sentences.append(
                f"Under the {lead} persona, fine-tuning ({model}) changed key-fact recall from "
                f"{base['key_fact_recall']:.0f}% to {tuned['key_fact_recall']:.0f}% "
                f"({points(base['key_fact_recall'], tuned['key_fact_recall'])}); persona adherence moved from "
                f"{base['adherence']:.0f}% to {tuned['adherence']:.0f}%.")
        plain_base, plain_tuned = by.get(("base", "none")), by.get((model, "none"))
        if plain_base and plain_tuned and plain_base["key_fact_recall"] is not None:
            sentences.append(f"With no system prompt: {plain_base['key_fact_recall']:.0f}% (base) against "
                             f"{plain_tuned['key_fact_recall']:.0f}% ({model}).")
    retrieval = by.get(("base", f"{lead}+retrieval"))
    if retrieval and retrieval["key_fact_recall"] is not None:
        text = f"Retrieval alone (base model, {lead} persona, top passages in the prompt) reaches {retrieval['key_fact_recall']:.0f}%"
        if retrieval.get("passage_recall") is not None:
            text += f", though the passages it put in the prompt held {retrieval['passage_recall']:.0f}% of the key facts"
        for model in tuned_models:
            both = by.get((model, f"{lead}+retrieval"))
            if both:
                text += (f"; fine-tuning and retrieval together ({model}) reach {both['key_fact_recall']:.0f}%, with "
                         f"{both['adherence']:.0f}% persona adherence and {both['unsupported_rate']:.0f}% of answers "
                         f"stating a specific found in neither the passages nor the reference (base: "
                         f"{retrieval['unsupported_rate']:.0f}%)")
        sentences.append(text + ".")
    few_shot, persona_only = by.get(("base", f"{lead}+few-shot")), by.get(("base", lead))
    if few_shot and persona_only and few_shot["key_fact_recall"] is not None:
        sentences.append(f"Few-shot examples on the base model reach {few_shot['key_fact_recall']:.0f}% and spend "
                         f"{few_shot['prompt_tokens']:.0f} prompt tokens per question, against "
                         f"{persona_only['prompt_tokens']:.0f} without them.")
    return [s for s in sentences if s]


def optimisation_verdict(record: dict) -> list[str]:
    """What a prompt optimisation bought on the held-out questions the search never saw, and what it cost."""
    before, after, cost = record["before"], record["after"], record["cost"]
    change = "no gain" if after["score"] <= before["score"] else f"{after['score'] - before['score']:+.1f}"
    return [f"Optimising the {record['persona']} persona ({record['model']}, {record['dev_questions']} dev questions) "
            f"changed the held-out score from {before['score']:.1f} to {after['score']:.1f} ({change}): key-fact recall "
            f"{_fmt(before['key_fact_recall'], '%')} → {_fmt(after['key_fact_recall'], '%')}, persona adherence "
            f"{_fmt(before['adherence'], '%')} → {_fmt(after['adherence'], '%')}, unsupported specifics "
            f"{_fmt(before['unsupported_rate'], '%')} → {_fmt(after['unsupported_rate'], '%')}; it cost "
            f"{cost['answers']} answers and {cost['minutes']:.1f} minutes."]


def _optimisation_markdown(record: dict) -> list[str]:
    weights = record["weights"]
    lines = ["", "## Optimisation", "",
             f"`{record['persona']}` → `{record['optimised']}` (`{record['persona_file']}`), on the {record['model']} "
             f"model, few-shot examples {'on' if record['few_shot'] else 'off'}, retrieval "
             f"{'on' if record['retrieval'] else 'off'}. The search saw {record['dev_questions']} dev questions; the "
             f"figures below are on {record['heldout_questions']} held-out questions it never saw. Examples drawn from: "
             + ", ".join(f"{count} {source}" for source, count in record["pool"].items()) + ".", "",
             f"Score = {weights['recall']:g} × key-fact recall + {weights['adherence']:g} × persona adherence − "
             f"{weights['unsupported']:g} × unsupported-specifics rate. Stopped: {record['stopped']}. Chosen: "
             f"{record['chosen']}; its examples: " + "; ".join(f"{e['ref']} ({e['source']}) “{_quoted(e['user'])}”"
                                                               for e in record["examples"]) + ".", "",
             "| Held-out | Key-fact recall | Persona adherence | Unsupported specifics | Score |", "|---|---:|---:|---:|---:|"]
    for name in ("before", "after"):
        figures = record[name]
        lines.append(f"| {name}: {figures['cell']} | {_fmt(figures['key_fact_recall'], '%')} | "
                     f"{_fmt(figures['adherence'], '%')} | {_fmt(figures['unsupported_rate'], '%')} | "
                     f"{figures['score']:.1f} |")
    cost = record["cost"]
    lines += ["", f"Cost: {cost['answers']} answers ({cost['search_answers']} in the search, {cost['heldout_answers']} "
                  f"held-out) in {cost['minutes']:.1f} minutes; budget {record['budget']['answers']} answers, "
                  f"{record['budget']['minutes']:g} minutes.", "",
              "| Candidate (dev) | Change from the original | Recall | Adherence | Unsupported | Score |",
              "|---:|---|---:|---:|---:|---:|"]
    for number, candidate in enumerate(record["candidates"], start=1):
        mark = " **(chosen)**" if candidate["hash"] == record["chosen_hash"] else ""
        lines.append(f"| {number} | {candidate['change']}{mark} | {_fmt(candidate['key_fact_recall'], '%')} | "
                     f"{_fmt(candidate['adherence'], '%')} | {_fmt(candidate['unsupported_rate'], '%')} | "
                     f"{candidate['score']:.1f} |")
    return lines


def _quoted(text: str, limit: int = 80) -> str:
    """User text shown in the report: shortened, and escaped, as report.html keeps the Markdown's HTML as it is."""
    short = text if len(text) <= limit else text[:limit - 1] + "…"
    return html.escape(" ".join(short.split())).replace("|", "&#124;")


def write_report(out: Path, rows: list[dict], manifest: dict, optimisation: dict | None = None,
                 optimised: dict | None = None) -> Path:
    """Write results.jsonl, summary.json, the charts, report.md and report.html into `out`.

    `optimisation` is the record of the search this report concludes (`tandem personas optimise`: its before and
    after on held-out questions); `optimised` is an earlier optimisation report's record (`load_optimisation`),
    set against fine-tuning in the cost line.
    """
    out.mkdir(parents=True, exist_ok=False)
    with open(out / "results.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    cells = summarise(rows)
    lead = manifest["config"]["personas"][0]
    sentences = verdict(cells, lead) + (optimisation_verdict(optimisation) if optimisation else [])
    summary = {"cells": cells, "drift": drift(rows, manifest["config"]["drift_threshold"]),
               "verdict": sentences, "cost": cost_lines(cells, manifest, lead, optimised), "manifest": manifest}
    if optimisation:
        summary["optimisation"] = optimisation
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    charts = _charts(cells, out)
    markdown = _markdown(summary, charts)
    (out / "report.md").write_text(markdown, encoding="utf-8")
    (out / "report.html").write_text(to_html(markdown, "Tandem evaluation report"), encoding="utf-8")
    return out


def print_verdict(report: Path) -> None:
    """The verdict and cost sentences of a report just written, as `tandem eval` and `personas optimise` end."""
    summary = load_summary(report)
    for sentence in summary["verdict"] + summary["cost"]:
        print(sentence)


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:g}{unit}" if isinstance(value, (int, float)) else str(value)


def _markdown(summary: dict, charts: list[str]) -> str:
    manifest, cells = summary["manifest"], summary["cells"]
    lines = ["# Tandem evaluation report", "",
             f"{manifest['started']} · {manifest['questions']} questions · {len(cells)} cells · "
             f"{manifest['wall_seconds']:.0f} s on {manifest['machine']}", "", "## Verdict", ""]
    lines += [f"- {sentence}" for sentence in summary["verdict"]] or ["- (no base/tuned pair to compare)"]
    lines += [f"- {sentence}" for sentence in summary["cost"]]
    for entry in summary["drift"]:
        flag = "**large drift: check general answers**" if entry["flagged"] else "within the threshold"
        lines.append(f"- Out of domain, {entry['model']} answers {entry['questions']} general questions with a mean "
                     f"similarity of {entry['similarity_to_base']:.2f} to the base model's ({flag}).")
    if summary.get("optimisation"):
        lines += _optimisation_markdown(summary["optimisation"])
    lines += ["", "## Results by cell", "",
              "| Cell | " + " | ".join(heading for _, heading, _, _ in METRICS) + " | Answers | Truncated |",
              "|---|" + "---:|" * (len(METRICS) + 2)]
    for cell in cells:
        values = [_fmt(cell[key], unit) for key, _, unit, _ in METRICS]
        lines.append(f"| {cell['cell']} | " + " | ".join(values) + f" | {cell['answers']} | {cell['truncated']} |")
    lines += ["", *[f"![{name}]({name})" for name in charts], "",
              "## How to read this", "",
              "- **Key-fact recall**: share of each question's key facts found in the answer after normalising case, "
              "number words and formats, and currency.",
              "- **Key facts in passages** (retrieval cells): the same measure applied to the passages retrieval put into "
              "the prompt; recall far below it means the model did not read what it was given.",
              "- **Key facts in first cited passage** and **in cited passages** (retrieval cells): the same measure "
              "applied to the passage each answer cites first, and to all the passages it cites (`bot.citations`: "
              "those that state the answer's numbers, codes and names; else the top passage). Well below key facts "
              "in passages, the citation points a reader at a passage that does not hold the answer.",
              "- **Unsupported specifics**: share of answers that state a number, amount, code or e-mail address found in "
              "neither the passages the model was given nor the reference answer: the measurable part of inventing.",
              "- **Similarity**: cosine similarity (all-MiniLM-L6-v2) between answer and reference answer.",
              "- **Persona adherence**: share of answers that break none of the persona's own style rules; "
              "**reading ease** is Flesch reading ease (60-70 is plain English).",
              "- **Paraphrase agreement**: mean cosine similarity between the answers to paraphrases of one question.",
              "- **Cost**: seconds per answer and tokens/s are amortised over batches of "
              f"{manifest['config']['batch_size']}; prompt tokens are what prompting spends on every request.",
              f"- Decoding: {manifest['decoding']}.", "",
              "## What was measured", "", "| Item | Version |", "|---|---|",
              f"| base model | {manifest['base_model']} |"]
    for label, adapter in manifest["adapters"].items():
        lines.append(f"| adapter {label} | {adapter.get('path')} · weights {adapter.get('weights_sha256')} · "
                     f"data {str(adapter.get('data_hash'))[:12]} · trained {adapter.get('trained_at', '?')} |")
    lines += [f"| persona {pid} | {digest} |" for pid, digest in manifest["personas"].items()]
    lines += [f"| instruction {iid} | {digest} |" for iid, digest in manifest["instructions"].items()]
    lines += [f"| questions | {manifest['questions']} · {manifest['questions_hash']} · "
              f"{', '.join(map(str, manifest['config']['data']))} |", ""]
    return "\n".join(lines)


def to_html(markdown_text: str, title: str) -> str:
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables"])
    style = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
             "table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px}"
             "th{background:#f3f3f3}td:not(:first-child){text-align:right}img{max-width:100%}"
             ".regression{color:#b00020;font-weight:bold}")
    return (f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{style}</style></head><body>\n{body}\n</body></html>\n")


def _charts(cells: list[dict], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    prompts = list(dict.fromkeys(c["prompt"] for c in cells))
    models = list(dict.fromkeys(c["model"] for c in cells))
    by = {(c["model"], c["prompt"]): c for c in cells}
    if any(c["key_fact_recall"] is not None for c in cells):
        figure, axes = plt.subplots(figsize=(max(6, 1.3 * len(prompts) * max(1, len(models)) / 2 + 2), 4.2), dpi=100)
        width = 0.8 / len(models)
        for i, model in enumerate(models):
            values = [(by.get((model, p)) or {}).get("key_fact_recall") or 0 for p in prompts]
            bars = axes.bar([x + i * width for x in range(len(prompts))], values, width, label=model)
            axes.bar_label(bars, fmt="%.0f", fontsize=8)
        axes.set_xticks([x + width * (len(models) - 1) / 2 for x in range(len(prompts))], prompts, rotation=15)
        axes.set_ylabel("key-fact recall (%)")
        axes.set_ylim(0, 100)
        axes.set_title("Domain correctness by configuration")
        axes.legend()
        figure.tight_layout()
        figure.savefig(out / "correctness.png")
        plt.close(figure)
        names.append("correctness.png")
    points = [c for c in cells if c["adherence"] is not None and c["key_fact_recall"] is not None]
    if points:
        figure, axes = plt.subplots(figsize=(6.5, 4.5), dpi=100)
        markers = dict(zip(models, "osD^v<>"))
        for cell in points:
            axes.scatter(cell["adherence"], cell["key_fact_recall"], marker=markers[cell["model"]], s=60,
                         color=f"C{models.index(cell['model'])}",  # the model's colour in the bar chart
                         label=cell["model"] if cell is next(c for c in points if c["model"] == cell["model"]) else None)
            axes.annotate(cell["prompt"], (cell["adherence"], cell["key_fact_recall"]), fontsize=7,
                          xytext=(4, 4), textcoords="offset points")
        axes.set_xlabel("persona adherence (%)")
        axes.set_ylabel("key-fact recall (%)")
        axes.set_xlim(-5, 105)
        axes.set_ylim(-5, 105)
        axes.set_title("Correctness against persona adherence (one point per cell)")
        axes.legend()
        figure.tight_layout()
        figure.savefig(out / "recall_vs_adherence.png")
        plt.close(figure)
        names.append("recall_vs_adherence.png")
    return names


# Comparing two reports -----------------------------------------------------------------------------

def compare(old: Path, new: Path, max_recall_drop: float, max_adherence_drop: float) -> dict:
    """Per cell present in both reports: each metric's old value, new value and delta; regressions flagged.

    A regression is key-fact recall falling by more than `max_recall_drop` points or persona
    adherence by more than `max_adherence_drop` points, in any cell.
    """
    before, after = load_summary(old), load_summary(new)
    old_cells = {c["cell"]: c for c in before["cells"]}
    rows, regressions = [], []
    for cell in after["cells"]:
        previous = old_cells.get(cell["cell"])
        if previous is None:
            continue
        deltas = {}
        for key, _, _, _ in METRICS:
            a, b = previous.get(key), cell.get(key)
            deltas[key] = {"old": a, "new": b, "delta": None if a is None or b is None else round(b - a, 3)}
        for key, margin in (("key_fact_recall", max_recall_drop), ("adherence", max_adherence_drop)):
            delta = deltas[key]["delta"]
            if delta is not None and delta < -margin:
                regressions.append(f"{cell['cell']}: {key.replace('_', ' ')} fell {-delta:g} points "
                                   f"({deltas[key]['old']:g} → {deltas[key]['new']:g}; allowed {margin:g})")
        rows.append({"cell": cell["cell"], "deltas": deltas})
    if not rows:
        raise TandemError(f"{old} and {new} have no cell in common; nothing to compare")
    changed = _changed_inputs(before["manifest"], after["manifest"])
    return {"old": str(old), "new": str(new), "cells": rows, "regressions": regressions, "changed_inputs": changed}


def _changed_inputs(old: dict, new: dict) -> list[str]:
    changes = []
    for kind in ("personas", "instructions"):
        for item, digest in new.get(kind, {}).items():
            if old.get(kind, {}).get(item) not in (None, digest):
                changes.append(f"{kind[:-1]} {item}: {old[kind][item]} → {digest}")
    for label, adapter in new.get("adapters", {}).items():
        previous = old.get("adapters", {}).get(label, {})
        if previous and previous.get("weights_sha256") != adapter.get("weights_sha256"):
            changes.append(f"adapter {label}: weights {previous.get('weights_sha256')} → {adapter.get('weights_sha256')}")
    if old.get("questions_hash") != new.get("questions_hash"):
        changes.append(f"questions: {old.get('questions_hash')} → {new.get('questions_hash')}")
    return changes


def compare_markdown(result: dict) -> str:
    shown = [("key_fact_recall", "Recall"), ("adherence", "Adherence"), ("similarity", "Similarity"),
             ("agreement", "Agreement"), ("seconds_per_answer", "s/answer")]
    lines = [f"# Report comparison", "", f"Old: `{result['old']}`  ", f"New: `{result['new']}`", ""]
    if result["regressions"]:
        lines += ["## Regressions", ""] + [f"- <span class='regression'>{r}</span>" for r in result["regressions"]]
    else:
        lines += ["No regressions beyond the allowed margins."]
    if result["changed_inputs"]:
        lines += ["", "## Inputs that changed", ""] + [f"- {c}" for c in result["changed_inputs"]]
    lines += ["", "## Deltas by cell (old → new)", "",
              "| Cell | " + " | ".join(h for _, h in shown) + " |", "|---|" + "---:|" * len(shown)]
    for row in result["cells"]:
        values = []
        for key, _ in shown:
            d = row["deltas"][key]
            values.append("–" if d["delta"] is None else f"{d['old']:g} → {d['new']:g} ({d['delta']:+g})")
        lines.append(f"| {row['cell']} | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def write_comparison(result: dict, new: Path) -> Path:
    """compare-<old report name>.md and .html inside the new report's directory."""
    name = f"compare-{Path(result['old']).name}"
    text = compare_markdown(result)
    (Path(new) / f"{name}.md").write_text(text, encoding="utf-8")
    (Path(new) / f"{name}.html").write_text(to_html(text, "Tandem report comparison"), encoding="utf-8")
    return Path(new) / f"{name}.html"


def compare_from_flags(args) -> int:
    """`tandem eval --compare OLD NEW`: the deltas per cell, the changed inputs and the regressions, printed and
    written into NEW; with --gate, exit 1 on any regression."""
    old, new = args.compare
    result = compare(old, new, args.max_recall_drop, args.max_adherence_drop)
    for row in result["cells"]:
        recall, adherence = row["deltas"]["key_fact_recall"], row["deltas"]["adherence"]
        parts = [f"recall {_delta(recall)}"] + ([f"adherence {_delta(adherence)}"] if adherence["new"] is not None else [])
        print(f"{row['cell']}: " + ", ".join(parts))
    for change in result["changed_inputs"]:
        print(f"changed: {change}")
    for regression in result["regressions"]:
        print(f"REGRESSION {regression}")
    print(f"Comparison: {write_comparison(result, new)}")
    if args.gate and result["regressions"]:
        print(f"tandem: gate failed: {len(result['regressions'])} regression(s)", file=sys.stderr)
        return 1
    return 0


def _delta(entry: dict) -> str:
    if entry["delta"] is None:
        return "–"
    return f"{entry['old']:g} → {entry['new']:g} ({entry['delta']:+g})"
