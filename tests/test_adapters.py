"""The adapter card (tandem-adapter.json): one reader, typed, with errors that name the file."""

import json

import pytest

from bot.adapters import CARD_FILE, AdapterCard, adapter_format, read_card
from bot.errors import ModelNotFoundError
from bot.model_store import DEFAULT_MODEL
from bot.models import adapter_base_model
from bot.paths import shipped_adapter_dir
from bot.prompts import PromptFormat


def write_card(directory, content) -> None:
    path = directory / CARD_FILE
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))


def test_a_plain_peft_directory_has_no_card(tmp_path):
    assert read_card(tmp_path) is None
    assert adapter_base_model(tmp_path) is None
    assert adapter_format(tmp_path) == PromptFormat()


def test_a_valid_card_is_read_whole_and_keeps_fields_it_does_not_know(tmp_path):
    write_card(tmp_path, {"base_model": "smollm2-135m-instruct", "base_model_hash": "ab" * 32,
                          "prompt_format": {"few_shot": False, "retrieval": True, "top_k": 4},
                          "recipe": {"epochs": 6}, "validation_loss_after": 1.25, "written_by": "a newer Tandem"})
    card = read_card(tmp_path)
    assert isinstance(card, AdapterCard)
    assert (card.base_model, card.base_model_hash, card.recipe, card.validation_loss_after) == (
        "smollm2-135m-instruct", "ab" * 32, {"epochs": 6}, 1.25)
    assert card.prompt_format == PromptFormat(few_shot=False, retrieval=True, top_k=4)
    assert card.model_extra == {"written_by": "a newer Tandem"}
    assert adapter_base_model(tmp_path) == "smollm2-135m-instruct"
    assert adapter_format(str(tmp_path)) == card.prompt_format


@pytest.mark.parametrize("content, problem", [
    ('{"base_model": "m",', "not a valid adapter card: Expecting"),
    (b'{"base_model": "caf\xe9"}', "not a valid adapter card: 'utf-8' codec can't decode"),
    ({"base_model_hash": "x"}, "field 'base_model': Field required"),
    ({"base_model": 42}, "field 'base_model': Input should be a valid string"),
    ({"base_model": "m", "prompt_format": {"top_k": "many"}}, "field 'prompt_format.top_k'"),
    ({"base_model": "m", "prompt_format": {"retreival": True}}, "field 'prompt_format.retreival'"),
    (["base_model", "m"], "field '(top)'"),
])
def test_a_broken_card_is_an_error_naming_the_file(tmp_path, content, problem):
    write_card(tmp_path, content)
    with pytest.raises(ModelNotFoundError) as error:
        read_card(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / CARD_FILE}: ") and problem in message, message
    assert len(message.splitlines()) == 1
    with pytest.raises(ModelNotFoundError, match=CARD_FILE):
        adapter_base_model(tmp_path)


def test_a_card_written_before_prompt_formats_is_read_with_the_defaults_it_was_served_with(tmp_path):
    write_card(tmp_path, {"base_model": "smollm2-135m-instruct", "prompt_format": {
        "renderer": "bot.prompts.render_messages(persona, instruction=None, with_examples=False)",
        "persona_hashes": {"support": "50251a79d167"}, "chat_template_sha256": "87" * 32}})
    assert read_card(tmp_path).prompt_format == PromptFormat()
    assert adapter_base_model(tmp_path) == "smollm2-135m-instruct"


def test_the_shipped_adapters_card_reads():
    card = read_card(shipped_adapter_dir())
    assert card is not None and card.base_model == DEFAULT_MODEL
