"""`tandem train`, `tandem export` and `tandem data check`: registered into the `tandem` command as a plugin.

`bot` never imports `finetune`; `bot.cli` finds these commands through the `tandem.commands`
entry point declared in pyproject.toml, the same hook any third-party package can use.
"""

import argparse
from pathlib import Path

from bot.paths import PROJECT_ROOT

SAMPLE_DOMAIN = PROJECT_ROOT / "data" / "fernhollow-support"


def register(commands) -> None:
    from finetune.data import FORMATS
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
    for name, info in Recipe.model_fields.items():
        kind = {int: int, float: float}.get(info.annotation, str)
        overrides.add_argument("--" + name.replace("_", "-"), dest=f"recipe_{name}", type=kind, default=None,
                               metavar=name.split("_")[-1].upper(),
                               help=info.description)
    train.set_defaults(run=run_train)

    export = commands.add_parser("export", help="merge an adapter into its base and save a standalone model")
    export.add_argument("--adapter", type=Path, required=True)
    export.add_argument("--out", type=Path, required=True)
    export.set_defaults(run=run_export)

    data = commands.add_parser("data", help="training data tools").add_subparsers(required=True, metavar="ACTION")
    check = data.add_parser("check", help="validate data files and report every problem with file:line")
    check.add_argument("files", nargs="+", type=Path)
    _add_data_options(check, FORMATS)
    check.set_defaults(run=run_data_check)


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
    from bot.paths import tandem_home
    from finetune.recipe import load_recipe, with_overrides
    from finetune.train import TrainRequest, train

    data = args.data or [SAMPLE_DOMAIN / "train.jsonl"]
    eval_data = args.eval_data
    if eval_data is None:
        beside = data[0].with_name("eval.jsonl")
        eval_data = [beside] if beside.is_file() and beside != data[0] else []
    overrides = {k.removeprefix("recipe_"): v for k, v in vars(args).items()
                 if k.startswith("recipe_") and v is not None}
    if "target_modules" in overrides and overrides["target_modules"] != "all-linear":
        overrides["target_modules"] = overrides["target_modules"].split(",")
    recipe = with_overrides(load_recipe(args.recipe), overrides)
    name = data[0].parent.name if data[0].stem == "train" else data[0].stem  # data/shop/train.jsonl -> shop
    out = args.out or tandem_home() / "adapters" / name
    train(TrainRequest(data=data, out=out, recipe=recipe, format=args.format, columns=_columns(args),
                       strict=args.strict, resume=args.resume, eval_data=eval_data))
    return 0


def run_export(args) -> int:
    from finetune.export import export_merged

    export_merged(args.adapter, args.out)
    return 0


def run_data_check(args) -> int:
    from finetune.data import load_examples

    data = load_examples(args.files, args.format, _columns(args), args.strict)
    for problem in data.problems:
        print(problem)
    categories = sorted({e.category for e in data.examples if e.category})
    print(f"{len(data.examples)} usable examples, {len(data.problems)} problems, {data.duplicates} duplicates removed"
          + (f", categories: {', '.join(categories)}" if categories else ""))
    return 1 if data.problems else 0
