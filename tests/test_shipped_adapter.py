"""The adapter committed in adapters/default is the one `make finetune` produces from the shipped data and recipe."""

import pytest

from bot.adapters import read_card
from bot.models import default_adapter
from bot.paths import shipped_adapter_dir
from bot.retrieval import KNOWLEDGE_FILE, read_passages
from finetune.data import SAMPLE_DOMAIN, data_hash, load_examples
from finetune.recipe import load_recipe
from tests.conftest import REAL_HOME


def card():
    return read_card(shipped_adapter_dir())


def test_the_shipped_adapter_is_complete_and_small():
    assert default_adapter() == shipped_adapter_dir()
    names = {p.name for p in shipped_adapter_dir().iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "tandem-adapter.json", "metrics.json",
            "loss.png", KNOWLEDGE_FILE} <= names
    assert (shipped_adapter_dir() / "adapter_model.safetensors").stat().st_size < 20_000_000


def test_its_card_matches_the_recipe_and_the_data_hash():
    assert card().recipe == load_recipe("default").model_dump()
    assert card().data_hash == data_hash(load_examples([SAMPLE_DOMAIN / "train.jsonl"]).examples)


def test_it_was_trained_to_read_the_knowledge_it_carries():
    prompt_format = card().prompt_format
    assert prompt_format.retrieval and not prompt_format.few_shot
    passages = read_passages(shipped_adapter_dir() / KNOWLEDGE_FILE)
    pairs = [p for p in passages if p.page_content.startswith("Q: ")]
    assert len(pairs) == len(load_examples([SAMPLE_DOMAIN / "train.jsonl"]).examples)
    assert len(passages) > len(pairs), "the knowledge/ documents are there too"


def test_it_learned_something():
    assert card().validation_loss_after < card().validation_loss_before


@pytest.mark.real_model
def test_it_was_trained_on_the_pulled_base_model(monkeypatch):
    from finetune.train import base_model_hash

    monkeypatch.setenv("TANDEM_HOME", str(REAL_HOME))
    assert card().base_model_hash == base_model_hash(card().base_model)
