"""The chat model on an OpenAI-compatible server (`--model openai:http://HOST:PORT/v1`): vLLM, `tandem api`, ...

Tandem still renders every prompt (persona, instruction, passages, history: `bot.chain`) and retrieves
passages itself; the server only applies its model's chat template to the messages it is sent, so it must
add nothing of its own. Every server is asked for the same two model names:

    tandem/raw        the tuned model, base + adapter (requests with the adapter on, the default)
    tandem/raw+base   the base model alone ("adapter": False: the Compare tab's base, eval's base cells)

`tandem api` serves both: its `tandem/raw` names take the messages as sent, with no persona of its own.
vLLM serves them when named so (docs/serving.md, "Serving on vLLM"):

    vllm serve ~/.cache/tandem/models/qwen2.5-coder-0.5b-instruct --served-model-name tandem/raw+base \
        --enable-lora --lora-modules tandem/raw=adapters/default

The local adapter directory (`--adapter`, default the shipped one) stands for the adapter the server serves:
its card says how the tuned model is asked (the prompt format) and which knowledge retrieval reads. With no
adapter (`--no-adapter`) every request goes to `tandem/raw+base`. A key for the server, if it wants one, comes
from $TANDEM_API_KEY. A server that is down, a wrong URL or a refused key is one `RemoteModelError` line.
"""

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr

from bot.adapters import adapter_format, check_adapter
from bot.engines import DEFAULT_SAMPLING
from bot.errors import TandemError
from bot.prompts import PromptFormat

PREFIX = "openai:"
"""`--model openai:URL`: a model on an OpenAI-compatible server, not on this machine."""
TUNED_NAME = "tandem/raw"
BASE_NAME = "tandem/raw+base"
API_KEY_VARIABLE = "TANDEM_API_KEY"


def is_remote(model: str | None) -> bool:
    """Whether `model` names a model on a server (`openai:URL`) rather than one this machine loads."""
    return model is not None and model.startswith(PREFIX)


class RemoteModelError(TandemError):
    """The model server cannot be reached or refused a request."""


class RemoteChatModel(ChatOpenAI):
    """LangChain's ChatOpenAI with Tandem's generation settings (what the chain binds: max_new_tokens,
    temperature, repetition_penalty, use_adapter) turned into OpenAI request fields, and errors in one line."""

    adapter: Path | None = None
    """The local copy of the adapter the server serves as `model_name`; None: the base model only."""
    base_model_name: str = BASE_NAME
    greedy: bool = False
    """Decode greedily whatever a request asks (evaluation)."""
    max_new_tokens_cap: int | None = None
    """No answer longer than this, whatever a request asks (evaluation)."""
    _format: PromptFormat | None = PrivateAttr(default=None)

    @property
    def url(self) -> str:
        return self.openai_api_base

    @property
    def base_model(self) -> str:
        """What the conversation log records as the base model."""
        return f"{self.base_model_name} at {PREFIX}{self.url}"

    def describe(self) -> str:
        tuned = f"{self.model_name} (adapter {self.adapter}) and " if self.adapter is not None else ""
        return f"{tuned}{self.base_model_name} at {PREFIX}{self.url}"

    @property
    def prompt_format(self) -> PromptFormat:
        """How the served adapter was trained to be asked, from its local card (read once)."""
        if self._format is None:
            self._format = adapter_format(self.adapter)
        return self._format

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any):
        with self._errors():
            return super()._generate(messages, stop, run_manager, **self._request(kwargs))

    def _stream(self, messages, stop=None, run_manager=None, **kwargs: Any):
        with self._errors():
            yield from super()._stream(messages, stop, run_manager, **self._request(kwargs))

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs: Any):
        with self._errors():
            return await super()._agenerate(messages, stop, run_manager, **self._request(kwargs))

    async def _astream(self, messages, stop=None, run_manager=None, **kwargs: Any):
        with self._errors():
            async for chunk in super()._astream(messages, stop, run_manager, **self._request(kwargs)):
                yield chunk

    def _request(self, settings: dict) -> dict:
        """Tandem's generation settings as the fields of an OpenAI chat completion request."""
        settings = dict(settings)
        use_adapter = settings.pop("use_adapter", True) and self.adapter is not None
        max_new_tokens = settings.pop("max_new_tokens", self.max_tokens)
        request = {"model": self.model_name if use_adapter else self.base_model_name,
                   "max_tokens": min(max_new_tokens, self.max_new_tokens_cap or max_new_tokens),
                   "temperature": 0 if self.greedy else settings.pop("temperature", self.temperature)}
        if "repetition_penalty" in settings:  # not an OpenAI field: vLLM and tandem api take it in the body
            request["extra_body"] = {**(self.extra_body or {}), "repetition_penalty": settings.pop("repetition_penalty")}
        return {**settings, **request}

    @contextmanager
    def _errors(self):
        import openai

        where = f"the model server at {self.url}"
        try:
            yield
        except openai.AuthenticationError:
            raise RemoteModelError(f"{where} refused the API key (401); set ${API_KEY_VARIABLE} to its key") from None
        except openai.NotFoundError as error:
            raise RemoteModelError(f"{where} answered 404: {_message(error)} (is the URL right? it usually ends "
                                   f"in /v1; the server must serve {self.model_name} and {self.base_model_name})") from None
        except openai.APIStatusError as error:
            raise RemoteModelError(f"{where} answered {error.status_code}: {_message(error)}") from None
        except openai.APIConnectionError as error:
            raise RemoteModelError(f"cannot reach {where}: {_one_line(_root_cause(error))}") from None
        except openai.APIError as error:
            raise RemoteModelError(f"{where}: {_message(error)}") from None


def _message(error) -> str:
    """The server's own words: OpenAI's {"error": {"message"}}, FastAPI's {"detail"}, or the client's text."""
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message") or inner.get("detail"), str):
            return _one_line(inner.get("message") or inner.get("detail"))
        if isinstance(inner, str):
            return _one_line(inner)
    return _one_line(error.message)


def _root_cause(error: BaseException) -> BaseException:
    """The error at the bottom of the chain ("Connection refused"), under the client's "Connection error."."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def _one_line(text) -> str:
    return " ".join(str(text).split())[:300]


def remote_chat_model(model: str, adapter: str | Path | None = None, *, seed: int | None = None,
                      greedy: bool = False, max_new_tokens: int | None = None, max_new_tokens_cap: int | None = None,
                      max_batch: int | None = None, repetition_penalty: float | None = None,
                      **settings: Any) -> RemoteChatModel:
    """The chat model for `openai:URL`, asking for the adapter as `tandem/raw` and for the base as
    `tandem/raw+base` (`model_name=` and `base_model_name=` name others). `max_batch` is not used: the server
    batches concurrent requests itself (a `chain.batch` sends them at once)."""
    url = model[len(PREFIX):]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteModelError(f"--model {model}: expected {PREFIX}http://HOST:PORT/v1")
    if adapter is not None:
        check_adapter(adapter)
    return RemoteChatModel(
        base_url=url, api_key=os.environ.get(API_KEY_VARIABLE) or "none", model=settings.pop("model_name", TUNED_NAME),
        adapter=None if adapter is None else Path(adapter), use_responses_api=False, seed=seed, greedy=greedy,
        max_new_tokens_cap=max_new_tokens_cap, max_tokens=max_new_tokens or DEFAULT_SAMPLING.max_new_tokens,
        temperature=DEFAULT_SAMPLING.temperature, top_p=DEFAULT_SAMPLING.top_p,
        extra_body={"repetition_penalty": repetition_penalty or DEFAULT_SAMPLING.repetition_penalty}, **settings)
