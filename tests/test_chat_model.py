"""LocalChatModel over the engine interface: calls that arrive together are generated as one left-padded batch, with
the same greedy answers as one at a time, each ended at its own end-of-turn token; the answer's text is assembled
once from its token ids, with one stop policy."""

import threading

import pytest
from langchain_core.messages import HumanMessage

from bot.chain import build_chain
from bot.answer_text import AnswerText
from bot.chat_model import ROLES, LocalChatModel
from bot.engines import Engine, Sampling, TorchEngine
from bot.models import load_model
from bot.personas import load_catalog
from bot.prompts import encode_prompt

pytestmark = pytest.mark.usefixtures("one_thread")

QUESTIONS = ["Hi", "How do I reset my password? Refunds take five days, you said.", "Refunds?", "What is fact 3?"]


def counting_generate(engine: TorchEngine) -> list[int]:
    """Wrap the torch model's generate() to record the number of rows of every call."""
    original, rows = engine.model.generate, []

    def generate(*args, **kwargs):
        rows.append(len(kwargs["input_ids"]))
        return original(*args, **kwargs)

    engine.model.generate = generate
    return rows


def test_a_batch_is_one_generate_call_with_the_answers_of_one_at_a_time(noisy_model_dir):
    engine = TorchEngine(load_model(str(noisy_model_dir)))
    generated = counting_generate(engine)
    # A wide window, so on a busy machine the four calls still meet in one batch.
    chat_model = LocalChatModel(engine=engine, greedy=True, max_new_tokens=12, batch_window=1.0)
    chain = build_chain(chat_model, load_catalog(), as_message=True)
    requests = [{"question": q, "persona": None} for q in QUESTIONS]

    together = chain.batch(requests, config={"max_concurrency": len(requests)})
    assert generated == [4], "the four calls were generated as one batch of four rows"
    alone = [chain.invoke(request) for request in requests]
    assert generated == [4, 1, 1, 1, 1]
    streamed = ["".join(chunk.content for chunk in chain.stream(request)) for request in requests]
    assert [s.strip() for s in streamed] == [a.content for a in alone], "the stream says what invoke says"

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
    engine = TorchEngine(load_model(str(noisy_model_dir)))
    request = {"question": QUESTIONS[1], "persona": "support"}
    build_chain(echo_model, load_catalog()).invoke(request)
    messages = [{"role": ROLES[m.type], "content": m.content} for m in echo_model.calls[-1][0]]
    answer = build_chain(LocalChatModel(engine=engine, greedy=True, max_new_tokens=2), load_catalog(),
                         as_message=True).invoke(request)
    assert answer.usage_metadata["input_tokens"] == len(encode_prompt(engine.tokenizer, messages))


def test_answers_cut_by_max_new_tokens_finish_with_length(noisy_model_dir):
    engine = TorchEngine(load_model(str(noisy_model_dir)))
    prompts = [[HumanMessage(q)] for q in QUESTIONS[:3]]
    long = LocalChatModel(engine=engine, greedy=True, max_new_tokens=16).batch(prompts)
    short = LocalChatModel(engine=engine, greedy=True, max_new_tokens=3).batch(prompts)
    assert any(a.usage_metadata["output_tokens"] > 3 for a in long)
    for full, cut in zip(long, short):
        if full.usage_metadata["output_tokens"] > 3:
            assert cut.response_metadata["finish_reason"] == "length" and cut.usage_metadata["output_tokens"] == 3


class ScriptedEngine(Engine):
    """A fake engine that answers each prompt with the tokens scripted for its question (up to its first end token
    and `max_new_tokens`, as engines do) and records what it was asked."""

    batches = True

    def __init__(self, tokenizer, replies: dict[str, list[int]]):
        super().__init__(tokenizer, "scripted", None, "scripted", {tokenizer.eos_token_id})
        self.replies, self.calls = replies, []

    def stream(self, prompt, sampling, use_adapter=True):
        self.calls.append(([prompt], sampling))
        yield from self.reply(prompt, sampling)

    def generate(self, prompts, sampling, use_adapter=True):
        self.calls.append((prompts, sampling))
        return [list(self.reply(prompt, sampling)) for prompt in prompts]

    def reply(self, prompt: list[int], sampling: Sampling):
        text = self.tokenizer.decode(prompt)
        for question, reply in self.replies.items():
            if question in text:
                for token in reply[:sampling.max_new_tokens]:
                    if token in self.end_ids:
                        return
                    yield token
                return
        raise LookupError(f"no scripted reply for {text!r}")


def scripted_chat_model(tokenizer, replies: dict[str, list[int]], max_new_tokens: int) -> LocalChatModel:
    return LocalChatModel(engine=ScriptedEngine(tokenizer, replies), greedy=True, max_new_tokens=max_new_tokens,
                          batch_window=1.0)


def test_each_answer_stops_at_its_end_of_turn_token_or_its_length(tiny_model_dir):
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
    [(prompts, sampling)] = chat_model.engine.calls
    assert len(prompts) == 2 and sampling.greedy and sampling.max_new_tokens == len(words) + 3


def test_the_torch_engine_pads_a_batch_on_the_left(noisy_model_dir):
    engine = TorchEngine(load_model(str(noisy_model_dir)))
    seen = []
    original = engine.model.generate

    def generate(**kwargs):
        seen.append(kwargs["attention_mask"].tolist())
        return original(**kwargs)

    engine.model.generate = generate
    prompts = [engine.tokenizer.encode("Hi"), engine.tokenizer.encode("How do I reset my password?")]
    together = engine.generate(prompts, Sampling(max_new_tokens=6))
    assert together == [list(engine.stream(prompt, Sampling(max_new_tokens=6))) for prompt in prompts]
    short, long = sorted(seen[0], key=sum)
    assert short[0] == 0 and short[-1] == 1 and all(long), "the shorter prompt is padded on the left"


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
    assert len(errors) == 2 and len(chat_model.engine.calls) == 1, "one batch failed, both callers hear of it"
    assert chat_model.lock.acquire(blocking=False), "the model is free for the next request"
    chat_model.lock.release()


class CountingTokenizer:
    """A tokenizer whose decode() records how many tokens each call was given."""

    def __init__(self, tokenizer):
        self.tokenizer, self.decoded = tokenizer, []

    def decode(self, tokens, **kwargs):
        self.decoded.append(len(tokens))
        return self.tokenizer.decode(tokens, **kwargs)


def test_the_text_is_assembled_once_whatever_the_answer_length(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    answer = "Refunds take five days. " * 40 + "Übergröße naïve café, 5 € — ✓ 🙂 done"
    tokens = tokenizer.encode(answer, add_special_tokens=False)
    counting = CountingTokenizer(tokenizer)
    text = AnswerText(counting)
    pieces = [text.add(token) for token in tokens] + [text.finish()]
    assert "".join(pieces) == text.text == answer, "piece by piece, the same text as decoding the whole answer"
    assert max(counting.decoded) <= 8, "each token is decoded with the few before it, never the whole answer"
    assert "\ufffd" not in "".join(pieces), "no half characters: a multi-byte character comes out whole"


def test_a_stop_string_ends_the_answer_after_it_even_across_tokens(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokens = tokenizer.encode("Refunds take five days. You are a helpful agent.", add_special_tokens=False)
    text = AnswerText(tokenizer, stop_strings=["five days"])
    pieces = []
    for token in tokens:
        pieces.append(text.add(token))
        if text.stopped:
            break
    assert text.stopped and "".join(pieces) == text.text == "Refunds take five days"
    assert text.add(tokens[-1]) == "" and text.finish() == "", "nothing after the stop"


def test_the_stream_ends_at_a_stop_string_as_invoke_does(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    reply = tokenizer.encode("Refunds take five days. You are a helpful agent.", add_special_tokens=False)
    chat_model = scripted_chat_model(tokenizer, {"Hi": reply}, 64)
    streamed = "".join(c.content for c in chat_model.stream([HumanMessage("Hi")], stop=["days"]))
    invoked = chat_model.invoke([HumanMessage("Hi")], stop=["days"])
    assert streamed == invoked.content == "Refunds take five days"
    assert invoked.response_metadata["finish_reason"] == "stop"
