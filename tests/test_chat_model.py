"""LocalChatModel's batching: calls that arrive together are generated as one left-padded batch, with the same
greedy answers as one at a time, each ended at its own end-of-turn token."""

import threading

import pytest
from langchain_core.messages import HumanMessage

from bot.chain import build_chain
from bot.chat_model import ROLES, LocalChatModel
from bot.models import LoadedModel, load_model
from bot.personas import load_catalog
from bot.prompts import encode_prompt

pytestmark = pytest.mark.usefixtures("one_thread")

QUESTIONS = ["Hi", "How do I reset my password? Refunds take five days, you said.", "Refunds?", "What is fact 3?"]


def counting_generate(loaded: LoadedModel) -> list[int]:
    """Wrap the model's generate() to record the number of rows of every call."""
    original, rows = loaded.model.generate, []

    def generate(*args, **kwargs):
        rows.append(len(kwargs["input_ids"]))
        return original(*args, **kwargs)

    loaded.model.generate = generate
    return rows


def test_a_batch_is_one_generate_call_with_the_answers_of_one_at_a_time(noisy_model_dir):
    loaded = load_model(str(noisy_model_dir))
    generated = counting_generate(loaded)
    # A wide window, so on a busy machine the four calls still meet in one batch.
    chat_model = LocalChatModel(loaded=loaded, greedy=True, max_new_tokens=12, batch_window=1.0)
    chain = build_chain(chat_model, load_catalog(), as_message=True)
    requests = [{"question": q, "persona": None} for q in QUESTIONS]

    together = chain.batch(requests, config={"max_concurrency": len(requests)})
    assert generated == [4], "the four calls were generated as one batch of four rows"
    alone = [chain.invoke(request) for request in requests]
    assert generated == [4, 1, 1, 1, 1]

    assert [a.content for a in together] == [a.content for a in alone]
    assert len({a.content for a in together}) == 4, "different prompts, different answers: the comparison means something"
    assert [a.response_metadata["batch_size"] for a in together + alone] == [4] * 4 + [1] * 4
    assert len({a.response_metadata["batch_seconds"] for a in together}) == 1
    prompt_tokens = [a.usage_metadata["input_tokens"] for a in together]
    assert prompt_tokens == [a.usage_metadata["input_tokens"] for a in alone]
    assert len(set(prompt_tokens)) == 4, "prompts of different lengths, so the short ones were padded"
    for answer in together:
        usage, finish = answer.usage_metadata, answer.response_metadata["finish_reason"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
        assert 0 < usage["output_tokens"] <= 12 and (finish == "length") == (usage["output_tokens"] == 12)


def test_input_tokens_are_the_prompt_the_renderer_encodes(noisy_model_dir, echo_model):
    loaded = load_model(str(noisy_model_dir))
    request = {"question": QUESTIONS[1], "persona": "support"}
    build_chain(echo_model, load_catalog()).invoke(request)
    messages = [{"role": ROLES[m.type], "content": m.content} for m in echo_model.calls[-1][0]]
    answer = build_chain(LocalChatModel(loaded=loaded, greedy=True, max_new_tokens=2), load_catalog(),
                         as_message=True).invoke(request)
    assert answer.usage_metadata["input_tokens"] == len(encode_prompt(loaded.tokenizer, messages))


def test_answers_cut_by_max_new_tokens_finish_with_length(noisy_model_dir):
    loaded = load_model(str(noisy_model_dir))
    prompts = [[HumanMessage(q)] for q in QUESTIONS[:3]]
    long = LocalChatModel(loaded=loaded, greedy=True, max_new_tokens=16).batch(prompts)
    short = LocalChatModel(loaded=loaded, greedy=True, max_new_tokens=3).batch(prompts)
    assert any(a.usage_metadata["output_tokens"] > 3 for a in long)
    for full, cut in zip(long, short):
        if full.usage_metadata["output_tokens"] > 3:
            assert cut.response_metadata["finish_reason"] == "length" and cut.usage_metadata["output_tokens"] == 3


class ScriptedModel:
    """A fake model whose generate() continues each prompt with the tokens scripted for its question (the rows of a
    batch may come in any order) and records what it was given."""

    def __init__(self, tokenizer, replies: dict[str, list[int]]):
        self.tokenizer, self.replies, self.calls = tokenizer, replies, []

    def generate(self, input_ids, attention_mask, **settings):
        import torch

        self.calls.append({"input_ids": input_ids, "attention_mask": attention_mask, **settings})
        return torch.cat([input_ids, torch.tensor([self.reply(ids) for ids in input_ids.tolist()])], dim=1)

    def reply(self, ids: list[int]) -> list[int]:
        prompt = self.tokenizer.decode(ids)
        for question, reply in self.replies.items():
            if question in prompt:
                return reply
        raise LookupError(f"no scripted reply for {prompt!r}")


def scripted_chat_model(tokenizer, replies: dict[str, list[int]], max_new_tokens: int) -> LocalChatModel:
    loaded = LoadedModel(model=ScriptedModel(tokenizer, replies), tokenizer=tokenizer, name="scripted", adapter=None)
    return LocalChatModel(loaded=loaded, greedy=True, max_new_tokens=max_new_tokens, batch_window=1.0)


def test_each_answer_stops_at_its_end_of_turn_token_and_prompts_are_padded_on_the_left(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    words, end = tokenizer.encode("Refunds take", add_special_tokens=False), tokenizer.eos_token_id
    more = tokenizer.encode(" five days", add_special_tokens=False)
    chat_model = scripted_chat_model(tokenizer, {"Hi": [*words, end, end, end],
                                                 "password": ([*words, *more] * 3)[:len(words) + 3]}, len(words) + 3)
    stopped, cut = chat_model.batch([[HumanMessage("Hi")], [HumanMessage("How do I reset my password?")]],
                                    temperature=0.9)  # greedy: the requested temperature is not used
    assert (stopped.content, stopped.usage_metadata["output_tokens"], stopped.response_metadata["finish_reason"]) == (
        "Refunds take", len(words) + 1, "stop")
    assert cut.content.startswith("Refunds take five")
    assert (cut.usage_metadata["output_tokens"], cut.response_metadata["finish_reason"]) == (len(words) + 3, "length")
    [call] = chat_model.loaded.model.calls
    short, long = sorted(call["attention_mask"].tolist(), key=sum)
    assert short[0] == 0 and short[-1] == 1 and all(long), "the shorter prompt is padded on the left"
    assert call["do_sample"] is False and "temperature" not in call


def test_a_tokenizer_without_a_pad_token_still_generates(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.pad_token = None  # many base models ship no pad token; batching pads with end of text instead
    yes = tokenizer.encode("Yes", add_special_tokens=False)
    chat_model = scripted_chat_model(tokenizer, {"Hi": [*yes, tokenizer.eos_token_id],
                                                 "password": [*yes, tokenizer.eos_token_id]}, len(yes) + 1)
    answers = chat_model.batch([[HumanMessage("Hi")], [HumanMessage("How do I reset my password?")]])
    assert [a.content for a in answers] == ["Yes", "Yes"]
    assert [a.response_metadata["batch_size"] for a in answers] == [2, 2]


def test_an_error_in_a_batch_reaches_every_caller(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    chat_model = scripted_chat_model(tokenizer, {}, 4)  # no scripted reply: generate() raises
    errors = []

    def ask(question: str) -> None:
        try:
            chat_model.invoke([HumanMessage(question)])
        except LookupError as error:
            errors.append(error)

    threads = [threading.Thread(target=ask, args=(q,)) for q in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(errors) == 2 and len(chat_model.loaded.model.calls) == 1, "one batch failed, both callers hear of it"
    assert chat_model.lock.acquire(blocking=False), "the model is free for the next request"
    chat_model.lock.release()
