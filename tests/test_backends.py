"""The CTranslate2 and ONNX Runtime GenAI engines on a tiny model: converted once into the store, the same
greedy answers as the transformers engine (float32, no repetition penalty: the one difference in kind, see
bot.backends), streaming, Stop, stop strings, batches, and base/tuned switching per request."""

import os
import re
import threading

import pytest
from langchain_core.messages import HumanMessage

import bot.backends
from bot.backends import ENGINE_NAMES, MANIFEST, QUANTIZATION, engine_store
from bot.chain import build_chain
from bot.chat_model import LocalChatModel
from bot.engines import ConvertedEngine, Engine, TorchEngine, load_engine
from bot.errors import TandemError
from bot.models import load_model
from bot.personas import load_catalog
from tests.conftest import torch_threads

pytestmark = pytest.mark.usefixtures("one_thread")

ENGINES = ["ctranslate2", "onnxruntime"]
FLOAT32 = {"ctranslate2": "float32", "onnxruntime": "fp32"}
"""Each engine's name for float32 weights: the comparisons test the engine, not int8 rounding on a random model."""
QUESTIONS = ["Hi", "How do I reset my password? Refunds take five days, you said.", "Refunds?", "What is fact 3?"]


@pytest.fixture(scope="module")
def wide_model_dir(tmp_path_factory):
    """A tiny llama model with large random weights and heads of 16 (ONNX Runtime's attention needs a
    multiple of 16), so every prompt gets a different string of tokens."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from tests.conftest import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    torch.manual_seed(1)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" not in name:
                parameter.normal_(0, 0.3)
    out = tmp_path_factory.mktemp("wide-model")
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def adapter_dir(wide_model_dir, tmp_path_factory):
    """A LoRA adapter on the wide tiny model whose weights change its answers."""
    from peft import LoraConfig, get_peft_model

    out = tmp_path_factory.mktemp("adapter")
    lora = get_peft_model(load_model(str(wide_model_dir)).model,
                          LoraConfig(r=4, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False))
    lora.save_pretrained(out, safe_serialization=True)
    return out


@pytest.fixture(scope="module", params=ENGINES)
def models(request, wide_model_dir, adapter_dir, tmp_path_factory):
    """The tiny model + adapter on transformers, and its float32 conversions for one engine."""
    engine = request.param
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TANDEM_HOME", str(tmp_path_factory.mktemp(f"{engine}-home")))
        converted = load_engine(str(wide_model_dir), adapter_dir, engine, FLOAT32[engine])
    return TorchEngine(load_model(str(wide_model_dir), adapter_dir)), converted


def chat(engine: Engine, **settings) -> LocalChatModel:
    return LocalChatModel(engine=engine, **{"greedy": True, "max_new_tokens": 16, "repetition_penalty": 1.0, **settings})


@pytest.mark.parametrize("engine", ENGINES)
def test_conversion_happens_once_into_the_store_with_a_progress_bar(engine, wide_model_dir, adapter_dir, tandem_home,
                                                                    capsys):
    name = ENGINE_NAMES[engine]
    engine_model = load_engine(str(wide_model_dir), adapter_dir, engine)
    assert isinstance(engine_model, ConvertedEngine) and engine_model.backend == engine
    assert f"on {engine}" in engine_model.describe()
    converted = sorted(path.name for path in engine_store(engine).iterdir())
    assert len(converted) == 2 and sum("+adapter" in name for name in converted) == 1
    assert all((engine_store(engine) / name / MANIFEST).is_file() for name in converted)
    assert str(engine_store(engine)).startswith(str(tandem_home / "models"))
    shown = capsys.readouterr().err
    assert f"{name}:" in shown and "3/3" in shown and f"converting to {QUANTIZATION[engine]}" in shown

    load_engine(str(wide_model_dir), adapter_dir, engine)
    assert f"{name}:" not in capsys.readouterr().err, "the second load uses the conversion in the store"
    assert sorted(path.name for path in engine_store(engine).iterdir()) == converted


def test_new_build_options_mean_a_new_conversion(wide_model_dir, adapter_dir, monkeypatch):
    before = bot.backends.converted_dir("onnxruntime", "wide", str(wide_model_dir), adapter_dir)
    monkeypatch.setitem(bot.backends.BUILD_OPTIONS, "onnxruntime", ["accuracy_level=1"])
    assert bot.backends.converted_dir("onnxruntime", "wide", str(wide_model_dir), adapter_dir) != before


def test_an_unknown_backend_is_refused():
    with pytest.raises(TandemError, match="unknown backend 'vllm'; backends: transformers, ctranslate2, onnxruntime"):
        load_engine("smollm2-135m-instruct", backend="vllm")


@pytest.mark.parametrize("use_adapter", [True, False])
def test_greedy_answers_are_those_of_the_transformers_path(models, use_adapter):
    reference, converted = models
    expected = [chat(reference).invoke([HumanMessage(q)], use_adapter=use_adapter).content for q in QUESTIONS]
    answers = [chat(converted).invoke([HumanMessage(q)], use_adapter=use_adapter).content for q in QUESTIONS]
    assert answers == expected
    assert len(set(answers)) == len(QUESTIONS), "different prompts, different answers: the comparison means something"


def test_the_chain_switches_between_base_and_tuned_per_request(models):
    reference, converted = models
    requests = [{"question": QUESTIONS[1], "persona": "support", "adapter": adapter} for adapter in (True, False)]
    expected = [build_chain(chat(reference), load_catalog()).invoke(r) for r in requests]
    tuned, base = [build_chain(chat(converted), load_catalog()).invoke(r) for r in requests]
    assert [tuned, base] == expected and tuned != base

    merged = chat(converted)
    merged.merge_adapter()
    assert build_chain(merged, load_catalog()).invoke(requests[0]) == tuned
    with pytest.raises(RuntimeError, match="merged"):
        build_chain(merged, load_catalog()).invoke(requests[1])


def test_a_batch_has_the_answers_of_one_at_a_time(models):
    _, converted = models
    chat_model = chat(converted, batch_window=1.0)
    together = chat_model.batch([[HumanMessage(q)] for q in QUESTIONS], config={"max_concurrency": len(QUESTIONS)})
    alone = [chat_model.invoke([HumanMessage(q)]) for q in QUESTIONS]
    together_size = len(QUESTIONS) if converted.batches else 1  # ONNX Runtime answers one prompt at a time
    assert [a.response_metadata["batch_size"] for a in together] == [together_size] * len(QUESTIONS)
    assert [a.content for a in together] == [a.content for a in alone]
    for answer in together:
        usage, finish = answer.usage_metadata, answer.response_metadata["finish_reason"]
        assert 0 < usage["output_tokens"] <= 16 and (finish == "length") == (usage["output_tokens"] == 16)


def test_streaming_gives_the_invoked_answer_piece_by_piece(models):
    _, converted = models
    chat_model = chat(converted)
    pieces = [chunk.content for chunk in chat_model.stream([HumanMessage(QUESTIONS[0])])]
    # invoke() strips the answer's surrounding whitespace, as on the transformers path; the stream gives it as it comes
    assert len(pieces) > 1 and "".join(pieces).strip() == chat_model.invoke([HumanMessage(QUESTIONS[0])]).content


def test_closing_the_stream_stops_generation(models, monkeypatch):
    _, converted = models
    produced = []
    stream_tokens = converted.stream

    def counting(*args, **kwargs):
        for token in stream_tokens(*args, **kwargs):
            produced.append(token)
            yield token

    monkeypatch.setattr(converted, "stream", counting)
    chat_model = chat(converted, max_new_tokens=2000)
    stream = chat_model.stream([HumanMessage(QUESTIONS[1])])
    next(stream)
    stream.close()
    assert 0 < len(produced) < 100, "generation stopped long before max_new_tokens"
    assert chat_model.lock.acquire(blocking=False), "the model is free for the next request"
    chat_model.lock.release()


def test_stop_strings_end_the_answer_where_the_transformers_engine_ends_it(models):
    reference, converted = models
    full = chat(converted, max_new_tokens=40).invoke([HumanMessage(QUESTIONS[1])]).content
    stop = re.findall("[A-Za-z]{3,}", full)[-2]  # a word with more answer after it
    expected = chat(reference, max_new_tokens=40).invoke([HumanMessage(QUESTIONS[1])], stop=[stop]).content
    answer = chat(converted, max_new_tokens=40).invoke([HumanMessage(QUESTIONS[1])], stop=[stop]).content
    assert answer == expected and answer.rstrip().endswith(stop) and len(answer) < len(full)


def test_sampling_draws_different_answers(models):
    _, converted = models
    chat_model = chat(converted, greedy=False, temperature=1.0)
    answers = {chat_model.invoke([HumanMessage(QUESTIONS[2])]).content for _ in range(4)}
    assert len(answers) > 1


# CTranslate2 seeds its own generators per worker thread, once (bot.engines.CT2Engine): ONNX Runtime only.
@pytest.mark.parametrize("models", ["onnxruntime"], indirect=True)
def test_a_seed_repeats_sampled_answers(models):
    _, converted = models
    answers = [chat(converted, greedy=False, temperature=1.0, seed=seed).invoke([HumanMessage(QUESTIONS[2])]).content
               for seed in (7, 7, 8)]
    assert answers[0] == answers[1] != answers[2]


def test_requests_from_two_threads_share_the_model(models):
    _, converted = models
    chat_model = chat(converted)
    expected = [chat_model.invoke([HumanMessage(q)]).content for q in QUESTIONS[:2]]
    answers = [None, None]

    def ask(index: int) -> None:
        answers[index] = "".join(c.content for c in chat_model.stream([HumanMessage(QUESTIONS[index])])).strip()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_ask_answers_on_the_backend_its_flag_names(engine, wide_model_dir, capsys):
    from bot.cli import main

    assert main(["ask", "Hi", "--model", str(wide_model_dir), "--no-adapter", "--backend", engine]) == 0
    out, err = capsys.readouterr()
    assert out.strip() and f"{ENGINE_NAMES[engine]}:" in err and f"converting to {QUANTIZATION[engine]}" in err


def test_eval_takes_the_backend_flag():
    from bot.cli import make_parser
    from finetune.evaluation.evaluate import EvalConfig
    from finetune.flags import apply_field_flags

    args = make_parser().parse_args(["eval", "--backend", "ctranslate2"])
    assert apply_field_flags(EvalConfig(), args, "eval_").backend == "ctranslate2"
    assert EvalConfig().backend is None, "None: the default backend, resolved when the model loads"


def test_onnxruntime_is_the_default_and_tandem_backend_changes_it(monkeypatch):
    from bot.backends import default_backend

    monkeypatch.delenv("TANDEM_BACKEND")
    assert default_backend() == "onnxruntime"
    monkeypatch.setenv("TANDEM_BACKEND", "ctranslate2")
    assert default_backend() == "ctranslate2"
    monkeypatch.setenv("TANDEM_BACKEND", "llama.cpp")
    with pytest.raises(TandemError, match=r"\$TANDEM_BACKEND='llama.cpp' is not a backend; backends: transformers"):
        default_backend()


def test_ask_with_no_backend_flag_answers_on_onnxruntime(wide_model_dir, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.delenv("TANDEM_BACKEND")
    assert main(["ask", "Hi", "--model", str(wide_model_dir), "--no-adapter"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() and "ONNX Runtime GenAI:" in err
    assert [p.name for p in engine_store("onnxruntime").iterdir() if not p.name.startswith(".")] != []


@pytest.fixture
def every_core():
    """The real model on as many threads as users get (one per core), not this module's one thread. Measured: after
    this test had loaded the shipped adapter on ONNX Runtime with one thread, the session's real chat model (two
    threads) answered as on one, differently in places (tests/test_prompt_extraction.py saw it)."""
    with torch_threads(os.cpu_count() or 1):
        yield


@pytest.mark.real_model
@pytest.mark.parametrize("engine", ENGINES)
def test_the_shipped_adapter_answers_on_each_engine(engine, monkeypatch, every_core):
    from tests.conftest import REAL_HOME

    from bot.chat_model import load_chat_model
    from bot.model_store import DEFAULT_MODEL, pull_model
    from bot.models import default_adapter

    monkeypatch.setenv("TANDEM_HOME", str(REAL_HOME))  # the pulled model, and its conversions kept for next time
    pull_model(DEFAULT_MODEL)
    chain = build_chain(load_chat_model(DEFAULT_MODEL, default_adapter(), engine, greedy=True,
                                        max_new_tokens=48))
    tuned, base = [chain.invoke({"question": "How much does the Sprigbox Mini cost?", "persona": "support",
                                 "adapter": adapter}) for adapter in (True, False)]
    assert tuned.strip() and base.strip() and tuned != base


def test_a_spinning_setting_that_is_not_0_or_1_is_one_line(wide_model_dir, monkeypatch):
    import bot.engines

    monkeypatch.setattr(bot.engines, "ONNX_SPINNING", "yes")
    with pytest.raises(TandemError, match=r"\$TANDEM_ONNX_SPINNING='yes': expected 0 \(worker threads sleep\) or 1"):
        load_engine(str(wide_model_dir), None, "onnxruntime", FLOAT32["onnxruntime"])
