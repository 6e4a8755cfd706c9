"""The optimiser's search: candidates measured on the dev questions within a budget, progress saved as it goes.

`tandem personas optimise` (finetune.prompt_search.optimise) sets it up and writes what it finds; see that
module's docstring.
"""

import json
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.chain import build_chain
from bot.errors import TandemError
from bot.files import write_atomically
from bot.personas import Catalog, Persona
from finetune.data import Example
from finetune.evaluation.evaluate import Cell, answer_cell, score_rows
from finetune.evaluation.report import summarise
from finetune.prompt_search.candidates import Candidate, PoolExample, candidate_persona, describe
from finetune.prompt_search.rewrites import GROUNDING, LAYOUTS, RULES

if TYPE_CHECKING:
    from finetune.prompt_search.optimise import OptimiseConfig

TRIES = 100
"""Random draws for a change not yet tried before the search counts as exhausted."""


class BudgetSpent(Exception):
    """Raised before a candidate the budget cannot pay for; its message says which budget."""


def figures(cell: dict, config: "OptimiseConfig") -> dict:
    """A summarised cell's figures that the score weighs, and the score."""
    recall, adherence, unsupported = (cell["key_fact_recall"], cell["adherence"], cell["unsupported_rate"])
    score = (config.recall_weight * (recall or 0) + config.adherence_weight * (adherence or 0)
             - config.unsupported_penalty * unsupported)
    return {"cell": cell["cell"], "key_fact_recall": recall, "adherence": adherence, "unsupported_rate": unsupported,
            "score": round(score, 2)}


# The saved progress -------------------------------------------------------------------------------------

@dataclass
class State:
    """The search's progress, saved after every candidate. The search is deterministic given its seed and these
    figures, so a rerun with the same settings replays it from them at no cost and goes on."""

    path: Path
    settings: dict
    answers: int = 0
    answer_seconds: float = 0.0
    seconds: float = 0.0
    """Wall time of earlier runs."""
    evaluations: dict = field(default_factory=dict)
    """Candidate persona's content hash → its change, figures, score and answers."""
    order: list = field(default_factory=list)
    done: dict | None = None
    """The last result: {"best", "report", "persona_file"}."""
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def open(cls, path: Path, settings: dict, restart: bool) -> "State":
        if restart or not path.is_file():
            return cls(path, settings)
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, settings, saved["answers"], saved["answer_seconds"], saved["seconds"],
                       saved["evaluations"], saved["order"], saved.get("done"))
        except (ValueError, KeyError, TypeError):
            raise TandemError(f"{path}: the saved search is damaged; rerun with --restart to start over") from None

    def elapsed(self) -> float:
        return self.seconds + time.monotonic() - self.started

    def seconds_per_answer(self) -> float | None:
        return self.answer_seconds / self.answers if self.answers else None

    def spent(self, answers: int, seconds: float) -> None:
        self.answers += answers
        self.answer_seconds += seconds

    def save(self) -> None:
        saved = {"settings": self.settings, "answers": self.answers, "answer_seconds": round(self.answer_seconds, 2),
                 "seconds": round(self.elapsed(), 2), "evaluations": self.evaluations, "order": self.order,
                 "done": self.done}
        with write_atomically(self.path) as staging:
            staging.write_text(json.dumps(saved, indent=1, ensure_ascii=False), encoding="utf-8")


# The search --------------------------------------------------------------------------------------------

@dataclass
class Optimiser:
    """One persona's search: candidates answered on the dev questions, the best judged on the held-out ones."""

    original: Persona
    catalog: Catalog
    config: "OptimiseConfig"
    pool: dict[str, PoolExample]
    cell: Cell
    dev: list[Example]
    heldout: list[Example]
    passages: dict[str, list[str]]
    chat_model: object
    state: State
    bar: object
    tried: set = field(default_factory=set)

    @property
    def start(self) -> Candidate:
        return Candidate("original", "implicit", False, tuple(i for i, e in self.pool.items() if e.source == "persona"))

    def search(self) -> tuple[Candidate, str]:
        """The best candidate on the dev questions, and why the search stopped."""
        best = self.start
        best_score = self.score(best)  # the baseline: always paid for (run_optimise checks the budget allows it)
        try:
            for dimension, values in (("rules", RULES), ("grounding", GROUNDING), ("layout", LAYOUTS)):
                for value in values:
                    best, best_score = self.keep_better(best, best_score, replace(best, **{dimension: value}))
            rng = random.Random(self.config.seed)
            while (candidate := self.untried_change(best, rng)) is not None:
                best, best_score = self.keep_better(best, best_score, candidate)
        except BudgetSpent as spent:
            return best, str(spent)
        return best, "every change within reach was tried"

    def keep_better(self, best: Candidate, best_score: float, candidate: Candidate) -> tuple[Candidate, float]:
        score = self.score(candidate)
        return (candidate, score) if score > best_score else (best, best_score)

    def score(self, candidate: Candidate) -> float:
        """The candidate's score on the dev questions: measured once, then read from the saved state."""
        persona = candidate_persona(self.original, candidate, self.pool)
        digest = persona.content_hash
        self.tried.add(digest)
        if digest not in self.state.evaluations:
            self.afford(len(self.dev))
            [cell] = summarise(self.answer([persona], [self.cell], self.dev))
            self.state.evaluations[digest] = {"hash": digest, "change": describe(candidate, self.start, self.pool),
                                              **figures(cell, self.config), "answers": len(self.dev)}
            self.state.order.append(digest)
            self.state.save()
            self.project_total()
        return self.state.evaluations[digest]["score"]

    def untried_change(self, best: Candidate, rng: random.Random) -> Candidate | None:
        """A random one-step change of `best` not tried in this search, or None when none turns up."""
        for _ in range(TRIES):
            candidate = self.change(best, rng)
            if candidate_persona(self.original, candidate, self.pool).content_hash not in self.tried:
                return candidate
        return None

    def change(self, best: Candidate, rng: random.Random) -> Candidate:
        moves = ["layout", "rules", "grounding"] + (["swap", "add", "drop"] if self.cell.few_shot else [])
        move = rng.choice(moves)
        if move == "layout":
            return replace(best, layout=rng.choice(LAYOUTS))
        if move == "rules":
            return replace(best, rules=rng.choice(RULES))
        if move == "grounding":
            return replace(best, grounding=not best.grounding)
        examples, unused = list(best.examples), [i for i in self.pool if i not in best.examples]
        if move == "swap" and unused:
            examples[rng.randrange(len(examples))] = rng.choice(unused)
        elif move == "add" and unused and len(examples) < self.config.max_examples:
            examples.append(rng.choice(unused))
        elif move == "drop" and len(examples) > 2:
            del examples[rng.randrange(len(examples))]
        return replace(best, examples=tuple(examples))

    def afford(self, needed: int) -> None:
        """BudgetSpent when `needed` more answers, and the held-out comparison after them, would pass a budget."""
        reserve, config = 2 * len(self.heldout), self.config
        if self.state.answers + needed + reserve > config.budget_answers:
            raise BudgetSpent(f"the budget of {config.budget_answers} answers ({reserve} kept for the held-out "
                              f"comparison)")
        rate = self.state.seconds_per_answer()
        if rate is not None and self.state.elapsed() + (needed + reserve) * rate > 60 * config.budget_minutes:
            raise BudgetSpent(f"the budget of {config.budget_minutes:g} minutes")

    def project_total(self) -> None:
        """The progress bar's total (so its ETA): the answers the budgets allow at the speed measured so far."""
        rate, config = self.state.seconds_per_answer(), self.config
        if rate:
            in_time = self.state.answers + (60 * config.budget_minutes - self.state.elapsed()) / rate
            self.bar.total = max(self.bar.n, min(config.budget_answers, int(in_time)))
            self.bar.refresh()

    def answer(self, personas: list[Persona], cells: list[Cell], questions: list[Example]) -> list[dict]:
        """Every question answered in every cell through the chain, with these personas in the catalog, scored."""
        catalog = Catalog({**self.catalog.personas, **{p.id: p for p in personas}}, self.catalog.instructions, [])
        chain = build_chain(self.chat_model, catalog, as_message=True)
        started, rows = time.monotonic(), []
        for cell in cells:
            rows += answer_cell(chain, cell, questions, self.passages, self.config.batch_size, self.bar)
        score_rows(rows, catalog)
        self.state.spent(len(rows), time.monotonic() - started)
        return rows

    def judge(self, optimised: Persona) -> list[dict]:
        """The original and the optimised persona on the held-out questions: the report's rows."""
        rows = self.answer([self.original, optimised], [self.cell, replace(self.cell, persona=optimised.id)],
                           self.heldout)
        self.state.save()
        return rows
