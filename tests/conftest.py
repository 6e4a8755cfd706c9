"""Shared fixtures: a tmp Tandem home, a tiny llama model built from a config, and an echoing fake chat model."""

import os
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

# The real model's store, captured before the autouse fixture points TANDEM_HOME at a tmpdir.
REAL_HOME = Path(os.environ.get("TANDEM_HOME") or Path.home() / ".cache" / "tandem")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@pytest.fixture(autouse=True)
def tandem_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "tandem-home"
    monkeypatch.setenv("TANDEM_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer llama model and a byte-level BPE tokenizer with a ChatML template, saved as safetensors."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("tiny-model")
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE(unk_token="<|endoftext|>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    corpus = ["How do I reset my password? Refunds take five days. You are a helpful support agent."] * 20
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=special,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                        pad_token="<|im_end|>", unk_token="<|endoftext|>")
    tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.save_pretrained(out)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out, safe_serialization=True)
    return out


@pytest.fixture(scope="session")
def tiny_chat_model(tiny_model_dir):
    """The tiny model through the real loader, seeded so sampled answers are reproducible."""
    from bot.chat_model import load_chat_model

    return load_chat_model(str(tiny_model_dir), seed=0)


def echo_reply(messages) -> str:
    """What EchoChatModel says: the system prompt's first line and every user message it was shown."""
    system = next((m.content.splitlines()[0] for m in messages if m.type == "system"), "no system prompt")
    heard = " | ".join(m.content for m in messages if m.type == "human")
    return f"[{system}] heard: {heard}"


class EchoChatModel(BaseChatModel):
    """A fake chat model that repeats its prompt back, word by word, and records every call."""

    calls: list = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "echo"

    def describe(self) -> str:
        return "echo (test fake)"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append((messages, kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=echo_reply(messages)))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append((messages, kwargs))
        for word in echo_reply(messages).split(" "):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word + " "))


@pytest.fixture
def echo_model() -> EchoChatModel:
    return EchoChatModel()
