"""`tandem eval`: the fine-tuning × prompting matrix over a held-out evaluation set.

A *cell* is one model variant (the base model, or base + an adapter) under one prompt variant:

    none               no persona (the default instruction only)
    <persona>          the persona's system prompt and style rules (one cell per chosen persona)
    <lead>+few-shot    the lead persona (the first chosen) with its few-shot examples
    <lead>+retrieval   the lead persona with the top passages from the domain's knowledge/ files

Every question is answered in every cell through `bot.chain` (greedy decoding, batched by the chat model), scored
(`finetune.evaluation.metrics`) and written to `results.jsonl`; the report (`finetune.evaluation.report`) is
computed from those rows alone. A set of general, out-of-domain questions is answered by every model variant with
no persona and no passages, to measure how far an adapter drifts from the base model outside its domain.
"""

import hashlib
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.errors import TandemError
from bot.adapters import adapter_format, read_card
from bot.backends import BACKEND_HELP, Backend
from bot.chain import build_chain
from bot.citations import cited
from bot.chat_model import LocalChatModel, load_chat_model, resolved_backend
from bot.remote import is_remote
from bot.models import adapter_base_model, default_adapter, default_model, shipped_adapter_for
from bot.paths import shown_path
from bot.personas import Catalog, load_catalog
from bot.prompts import PromptFormat
from bot.userinput import MAX_DATA_BYTES, read_user_text, valid_unicode
from bot.versions import keep_version
from bot.yamlfiles import load_yaml_model
from finetune.data import SAMPLE_DOMAIN, CsvColumns, Example, columns_from_flags, load_examples
from finetune.evaluation.cost import is_base_variant, other_label, training_cost
from finetune.evaluation.metrics import cited_recall, cosine_pairs, key_fact_recall, reading_ease, unsupported_specifics
from finetune.evaluation.report import print_verdict, write_report
from finetune.flags import apply_field_flags

SAMPLE_EVAL = SAMPLE_DOMAIN / "eval.jsonl"
GENERAL_QUESTIONS = Path(__file__).resolve().parent / "general_questions.jsonl"
DEFAULT_LIMIT = 60
"""The default matrix answers 60 of the sample domain's 165 questions in about 15 minutes on 2 cores (measured: 14.5)."""
PromptKind = Literal["none", "persona", "few-shot", "retrieval"]


class EvalError(TandemError):
    """An evaluation configuration or input that cannot be run."""


class EvalConfig(BaseModel):
    """What `tandem eval` runs; every field is also a command-line flag, and a YAML file may set any of them."""

    model_config = ConfigDict(extra="forbid")

    data: list[Path] = Field(default_factory=lambda: [SAMPLE_EVAL], description="evaluation set(s), in any training format "
                                                                               "(default: the sample domain's eval.jsonl)")
    knowledge: Path | None = Field(None, description="a folder of documents for the retrieval cells (default: knowledge/ beside the data)")
    base_model: str | None = Field(None, description="base model (default: the first adapter's base model, "
                                                      "else the embedded default); openai:URL evaluates on an "
                                                      "OpenAI-compatible server that serves the adapter as tandem/raw "
                                                      "and the base as tandem/raw+base")
    adapters: list[Path] | None = Field(None, description="adapters to compare with the base (default: the shipped one)")
    other_models: list[str] = Field([], description="other base models (embedded name, hub id or directory), no adapter, "
                                                    "that answer the lead persona's cell (with retrieval when the "
                                                    "matrix has it, on the same passages): is a bigger model with a "
                                                    "good prompt enough?")
    personas: list[str] = Field(["support", "plain"], min_length=1, description="persona ids; the first leads the "
                                "few-shot and retrieval cells (default: support,plain)")
    prompts: list[PromptKind] = Field(["persona", "retrieval"], min_length=1,
                                      description="prompt variants out of none, persona, few-shot, retrieval "
                                                  "(default: persona,retrieval; see the module docstring)")
    limit: int | None = Field(DEFAULT_LIMIT, gt=0, description="about this many questions, whole paraphrase groups "
                                                                f"spread over the set (default {DEFAULT_LIMIT}); "
                                                                "null (--all): every question")
    batch_size: int = Field(16, gt=0, description="answers generated together (16: 1.2-1.35x the tokens/s of 8, measured)")
    max_new_tokens: int = Field(160, gt=0, description="longest answer in tokens; a persona's own lower cap wins")
    repetition_penalty: float = Field(1.1, ge=1, le=2, description="the decoder's repetition penalty (1.1, as served; "
                                                                    "1.0: none, so copying a passage's figures costs nothing)")
    top_k: int | None = Field(None, gt=0, description="passages put into the prompt by retrieval (default: the first "
                                                      "adapter's prompt format, as in serving; else 3)")
    passage_chars: int | None = Field(None, gt=0, le=100_000, description="passages after the first only while "
                                      "together within this many characters (default: the first adapter's prompt "
                                      "format, as in serving)")
    general_questions: Path = Field(GENERAL_QUESTIONS, description="out-of-domain questions for the drift check")
    drift_threshold: float = Field(0.6, ge=0, le=1, description="flag an adapter whose general answers have a mean "
                                                                  "cosine similarity to the base model's below this")
    out: Path = Field(Path("reports"), description="reports go to OUT/<timestamp>/ (relative to the current directory)")
    backend: Backend | None = Field(None, description=BACKEND_HELP)
    optimisation: Path | None = Field(None, description="a `tandem personas optimise` report to set against "
                                                        "fine-tuning in the verdict's cost line (default: the newest "
                                                        "one under OUT for an evaluated persona)")


def load_eval_config(path: Path) -> EvalConfig:
    return load_yaml_model(path, EvalConfig, EvalError, strict=True)


EVAL_FLAGS = {"data": {"metavar": "FILE"}, "knowledge": {"metavar": "DIR"}, "base_model": {"metavar": "MODEL"},
              "adapters": {"flag": "adapter", "metavar": "DIR"}, "personas": {"metavar": "IDS"},
              "prompts": {"metavar": "KINDS"}, "limit": {"metavar": "N"}, "general_questions": {"metavar": "FILE"},
              "out": {"metavar": "DIR"}, "optimisation": {"metavar": "DIR"}}
"""How some of EvalConfig's fields read as flags; every field is one (finetune.flags)."""


def config_from_flags(args) -> EvalConfig:
    """The matrix `tandem eval`'s flags ask for: the --config file's fields, then every flag given (flags win);
    --no-adapter: the base model alone; --all: every question."""
    config = load_eval_config(args.config) if args.config else EvalConfig()
    switches = {**({"adapters": []} if args.no_adapter else {}), **({"limit": None} if args.all else {})}
    return apply_field_flags(config, args, "eval_", custom=EVAL_FLAGS, **switches)


def evaluate_from_flags(args) -> int:
    """`tandem eval` (without --compare): run the matrix, then print the verdict and where the report is."""
    if args.gate:
        raise TandemError("--gate needs --compare OLD NEW")
    out = run_eval(config_from_flags(args), columns=columns_from_flags(args), data_format=args.format)
    print_verdict(out)
    print(f"Report: {out / 'report.html'} (and report.md, results.jsonl)")
    return 0


@dataclass(frozen=True)
class Cell:
    variant: str
    """Which model answers: 'base' or the adapter's label ('tuned'); results.jsonl calls it "model"."""
    adapter: str | None
    persona: str | None
    few_shot: bool = False
    retrieval: bool = False

    @property
    def prompt(self) -> str:
        if self.persona is None:
            return "none"
        return self.persona + ("+few-shot" if self.few_shot else "") + ("+retrieval" if self.retrieval else "")

    @property
    def label(self) -> str:
        return f"{self.variant} · {self.prompt}"

    def inputs(self, question: str, passages: list[str] | None = None) -> dict:
        """The chain input that asks this cell's question: every switch explicit, so a cell means one thing."""
        inputs = {"question": question, "persona": self.persona, "few_shot": self.few_shot,
                  "retrieval": self.retrieval, "adapter": not is_base_variant(self.variant)}
        if self.retrieval:
            inputs["passages"] = passages or []
        return inputs


def plan_cells(config: EvalConfig, adapters: list[Path], catalog: Catalog) -> list[Cell]:
    """Every (model variant, prompt variant) pair the config asks for, base model first."""
    for persona_id in config.personas:
        catalog.persona(persona_id)  # an unknown id fails here, before any model is loaded
    lead = config.personas[0]
    prompts = []
    if "none" in config.prompts:
        prompts.append((None, False, False))
    if "persona" in config.prompts:
        prompts += [(persona_id, False, False) for persona_id in config.personas]
    if "few-shot" in config.prompts:
        prompts.append((lead, True, False))
    if "retrieval" in config.prompts:
        prompts.append((lead, False, True))
    models = [("base", None)] + [(label, str(path)) for label, path in adapter_labels(adapters).items()]
    cells = [Cell(model, adapter, *prompt) for model, adapter in models for prompt in prompts]
    other_prompt = (lead, False, True) if "retrieval" in config.prompts else (lead, False, False)
    return cells + [Cell(other_label(name), None, *other_prompt) for name in config.other_models]


def adapter_labels(adapters: list[Path]) -> dict[str, Path]:
    """'tuned' for a single adapter, else 'tuned:<directory name>' (numbered when names repeat)."""
    if len(adapters) == 1:
        return {"tuned": adapters[0]}
    labels = {}
    for path in adapters:
        label = f"tuned:{path.name}"
        labels[label if label not in labels else f"{label}-{len(labels) + 1}"] = path
    return labels


def select_questions(examples: list[Example], limit: int | None) -> list[Example]:
    """All questions, or about `limit` of them: whole paraphrase groups spread evenly over the file
    (a group is never split, so the count may exceed `limit` by a group's size less one)."""
    if limit is None or limit >= len(examples):
        return examples
    groups: dict[str, list[Example]] = {}
    for index, example in enumerate(examples):
        groups.setdefault(example.group or f"#{index}", []).append(example)
    ordered = list(groups.values())
    chosen, step, position = [], len(ordered) / limit, 0.0
    while position < len(ordered) and len(chosen) < limit:
        chosen += ordered[int(position)]  # a whole group, so the total may pass `limit` by a few
        position += max(step, 1.0)
    return chosen


def run_eval(config: EvalConfig, catalog: Catalog | None = None, columns: CsvColumns = CsvColumns(),
             data_format: str | None = None, progress: bool = True) -> Path:
    """Run the matrix through the chain, write results.jsonl and the report, and return the report directory."""
    from tqdm.auto import tqdm

    from finetune.evaluation.cost import find_optimisation, load_optimisation

    catalog = catalog or load_catalog()
    optimised = (load_optimisation(config.optimisation) if config.optimisation is not None
                 else find_optimisation([config.out], config.personas))
    base, adapters = model_variants(config)
    cells = plan_cells(config, adapters, catalog)
    questions = select_questions(load_examples(config.data, data_format, columns).examples, config.limit)
    general = load_general_questions(config.general_questions)
    passages = retrieve_passages(config, adapters, questions) if any(cell.retrieval for cell in cells) else {}

    started = time.strftime("%Y-%m-%dT%H-%M-%S")
    clock = time.monotonic()
    rows: list[dict] = []
    total = len(cells) * len(questions) + (1 + len(adapters)) * len(general)
    with tqdm(total=total, desc="tandem eval", unit="answer", disable=not progress) as bar:
        for adapter in adapters or [None]:
            chat_model = load_eval_model(config, base, adapter)
            chain = build_chain(chat_model, catalog, as_message=True)
            # The base model's cells first, with the adapter switched off; then the adapter is merged
            # into the weights for its own cells: the same answers, about a third faster.
            variants = [("base", None)] if adapter == (adapters or [None])[0] else []
            variants += [(label, path) for label, path in adapter_labels(adapters).items() if path == adapter]
            for model, variant_adapter in variants:
                if variant_adapter is not None and isinstance(chat_model, LocalChatModel):  # a server has its own
                    chat_model.merge_adapter()
                for cell in [c for c in cells if c.variant == model]:
                    rows += answer_cell(chain, cell, questions, passages, config.batch_size, bar)
                general_cell = Cell(model, None if variant_adapter is None else str(variant_adapter), None)
                inputs = [general_cell.inputs(q.question) for q in general]
                for question, answer in zip(general, _answer_all(chain, inputs, config.batch_size, bar)):
                    rows.append(_answer_row("general", general_cell, question, answer))
            del chat_model, chain
        for name in config.other_models:  # a base model of its own, loaded after the others are gone
            chain = build_chain(load_eval_model(config, name, None), catalog, as_message=True)
            for cell in [c for c in cells if c.variant == other_label(name)]:
                rows += answer_cell(chain, cell, questions, passages, config.batch_size, bar)
            del chain
    score_rows(rows, catalog)
    for persona_id in config.personas:
        keep_version(catalog.persona(persona_id))  # so the report's persona hashes can always be shown as text
    manifest = eval_manifest(config, base, adapters, catalog, questions, cells, started, time.monotonic() - clock)
    return write_report(report_dir(config.out, started), rows, manifest, optimised=optimised)


def model_variants(config: EvalConfig) -> tuple[str, list[Path]]:
    """The base model and the adapters the config names (default: the shipped adapter, when it was trained on
    the base model), checked to be adapter directories before any model loads."""
    adapters = config.adapters
    if adapters is None:  # the shipped adapter, with the model it was trained on (a server serves it too)
        base = config.base_model or default_model()
        shipped = default_adapter() if is_remote(base) else shipped_adapter_for(base)
        adapters = [shipped] if shipped else []
    for adapter in adapters:
        if not (Path(adapter) / "adapter_config.json").is_file():
            raise EvalError(f"--adapter {adapter}: not an adapter directory (no adapter_config.json)")
    base = config.base_model or (adapter_base_model(adapters[0]) if adapters else None) or default_model()
    if is_remote(base) and len(adapters) > 1:
        raise EvalError(f"{base} serves one adapter (as tandem/raw): evaluate one adapter at a time")
    return base, list(adapters)


def load_eval_model(config: EvalConfig, base: str, adapter: Path | None):
    """The chat model as evaluation runs it: greedy, every answer capped at max_new_tokens, batched."""
    return load_chat_model(base, adapter, config.backend, greedy=True, max_new_tokens=config.max_new_tokens,
                           max_new_tokens_cap=config.max_new_tokens, max_batch=config.batch_size,
                           repetition_penalty=config.repetition_penalty)


def answer_cell(chain, cell: Cell, questions: list[Example], passages: dict[str, list[str]], batch_size: int,
                bar) -> list[dict]:
    """Every question answered in one cell through the chain: results.jsonl rows, not yet scored (`score_rows`)."""
    inputs = [cell.inputs(q.question, passages.get(q.question)) for q in questions]
    rows = []
    for question, answer in zip(questions, _answer_all(chain, inputs, batch_size, bar)):
        shown = passages.get(question.question, []) if cell.retrieval else None
        rows.append(_answer_row("domain", cell, question, answer, shown))
    return rows


def report_dir(out: Path, started: str) -> Path:
    """OUT/<started>, numbered when a report started in the same second is already there."""
    directory, suffix = out / started, 1
    while directory.exists():
        suffix += 1
        directory = out / f"{started}-{suffix}"
    return directory


def load_general_questions(path: Path) -> list[Example]:
    """Out-of-domain questions, one JSON object with a "question" per line (no reference answers needed)."""
    lines = read_user_text(path, EvalError, MAX_DATA_BYTES).splitlines()
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            question = json.loads(line)["question"]
        except (ValueError, KeyError, TypeError, RecursionError):
            question = None
        if not isinstance(question, str) or not valid_unicode(question):
            raise EvalError(f"{path}:{number}: expected a JSON object with a \"question\" string")
        questions.append(Example(question, "", source=f"{path}:{number}"))
    return questions


def retrieve_passages(config: EvalConfig, adapters: list[Path], questions: list[Example]) -> dict[str, list[str]]:
    """The passages of every question, found once and given to every retrieval cell (base and tuned alike).

    The knowledge is `--knowledge DIR`, else what the first adapter carries (its documents and training
    pairs, as serving uses it), else the knowledge/ directory beside the evaluation data.
    """
    from bot.chain import find_passages
    from bot.retrieval import choose_knowledge

    prompt_format = adapter_format(adapters[0]) if adapters else PromptFormat()
    retriever = choose_knowledge(config.top_k or prompt_format.top_k, config.passage_chars or prompt_format.passage_chars,
                                 config.knowledge, adapters[0] if adapters else None, beside=config.data[0])
    if retriever is None:
        raise EvalError(f"the retrieval cells need knowledge: no knowledge/ directory beside {config.data[0]} and "
                        "no adapter that carries its own; pass --knowledge DIR or leave retrieval out of --prompts")
    return {q.question: [p.page_content for p in find_passages(retriever, q.question)] for q in questions}


def _answer_all(chain, inputs: list[dict], batch_size: int, bar) -> list:
    """The chain's answer message for every input, in order; prompts of similar length go in one batch."""
    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]["question"]) + sum(map(len, inputs[i].get("passages", []))))
    answers = {}
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        for index, answer in zip(batch, chain.batch([inputs[i] for i in batch], config={"max_concurrency": batch_size})):
            answers[index] = answer
        bar.update(len(batch))
    return [answers[i] for i in range(len(inputs))]


def _answer_row(kind: str, cell: Cell, question: Example, answer, passages: list[str] | None = None) -> dict:
    """One answer of results.jsonl: the question, the chain's answer message, what it cost, and the passages
    retrieval put into the prompt (None: no retrieval)."""
    usage, meta = answer.usage_metadata or {}, answer.response_metadata
    batch_size = meta.get("batch_size", 1)
    return {
        "kind": kind, "cell": cell.label, "model": cell.variant, "adapter": cell.adapter, "prompt": cell.prompt,
        "persona": cell.persona, "few_shot": cell.few_shot, "retrieval": cell.retrieval,
        "question": question.question, "reference": question.answer if kind == "domain" else None,
        "key_facts": list(question.key_facts), "group": question.group, "category": question.category,
        "answer": answer.content, "prompt_tokens": usage.get("input_tokens"), "new_tokens": usage.get("output_tokens"),
        "seconds": round(meta.get("batch_seconds", 0) / batch_size, 4),
        "batch_seconds": meta.get("batch_seconds"), "batch_size": batch_size,
        "truncated": meta.get("finish_reason") == "length", "passages": passages,
    }


def score_rows(rows: list[dict], catalog: Catalog) -> None:
    """Add every per-answer score to the rows (in place)."""
    domain = [r for r in rows if r["kind"] == "domain"]
    for row in domain:
        row["key_fact_recall"] = key_fact_recall(row["answer"], row["key_facts"])
        # How many of the facts retrieval put within the model's reach: separates search failures from reading ones.
        row["passage_recall"] = (None if row["passages"] is None
                                 else key_fact_recall("\n\n".join(row["passages"]), row["key_facts"]))
        # Whether the answer cites the passage that holds the facts (bot.citations: the rule every front end shows).
        row["cited"] = cited(row["answer"], row["passages"]) if row["passages"] else None
        row["cited_recall"], row["cited_any_recall"] = cited_recall(row["passages"] or [], row["cited"] or [],
                                                                    row["key_facts"])
        row["reading_ease"] = reading_ease(row["answer"])
        # A number, amount, code or e-mail address the model was given by neither the passages nor the question's
        # reference: the measurable part of "invented".
        row["unsupported"] = unsupported_specifics(row["answer"], [row["reference"] or "", row["question"],
                                                                   *(row["passages"] or [])])
        if row["persona"]:
            row["style_violations"] = catalog.persona(row["persona"]).style.violations(row["answer"])
            row["adherence"] = not row["style_violations"]
        else:
            row["style_violations"], row["adherence"] = None, None
    for row, score in zip(domain, cosine_pairs([r["answer"] for r in domain], [r["reference"] for r in domain])):
        row["similarity"] = score
    _score_agreement(domain)
    _score_drift([r for r in rows if r["kind"] == "general"])


def _score_agreement(domain: list[dict]) -> None:
    """`agreement`: each answer's mean cosine with the answers to the other questions of its paraphrase group."""
    groups: dict[tuple, list[dict]] = {}
    for row in domain:
        row["agreement"] = None
        if row["group"] is not None:
            groups.setdefault((row["cell"], row["group"]), []).append(row)
    pairs = [(a, b) for members in groups.values() for i, a in enumerate(members) for b in members[i + 1:]]
    scores = cosine_pairs([a["answer"] for a, _ in pairs], [b["answer"] for _, b in pairs])
    collected: dict[int, list[float]] = {}
    for (a, b), score in zip(pairs, scores):
        collected.setdefault(id(a), []).append(score)
        collected.setdefault(id(b), []).append(score)
    for row in domain:
        if id(row) in collected:
            row["agreement"] = round(sum(collected[id(row)]) / len(collected[id(row)]), 4)


def _score_drift(general: list[dict]) -> None:
    """`base_similarity`: cosine of an adapter's answer to a general question with the base model's answer."""
    base = {r["question"]: r["answer"] for r in general if r["model"] == "base"}
    tuned = [r for r in general if r["model"] != "base" and r["question"] in base]
    for row in general:
        row["base_similarity"] = 1.0 if row["model"] == "base" else None
    for row, score in zip(tuned, cosine_pairs([r["answer"] for r in tuned], [base[r["question"]] for r in tuned])):
        row["base_similarity"] = score


def eval_manifest(config: EvalConfig, base: str, adapters: list[Path], catalog: Catalog, questions: list[Example],
                  cells: list[Cell], started: str, seconds: float) -> dict:
    """What this report measured: enough to tell any two reports' inputs apart."""
    import os

    return {
        "started": started, "wall_seconds": round(seconds, 1),
        "config": _shown_config(config),
        "base_model": base,
        "adapters": {label: _adapter_metadata(path) for label, path in adapter_labels(adapters).items()},
        "personas": {p.id: p.content_hash for p in catalog.personas.values()},
        "instructions": {i.id: i.content_hash for i in catalog.instructions.values()},
        "questions": len(questions),
        "questions_hash": hashlib.sha256("\n".join(q.question for q in questions).encode()).hexdigest()[:12],
        "cells": [asdict(c) | {"label": c.label, "prompt": c.prompt} for c in cells],
        "decoding": f"greedy, repetition_penalty {config.repetition_penalty}, through bot.chain (persona temperatures "
                    "are not used), on " + (resolved_backend(base, config.backend) or "the model's server"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}",
    }


def _shown_config(config: EvalConfig) -> dict:
    """The config as JSON, with paths inside the project relative to it."""
    shown = json.loads(config.model_dump_json())
    for key in ("knowledge", "general_questions", "out", "optimisation"):
        if shown[key] is not None:
            shown[key] = shown_path(shown[key])
    for key in ("data", "adapters"):
        if shown[key] is not None:
            shown[key] = [shown_path(p) for p in shown[key]]
    return shown


def _adapter_metadata(path: Path) -> dict:
    card = read_card(path)
    metadata = card.model_dump(mode="json") if card else {}
    return {"path": shown_path(path), "weights_sha256": weights_hash(path), "training": training_cost(path), **metadata}


def weights_hash(adapter: Path) -> str | None:
    """12 hex digits of sha256 over the adapter's weights: tells two trainings into one directory apart."""
    weights = Path(adapter) / "adapter_model.safetensors"
    return hashlib.sha256(weights.read_bytes()).hexdigest()[:12] if weights.is_file() else None
