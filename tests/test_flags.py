"""Config to flags, one mechanism: every field of a recipe and of an eval config is a flag, read as the field takes it."""

from pathlib import Path

import pytest

from bot.cli import make_parser
from bot.errors import TandemError
from finetune.evaluation.evaluate import EVAL_FLAGS, EvalConfig
from finetune.flags import apply_field_flags
from finetune.recipe import Recipe, RecipeError


@pytest.mark.parametrize("command, model, prefix", [("train", Recipe, "recipe_"), ("eval", EvalConfig, "eval_")])
def test_every_field_is_a_flag(command, model, prefix):
    given = vars(make_parser().parse_args([command]))
    assert {name for name in model.model_fields} <= {key.removeprefix(prefix) for key in given if key.startswith(prefix)}


def train_flags(*flags: str) -> Recipe:
    return apply_field_flags(Recipe(), make_parser().parse_args(["train", *flags]), "recipe_", RecipeError)


def eval_flags(*flags: str, **switches) -> EvalConfig:
    args = make_parser().parse_args(["eval", *flags])
    return apply_field_flags(EvalConfig(), args, "eval_", custom=EVAL_FLAGS, **switches)


def test_recipe_flags_are_read_as_the_fields_take_them():
    recipe = train_flags("--lora-r", "16", "--epochs", "0.5", "--retrieval", "false", "--target-modules", "q_proj, v_proj",
                         "--lora-layers", "4", "--bf16", "off")
    assert (recipe.lora_r, recipe.epochs, recipe.retrieval, recipe.lora_layers, recipe.bf16) == (16, 0.5, False, 4, "off")
    assert recipe.target_modules == ["q_proj", "v_proj"]
    assert train_flags("--target-modules", "all-linear").target_modules == "all-linear", "a value, not a list of one"
    assert train_flags() == Recipe(), "a flag not given leaves its field alone"


def test_eval_flags_cover_the_fields_that_had_none_and_lists_read_both_ways():
    config = eval_flags("--data", "a,b.jsonl", "--data", "c.jsonl", "--adapter", "one", "--personas", "support,plain",
                        "--prompts", "none,retrieval", "--top-k", "2", "--drift-threshold", "0.5",
                        "--general-questions", "general.jsonl", "--limit", "8")
    assert config.data == [Path("a,b.jsonl"), Path("c.jsonl")], "paths repeat the flag: a path may hold a comma"
    assert (config.adapters, config.personas, config.prompts) == ([Path("one")], ["support", "plain"], ["none", "retrieval"])
    assert (config.top_k, config.drift_threshold, config.general_questions, config.limit) == (
        2, 0.5, Path("general.jsonl"), 8)
    assert eval_flags("--adapter", "one", adapters=[], limit=None).adapters == []  # --no-adapter and --all


@pytest.mark.parametrize("flags, error", [
    (("--drift-threshold", "2"), "--drift-threshold: Input should be less than or equal to 1"),
    (("--top-k", "several"), "--top-k: Input should be a valid integer"),
])
def test_a_value_that_does_not_validate_names_its_flag(flags, error):
    with pytest.raises(TandemError, match=error):
        eval_flags(*flags)
    with pytest.raises(RecipeError, match="--lora-r: Input should be a valid integer"):
        train_flags("--lora-r", "x")
