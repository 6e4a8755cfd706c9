"""`tandem train`, `export`, `eval`, `data check`, `data export` and `personas optimise`: registered into the `tandem`
command as a plugin.

`bot` never imports `finetune`; `bot.cli` finds these commands through the `tandem.commands`
entry point declared in pyproject.toml, the same hook any third-party package can use.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from bot.errors import TandemError
from bot.paths import PROJECT_ROOT

SAMPLE_DOMAIN = PROJECT_ROOT / "data" / "fernhollow-support"
EVAL_FLAGS = {"data": {"metavar": "FILE"}, "knowledge": {"metavar": "DIR"}, "base_model": {"metavar": "MODEL"},
              "adapters": {"flag": "adapter", "metavar": "DIR"}, "personas": {"metavar": "IDS"},
              "prompts": {"metavar": "KINDS"}, "limit": {"metavar": "N"}, "general_questions": {"metavar": "FILE"},
              "out": {"metavar": "DIR"}, "optimisation": {"metavar": "DIR"}}
"""How some of EvalConfig's fields read as flags; every field is one (finetune.flags)."""
OPTIMISE_FLAGS = {"data": {"metavar": "FILE"}, "examples": {"metavar": "FILE"}, "db": {"metavar": "URL|FILE"},
                  "knowledge": {"metavar": "DIR"}, "base_model": {"metavar": "MODEL"},
                  "adapters": {"flag": "adapter", "metavar": "DIR"}, "out": {"metavar": "FILE"},
                  "reports": {"metavar": "DIR"}, "new_id": {"metavar": "ID"}}
"""How some of OptimiseConfig's fields read as flags; every field is one."""


def register(commands, personas) -> None:
    """Add train, export, eval and data to `tandem`, and optimise to `tandem personas`."""
    from finetune.data import FORMATS
    from finetune.evaluation.evaluate import EvalConfig
    from finetune.flags import add_field_flags
    from finetune.prompt_search.optimise import OptimiseConfig
    from finetune.recipe import Recipe

    train = commands.add_parser("train", help="LoRA fine-tune on a domain corpus")
    train.add_argument("--data", action="append", type=Path, metavar="FILE",
                       help=f"training file (repeatable; default: {SAMPLE_DOMAIN.relative_to(PROJECT_ROOT)}/train.jsonl)")
    _add_data_options(train, FORMATS)
    train.add_argument("--eval-data", action="append", type=Path, default=None, metavar="FILE",
                       help="evaluation set to check for leakage (default: eval.jsonl beside the first --data file)")
    train.add_argument("--recipe", default="default", help="recipe name (finetune/recipes/) or YAML path")
    train.add_argument("--out", type=Path, help="adapter directory (default: $TANDEM_HOME/adapters/NAME, NAME from "
                                                "the first --data file, or its directory for a train.jsonl)")
    train.add_argument("--resume", action="store_true", help="continue from the last complete checkpoint")
    overrides = train.add_argument_group("recipe overrides (each replaces the recipe's field of the same name)")
    add_field_flags(overrides, Recipe, "recipe_")
    train.set_defaults(run=run_train)

    export = commands.add_parser("export", help="merge an adapter into its base and save a standalone model")
    export.add_argument("--adapter", type=Path, required=True)
    export.add_argument("--out", type=Path, required=True)
    export.set_defaults(run=run_export)

    evaluate = commands.add_parser(
        "eval", help="measure fine-tuning against prompting: the model × prompt matrix and its report",
        description="Answer a held-out evaluation set with the base model and each adapter, under no system "
                    "prompt, each persona, persona + few-shot examples and persona + retrieval; score every answer "
                    "and write reports/<timestamp>/report.html. Flags override the --config file's fields.")
    evaluate.add_argument("--config", type=Path, help="YAML file with any of the fields below")
    questions = evaluate.add_mutually_exclusive_group()
    add_field_flags(evaluate, EvalConfig, "eval_", {**EVAL_FLAGS, "limit": {**EVAL_FLAGS["limit"], "group": questions}})
    questions.add_argument("--all", action="store_true", help="every question of the evaluation set")
    evaluate.add_argument("--no-adapter", action="store_true", help="evaluate the base model only")
    _add_data_options(evaluate, FORMATS)
    evaluate.add_argument("--key-facts-col", help="CSV column with key facts separated by ';'")
    evaluate.add_argument("--group-col", help="CSV column naming the paraphrase group of a question")
    evaluate.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"),
                          help="compare two report directories instead of running the matrix")
    evaluate.add_argument("--gate", action="store_true", help="with --compare: exit 1 on any regression")
    evaluate.add_argument("--max-recall-drop", type=float, default=2.0, metavar="POINTS",
                          help="a cell's key-fact recall may fall this much before it is a regression (default 2)")
    evaluate.add_argument("--max-adherence-drop", type=float, default=5.0, metavar="POINTS",
                          help="a cell's persona adherence may fall this much before it is a regression (default 5)")
    evaluate.set_defaults(run=run_eval)

    optimise = personas.add_parser(
        "optimise", help="search a persona's few-shot examples and wording against the report's metric",
        description="Search which few-shot examples the persona carries, how many, and the wording of its "
                    "instruction and rules, scored on dev questions through the chain as tandem eval scores them; "
                    "write the best as a new persona file and a report of before and after on held-out questions. "
                    "Bounded by --budget-answers and --budget-minutes; a rerun with the same settings resumes.")
    optimise.add_argument("id", help="the persona to optimise (its file is never changed)")
    add_field_flags(optimise, OptimiseConfig, "optimise_", OPTIMISE_FLAGS)
    optimise.add_argument("--no-adapter", action="store_true", help="the persona will run on the base model alone")
    optimise.add_argument("--restart", action="store_true", help="forget the saved search for these settings")
    optimise.add_argument("--personas", action="append", default=[], type=Path, metavar="DIR",
                          help="extra persona directory (repeatable), as for the other commands")
    optimise.set_defaults(run=run_optimise)

    data = commands.add_parser("data", help="training data tools").add_subparsers(required=True, metavar="ACTION")
    check = data.add_parser("check", help="validate data files and report every problem with file:line")
    check.add_argument("files", nargs="+", type=Path)
    _add_data_options(check, FORMATS)
    check.set_defaults(run=run_data_check)
    export_feedback = data.add_parser(
        "export", help="turn rated chat turns into training data (chat-messages JSONL, or CSV)",
        description="Write the rated turns of the conversation log as training examples: the correction when "
                    "one was given, else a thumbs-up answer. Examples already in the training data are left out "
                    "and e-mail addresses, phone numbers and card numbers are replaced by [EMAIL], [PHONE], [CARD].")
    export_feedback.add_argument("--since", metavar="YYYY-MM-DD", help="only turns from this day on (UTC)")
    export_feedback.add_argument("--persona", metavar="ID", help="only turns answered under this persona")
    export_feedback.add_argument("--out", type=Path, metavar="FILE",
                                 help="output file, CSV if it ends in .csv (default: feedback-<today>.jsonl)")
    export_feedback.add_argument("--db", metavar="URL|FILE",
                                 help="conversation log: an SQLite file or a postgresql:// URL (default: $TANDEM_DB_URL, "
                                      "else $TANDEM_HOME/conversations.sqlite3)")
    scrubbing = export_feedback.add_mutually_exclusive_group()
    scrubbing.add_argument("--scrub", metavar="KINDS", default="email,phone,card",
                           help="comma-separated kinds of personal data to replace (default: email,phone,card)")
    scrubbing.add_argument("--no-scrub", action="store_true", help="replace nothing")
    export_feedback.add_argument("--existing", nargs="+", type=Path, metavar="FILE",
                                 help="training data to leave out of the export (default: "
                                      f"{SAMPLE_DOMAIN.relative_to(PROJECT_ROOT)}/train.jsonl)")
    export_feedback.set_defaults(run=run_data_export)


def _add_data_options(parser: argparse.ArgumentParser, formats) -> None:
    parser.add_argument("--format", choices=formats, help="override format detection")
    parser.add_argument("--question-col", default="question", help="CSV column with the question")
    parser.add_argument("--answer-col", default="answer", help="CSV column with the answer")
    parser.add_argument("--category-col", help="CSV column with a category (stratifies the split)")
    parser.add_argument("--strict", action="store_true", help="reject the data on any problem instead of skipping")


def _columns(args):
    from finetune.data import CsvColumns

    return CsvColumns(args.question_col, args.answer_col, args.category_col)


def run_train(args) -> int:
    # Transparent huge pages for PyTorch's large CPU buffers (read at the first tensor allocation). Training
    # allocates and frees hundreds of MB of activations and logits every step; with 4 KB pages the kernel spent
    # as much time faulting pages in as the model spent computing. Measured on 216 sample examples, 1 epoch:
    # 113 -> 168 train tokens/s, the same losses. `THP_MEM_ALLOC_ENABLE=0` turns it off.
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    from bot.paths import tandem_home
    from finetune.flags import apply_field_flags
    from finetune.recipe import RecipeError, load_recipe
    from finetune.train import TrainRequest, train

    data = args.data or [SAMPLE_DOMAIN / "train.jsonl"]
    eval_data = args.eval_data
    if eval_data is None:
        beside = data[0].with_name("eval.jsonl")
        eval_data = [beside] if beside.is_file() and beside != data[0] else []
    recipe = apply_field_flags(load_recipe(args.recipe), args, "recipe_", RecipeError)
    name = data[0].parent.name if data[0].stem == "train" else data[0].stem  # data/shop/train.jsonl -> shop
    out = args.out or tandem_home() / "adapters" / name
    train(TrainRequest(data=data, out=out, recipe=recipe, format=args.format, columns=_columns(args),
                       strict=args.strict, resume=args.resume, eval_data=eval_data))
    return 0


def run_eval(args) -> int:
    from finetune.data import CsvColumns
    from finetune.evaluation.evaluate import EvalConfig, load_eval_config, run_eval as run_matrix
    from finetune.flags import apply_field_flags

    if args.compare:
        return run_compare(args)
    if args.gate:
        raise TandemError("--gate needs --compare OLD NEW")
    config = load_eval_config(args.config) if args.config else EvalConfig()
    switches = {**({"adapters": []} if args.no_adapter else {}), **({"limit": None} if args.all else {})}
    config = apply_field_flags(config, args, "eval_", custom=EVAL_FLAGS, **switches)
    columns = CsvColumns(args.question_col, args.answer_col, args.category_col, args.key_facts_col, args.group_col)
    out = run_matrix(config, columns=columns, data_format=args.format)
    summary = json.loads((out / "summary.json").read_text())
    for sentence in summary["verdict"] + summary["cost"]:
        print(sentence)
    print(f"Report: {out / 'report.html'} (and report.md, results.jsonl)")
    return 0


def run_optimise(args) -> int:
    from bot.personas import load_catalog
    from finetune.flags import apply_field_flags
    from finetune.prompt_search.optimise import OptimiseConfig, OptimiseError, run_optimise as optimise

    for directory in args.personas:
        if not directory.is_dir():
            raise TandemError(f"--personas {directory}: no such directory")
    config = apply_field_flags(OptimiseConfig(), args, "optimise_", OptimiseError, OPTIMISE_FLAGS,
                               **({"adapters": []} if args.no_adapter else {}))
    result = optimise(args.id, config, load_catalog(args.personas), restart=args.restart)
    summary = json.loads((result.report / "summary.json").read_text())
    if result.reused:
        print("Nothing new to try within the budget: the saved search's result stands.")
    for sentence in summary["verdict"] + summary["cost"]:
        print(sentence)
    print(f"Persona: {result.persona_file} (use it with --personas {result.persona_file.parent})")
    print(f"Report: {result.report / 'report.html'} (and report.md, results.jsonl)")
    return 0


def run_compare(args) -> int:
    from finetune.evaluation.report import compare, write_comparison

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


def run_export(args) -> int:
    from finetune.export import export_merged

    export_merged(args.adapter, args.out)
    return 0


def run_data_check(args) -> int:
    from bot.userinput import printable
    from finetune.data import MIN_EXAMPLES, load_examples, training_warnings

    data = load_examples(args.files, args.format, _columns(args), args.strict)
    for problem in data.problems:
        print(printable(problem))
    for warning in training_warnings(data.examples, data.duplicates):
        print(f"warning: {warning}")
    categories = sorted({e.category for e in data.examples if e.category})
    print(f"{len(data.examples)} usable examples, {len(data.problems)} problems, {data.duplicates} duplicates removed"
          + (f", categories: {', '.join(printable(c) for c in categories)}" if categories else ""))
    return 1 if data.problems or len(data.examples) < MIN_EXAMPLES else 0


def run_data_export(args) -> int:
    from datetime import date

    from bot.store import ConversationStore, log_exists, log_location
    from finetune.feedback import SCRUB_KINDS, export_feedback

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
