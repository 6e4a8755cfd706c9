"""Tandem's fine-tuning side: data loading, LoRA training and evaluation. It imports `bot`, never the reverse."""
