"""`tandem data synthesize`: question/answer pairs written from a knowledge directory's passages, for a user who has
documents but no training pairs.

    tandem data synthesize --knowledge contracts/ --out qa.jsonl

The largest embedded model reads each passage and writes a few questions a reader could ask of it, each with an
answer in the passage's own words. A pair is kept only when its answer is found in its passage (every number, amount
and code it states is the passage's, and most of its words are) and its question is not a near-duplicate of one
already kept. Rows are `qa` records that `tandem train --data` reads, with the passage they came from.

The output grows one passage at a time and a progress file beside it (OUT.progress.jsonl) records each passage
done, so an interrupted run resumes where it stopped: run the same command again.
"""

import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.messages import HumanMessage

from bot.errors import TandemError
from bot.files import write_atomically
from bot.retrieval import document_passages
from bot.specifics import fact_tokens, specifics

SYNTHESIS_MODEL = "qwen2.5-coder-1.5b-instruct"
"""The largest embedded model: it writes the pairs that a smaller model is then tuned on."""
PROMPT = """Here is a passage from the document "{source}":

{text}

Write {count} questions that a reader of this document might ask and that this passage answers. Ask each about a \
different specific fact of the passage (a number, a time limit, an amount, a condition or an obligation), and \
phrase it the way a customer would, not in the passage's words. After each question write its answer in one or two \
short sentences that state the fact with the passage's own figures and terms. When the passage numbers its sections \
or clauses (such as "§4.3" or "4.3"), end the answer with the number of the one that states the fact, in \
parentheses. Use exactly this form:

Q: <question>
A: <answer>"""
PAIR = re.compile(r"^\s*Q:\s*(?P<question>.+?)\s*\n\s*A:\s*(?P<answer>.+?)\s*(?=\n\s*Q:|\Z)", re.S | re.M)


@dataclass(frozen=True)
class SynthesisConfig:
    """What `tandem data synthesize` writes and how."""

    knowledge: Path
    """The documents whose passages the questions are written from."""
    out: Path
    """The JSONL file of qa records; OUT.progress.jsonl beside it records the passages done."""
    model: str = SYNTHESIS_MODEL
    questions_per_passage: int = 4
    max_answer_words: int = 60
    """Longer answers restate the passage rather than answer a question."""
    min_words_found: float = 0.6
    """Of an answer's content words, at least this share must be in its passage."""
    duplicate_similarity: float = 0.92
    """A question whose MiniLM cosine to a kept one reaches this is a near-duplicate."""
    limit: int | None = None
    """Only the first this many passages (a quick look before the whole run)."""

    def __post_init__(self):
        if self.questions_per_passage < 1:
            raise TandemError("--questions-per-passage must be at least 1")
        if not 0 < self.duplicate_similarity <= 1:
            raise TandemError("--duplicate-similarity must be in (0, 1]")

    def settings(self) -> dict:
        """What the output depends on: a resumed run must use the same."""
        return {"knowledge": str(self.knowledge.resolve()), "model": self.model,
                "questions_per_passage": self.questions_per_passage, "max_answer_words": self.max_answer_words,
                "min_words_found": self.min_words_found, "duplicate_similarity": self.duplicate_similarity,
                "prompt": hashlib.sha256(PROMPT.encode()).hexdigest()[:16]}


@dataclass
class Tally:
    """What became of the written pairs."""

    passages: int = 0
    written: int = 0
    kept: int = 0
    dropped: dict = field(default_factory=dict)
    """Reason -> count."""

    def add(self, written: int, kept: int, dropped: dict) -> None:
        """One passage done."""
        self.passages += 1
        self.written += written
        self.kept += kept
        for reason, count in dropped.items():
            self.dropped[reason] = self.dropped.get(reason, 0) + count

    def summary(self) -> str:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(self.dropped.items()))
        return (f"{self.passages} passages: {self.written} pairs written, {self.kept} kept"
                + (f"; dropped {reasons}" if reasons else ""))


def passage_id(passage: Document) -> str:
    return hashlib.sha256(passage.page_content.encode()).hexdigest()[:16]


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """The Q:/A: pairs of a model's reply, in order."""
    return [(" ".join(m["question"].split()), " ".join(m["answer"].split())) for m in PAIR.finditer(text)]


def drop_reason(question: str, answer: str, passage: str, config: SynthesisConfig) -> str | None:
    """Why a pair is not kept, or None: a question that is not one, an answer too long, or one not found in its
    passage (a specific the passage does not state, or too few of its words)."""
    if not question.endswith("?") or len(question.split()) < 3:
        return "not a question"
    if len(answer.split()) > config.max_answer_words:
        return "answer too long"
    if not specifics(answer) <= specifics(passage):
        return "specifics not in the passage"
    answer_words = {w for w in fact_tokens(answer) if w.isalpha() and len(w) > 3}
    passage_words = set(fact_tokens(passage))
    if answer_words and len(answer_words & passage_words) < config.min_words_found * len(answer_words):
        return "answer not in the passage"
    return None


def write_pairs(passage: Document, chat_model, config: SynthesisConfig) -> list[tuple[str, str]]:
    """The pairs the model writes for one passage (greedy, so a rerun writes the same)."""
    prompt = PROMPT.format(source=passage.metadata.get("source", ""), text=passage.page_content,
                           count=config.questions_per_passage)
    reply = chat_model.invoke([HumanMessage(prompt)], temperature=0, repetition_penalty=1.0,
                              max_new_tokens=90 * config.questions_per_passage)
    return parse_pairs(reply.content)


class Progress:
    """OUT.progress.jsonl: its first line the settings, then one line per passage done. The output's rows of a
    passage are written before its progress line, so rows without one are a passage interrupted halfway."""

    def __init__(self, config: SynthesisConfig):
        self.path = config.out.with_name(config.out.name + ".progress.jsonl")
        self.settings = config.settings()
        self.done: set[str] = set()
        self.tally = Tally()

    def resume(self, out: Path) -> list[dict]:
        """The rows of the passages already done (the output is rewritten without any others); `tally` counts
        those passages."""
        if not self.path.is_file():
            if out.exists():
                raise TandemError(f"{out} exists and has no progress file: choose another --out or remove it")
            return []
        _drop_cut_line(self.path)
        _drop_cut_line(out)
        try:
            settings, *records = _records(self.path)
            for record in records:
                self.done.add(record["passage"])
                self.tally.add(record["written"], record["kept"], record["dropped"])
        except (ValueError, KeyError, TypeError):
            raise TandemError(f"{self.path}: not a progress file of tandem data synthesize; remove it to start "
                              "again") from None
        if settings != self.settings:
            raise TandemError(f"{out} was written with other settings ({self.path}); use the same flags, or remove "
                              "both files to start again")
        try:
            rows = _records(out) if out.is_file() else []
        except ValueError:
            raise TandemError(f"{out}: not the output of tandem data synthesize; remove it and {self.path.name} to "
                              "start again") from None
        finished = [row for row in rows if row.get("passage") in self.done]
        if len(finished) != len(rows):
            _rewrite(out, finished)
        return finished

    def start(self) -> None:
        if not self.path.is_file():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.settings) + "\n", encoding="utf-8")

    def record(self, passage: str, written: int, kept: int, dropped: dict) -> None:
        _append(self.path, [{"passage": passage, "written": written, "kept": kept, "dropped": dropped}])
        self.done.add(passage)
        self.tally.add(written, kept, dropped)


def _records(path: Path) -> list[dict]:
    """A JSONL file's records (ValueError on a line that is not JSON)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _drop_cut_line(path: Path) -> None:
    """Remove a last line that a crash cut short (no newline at its end), so appending goes on from whole lines."""
    if path.is_file() and (text := path.read_text(encoding="utf-8")) and not text.endswith("\n"):
        with write_atomically(path) as staging:
            staging.write_text(text[:text.rfind("\n") + 1], encoding="utf-8")


def _rewrite(path: Path, records: list[dict]) -> None:
    with write_atomically(path) as staging:
        staging.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _append(path: Path, records: list[dict]) -> None:
    """Append whole lines and sync them, so a crash loses at most the passage being written."""
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
        f.flush()
        os.fsync(f.fileno())


def synthesize(config: SynthesisConfig, chat_model=None, progress: bool = True) -> Tally:
    """Write pairs for every passage of `config.knowledge` not yet done into `config.out`; `chat_model` defaults to
    `config.model` on the default backend."""
    import numpy as np
    from tqdm.auto import tqdm

    from bot.chat_model import load_chat_model
    from bot.embeddings import embed

    passages = document_passages(config.knowledge)[:config.limit]
    state = Progress(config)
    kept_rows = state.resume(config.out)
    state.start()
    todo = [p for p in passages if passage_id(p) not in state.done]
    if todo and chat_model is None:
        chat_model = load_chat_model(config.model)
    kept_vectors = embed([row["question"] for row in kept_rows]) if kept_rows else np.zeros((0, 384), "float32")
    for passage in tqdm(todo, desc="synthesize", unit="passage", disable=not progress):
        pairs, rows, dropped = write_pairs(passage, chat_model, config), [], {}
        for question, answer in pairs:
            reason = drop_reason(question, answer, passage.page_content, config)
            vector = embed([question])
            if reason is None and len(kept_vectors) and float((kept_vectors @ vector[0]).max()) >= config.duplicate_similarity:
                reason = "near-duplicate question"
            if reason is not None:
                dropped[reason] = dropped.get(reason, 0) + 1
                continue
            kept_vectors = np.vstack([kept_vectors, vector])
            rows.append({"question": question, "answer": answer, "category": passage.metadata.get("source") or None,
                         "passage": passage_id(passage), "section": passage.metadata.get("section", "")})
        if rows:
            _append(config.out, rows)
        state.record(passage_id(passage), len(pairs), len(rows), dropped)
    if not config.out.exists():
        config.out.write_text("", encoding="utf-8")
    return state.tally


def synthesize_from_flags(args) -> int:
    """`tandem data synthesize`: pairs from the flags' knowledge, the summary on stderr."""
    config = SynthesisConfig(knowledge=args.knowledge, out=args.out, model=args.model or SYNTHESIS_MODEL,
                             questions_per_passage=args.questions_per_passage, limit=args.limit)
    tally = synthesize(config)
    print(f"tandem: {tally.summary()} → {config.out}", file=sys.stderr, flush=True)
    if tally.kept == 0:
        raise TandemError(f"no pair survived the filters; look at {config.out.name}'s passages, or raise "
                          "--questions-per-passage")
    return 0

