"""Rated chat turns into training data: keep the approved answers, drop known examples, scrub personal data.

    tandem data export --since 2025-01-01 --persona support --out feedback.jsonl

A turn becomes an example when it was rated and its answer can be trusted: the user's correction
when there is one, otherwise the model's answer if it got a thumbs-up. A thumbs-down without a
correction says the answer was wrong but not what is right, so it is left out (and counted).
"""

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from bot.errors import TandemError
from bot.files import write_atomically
from bot.store import ConversationStore, log_exists, log_location
from finetune.data import SAMPLE_DOMAIN, fold_text, load_examples

SCRUB_KINDS = ("email", "phone", "card")
DEFAULT_EXISTING = SAMPLE_DOMAIN / "train.jsonl"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet runs a cell that starts with one of these as a formula (CSV injection)."""


@dataclass
class ExportReport:
    out: Path
    exported: int = 0
    skipped_thumbs_down: int = 0
    """Thumbs-down without a correction: no answer to learn from."""
    skipped_empty: int = 0
    """Rated turns with an empty question or answer, which no training format accepts."""
    duplicates_of_training: int = 0
    duplicates_within: int = 0
    scrubbed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCRUB_KINDS, 0))
    """Replacements per kind in the exported examples."""


def export_feedback(store: ConversationStore, out: Path, since: datetime | date | None = None,
                    persona: str | None = None, scrub: Iterable[str] = SCRUB_KINDS,
                    existing: list[Path] | None = None) -> ExportReport:
    """Write the rated turns of `store` as chat-messages JSONL (or CSV when `out` ends in .csv).

    `existing` is the training data the export must not repeat (default: the sample domain's
    train.jsonl; `[]` for none). The file appears complete or not at all, readable by its owner only
    (it holds what users typed).
    """
    scrub = set(scrub)
    unknown = sorted(scrub - set(SCRUB_KINDS))
    if unknown:
        raise TandemError(f"unknown scrub kind {unknown[0]!r}; choose from {', '.join(SCRUB_KINDS)}")
    out = Path(out)
    report = ExportReport(out)
    training = _training_pairs([DEFAULT_EXISTING] if existing is None else existing)
    exported, rows = set(), []
    for turn in store.rated_turns(since=since, persona=persona):
        answer = approved_answer(turn)
        if answer is None:
            report.skipped_thumbs_down += 1
            continue
        counts = dict.fromkeys(SCRUB_KINDS, 0)
        question = scrub_text(turn["question"], scrub, counts).strip()
        answer = scrub_text(answer, scrub, counts).strip()
        key = (fold_text(question), fold_text(answer))
        if not question or not answer:
            report.skipped_empty += 1
        elif key in training:
            report.duplicates_of_training += 1
        elif key in exported:
            report.duplicates_within += 1
        else:
            exported.add(key)
            for kind, count in counts.items():
                report.scrubbed[kind] += count
            rows.append({"question": question, "answer": answer, "persona": turn["persona_id"],
                         "turn_id": turn["id"]})
    report.exported = len(rows)
    with write_atomically(out) as staging:  # a reader never sees half a file
        staging.write_text(_csv_text(rows) if out.suffix.lower() == ".csv" else _jsonl_text(rows),
                           encoding="utf-8", newline="")
    return report


def export_from_flags(args) -> int:
    """`tandem data export`: the rated turns of the log the flags name, written out, then what was kept, left
    out and scrubbed."""
    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError:
        raise TandemError(f"--since {args.since!r}: expected a date as YYYY-MM-DD") from None
    db = log_location(args.db)
    if not log_exists(db):
        raise TandemError(f"no conversation log at {db}; chats are logged there by tandem serve (or pass --db)")
    scrub = set() if args.no_scrub else {kind.strip() for kind in args.scrub.split(",") if kind.strip()}
    out = args.out or Path(f"feedback-{date.today().isoformat()}.jsonl")
    report = export_feedback(ConversationStore(db), out, since=since, persona=args.persona, scrub=scrub,
                             existing=args.existing)
    print(f"{report.exported} examples written to {report.out}")
    print(f"left out: {report.skipped_thumbs_down} thumbs-down without a correction, "
          f"{report.duplicates_of_training} already in the training data, "
          f"{report.duplicates_within} repeated within the export, {report.skipped_empty} empty")
    kinds = [kind for kind in SCRUB_KINDS if kind in scrub]
    print("scrubbed: " + (", ".join(f"{report.scrubbed[kind]} {kind}" for kind in kinds) or "nothing"))
    return 0


def approved_answer(turn: dict) -> str | None:
    """The answer a rated turn vouches for: the correction where one was given, the answer itself for a thumbs-up;
    None for a thumbs-down without a correction (it says what is wrong, not what is right)."""
    return turn["correction"] or (turn["answer"] if turn["rating"] == 1 else None)


def _training_pairs(paths: list[Path]) -> set[tuple[str, str]]:
    """(question, answer) of every training example, normalised as finetune.data de-duplicates them."""
    if not paths:
        return set()
    return {(fold_text(e.question), fold_text(e.answer)) for e in load_examples(list(paths)).examples}


# Scrubbing. Cards are matched before phones, so a card's digit groups are never taken for a phone.

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
"""13 to 19 digits, optionally grouped by single spaces or dashes; kept unless the Luhn check passes."""
PHONE_INTERNATIONAL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?(?:\(\d{1,5}\)|\d{1,5})){1,6}(?![\w-])")
"""+44 20 7946 0958, +1 (555) 123-4567, +4930123456: a country code, then 8-15 digits in all (E.164)."""
PHONE_US = re.compile(r"(?<![\w+/-])(?:1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])")
"""(555) 123-4567, 555-123-4567, 555.123.4567, 1-800-555-0199. Ungrouped digit runs are not phones:
they are as likely order numbers."""


def scrub_text(text: str, kinds: set[str], counts: dict[str, int]) -> str:
    """`text` with the chosen kinds of personal data replaced by [EMAIL], [PHONE], [CARD]; counts added up."""
    def replace(kind: str, check=None):
        def substitute(match: re.Match) -> str:
            if check and not check(match.group()):
                return match.group()
            counts[kind] += 1
            return f"[{kind.upper()}]"
        return substitute

    if "email" in kinds:
        text = EMAIL.sub(replace("email"), text)
    if "card" in kinds:
        text = CARD.sub(replace("card", lambda found: luhn_valid(_digits(found))), text)
    if "phone" in kinds:
        text = PHONE_INTERNATIONAL.sub(replace("phone", lambda found: 8 <= len(_digits(found)) <= 15), text)
        text = PHONE_US.sub(replace("phone"), text)
    return text


def luhn_valid(digits: str) -> bool:
    """The checksum every payment card number satisfies (and 9 in 10 random numbers fail)."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# Writing

def _jsonl_text(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        record = {"messages": [{"role": "user", "content": row["question"]},
                               {"role": "assistant", "content": row["answer"]}],
                  "persona": row["persona"], "turn_id": row["turn_id"], "source": "feedback"}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines)


def _csv_text(rows: list[dict]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")  # LF: the data loader flags CRLF files
    writer.writerow(["question", "answer", "persona"])
    for row in rows:
        writer.writerow([neutralise_formula(row[column]) for column in ("question", "answer", "persona")])
    return text.getvalue()


def neutralise_formula(cell: str) -> str:
    """A leading apostrophe on a cell a spreadsheet would run as a formula, so it shows as text."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell

