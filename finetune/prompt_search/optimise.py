"""`tandem personas optimise ID`: a small greedy and random search over what a persona controls, judged the way
the report judges, ending in a new persona file and a before/after report on questions the search never saw.

    tandem personas optimise plain --budget-answers 600 --budget-minutes 30

What is searched:
- the wording of the persona's instruction and rules (`finetune.prompt_search.rewrites`: layout × rules × grounding);
- which few-shot examples it carries, and how many (2 to `max_examples`): its own, and those of the training data
  and of the conversation log (thumbs-up answers and corrections, scrubbed of personal data) whose answers follow
  its style rules (an example that breaks them would teach breaking them) and that ask nothing the run asks, dev
  or held-out (same paraphrase group or same question: the example would hand the model the answer). Examples reach the
  model only with few-shot on (the base model's default); with it off, only the wording is searched.

How: each wording choice in turn against the best so far (greedy, one coordinate at a time), then random
one-step changes of the best (a wording choice, an example swapped, added or dropped), each kept when it scores
higher on the dev questions. A candidate answers them through the chain with
`finetune.evaluation.evaluate.answer_cell` and `score_rows`, the path and scores of `tandem eval`, and scores

    recall_weight × key-fact recall + adherence_weight × adherence − unsupported_penalty × unsupported rate

(percentages from `finetune.evaluation.report.summarise`). The style rules are never changed: they are the judge.

Bounded and resumable: the budget (answers and minutes, across reruns) keeps back what the held-out comparison
will cost; every candidate's figures go into a state file under $TANDEM_HOME/optimise/ as soon as measured. The
search is deterministic given its seed and those figures, so a rerun with the same settings replays it at no cost
and goes on where it stopped (a larger budget goes further).
"""

import hashlib
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.adapters import adapter_format
from bot.backends import BACKEND_HELP, Backend
from bot.chat_model import LocalChatModel, resolved_backend
from bot.errors import PersonaError, TandemError
from bot.files import write_atomically
from bot.paths import shown_path, tandem_home
from bot.personas import Catalog, Id, Persona, load_catalog, load_persona
from bot.store import log_exists, log_location
from bot.versions import keep_version, persona_text
from finetune.data import Example, load_examples
from finetune.evaluation.evaluate import (SAMPLE_EVAL, Cell, EvalConfig, eval_manifest, load_eval_model, model_variants,
                                          report_dir, retrieve_passages, weights_hash)
from finetune.evaluation.report import print_verdict, summarise, write_report
from finetune.flags import apply_field_flags
from finetune.prompt_search.candidates import Candidate, candidate_persona, describe, example_pool
from finetune.prompt_search.search import Optimiser, State, figures


class OptimiseError(TandemError):
    """An optimisation that cannot run: too few questions, a budget smaller than its fixed costs, a bad --out."""


class OptimiseConfig(BaseModel):
    """What `tandem personas optimise` runs; every field is also a flag (finetune.flags)."""

    model_config = ConfigDict(extra="forbid")

    data: list[Path] = Field(default_factory=lambda: [SAMPLE_EVAL], description="questions with key facts, split by "
                             "paraphrase group into dev (searched on) and held-out (judged on); default: the sample "
                             "domain's eval.jsonl")
    examples: list[Path] | None = Field(None, description="training data to draw few-shot examples from (default: "
                                                          "train.jsonl beside the first --data file, if there is one)")
    db: str | None = Field(None, description="conversation log whose thumbs-up and corrected turns are drawn from "
                                             "too: an SQLite file or a postgresql:// URL (default: $TANDEM_DB_URL, "
                                             "else $TANDEM_HOME/conversations.sqlite3, if there is one)")
    knowledge: Path | None = Field(None, description="a folder of documents for retrieval (default: as tandem eval finds it)")
    base_model: str | None = Field(None, description="base model (default: the adapter's base, else the embedded one)")
    adapters: list[Path] | None = Field(None, max_length=1, description="the adapter the persona will run on "
                                        "(default: the shipped one, if any; --no-adapter: the base model alone)")
    few_shot: Literal["auto", "on", "off"] = Field("auto", description="show the persona's examples to the model "
                                                                      "(auto: as the model's prompt format does)")
    retrieval: Literal["auto", "on", "off"] = Field("auto", description="put retrieved passages into the prompt "
                                                                       "(auto: as the model's prompt format does)")
    dev_questions: int = Field(30, gt=0, description="about this many questions to search on (whole paraphrase groups)")
    heldout_questions: int = Field(60, gt=0, description="about this many held-out questions for the before/after "
                                                         "report, never seen by the search")
    max_examples: int = Field(4, ge=2, le=8, description="most few-shot examples a candidate carries (at least 2)")
    budget_answers: int = Field(600, gt=0, description="answers to generate at most, the held-out comparison included "
                                                       "(600: about 5 minutes at 2-4 answers/s, 30 at 3 s an answer)")
    budget_minutes: float = Field(30, gt=0, description="minutes to spend at most, across reruns; the held-out "
                                                        "comparison is kept back from both budgets")
    recall_weight: float = Field(1.0, ge=0, description="weight of key-fact recall (in points) in the score")
    adherence_weight: float = Field(1.0, ge=0, description="weight of persona adherence (in points) in the score")
    unsupported_penalty: float = Field(1.0, ge=0, description="weight of the unsupported-specifics rate (in points), "
                                                              "subtracted from the score")
    backend: Backend | None = Field(None, description=BACKEND_HELP)
    batch_size: int = Field(16, gt=0, description="answers generated together")
    max_new_tokens: int = Field(160, gt=0, description="longest answer in tokens; a persona's own lower cap wins")
    top_k: int | None = Field(None, gt=0, description="passages retrieval puts into the prompt (default: the "
                                                      "adapter's prompt format, else 3)")
    seed: int = Field(0, ge=0, description="seed of the question split and the random changes")
    new_id: Id | None = Field(None, description="id of the optimised persona (default: ID-optimised)")
    out: Path | None = Field(None, description="the optimised persona file (default: "
                                               "personas-optimised/<new id>.yaml); an original is never overwritten")
    reports: Path = Field(Path("reports"), description="the before/after report goes to REPORTS/<timestamp>/")


OPTIMISE_FLAGS = {"data": {"metavar": "FILE"}, "examples": {"metavar": "FILE"}, "db": {"metavar": "URL|FILE"},
                  "knowledge": {"metavar": "DIR"}, "base_model": {"metavar": "MODEL"},
                  "adapters": {"flag": "adapter", "metavar": "DIR"}, "out": {"metavar": "FILE"},
                  "reports": {"metavar": "DIR"}, "new_id": {"metavar": "ID"}}
"""How some of OptimiseConfig's fields read as flags; every field is one (finetune.flags)."""


@dataclass
class OptimiseResult:
    persona_file: Path
    report: Path
    record: dict
    reused: bool = False
    """True when a rerun found nothing new to try and returned the previous result."""


def split_questions(questions: list[Example], dev_size: int, heldout_size: int, seed: int) -> tuple[list, list]:
    """Dev and held-out questions: whole paraphrase groups in a seeded order, held-out filled first. A group is
    never split, so no held-out question has a paraphrase the search saw."""
    groups: dict[str, list[Example]] = {}
    for index, question in enumerate(questions):
        groups.setdefault(question.group or f"#{index}", []).append(question)
    order = list(groups.values())
    random.Random(seed).shuffle(order)
    dev, heldout = [], []
    for members in order:
        if len(heldout) < heldout_size:
            heldout += members
        elif len(dev) < dev_size:
            dev += members
    if not dev or not heldout:
        raise OptimiseError(f"{len(groups)} question group(s): a dev and a held-out split need at least two")
    return dev, heldout


# The run -----------------------------------------------------------------------------------------------

def run_optimise(persona_id: str, config: OptimiseConfig, catalog: Catalog | None = None, progress: bool = True,
                 restart: bool = False, chat_model=None) -> OptimiseResult:
    """Search, write the optimised persona file and the before/after report (see the module docstring).
    `chat_model`: any LangChain chat model to answer with, instead of loading the configured one."""
    from tqdm.auto import tqdm

    catalog = catalog or load_catalog()
    original = catalog.persona(persona_id)
    new_id = config.new_id or f"{persona_id}-optimised"
    out = config.out or Path("personas-optimised") / f"{new_id}.yaml"
    check_out(out, persona_id, new_id)
    eval_config = EvalConfig(data=config.data, knowledge=config.knowledge, base_model=config.base_model,
                             adapters=config.adapters, personas=[persona_id], limit=None, batch_size=config.batch_size,
                             max_new_tokens=config.max_new_tokens, top_k=config.top_k, out=config.reports,
                             backend=config.backend)
    base, adapters = model_variants(eval_config)
    cell = _cell(config, persona_id, adapters)
    questions = load_examples(config.data).examples
    dev, heldout = split_questions(questions, config.dev_questions, config.heldout_questions, config.seed)
    check_budget(config, dev, heldout)
    pool = {e.id: e for e in example_pool(original, dev + heldout, _training_files(config), _log(config))}
    settings = _settings(original, config, base, adapters, cell, dev + heldout)
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    state = State.open(tandem_home() / "optimise" / f"{persona_id}-{key}.json", settings, restart)
    _announce(cell, dev, heldout, pool, config, state)
    passages = retrieve_passages(eval_config, adapters, dev + heldout) if cell.retrieval else {}
    if chat_model is None:
        chat_model = load_eval_model(eval_config, base, adapters[0] if adapters else None)
        if adapters and isinstance(chat_model, LocalChatModel):  # a server has its own
            chat_model.merge_adapter()  # the same answers, about a third faster (as tandem eval does)
    with tqdm(total=config.budget_answers, initial=state.answers, desc=f"optimise {persona_id}", unit="answer",
              disable=not progress) as bar:
        optimiser = Optimiser(original, catalog, config, pool, cell, dev, heldout, passages, chat_model, state, bar)
        best, stopped = optimiser.search()
        digest = candidate_persona(original, best, pool).content_hash
        done = state.done or {}
        if done.get("best") == digest and Path(done["report"]).is_dir() and Path(done["persona_file"]).is_file():
            return _previous_result(state)
        chosen = describe(best, optimiser.start, pool)
        optimised = candidate_persona(original, best, pool, id=new_id, title=f"{original.title} (optimised)",
                                      description=f"{original.description} Optimised by tandem personas optimise "
                                                  f"({chosen}).")
        rows = optimiser.judge(optimised)
    record = _record(optimiser, best, digest, new_id, stopped, rows, out)
    with write_atomically(out) as staging:
        staging.write_text(persona_text(optimised), encoding="utf-8")
    report = _write_report(optimiser, optimised, rows, record, eval_config, base, adapters)
    state.done = {"best": digest, "report": str(report), "persona_file": str(out)}
    state.save()
    return OptimiseResult(out, report, record)


def optimise_from_flags(args) -> int:
    """`tandem personas optimise ID`: run the search as the flags set it, then print the verdict, the new persona
    file and where the report is."""
    for directory in args.personas:
        if not directory.is_dir():
            raise TandemError(f"--personas {directory}: no such directory")
    config = apply_field_flags(OptimiseConfig(), args, "optimise_", OptimiseError, OPTIMISE_FLAGS,
                               **({"adapters": []} if args.no_adapter else {}))
    result = run_optimise(args.id, config, load_catalog(args.personas), restart=args.restart)
    if result.reused:
        print("Nothing new to try within the budget: the saved search's result stands.")
    print_verdict(result.report)
    print(f"Persona: {result.persona_file} (use it with --personas {result.persona_file.parent})")
    print(f"Report: {result.report / 'report.html'} (and report.md, results.jsonl)")
    return 0


def _write_report(optimiser: Optimiser, optimised: Persona, rows: list[dict], record: dict, eval_config: EvalConfig,
                  base: str, adapters: list[Path]) -> Path:
    """The before/after report, its manifest naming both personas' versions (whose texts are kept)."""
    original, cell = optimiser.original, optimiser.cell
    for persona in (original, optimised):
        keep_version(persona)
    both = Catalog({**optimiser.catalog.personas, optimised.id: optimised}, optimiser.catalog.instructions, [])
    started = time.strftime("%Y-%m-%dT%H-%M-%S")
    manifest = eval_manifest(eval_config.model_copy(update={"personas": [original.id, optimised.id]}), base, adapters,
                             both, optimiser.heldout, [cell, replace(cell, persona=optimised.id)], started,
                             optimiser.state.elapsed())
    return write_report(report_dir(optimiser.config.reports, started), rows, manifest, optimisation=record)


def check_out(out: Path, original_id: str, new_id: str) -> None:
    """The optimised persona gets its own id and never replaces a file other than an earlier run's output."""
    if new_id == original_id:
        raise OptimiseError(f"--new-id {new_id}: the optimised persona needs an id of its own, or its file would "
                            "replace the original wherever both are loaded")
    if out.exists():
        try:
            existing = load_persona(out).id
        except PersonaError:
            existing = None
        if existing != new_id:
            raise OptimiseError(f"--out {out}: already holds " + (f"persona {existing!r}" if existing else "another file")
                                + f"; only an earlier {new_id} is ever replaced")


def check_budget(config: OptimiseConfig, dev: list[Example], heldout: list[Example]) -> None:
    """The answers budget pays at least for the baseline and the held-out comparison, or nothing runs."""
    fixed = len(dev) + 2 * len(heldout)
    if config.budget_answers < fixed:
        raise OptimiseError(f"--budget-answers {config.budget_answers} does not cover the original persona on the "
                            f"{len(dev)} dev questions and both personas on the {len(heldout)} held-out ones "
                            f"({fixed} answers)")


def _cell(config: OptimiseConfig, persona_id: str, adapters: list[Path]) -> Cell:
    """How the persona will be asked: on the tuned or the base model, few-shot and retrieval as its prompt format
    has them unless the config says otherwise."""
    prompt_format = adapter_format(adapters[0] if adapters else None)
    few_shot = prompt_format.few_shot if config.few_shot == "auto" else config.few_shot == "on"
    retrieval = prompt_format.retrieval if config.retrieval == "auto" else config.retrieval == "on"
    return Cell("tuned" if adapters else "base", str(adapters[0]) if adapters else None, persona_id, few_shot, retrieval)


def _training_files(config: OptimiseConfig) -> list[Path]:
    if config.examples is not None:
        return config.examples
    beside = config.data[0].with_name("train.jsonl")
    return [beside] if beside.is_file() and beside != config.data[0] else []


def _log(config: OptimiseConfig) -> str | None:
    """The conversation log to draw examples from, if there is one (reading must not create an empty one)."""
    location = log_location(config.db)
    if config.db is not None and not log_exists(location):
        raise OptimiseError(f"--db {config.db}: no such conversation log")
    return location if log_exists(location) else None


def _announce(cell: Cell, dev: list, heldout: list, pool: dict, config: OptimiseConfig, state: State) -> None:
    sources = Counter(e.source for e in pool.values())
    print(f"tandem: optimising {cell.persona} on the {cell.variant} model (few-shot {'on' if cell.few_shot else 'off'}, "
          f"retrieval {'on' if cell.retrieval else 'off'}): {len(dev)} dev and {len(heldout)} held-out questions, "
          f"{len(pool)} examples to draw from ({', '.join(f'{n} {s}' for s, n in sources.items())}); budget "
          f"{config.budget_answers} answers or {config.budget_minutes:g} minutes; {len(state.evaluations)} "
          f"candidates already measured ({state.path})", file=sys.stderr, flush=True)


def _settings(original: Persona, config: OptimiseConfig, base: str, adapters: list[Path], cell: Cell,
              questions: list[Example]) -> dict:
    """What makes two searches the same search (the budget and the output are not part of it)."""
    return {"persona": original.content_hash, "base_model": base, "adapter": cell.adapter,
            "adapter_weights": weights_hash(adapters[0]) if adapters else None, "few_shot": cell.few_shot,
            "retrieval": cell.retrieval, "knowledge": str(config.knowledge), "top_k": config.top_k,
            "backend": resolved_backend(base, config.backend),
            "questions": hashlib.sha256("\n".join(q.question for q in questions).encode()).hexdigest()[:12],
            "max_examples": config.max_examples, "max_new_tokens": config.max_new_tokens, "seed": config.seed,
            "weights": [config.recall_weight, config.adherence_weight, config.unsupported_penalty]}


def _record(optimiser: Optimiser, best: Candidate, digest: str, new_id: str, stopped: str, rows: list[dict],
            out: Path) -> dict:
    """The optimisation as the report keeps it (summary.json's "optimisation", which finetune.evaluation.report
    shows)."""
    state, config, cell, pool = optimiser.state, optimiser.config, optimiser.cell, optimiser.pool
    before, after = (figures(c, config) for c in summarise(rows))
    search_answers = sum(e["answers"] for e in state.evaluations.values())
    return {
        "persona": cell.persona, "optimised": new_id, "persona_file": shown_path(out), "model": cell.variant,
        "adapter": cell.adapter, "few_shot": cell.few_shot, "retrieval": cell.retrieval,
        "dev_questions": len(optimiser.dev), "heldout_questions": len(optimiser.heldout),
        "pool": dict(Counter(e.source for e in pool.values())),
        "weights": {"recall": config.recall_weight, "adherence": config.adherence_weight,
                    "unsupported": config.unsupported_penalty},
        "candidates": [state.evaluations[d] for d in state.order], "stopped": stopped,
        "chosen": describe(best, optimiser.start, pool), "chosen_hash": digest,
        "examples": [{"ref": pool[i].ref, "source": pool[i].source, "user": pool[i].user} for i in best.examples],
        "before": before, "after": after,
        "cost": {"answers": state.answers, "search_answers": search_answers,
                 "heldout_answers": state.answers - search_answers, "minutes": round(state.elapsed() / 60, 1)},
        "budget": {"answers": config.budget_answers, "minutes": config.budget_minutes},
    }


def _previous_result(state: State) -> OptimiseResult:
    from finetune.evaluation.cost import load_optimisation

    report = Path(state.done["report"])
    return OptimiseResult(Path(state.done["persona_file"]), report, load_optimisation(report), reused=True)
