"""A LangChain chat model over a local transformers model: token streaming, cancellation, one shared lock.

Why not langchain-huggingface's ChatHuggingFace + HuggingFacePipeline: its streaming thread runs
`generate` to the end even after the consumer stops reading, so a Stop button would leave both
CPU cores busy until `max_new_tokens`; it has no guard for a model shared between sessions; and it
renders the chat template itself, where Tandem's rule is one renderer (`bot.prompts`) for serving,
training and evaluation.
"""

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from bot.models import DEFAULT_MODEL, LoadedModel, load_model
from bot.prompts import apply_template

ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class LocalChatModel(BaseChatModel):
    """Generates with a loaded transformers model; every request may override the sampling settings.

    A request may also pass `use_adapter=False` to answer with the base model alone (the compare view
    sets base and tuned side by side from one copy of the weights).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    loaded: LoadedModel
    temperature: float = 0.3
    """0 means greedy decoding."""
    max_new_tokens: int = 256
    top_p: float = 0.9
    repetition_penalty: float = 1.1
    """Small models loop without it."""
    seed: int | None = None
    """Set for reproducible sampling (tests, evaluation)."""
    lock: Any = Field(default_factory=threading.Lock, exclude=True)
    """One generation at a time: two at once on 2 cores would only halve each one's speed."""

    @property
    def _llm_type(self) -> str:
        return "tandem-local"

    def describe(self) -> str:
        return self.loaded.describe()

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        from transformers import StoppingCriteria, TextIteratorStreamer

        tokenizer, model = self.loaded.tokenizer, self.loaded.model
        prompt = apply_template(tokenizer, [{"role": ROLES[m.type], "content": m.content} for m in messages])
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancelled = threading.Event()

        class StopWhenCancelled(StoppingCriteria):
            def __call__(self, input_ids, scores, **_) -> bool:
                return cancelled.is_set()

        use_adapter = kwargs.pop("use_adapter", True)
        settings = self._generation_settings(stop, **kwargs)
        failure: list[BaseException] = []

        def generate() -> None:
            import torch

            try:
                with self.lock, torch.inference_mode(), self._adapter(use_adapter):
                    if cancelled.is_set():  # the reader left while we waited for the lock
                        return
                    if self.seed is not None:
                        torch.manual_seed(self.seed)
                    model.generate(**inputs, streamer=streamer, stopping_criteria=[StopWhenCancelled()],
                                   tokenizer=tokenizer, **settings)
            except BaseException as error:  # re-raised in the reader's thread below
                failure.append(error)
            finally:
                streamer.end()

        thread = threading.Thread(target=generate, name="tandem-generate", daemon=True)
        thread.start()
        try:
            for text in streamer:
                if not text:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        finally:
            # Reached when generation ends and also when the reader stops early (Stop button,
            # closed generator): the stopping criterion then ends generate() at the next token.
            cancelled.set()
            thread.join()
        if failure:
            raise failure[0]

    def _adapter(self, use_adapter: bool):
        """The base model alone for this request (`use_adapter=False`), when an adapter is attached."""
        model = self.loaded.model
        if not use_adapter and hasattr(model, "disable_adapter"):
            return model.disable_adapter()  # peft: the adapter is bypassed until the block ends
        return contextlib.nullcontext()

    def _generation_settings(self, stop: list[str] | None, **overrides: Any) -> dict:
        temperature = overrides.get("temperature", self.temperature)
        settings = {
            "max_new_tokens": overrides.get("max_new_tokens", self.max_new_tokens),
            "repetition_penalty": overrides.get("repetition_penalty", self.repetition_penalty),
            "pad_token_id": self.loaded.tokenizer.pad_token_id or self.loaded.tokenizer.eos_token_id,
        }
        if temperature > 0:
            settings.update(do_sample=True, temperature=temperature, top_p=overrides.get("top_p", self.top_p))
        else:
            settings.update(do_sample=False)
        if stop:
            settings["stop_strings"] = stop
        return settings


def load_chat_model(model: str = DEFAULT_MODEL, adapter: str | Path | None = None, **settings: Any) -> LocalChatModel:
    """Load base model + optional adapter (see `bot.models.load_model`) and wrap it as a chat model."""
    return LocalChatModel(loaded=load_model(model, adapter), **settings)
