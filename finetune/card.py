"""What an adapter directory shows a person: its model card (README.md) and its loss plot (loss.png)."""

from pathlib import Path

from bot.paths import shown_path


def model_card(out: Path, metadata: dict, metrics: dict) -> str:
    """The adapter's README.md: what it is, what it was trained on, how it went, and how to use it."""
    recipe = metadata["recipe"]
    logged = [entry["loss"] for entry in metrics["history"] if "loss" in entry]
    last = f", {logged[-1]:.3f} at the end" if logged else ""
    return f"""# Tandem adapter: {out.name}

A LoRA adapter (rank {recipe['lora_r']}, alpha {recipe['lora_alpha']}, on {recipe['target_modules']} layers{_which_layers(recipe)}) for
`{metadata['base_model']}`, trained by `tandem train` with TRL's SFTTrainer on the answer tokens only.

| | |
|---|---|
| data | {', '.join(metadata['data'])} (hash {metadata['data_hash'][:12]}) |
| examples | {metrics['train_examples']} for training, {metrics['validation_examples']} for validation |
| schedule | {metrics['epochs_completed']:g} epochs, {metrics['steps']} steps of {recipe['batch_size'] * recipe['grad_accum']}, learning rate {recipe['learning_rate']:g} ({recipe['lr_scheduler']}) |
| validation loss | {_loss(metrics['validation_loss_before'])} before training, {_loss(metrics['validation_loss_after'])} after |
| training loss | {_loss(metrics['final_train_loss'])} on average over the run{last} |
| cost | {metrics['wall_seconds'] / 60:.1f} min, {metrics['train_tokens_per_second']} train tokens/s, peak memory {metrics['peak_memory_mb']} MB |
| prompts | {_describe_format(metadata["prompt_format"], metrics)} |
| trained | {metadata['trained_at']} |

![loss](loss.png)

Use it:

```sh
tandem serve --adapter {shown_path(out)}
tandem eval --adapter {shown_path(out)}     # what it bought over prompting
```

`tandem-adapter.json` has the full recipe, the base model's hash and the persona versions it was
trained under; `metrics.json` has the loss history.
"""


def _loss(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"  # no validation set: no validation loss




def plot_losses(log_history: list[dict], path: Path, validation_before: float | None = None) -> None:
    """Training and validation loss by step; the validation loss before training is drawn at step 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(e["step"], e["loss"]) for e in log_history if "loss" in e]
    validation = [(e["step"], e["eval_loss"]) for e in log_history if "eval_loss" in e]
    if validation_before is not None:
        validation.insert(0, (0, validation_before))
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        axes.plot(*zip(*train), label="training loss", color="#1f77b4")
    if validation:
        axes.plot(*zip(*validation), label="validation loss", color="#d62728", marker="o")
    axes.set_xlabel("step")
    axes.set_ylabel("loss (answer tokens)")
    best = min((loss for _, loss in validation), default=None)
    axes.set_title("LoRA fine-tuning" + (f": best validation loss {best:.2f}" if best is not None else "")
                   + (f" (from {validation_before:.2f})" if validation_before is not None else ""))
    axes.grid(alpha=0.3)
    if train or validation:
        axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _which_layers(recipe: dict) -> str:
    return f" of the top {recipe['lora_layers']} transformer layers" if recipe.get("lora_layers") else ""


def _describe_format(prompt_format: dict, metrics: dict) -> str:
    if not prompt_format.get("retrieval"):
        return "persona prompt (or none) + the default instruction, no passages"
    return (f"trained to read passages from {metrics.get('knowledge_passages', '?')} (documents + training pairs, in "
            f"knowledge.jsonl), {metrics.get('unanswerable_examples', 0)} examples with the supporting passages taken "
            f"out; retrieval is on by default when serving, with the top {prompt_format['top_k']} passages")
