"""The one prompt renderer: message order, history, and user text that stays literal."""

from bot.personas import load_catalog
from bot.prompts import MAX_HISTORY_MESSAGES, apply_template, render_messages

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
    tokenizer = tiny_chat_model.loaded.tokenizer
    for text in INJECTIONS:
        persona = load_catalog().persona("support").model_copy(update={"system_prompt": f"persona {text}"})
        prompt = apply_template(tokenizer, render_messages(persona, None, f"user {text}"))
        assert f"user {text}" in prompt
        assert f"persona {text}" in prompt
        assert "49" not in prompt and "looploop" not in prompt
