"""The adapter committed in adapters/default is the one `make finetune` produces from the shipped data and recipe."""

import json

import pytest

from bot.models import default_adapter
from bot.paths import shipped_adapter_dir
from finetune.cli import SAMPLE_DOMAIN
from finetune.data import data_hash, load_examples
from finetune.recipe import load_recipe
from tests.conftest import REAL_HOME

METADATA = shipped_adapter_dir() / "tandem-adapter.json"


def metadata() -> dict:
    return json.loads(METADATA.read_text())


def test_the_shipped_adapter_is_complete_and_small():
    assert default_adapter() == shipped_adapter_dir()
    names = {p.name for p in shipped_adapter_dir().iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "tandem-adapter.json", "metrics.json",
            "loss.png"} <= names
    assert (shipped_adapter_dir() / "adapter_model.safetensors").stat().st_size < 20_000_000


def test_its_metadata_matches_the_recipe_and_the_data_hash():
    assert metadata()["recipe"] == load_recipe("default").model_dump()
    assert metadata()["data_hash"] == data_hash(load_examples([SAMPLE_DOMAIN / "train.jsonl"]).examples)


def test_it_learned_something():
    recorded = metadata()
    assert recorded["validation_loss_after"] < recorded["validation_loss_before"]


@pytest.mark.real_model
def test_it_was_trained_on_the_pulled_base_model(monkeypatch):
    from finetune.train import base_model_hash

    monkeypatch.setenv("TANDEM_HOME", str(REAL_HOME))
    assert metadata()["base_model_hash"] == base_model_hash(metadata()["base_model"])
