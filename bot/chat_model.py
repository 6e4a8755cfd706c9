"""A LangChain chat model over a local transformers model: token streaming, cancellation, batched calls.

Why not langchain-huggingface's ChatHuggingFace + HuggingFacePipeline: its streaming thread runs
`generate` to the end even after the consumer stops reading, so a Stop button would leave both
CPU cores busy until `max_new_tokens`; it has no guard for a model shared between sessions; and it
renders the chat template itself, where Tandem's rule is one renderer (`bot.prompts`) for serving,
training and evaluation.

Two ways through, one model and one lock:

- `stream` (the chat, `tandem ask`): one answer, token by token, stopped when the reader stops.
- `invoke` / `batch` (evaluation, embedding apps): calls that arrive together, such as the items of
  a `chain.batch`, are generated as one left-padded batch: on a CPU, 16 answers at once cost little
  more per step than one (`benchmarks/batch_generation.py`).

Both call the model's `generate()` the way transformers defines it; on `--backend ctranslate2` or `onnxruntime`
the model is a `bot.backends.ConvertedModel` that answers the same call, so nothing here depends on the backend.
"""

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from bot.adapters import adapter_format
from bot.backends import default_backend
from bot.errors import TandemError
from bot.models import LoadedModel, default_model, load_model
from bot.prompts import PromptFormat, apply_template

ROLES = {"system": "system", "human": "user", "ai": "assistant"}
REMOTE_PREFIX = "openai:"
"""`--model openai:URL`: a model on an OpenAI-compatible server (`bot.remote`), not on this machine."""


@dataclass
class _Call:
    """One non-streaming call waiting for its batch."""

    prompt: str
    settings: dict
    use_adapter: bool
    done: threading.Event = field(default_factory=threading.Event)
    message: AIMessage | None = None
    error: BaseException | None = None

    @property
    def key(self) -> tuple:
        """Calls are batched together only when they generate the same way."""
        return self.use_adapter, tuple(sorted((k, str(v)) for k, v in self.settings.items()))


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
    greedy: bool = False
    """Decode greedily whatever a request asks (evaluation: persona temperatures are ignored, answers repeat)."""
    max_new_tokens_cap: int | None = None
    """No answer longer than this, whatever a request asks (evaluation bounds its run time with it)."""
    max_batch: int = 16
    """Most calls generated together (16: 1.2-1.35x the tokens/s of 8, measured)."""
    batch_window: float = 0.02
    """Seconds a call waits for others to join its batch."""
    lock: Any = Field(default_factory=threading.Lock, exclude=True)
    """One generation at a time: two at once on 2 cores would only halve each one's speed."""
    _waiting: list = PrivateAttr(default_factory=list)
    _waiting_lock: Any = PrivateAttr(default_factory=threading.Lock)
    _merged: bool = PrivateAttr(default=False)
    _format: PromptFormat | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "tandem-local"

    def describe(self) -> str:
        return self.loaded.describe()

    @property
    def adapter(self) -> Path | None:
        """The LoRA adapter this model answers with (None: the base model alone)."""
        return self.loaded.adapter

    @property
    def base_model(self) -> str:
        """What the conversation log records as the base model: the name it was loaded by."""
        return self.loaded.name

    @property
    def prompt_format(self) -> PromptFormat:
        """How this model's adapter was trained to be asked (the base model's defaults without one); the
        card is read once, not on every request."""
        if self._format is None:
            self._format = adapter_format(self.loaded.adapter)
        return self._format

    def merge_adapter(self) -> None:
        """Fold the adapter into the base weights: the same answers, about a third faster (evaluation);
        `use_adapter=False` is refused afterwards."""
        if self.loaded.adapter is not None and not self._merged:
            with self.lock:
                self.loaded.model.merge_adapter()
                self._merged = True

    # -- invoke / batch ---------------------------------------------------------------------------

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        use_adapter = kwargs.pop("use_adapter", True)
        call = _Call(self._prompt(messages), self._generation_settings(stop, **kwargs), use_adapter)
        with self._waiting_lock:
            self._waiting.append(call)
        time.sleep(self.batch_window)  # the other items of a chain.batch arrive within milliseconds
        while not call.done.is_set():
            # Whoever holds the lock generates a batch of waiting calls (maybe not its own); the others wait.
            if self.lock.acquire(timeout=0.05):
                try:
                    batch = self._take_batch()
                    if batch:
                        self._generate_batch(batch)
                finally:
                    self.lock.release()
        if call.error is not None:
            raise call.error
        return ChatResult(generations=[ChatGeneration(message=call.message)])

    def _take_batch(self) -> list[_Call]:
        with self._waiting_lock:
            if not self._waiting:
                return []
            key = self._waiting[0].key
            batch = [call for call in self._waiting if call.key == key][:self.max_batch]
            self._waiting = [call for call in self._waiting if call not in batch]
        return batch

    def _generate_batch(self, batch: list[_Call]) -> None:
        """One left-padded generate() for the whole batch: one forward pass per step for every row."""
        import torch

        tokenizer, model = self.loaded.tokenizer, self.loaded.model
        try:
            tokenizer.padding_side = "left"  # every row continues from the right edge
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token  # padding is masked out, so any token will do
            inputs = tokenizer([call.prompt for call in batch], return_tensors="pt", padding=True,
                               add_special_tokens=False)
            started = time.monotonic()
            with torch.inference_mode(), self._adapter(batch[0].use_adapter):
                if self.seed is not None:
                    torch.manual_seed(self.seed)
                output = model.generate(**inputs, tokenizer=tokenizer, **batch[0].settings)
            seconds = time.monotonic() - started
            new = output[:, inputs["input_ids"].shape[1]:].tolist()
            stops = _stop_ids(tokenizer, model)
            for call, row, mask in zip(batch, new, inputs["attention_mask"].tolist()):
                end = next((i for i, token in enumerate(row) if token in stops), None)
                tokens = row if end is None else row[:end]
                text = tokenizer.decode(tokens, skip_special_tokens=True).strip()
                call.message = AIMessage(
                    content=text,
                    usage_metadata={"input_tokens": sum(mask), "output_tokens": len(tokens) + (end is not None),
                                    "total_tokens": sum(mask) + len(tokens) + (end is not None)},
                    response_metadata={"finish_reason": "length" if end is None else "stop",
                                       "batch_seconds": round(seconds, 4), "batch_size": len(batch)})
        except BaseException as error:  # raised again in each caller's thread
            for call in batch:
                call.error = error
        finally:
            for call in batch:
                call.done.set()

    # -- stream -----------------------------------------------------------------------------------

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        from transformers import StoppingCriteria, TextIteratorStreamer

        tokenizer, model = self.loaded.tokenizer, self.loaded.model
        inputs = tokenizer(self._prompt(messages), return_tensors="pt", add_special_tokens=False)
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

    # -- shared -----------------------------------------------------------------------------------

    def _prompt(self, messages: list[BaseMessage]) -> str:
        return apply_template(self.loaded.tokenizer, [{"role": ROLES[m.type], "content": m.content} for m in messages])

    def _adapter(self, use_adapter: bool):
        """The base model alone for this request (`use_adapter=False`), when an adapter is attached."""
        model = self.loaded.model
        if use_adapter or not hasattr(model, "disable_adapter"):
            return contextlib.nullcontext()
        if self._merged:
            raise RuntimeError("the adapter is merged into the weights; the base model alone is no longer available")
        return model.disable_adapter()  # peft: the adapter is bypassed until the block ends

    def _generation_settings(self, stop: list[str] | None, **overrides: Any) -> dict:
        temperature = 0 if self.greedy else overrides.get("temperature", self.temperature)
        max_new_tokens = overrides.get("max_new_tokens", self.max_new_tokens)
        settings = {
            "max_new_tokens": min(max_new_tokens, self.max_new_tokens_cap or max_new_tokens),
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


def _stop_ids(tokenizer, model) -> set[int]:
    """Tokens that end an answer: the tokenizer's end and padding, and every end token the model's generation
    config names (a model's end of turn, such as ChatML's <|im_end|> or Llama 3's <|eot_id|>)."""
    stops = {tokenizer.eos_token_id, tokenizer.pad_token_id}
    config = getattr(model, "generation_config", None)
    eos = getattr(config, "eos_token_id", None)
    stops.update([eos] if isinstance(eos, int) else eos or [])
    stops.update(getattr(model, "end_ids", []))  # an engine's model: the end tokens recorded at conversion
    return {token for token in stops if token is not None}


def is_remote(model: str | None) -> bool:
    """Whether `model` names a model on a server (`openai:URL`) rather than one this machine loads."""
    return model is not None and model.startswith(REMOTE_PREFIX)


def resolved_backend(model: str, backend: str | None) -> str | None:
    """The backend that generates for `model`: `backend`, or the default one (`bot.backends.default_backend`) when
    None; None for a model on a server, which generates there."""
    return None if is_remote(model) else backend or default_backend()


def load_chat_model(model: str | None = None, adapter: str | Path | None = None, backend: str | None = None,
                    **settings: Any) -> BaseChatModel:
    """Load base model + optional adapter on a decode backend (see `bot.models.load_model`; None: the default one,
    `bot.backends.default_backend`) as a chat model; `openai:URL` is a model on an OpenAI-compatible server
    instead (`bot.remote`)."""
    if is_remote(model):
        from bot.remote import remote_chat_model

        if backend is not None:
            raise TandemError(f"--backend {backend} runs a model on this machine; {model} runs on its server")
        return remote_chat_model(model, adapter, **settings)
    model = model or default_model()
    return LocalChatModel(loaded=load_model(model, adapter, resolved_backend(model, backend)), **settings)
