"""A LangChain chat model over a local engine (`bot.engines`): token streaming, cancellation, batched calls.

Why not langchain-huggingface's ChatHuggingFace + HuggingFacePipeline: its streaming thread runs
`generate` to the end even after the consumer stops reading, so a Stop button would leave both
CPU cores busy until `max_new_tokens`; it has no guard for a model shared between sessions; and it
renders the chat template itself, where Tandem's rule is one renderer (`bot.prompts`) for serving,
training and evaluation.

The chat model renders the prompt, asks the engine for token ids and assembles the text once
(`bot.answer_text`), with one stop policy for every engine. Two ways through, one engine and one lock:

- `stream` (the chat, `tandem ask`): one answer, token by token, stopped when the reader stops.
- `invoke` / `batch` (evaluation, embedding apps): on an engine that batches (transformers, CTranslate2), calls
  that arrive together, such as the items of a `chain.batch`, are generated as one batch: on a CPU, 16 answers
  at once cost little more per step than one (`benchmarks/batch_generation.py`). On ONNX Runtime, which answers
  one prompt at a time, each call is the stream, gathered.
"""

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from bot.adapters import adapter_format
from bot.answer_text import AnswerText
from bot.backends import default_backend
from bot.engines import DEFAULT_SAMPLING, Engine, Sampling, load_engine
from bot.errors import TandemError
from bot.models import default_model
from bot.prompts import PromptFormat, encode_prompt
from bot.remote import is_remote, remote_chat_model

ROLES = {"system": "system", "human": "user", "ai": "assistant"}


@dataclass
class _Call:
    """One non-streaming call waiting for its batch."""

    prompt: list[int]
    sampling: Sampling
    stop: list[str] | None
    use_adapter: bool
    done: threading.Event = field(default_factory=threading.Event)
    message: AIMessage | None = None
    error: BaseException | None = None

    @property
    def key(self) -> tuple:
        """Calls are batched together only when they generate the same way."""
        return self.use_adapter, self.sampling


class LocalChatModel(BaseChatModel):
    """Generates on a local engine; every request may override the sampling settings.

    A request may also pass `use_adapter=False` to answer with the base model alone (the compare view
    sets base and tuned side by side from one copy of the weights).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: Engine
    temperature: float = DEFAULT_SAMPLING.temperature
    """0 means greedy decoding."""
    max_new_tokens: int = DEFAULT_SAMPLING.max_new_tokens
    top_p: float = DEFAULT_SAMPLING.top_p
    repetition_penalty: float = DEFAULT_SAMPLING.repetition_penalty
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
    """Seconds a call waits for others to join its batch, on an engine that batches."""
    lock: Any = Field(default_factory=threading.Lock, exclude=True)
    """One generation at a time: two at once on 2 cores would only halve each one's speed."""
    _waiting: list = PrivateAttr(default_factory=list)
    _waiting_lock: Any = PrivateAttr(default_factory=threading.Lock)
    _format: PromptFormat | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "tandem-local"

    def describe(self) -> str:
        return self.engine.describe()

    @property
    def tokenizer(self):
        return self.engine.tokenizer

    @property
    def adapter(self) -> Path | None:
        """The LoRA adapter this model answers with (None: the base model alone)."""
        return self.engine.adapter

    @property
    def backend(self) -> str:
        return self.engine.backend

    @property
    def base_model(self) -> str:
        """What the conversation log records as the base model: the name it was loaded by."""
        return self.engine.name

    @property
    def prompt_format(self) -> PromptFormat:
        """How this model's adapter was trained to be asked (the base model's defaults without one); the
        card is read once, not on every request."""
        if self._format is None:
            self._format = adapter_format(self.engine.adapter)
        return self._format

    def merge_adapter(self) -> None:
        """Fold the adapter into the base weights: the same answers, about a third faster (evaluation);
        `use_adapter=False` is refused afterwards."""
        with self.lock:
            self.engine.merge_adapter()

    # -- stream -----------------------------------------------------------------------------------

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        use_adapter = kwargs.pop("use_adapter", True)
        prompt, sampling = self._prompt(messages), self._sampling(**kwargs)
        text = AnswerText(self.tokenizer, stop)
        # Closing the stream (Stop button, a closed generator) closes the engine's, which stops generating.
        with self.lock, closing(self.engine.stream(prompt, sampling, use_adapter)) as tokens:
            for token in tokens:
                if piece := text.add(token):
                    yield self._chunk(piece, run_manager)
                if text.stopped:
                    break
        if rest := text.finish():
            yield self._chunk(rest, run_manager)

    @staticmethod
    def _chunk(text: str, run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
        if run_manager:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk

    # -- invoke / batch ---------------------------------------------------------------------------

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        use_adapter = kwargs.pop("use_adapter", True)
        call = _Call(self._prompt(messages), self._sampling(**kwargs), stop, use_adapter)
        if not self.engine.batches:
            with self.lock, closing(self.engine.stream(call.prompt, call.sampling, use_adapter)) as tokens:
                started = time.monotonic()
                call.message = self._message(call, tokens, batch_size=1)
                call.message.response_metadata["batch_seconds"] = round(time.monotonic() - started, 4)
            return ChatResult(generations=[ChatGeneration(message=call.message)])
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
        try:
            started = time.monotonic()
            answers = self.engine.generate([call.prompt for call in batch], batch[0].sampling, batch[0].use_adapter)
            seconds = round(time.monotonic() - started, 4)
            for call, tokens in zip(batch, answers):
                call.message = self._message(call, tokens, batch_size=len(batch))
                call.message.response_metadata["batch_seconds"] = seconds
        except BaseException as error:  # raised again in each caller's thread
            for call in batch:
                call.error = error
        finally:
            for call in batch:
                call.done.set()

    def _message(self, call: _Call, tokens: Iterable[int], batch_size: int) -> AIMessage:
        """The answer to `call` from its token ids, ended by the stop policy (`bot.answer_text`), with its counts."""
        text, count = AnswerText(self.tokenizer, call.stop), 0
        for token in tokens:
            count += 1
            text.add(token)
            if text.stopped:
                break
        text.finish()
        finish = "stop" if text.stopped or count < call.sampling.max_new_tokens else "length"
        output_tokens = count + (finish == "stop" and not text.stopped)  # the end token counts, as in transformers
        return AIMessage(
            content=text.text.strip(),
            usage_metadata={"input_tokens": len(call.prompt), "output_tokens": output_tokens,
                            "total_tokens": len(call.prompt) + output_tokens},
            response_metadata={"finish_reason": finish, "batch_size": batch_size})

    # -- shared -----------------------------------------------------------------------------------

    def _prompt(self, messages: list[BaseMessage]) -> list[int]:
        return encode_prompt(self.tokenizer, [{"role": ROLES[m.type], "content": m.content} for m in messages])

    def _sampling(self, **overrides: Any) -> Sampling:
        max_new_tokens = overrides.get("max_new_tokens", self.max_new_tokens)
        temperature = 0 if self.greedy else overrides.get("temperature", self.temperature)
        return Sampling(max_new_tokens=min(max_new_tokens, self.max_new_tokens_cap or max_new_tokens),
                        repetition_penalty=overrides.get("repetition_penalty", self.repetition_penalty),
                        temperature=temperature, top_p=overrides.get("top_p", self.top_p) if temperature > 0 else 1.0,
                        seed=self.seed)


def resolved_backend(model: str, backend: str | None) -> str | None:
    """The backend that generates for `model`: `backend`, or the default one (`bot.backends.default_backend`) when
    None; None for a model on a server, which generates there."""
    return None if is_remote(model) else backend or default_backend()


def load_chat_model(model: str | None = None, adapter: str | Path | None = None, backend: str | None = None,
                    **settings: Any) -> BaseChatModel:
    """Load base model + optional adapter on a decode backend (`bot.engines`; None: the default one,
    `bot.backends.default_backend`) as a chat model; `openai:URL` is a model on an OpenAI-compatible server
    instead (`bot.remote`)."""
    if is_remote(model):
        if backend is not None:
            raise TandemError(f"--backend {backend} runs a model on this machine; {model} runs on its server")
        return remote_chat_model(model, adapter, **settings)
    model = model or default_model()
    return LocalChatModel(engine=load_engine(model, adapter, resolved_backend(model, backend)), **settings)
