"""Training data: load five formats, validate with file:line messages, de-duplicate, split, report leakage.

Every format becomes a list of `Example`s (a question, its answer, optional earlier turns and a
category). Problems are collected as `Problem`s: reported and skipped by default, fatal under
`strict`. Nothing is dropped without a line in the report.
"""

import csv
import hashlib
import io
import json
import random
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bot.errors import TandemError
from bot.paths import PROJECT_ROOT
from bot.userinput import MAX_DATA_BYTES, printable, read_user_file, valid_unicode

FORMATS = ("chat", "qa", "alpaca", "sharegpt", "csv")
SAMPLE_DOMAIN = PROJECT_ROOT / "data" / "fernhollow-support"
"""The sample domain (train.jsonl, eval.jsonl, knowledge/): what the commands use when given no data."""


class DataError(TandemError):
    """Data that cannot be used: unreadable, empty, or with problems under --strict."""


@dataclass(frozen=True)
class Example:
    question: str
    answer: str
    category: str | None = None
    history: tuple = ()
    """Earlier turns as ({"role", "content"}, ...), from multi-turn chat or sharegpt records."""
    source: str = ""
    """file:line, for messages about this example."""
    key_facts: tuple = ()
    """Evaluation only: short strings a correct answer must state ("$149.95", "30 days")."""
    group: str | None = None
    """Evaluation only: questions sharing a group (`group` or `fact_id` field) are paraphrases of each other."""
    passage: str | None = None
    """A pair `tandem data synthesize` wrote: the id (`finetune.synthesize.passage_id`) of the document passage it
    was written from. Training grounds it in that passage, and never serves it as knowledge of its own."""


@dataclass
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class LoadedData:
    examples: list[Example]
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0


@dataclass(frozen=True)
class CsvColumns:
    question: str = "question"
    answer: str = "answer"
    category: str | None = None
    key_facts: str | None = None
    """Evaluation sets: a column of key facts separated by semicolons."""
    group: str | None = None


def columns_from_flags(args) -> CsvColumns:
    """The CSV columns the flags name (--key-facts-col and --group-col only where the command has them)."""
    return CsvColumns(args.question_col, args.answer_col, args.category_col, getattr(args, "key_facts_col", None),
                      getattr(args, "group_col", None))


def load_examples(paths: list[Path], fmt: str | None = None, columns: CsvColumns = CsvColumns(),
                  strict: bool = False, max_chars: int | None = None) -> LoadedData:
    """Examples from every file, validated and de-duplicated; DataError under `strict` if any problem."""
    data = LoadedData(examples=[])
    for path in map(Path, paths):
        examples, problems = _load_file(path, fmt, columns)
        data.examples += examples
        data.problems += problems
    if max_chars:
        data.examples, long = _drop_long(data.examples, max_chars)
        data.problems += long
    data.examples, data.duplicates = deduplicate(data.examples)
    if strict and data.problems:
        more = (f" (and {len(data.problems) - 1} more: `tandem data check` lists them all)"
                if len(data.problems) > 1 else "")
        raise DataError(f"{len(data.problems)} problem(s) in the data (--strict): {data.problems[0]}{more}")
    if not data.examples:
        raise DataError(f"no usable examples in {', '.join(map(str, paths))}"
                        + (f"; first problem: {data.problems[0]}" if data.problems else ""))
    return data


def _load_file(path: Path, fmt: str | None, columns: CsvColumns) -> tuple[list[Example], list[Problem]]:
    raw = read_user_file(path, DataError, MAX_DATA_BYTES)
    problems = []
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.append(Problem(f"{path}:1", "starts with a UTF-8 byte-order mark (removed)"))
        raw = raw[3:]
    # CRLF is what RFC 4180, Excel and Python's csv module write: normal, so normalised without a word.
    raw = raw.replace(b"\r\n", b"\n")
    fmt = fmt or detect_format(path, raw)
    if fmt not in FORMATS:
        raise DataError(f"{path}: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "csv":
        examples, more = _read_csv(path, raw, columns)
    else:
        examples, more = _read_jsonl(path, raw, PARSERS[fmt])
    return examples, problems + more


def detect_format(path: Path, raw: bytes) -> str:
    """csv by extension; for JSON lines, by the keys of the first record that parses."""
    if path.suffix.lower() in (".csv", ".tsv"):
        return "csv"
    for line in raw.splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            continue
        if isinstance(record, dict):
            for key, fmt in (("messages", "chat"), ("conversations", "sharegpt"), ("instruction", "alpaca"),
                             ("question", "qa")):
                if key in record:
                    return fmt
    raise DataError(f"{path}: cannot tell the format (expected JSON lines with messages, conversations, "
                    "instruction or question fields, or a .csv file); pass --format")


def _read_jsonl(path: Path, raw: bytes, parse) -> tuple[list[Example], list[Problem]]:
    examples, problems = [], []
    lines = raw.split(b"\n")
    truncated = bool(raw) and not raw.endswith(b"\n")
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            problems.append(Problem(where, f"not valid UTF-8 (byte {error.start + 1}); line skipped"))
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            last = truncated and number == len(lines)
            problems.append(Problem(where, "truncated last line (no newline, incomplete JSON)" if last
                                    else f"invalid JSON: {error.msg} at column {error.colno}"))
            continue
        except ValueError as error:  # valid JSON that Python will not hold: an integer of 5,000 digits
            problems.append(Problem(where, f"unreadable JSON: {str(error).split(';')[0]}"))
            continue
        except RecursionError:
            problems.append(Problem(where, "invalid JSON: nested too deeply"))
            continue
        if not valid_unicode(record):  # no tokenizer takes a lone surrogate
            problems.append(Problem(where, "a string with a lone surrogate escape (such as \\ud800), not valid "
                                           "Unicode; line skipped"))
            continue
        if not isinstance(record, dict):
            problems.append(Problem(where, f"expected a JSON object, got {type(record).__name__}"))
            continue
        try:
            examples.append(parse(record, where))
        except _RecordError as error:
            problems.append(Problem(where, str(error)))
    return examples, problems


class _RecordError(ValueError):
    pass


def _text(record: dict, key: str, required: bool = True) -> str | None:
    if key not in record or record[key] is None:
        if required:
            raise _RecordError(f"field '{key}' is missing")
        return None
    value = record[key]
    if not isinstance(value, str):
        raise _RecordError(f"field '{key}' must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise _RecordError(f"field '{key}' is empty")
    return value.strip() or None


def _parse_qa(record: dict, where: str) -> Example:
    return Example(_text(record, "question"), _text(record, "answer"), _text(record, "category", False),
                   source=where, passage=_text(record, "passage", False))


def _parse_alpaca(record: dict, where: str) -> Example:
    instruction, extra = _text(record, "instruction"), _text(record, "input", False)
    question = f"{instruction}\n\n{extra}" if extra else instruction
    return Example(question, _text(record, "output"), _text(record, "category", False), source=where)


def _parse_turns(turns, key: str, role_key: str, content_key: str, roles: dict, record: dict, where: str) -> Example:
    if not isinstance(turns, list) or not turns:
        raise _RecordError(f"field '{key}' must be a non-empty list")
    messages = []
    for index, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise _RecordError(f"{key}[{index}] must be an object")
        role = roles.get(turn.get(role_key))
        if role is None:
            raise _RecordError(f"{key}[{index}].{role_key} must be one of {', '.join(roles)}")
        content = turn.get(content_key)
        if not isinstance(content, str) or not content.strip():
            raise _RecordError(f"{key}[{index}].{content_key} must be a non-empty string")
        if role != "system":  # the persona layer owns the system prompt
            messages.append({"role": role, "content": content.strip()})
    if len(messages) < 2 or messages[-1]["role"] != "assistant" or messages[-2]["role"] != "user":
        raise _RecordError(f"field '{key}' must end with a user turn followed by an assistant turn")
    return Example(messages[-2]["content"], messages[-1]["content"], _text(record, "category", False),
                   history=tuple(messages[:-2]), source=where)


def _parse_chat(record: dict, where: str) -> Example:
    roles = {"system": "system", "user": "user", "assistant": "assistant"}
    return _parse_turns(record.get("messages"), "messages", "role", "content", roles, record, where)


def _parse_sharegpt(record: dict, where: str) -> Example:
    roles = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
    return _parse_turns(record.get("conversations"), "conversations", "from", "value", roles, record, where)


def _with_eval_fields(parse):
    """The parser, also reading the optional evaluation fields `key_facts` and `group` (or `fact_id`)."""
    def parse_record(record: dict, where: str) -> Example:
        example = parse(record, where)
        facts = record.get("key_facts", [])
        if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
            raise _RecordError("field 'key_facts' must be a list of non-empty strings")
        group = record.get("group", record.get("fact_id"))
        if group is not None and not isinstance(group, (str, int)):
            raise _RecordError("field 'group' must be a string")
        return replace(example, key_facts=tuple(f.strip() for f in facts),
                       group=None if group is None else str(group))
    return parse_record


PARSERS = {name: _with_eval_fields(parse) for name, parse in
           {"qa": _parse_qa, "alpaca": _parse_alpaca, "chat": _parse_chat, "sharegpt": _parse_sharegpt}.items()}


def _read_csv(path: Path, raw: bytes, columns: CsvColumns) -> tuple[list[Example], list[Problem]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 (a CSV file must be UTF-8 throughout)") from None
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise DataError(f"{path}:1: unreadable CSV header: {error}") from None
    if not header:
        raise DataError(f"{path}: empty CSV file")
    wanted = {"--question-col": columns.question, "--answer-col": columns.answer}
    for flag, name in (("--category-col", columns.category), ("--key-facts-col", columns.key_facts),
                       ("--group-col", columns.group)):
        if name:
            wanted[flag] = name
    for flag, name in wanted.items():
        if name not in header:
            raise DataError(f"{path}:1: no column {name!r} ({flag}); columns are: {', '.join(header)}")
    index = {name: header.index(name) for name in wanted.values()}
    examples, problems = [], []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:  # a cell over the csv module's field limit (128 KB): the reader goes on after it
            problems.append(Problem(f"{path}:{reader.line_num}", f"unreadable CSV row: {error}"))
            continue
        where = f"{path}:{reader.line_num}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(Problem(where, f"ragged row: {len(row)} fields, the header has {len(header)}"))
            continue
        question, answer = row[index[columns.question]].strip(), row[index[columns.answer]].strip()
        if not question or not answer:
            empty = columns.question if not question else columns.answer
            problems.append(Problem(where, f"column '{empty}' is empty"))
            continue
        category = row[index[columns.category]].strip() or None if columns.category else None
        facts = tuple(f.strip() for f in row[index[columns.key_facts]].split(";") if f.strip()) if columns.key_facts else ()
        group = row[index[columns.group]].strip() or None if columns.group else None
        examples.append(Example(question, answer, category, source=where, key_facts=facts, group=group))
    return examples, problems


def _drop_long(examples: list[Example], max_chars: int) -> tuple[list[Example], list[Problem]]:
    kept, problems = [], []
    for example in examples:
        size = len(example.question) + len(example.answer) + sum(len(t["content"]) for t in example.history)
        if size > max_chars:
            problems.append(Problem(example.source, f"over-long example: {size:,} characters > {max_chars:,}; skipped"))
        else:
            kept.append(example)
    return kept, problems


MIN_EXAMPLES = 2
"""Training refuses fewer: one example is memorised, not learnt, and leaves nothing to validate on."""
FEW_EXAMPLES = 20


def training_warnings(examples: list[Example], duplicates: int = 0) -> list[str]:
    """What makes loadable data train poorly: too few examples, one answer to every question, one question
    asked every time. Training refuses fewer than MIN_EXAMPLES and goes on after the others."""
    count = len(examples)
    warnings = []
    if count < FEW_EXAMPLES:
        removed = f" ({duplicates} duplicate(s) removed)" if duplicates else ""
        warnings.append(f"only {count} usable example(s){removed}; " + (
            f"training needs at least {MIN_EXAMPLES}, and a few dozen to mean something" if count < MIN_EXAMPLES
            else "the adapter will mostly learn their wording"))
    if count >= MIN_EXAMPLES and len({fold_text(e.answer) for e in examples}) == 1:
        warnings.append(f"all {count} examples have the same answer; the adapter will learn to give it to any question")
    if count >= MIN_EXAMPLES and len({fold_text(e.question) for e in examples}) == 1:
        warnings.append(f"all {count} examples ask the same question; the adapter will learn one of its answers")
    return warnings


def check_from_flags(args) -> int:
    """`tandem data check FILE...`: every problem as file:line, the warnings and a count; exit 1 when there is a
    problem or too few examples to train on."""
    data = load_examples(args.files, args.format, columns_from_flags(args), args.strict)
    for problem in data.problems:
        print(printable(problem))
    for warning in training_warnings(data.examples, data.duplicates):
        print(f"warning: {warning}")
    categories = sorted({e.category for e in data.examples if e.category})
    print(f"{len(data.examples)} usable examples, {len(data.problems)} problems, {data.duplicates} duplicates removed"
          + (f", categories: {', '.join(printable(c) for c in categories)}" if categories else ""))
    return 1 if data.problems or len(data.examples) < MIN_EXAMPLES else 0


def fold_text(text: str) -> str:
    """Case, punctuation and spacing folded, so trivially different copies compare equal."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def deduplicate(examples: list[Example]) -> tuple[list[Example], int]:
    """Keep the first of each group of exact or near duplicates (same question and answer once normalised)."""
    seen, kept = set(), []
    for example in examples:
        key = (fold_text(example.question), fold_text(example.answer))
        if key not in seen:
            seen.add(key)
            kept.append(example)
    return kept, len(examples) - len(kept)


def split(examples: list[Example], validation_fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """A deterministic train/validation split, stratified by category when examples have one."""
    if validation_fraction <= 0:
        return list(examples), []
    groups: dict[str | None, list[Example]] = {}
    for example in examples:
        groups.setdefault(example.category, []).append(example)
    train, validation = [], []
    rng = random.Random(seed)
    for category in sorted(groups, key=str):
        group = groups[category][:]
        rng.shuffle(group)
        count = round(len(group) * validation_fraction)
        if count == 0 and len(group) >= 4:  # small categories still get one validation example
            count = 1
        validation += group[:count]
        train += group[count:]
    return train, validation


def data_hash(examples: list[Example]) -> str:
    """A content hash of the examples (not of the files), so re-formatting the same data keeps the hash."""
    digest = hashlib.sha256()
    for example in examples:
        record = asdict(example)
        record.pop("source")
        if record["passage"] is None:
            del record["passage"]  # a hand-written pair hashes by its fields alone, as every adapter card records it
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


@dataclass
class Leak:
    eval_question: str
    train_question: str
    cosine: float


def leakage_report(train: list[Example], evaluation: list[str], threshold: float = 0.9) -> list[Leak]:
    """Evaluation questions whose embedding is within `threshold` cosine of a training question."""
    from bot.embeddings import embed

    if not train or not evaluation:
        return []
    train_questions = [e.question for e in train]
    similarity = embed(evaluation) @ embed(train_questions).T
    leaks = []
    for row, question in enumerate(evaluation):
        best = int(similarity[row].argmax())
        if similarity[row, best] >= threshold:
            leaks.append(Leak(question, train_questions[best], round(float(similarity[row, best]), 3)))
    return leaks
