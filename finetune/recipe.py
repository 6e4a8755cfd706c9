"""Training recipes: a typed model, YAML files that mirror it one to one, and command-line overrides."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.errors import TandemError
from bot.models import default_model
from bot.yamlfiles import load_yaml_model
from finetune.flags import validated

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"


class RecipeError(TandemError):
    """A recipe file or override that does not validate."""


class Recipe(BaseModel):
    """Everything that decides what a LoRA training run produces (with the data and the seed).

    The defaults are those of `recipes/default.yaml`, which trains the shipped adapter.
    """

    # No infinities or NaNs: `epochs: .inf` or `--learning-rate nan` would pass `gt=0` and fail deep in training.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    base_model: str = Field(default_factory=default_model,
                            description="embedded model name, Hugging Face id or local directory (default: "
                                        "$TANDEM_MODEL, else the default embedded model)")
    lora_r: int = Field(8, gt=0, le=4096, description="LoRA rank")
    lora_alpha: int = Field(16, gt=0, description="LoRA scaling numerator (scale = alpha / r)")
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = Field("all-linear", description="modules that get LoRA")
    learning_rate: float = Field(1e-3, gt=0)
    lr_scheduler: Literal["linear", "cosine", "constant"] = "cosine"
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    epochs: float = Field(1, gt=0)
    batch_size: int = Field(16, gt=0)
    grad_accum: int = Field(1, gt=0, description="gradient accumulation steps")
    micro_batch_tokens: int = Field(4096, gt=0, le=1 << 20, description="most tokens in one forward pass; a batch of longer examples "
                                                             "is split into passes with gradient accumulation (bounds memory)")
    lora_layers: int | None = Field(4, gt=0, description="LoRA only in the top N transformer layers, so the backward "
                                                              "pass stops below them (faster, less memory); null: all")
    max_length: int = Field(2048, gt=16, le=1 << 20, description="cap on an example's tokens: training pads to the longest example "
                                                       "up to this; a longer one loses passages, then is reported and skipped")
    validation_fraction: float = Field(0.1, ge=0, lt=1, description="held out for validation loss and early stopping")
    eval_every: int = Field(50, gt=0, description="steps between validation runs (and checkpoints)")
    early_stopping_patience: int = Field(0, ge=0, description="validation runs without improvement before stopping; 0: off")
    system_prompts: Literal["none", "personas"] = Field(
        "personas", description="none: train with no system prompt; personas: about half the examples under a "
                                "persona's system prompt (one whose style rules the answer already follows)")
    retrieval: bool = Field(True, description="train to read: every example carries the passages retrieval finds for "
                                              "its question (documents + training pairs), and serving retrieves by default")
    top_k: int = Field(3, gt=0, le=20, description="passages per training example, at most")
    serve_top_k: int | None = Field(5, gt=0, le=20, description="passages serving and evaluation retrieve "
                                                                    "(null: top_k); a model trained on a few may read more")
    passage_chars: int = Field(1200, gt=0, le=100_000, description="passages after the first only while together "
                                                                   "within this many characters, at training and at serving")
    unanswerable_fraction: float = Field(0.03, ge=0, lt=1, description="share of examples whose supporting passages are "
                                                                       "taken out, with a target that says so")
    general_replay: int = Field(48, ge=0, description="general questions answered by the base model and mixed in, "
                                                       "to keep its general ability (0: none)")
    bf16: Literal["auto", "on", "off"] = Field("auto", description="bf16 autocast; auto: on where the CPU has AVX-512 bf16 or a GPU")
    seed: int = Field(0, ge=0, lt=1 << 32, description="random seed (NumPy takes 32 bits)")


def load_recipe(name_or_path: str | Path = "default") -> Recipe:
    """A shipped recipe by name (`finetune/recipes/NAME.yaml`) or a YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix and len(path.parts) == 1:  # a name; ./mine or /etc/tandem/mine is a path
        path = RECIPES_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            shipped = ", ".join(p.stem for p in sorted(RECIPES_DIR.glob("*.yaml")))
            raise RecipeError(f"no recipe named {name_or_path!r}; shipped recipes: {shipped}")
    return load_yaml_model(path, Recipe, RecipeError, strict=True)


def with_overrides(recipe: Recipe, overrides: dict) -> Recipe:
    """The recipe with the given fields replaced (command-line flags), validated again."""
    return validated(Recipe, {**recipe.model_dump(), **overrides}, RecipeError)
