"""The real SmolLM2 model: pull it (no model hub), then one answer per shipped persona. Runs in CI too."""

import pytest

pytestmark = pytest.mark.real_model


def test_one_answer_per_persona(real_chat_model):
    from bot.chain import build_chain
    from bot.personas import load_catalog

    catalog = load_catalog()
    chain = build_chain(real_chat_model, catalog)
    question = "How do I reset my password if I no longer have access to my e-mail?"
    answers = {p: chain.invoke({"question": question, "persona": p}) for p in catalog.personas}
    for persona, answer in answers.items():
        assert len(answer.split()) >= 3, (persona, answer)
        assert "<|im_end|>" not in answer and "<|im_start|>" not in answer
    assert len(set(answers.values())) == len(answers), "each persona gets its own answer"


def test_the_pulled_model_carries_its_chat_template(real_chat_model):
    tokenizer = real_chat_model.tokenizer
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                           add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n")
