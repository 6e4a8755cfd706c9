"""`tandem train`, `export`, `eval`, `data check`, `data export`, `data synthesize` and `personas optimise`: registered into the `tandem`
command as a plugin.

`bot` never imports `finetune`; `bot.cli` finds these commands through the `tandem.commands`
entry point declared in pyproject.toml, the same hook any third-party package can use. The parser is built here;
each `run_*` is one call into the module that owns the command, which reads its flags.
"""

import argparse
from pathlib import Path

from bot.paths import PROJECT_ROOT


def register(commands, personas) -> None:
    """Add train, export, eval and data to `tandem`, and optimise to `tandem personas`."""
    from finetune.data import FORMATS, SAMPLE_DOMAIN
    from finetune.evaluation.evaluate import EVAL_FLAGS, EvalConfig
    from finetune.flags import add_field_flags
    from finetune.prompt_search.optimise import OPTIMISE_FLAGS, OptimiseConfig
    from finetune.recipe import Recipe
    from finetune.synthesize import SYNTHESIS_MODEL

    train = commands.add_parser("train", help="LoRA fine-tune on a domain corpus")
    train.add_argument("--data", action="append", type=Path, metavar="FILE",
                       help=f"training file (repeatable; default: {SAMPLE_DOMAIN.relative_to(PROJECT_ROOT)}/train.jsonl)")
    _add_data_options(train, FORMATS)
    train.add_argument("--knowledge", type=Path, metavar="DIR",
                       help="documents to retrieve from (default: knowledge/ beside the first --data file); without "
                            "--data, training pairs are synthesized from them first (tandem data synthesize)")
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
    synthesize = data.add_parser(
        "synthesize", help="write question/answer pairs from a knowledge directory's passages, for training",
        description="The largest embedded model writes questions a reader could ask of each passage, with answers in "
                    "the passage's words; pairs whose answer is not found in its passage, and near-duplicate "
                    "questions, are dropped. An interrupted run resumes when run again with the same flags.")
    synthesize.add_argument("--knowledge", type=Path, required=True, metavar="DIR", help="the documents")
    synthesize.add_argument("--out", type=Path, required=True, metavar="FILE", help="the qa JSONL file to write")
    synthesize.add_argument("--model", metavar="NAME", help=f"the model that writes the pairs (default: {SYNTHESIS_MODEL})")
    synthesize.add_argument("--questions-per-passage", type=int, default=4, metavar="N", help="default: 4")
    synthesize.add_argument("--limit", type=int, metavar="N", help="only the first N passages")
    synthesize.set_defaults(run=run_data_synthesize)


def _add_data_options(parser: argparse.ArgumentParser, formats) -> None:
    parser.add_argument("--format", choices=formats, help="override format detection")
    parser.add_argument("--question-col", default="question", help="CSV column with the question")
    parser.add_argument("--answer-col", default="answer", help="CSV column with the answer")
    parser.add_argument("--category-col", help="CSV column with a category (stratifies the split)")
    parser.add_argument("--strict", action="store_true", help="reject the data on any problem instead of skipping")


def run_train(args) -> int:
    from finetune.train import train_from_flags

    return train_from_flags(args)


def run_export(args) -> int:
    from finetune.export import export_merged

    export_merged(args.adapter, args.out)
    return 0


def run_eval(args) -> int:
    if args.compare:
        from finetune.evaluation.report import compare_from_flags

        return compare_from_flags(args)
    from finetune.evaluation.evaluate import evaluate_from_flags

    return evaluate_from_flags(args)


def run_optimise(args) -> int:
    from finetune.prompt_search.optimise import optimise_from_flags

    return optimise_from_flags(args)


def run_data_check(args) -> int:
    from finetune.data import check_from_flags

    return check_from_flags(args)


def run_data_synthesize(args) -> int:
    from finetune.synthesize import synthesize_from_flags

    return synthesize_from_flags(args)


def run_data_export(args) -> int:
    from finetune.feedback import export_from_flags

    return export_from_flags(args)
