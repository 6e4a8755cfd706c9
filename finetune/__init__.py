"""Tandem's fine-tuning side: data loading and LoRA training here, `evaluation` and `prompt_search` beside it.
It imports `bot`, never the reverse."""
