"""The one prompt renderer: message order, history, user text that stays literal, the prompt format, and one
request rendered to the same tokens by training, serving and evaluation."""

import json

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ValidationError
from transformers import AutoTokenizer

from bot.adapters import CARD_FILE, adapter_format
from bot.chain import build_chain
from bot.chat_model import ROLES
from bot.personas import load_catalog
from bot.prompts import MAX_HISTORY_MESSAGES, PromptFormat, apply_template, encode_prompt, render_messages
from finetune.data import Example
from finetune.evaluation.evaluate import Cell
from finetune.rows import tokenize
from tests.conftest import EchoChatModel

INJECTIONS = ["{system}", "{{7*7}}", "{x.__class__}", "{% for x in range(3) %}loop{% endfor %}", "<|im_end|>"]


def test_messages_are_system_examples_history_question():
    catalog = load_catalog()
    persona, instruction = catalog.persona("executive"), catalog.instruction("steps")
    history = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "reply"}]
    messages = render_messages(persona, instruction, "now?", history)
    assert messages[0]["role"] == "system"
    assert persona.system_prompt in messages[0]["content"]
    assert instruction.prompt in messages[0]["content"]
    assert "at most 80 words" in messages[0]["content"]  # the checkable rules are stated to the model
    shots = messages[1:1 + 2 * len(persona.examples)]
    assert [m["content"] for m in shots[::2]] == [e.user for e in persona.examples]
    assert messages[-3:] == [*history, {"role": "user", "content": "now?"}]


def test_no_persona_means_no_system_message_and_examples_can_be_left_out():
    catalog = load_catalog()
    assert render_messages(None, None, "q") == [{"role": "user", "content": "q"}]
    bare = render_messages(catalog.persona("support"), None, "q", with_examples=False)
    assert [m["role"] for m in bare] == ["system", "user"]


def test_long_history_keeps_the_latest_turns():
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": str(i)} for i in range(40)]
    messages = render_messages(None, None, "q", history)
    assert [m["content"] for m in messages[:-1]] == [str(i) for i in range(40 - MAX_HISTORY_MESSAGES, 40)]


def test_user_and_persona_text_reach_the_template_literally(tiny_chat_model):
    tokenizer = tiny_chat_model.tokenizer
    for text in INJECTIONS:
        persona = load_catalog().persona("support").model_copy(update={"system_prompt": f"persona {text}"})
        prompt = apply_template(tokenizer, render_messages(persona, None, f"user {text}"))
        assert f"user {text}" in prompt
        assert f"persona {text}" in prompt
        assert "49" not in prompt and "looploop" not in prompt


def test_prompt_format_is_typed_and_an_adapter_card_carries_it(tmp_path):
    assert PromptFormat() == PromptFormat(few_shot=True, retrieval=False, top_k=3)
    for bad in ({"top_k": 0}, {"top_k": 21}, {"few_shots": False}):
        with pytest.raises(ValidationError):
            PromptFormat(**bad)
    assert adapter_format(None) == PromptFormat() == adapter_format(tmp_path), "no adapter, or no card: the defaults"
    (tmp_path / CARD_FILE).write_text(json.dumps({"base_model": "m", "prompt_format": {"few_shot": False,
                                                                                       "retrieval": True}}))
    assert adapter_format(tmp_path) == PromptFormat(few_shot=False, retrieval=True)


# One request path ---------------------------------------------------------------------------------------

PASSAGES = ["Refunds › Window\nReturns are accepted within 30 days.", "Refunds › Method\nMoney goes back to the card."]
QUESTION = "Can I still return the kettle I bought last week?"
ANSWER = "Yes: returns are accepted within 30 days."


class FoundPassages(BaseRetriever):
    """Finds the two passages, whatever the question."""

    def _get_relevant_documents(self, query, *, run_manager=None):
        return [Document(page_content=text) for text in PASSAGES]


def test_training_serving_and_evaluation_give_the_model_the_same_tokens(tiny_model_dir, tmp_path):
    """One request (the support persona, the default instruction, two passages, a question) rendered by each of
    the three paths that build prompts: the token ids must be identical, or training taught another prompt."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    catalog = load_catalog()
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / CARD_FILE).write_text(json.dumps({"base_model": str(tiny_model_dir), "prompt_format": {
        "few_shot": False, "retrieval": True, "top_k": 2}}))
    prompt_format = adapter_format(adapter)

    row = tokenize(Example(QUESTION, ANSWER), ANSWER, catalog.persona("support"),
                   catalog.instruction(catalog.default_instruction), PASSAGES, prompt_format, tokenizer)
    trained = [t for t, m in zip(row.input_ids, row.completion_mask) if m == 0]

    model = EchoChatModel(prompt_format=prompt_format)  # asked as the adapter's card says
    chain = build_chain(model, catalog, retriever=FoundPassages())

    def sent() -> list[int]:
        messages = [{"role": ROLES[m.type], "content": m.content} for m in model.calls[-1][0]]
        return encode_prompt(tokenizer, messages)

    chain.invoke({"question": QUESTION, "persona": "support"})  # instruction, retrieval, few-shot: the defaults
    served = sent()
    chain.invoke(Cell("tuned", str(adapter), "support", retrieval=True).inputs(QUESTION, PASSAGES))
    evaluated = sent()

    assert trained == served == evaluated
    prompt = tokenizer.decode(trained)
    assert catalog.persona("support").system_prompt in prompt and catalog.instruction("direct").prompt in prompt
    assert "[1] " + PASSAGES[0] in prompt and "[2] " + PASSAGES[1] in prompt
    assert catalog.persona("support").examples[0].user not in prompt, "the adapter was trained without few-shot"
    assert prompt.endswith("<|im_start|>assistant\n")
