"""`tandem api`: the chain behind an OpenAI-compatible HTTP endpoint, for apps in any language.

    POST /v1/chat/completions   (JSON answer, or server-sent events with "stream": true)
    GET  /v1/models

A request's `model` names a combination of persona and model variant: `tandem/support` is the support
persona on the tuned model, `tandem/support+base` the same persona on the base model without its adapter,
and `tandem` alone the default persona. Extra body fields override it: `persona`, `instruction` and
`retrieval` (true/false). The last message must be the user's question; the messages before it are the
conversation, placed the way the chain places history, so a client's own system message comes *after*
the persona's system prompt and never replaces it.

Two more names take the messages as they are, through the model's chat template alone, with no persona,
instruction or passages added: `tandem/raw` (the model this server runs, with its adapter) and `tandem/raw+base`
(the base model, which every server has). They are for clients that render their own prompts, such as Tandem
itself with `--model openai:URL` (`bot.remote`): asking for `tandem/support` there would put a second persona
in front of the one the client already rendered. Besides `max_tokens` and `temperature` they take `top_p` and
`repetition_penalty`, and `persona`, `instruction` or `retrieval` in such a request is an error.

A persona's answer carries its sources: the response's `sources` field (on a stream, the last chunk's, the one
with `finish_reason`) lists the passages the answer cites, each {"source", "section", "page", "label", "text"}
(`bot.citations`), labelled as the persona cites; it is there for every persona, one whose readers see no sources
included, and empty when the answer had no passages. The `tandem/raw` names have none.

Every answered request is a turn in the conversation log (session `api:<client>`, the client being the
request's `user` field or "anonymous"), so the data flywheel sees API traffic like chat traffic; except the
`tandem/raw` ones, which the client that rendered them logs (Tandem's own client does), so a log shared by
both holds each turn once.

Limits keep one machine responsive: a request body of at most `MAX_BODY_BYTES`, `max_tokens` capped at
`MAX_TOKENS`, and at most `capacity` requests in the house (being answered or waiting); beyond it the
server answers 429 at once rather than piling work up. Errors have OpenAI's shape:
{"error": {"message", "type", "param", "code"}}.
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass, field

from bot.answering import Answerer, Turn
from bot.chain import check_question
from bot.errors import TandemError
from bot.flags import answerer_from_flags
from bot.personas import Catalog, catalog_from_flags
from bot.remote import BASE_NAME, TUNED_NAME
from bot.userinput import printable, read_user_text, valid_unicode

MAX_BODY_BYTES = 256 * 1024
MAX_TOKENS = 512
"""The most tokens a client may ask for (a persona's own max_new_tokens applies when it asks for none)."""
CAPACITY = 16
"""Requests answered or waiting at once; more get 429. The chat model batches up to 8 concurrent answers."""
MODEL_PREFIX = "tandem"
BASE_SUFFIX = "+base"
RAW_NAMES = (TUNED_NAME, BASE_NAME)
"""The model itself, adapter on and off: the messages as sent, through its chat template alone (the names Tandem's
own client, bot.remote, asks a server for)."""


class ApiError(Exception):
    """An error answered to the client in OpenAI's shape."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


@dataclass
class ApiContext:
    """What every request handler needs: the answerer (model, personas, knowledge, log) and the limits."""

    answerer: Answerer
    """Answers the persona names and logs them (`bot.answering`); its chat model answers the `tandem/raw` names."""
    api_keys: frozenset[str] = frozenset()
    capacity: int = CAPACITY
    max_tokens: int = MAX_TOKENS
    in_house: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def catalog(self) -> Catalog:
        return self.answerer.catalog

    @property
    def max_chars(self) -> int:
        return self.answerer.max_chars

    @property
    def chat_model(self):
        return self.answerer.chat_model

    @property
    def has_adapter(self) -> bool:
        return getattr(self.chat_model, "adapter", None) is not None


@dataclass(frozen=True)
class ChatRequest:
    """One /v1/chat/completions request, checked: a turn to answer, or for a `tandem/raw` name the messages, whether
    the adapter is on, and the sampling settings."""

    model: str
    stream: bool
    turn: Turn | None = None
    raw: dict | None = None


def model_names(catalog: Catalog, has_adapter: bool) -> list[str]:
    """Every model name /v1/models lists: the default, each persona on the tuned model and on the base, and the
    two raw names (a persona with the id "raw" is reached with the `persona` field)."""
    names = [MODEL_PREFIX]
    for persona_id in catalog.personas:
        if f"{MODEL_PREFIX}/{persona_id}" in RAW_NAMES:
            continue
        names.append(f"{MODEL_PREFIX}/{persona_id}")
        if has_adapter:
            names.append(f"{MODEL_PREFIX}/{persona_id}{BASE_SUFFIX}")
    return names + list(RAW_NAMES)


def parse_request(body: dict, context: ApiContext) -> ChatRequest:
    """The chain inputs a request asks for, or an ApiError that says which field is wrong."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str):
        raise ApiError(400, "\"model\" is required: for example \"tandem/support\" (GET /v1/models lists them)",
                       param="model")
    client = body.get("user") if isinstance(body.get("user"), str) and body.get("user") else "anonymous"
    stream = body.get("stream") is True
    if model in RAW_NAMES:
        return ChatRequest(model=model, stream=stream, raw=_raw_inputs(body, model, context))
    persona_id, use_adapter = _model_choice(model, context)
    persona_id = body.get("persona", persona_id)
    if persona_id not in context.catalog.personas:
        raise ApiError(404, f"no persona {persona_id!r}; known: {', '.join(context.catalog.personas)}",
                       param="persona", code="model_not_found")
    instruction = body.get("instruction", context.catalog.default_instruction)
    if instruction not in context.catalog.instructions:
        raise ApiError(400, f"no instruction {instruction!r}; known: {', '.join(context.catalog.instructions)}",
                       param="instruction")
    retrieval = body.get("retrieval")
    if retrieval is not None and not isinstance(retrieval, bool):
        raise ApiError(400, "\"retrieval\" must be true or false", param="retrieval")
    history, question = _conversation(body.get("messages"))
    _check_question(question, context)
    turn = Turn(question, f"api:{client[:100]}", persona_id, instruction, history=history, retrieval=retrieval,
                adapter=use_adapter, max_new_tokens=_max_tokens(body, context.max_tokens),
                temperature=_number(body, "temperature", 0, 2))
    return ChatRequest(model=model, stream=stream, turn=turn)


def _raw_inputs(body: dict, model: str, context: ApiContext) -> dict:
    """A `tandem/raw` request: every message as sent, whether the adapter is on, and the sampling settings."""
    for name in ("persona", "instruction", "retrieval"):
        if name in body:
            raise ApiError(400, f"{model} takes the messages as they are; \"{name}\" belongs with names such as "
                                "\"tandem/support\"", param=name)
    history, question = _conversation(body.get("messages"))
    _check_question(question, context)
    return {"messages": [*history, {"role": "user", "content": question}], "adapter": not model.endswith(BASE_SUFFIX),
            "max_new_tokens": _max_tokens(body, context.max_tokens), "temperature": _number(body, "temperature", 0, 2),
            "top_p": _number(body, "top_p", 0, 1), "repetition_penalty": _number(body, "repetition_penalty", 0, 2)}


def _number(body: dict, name: str, low: float, high: float) -> float | None:
    """The body's number `name`, from `low` to `high`; None when it is not given."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ApiError(400, f"\"{name}\" must be a number from {low:g} to {high:g}", param=name)
    return float(value)


def _model_choice(model: str, context: ApiContext) -> tuple[str, bool]:
    """(persona id, whether the adapter is on) named by a model name such as "tandem/support+base"."""
    name, use_adapter = (model[:-len(BASE_SUFFIX)], False) if model.endswith(BASE_SUFFIX) else (model, True)
    if name == MODEL_PREFIX:
        return context.catalog.default_persona, use_adapter
    prefix, _, persona_id = name.partition("/")
    if prefix != MODEL_PREFIX or not persona_id:
        raise ApiError(404, f"no model {model!r}: names look like \"tandem/support\" or \"tandem/support+base\" "
                            "(GET /v1/models lists them)", param="model", code="model_not_found")
    if not use_adapter and not context.has_adapter:
        raise ApiError(404, f"no model {model!r}: this server runs the base model only", param="model",
                       code="model_not_found")
    return persona_id, use_adapter


def _conversation(messages) -> tuple[list[dict], str]:
    """(history, question): the messages before the last, and the last one, which must be the user's."""
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "\"messages\" must be a non-empty list", param="messages")
    turns = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "developer", "user", "assistant"):
            raise ApiError(400, f"messages[{index}] needs a role of system, user or assistant", param="messages")
        text = _text(message.get("content"))
        if text is None:
            raise ApiError(400, f"messages[{index}].content must be text (a string or a list of text parts)",
                           param="messages")
        role = "system" if message["role"] == "developer" else message["role"]
        turns.append({"role": role, "content": text})
    if turns[-1]["role"] != "user":
        raise ApiError(400, "the last message must be the user's question", param="messages")
    return turns[:-1], turns[-1]["content"]


def _check_question(question: str, context: ApiContext) -> None:
    """The chain's own check of the question (empty, too long), answered as a 400 before anything streams."""
    try:
        check_question(question, context.max_chars)
    except TandemError as error:
        raise ApiError(400, str(error), param="messages") from None


def _text(content) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                         and isinstance(p.get("text"), str) for p in content):
        return "".join(part["text"] for part in content)
    return None


def _max_tokens(body: dict, limit: int) -> int | None:
    """The client's max_tokens, capped; None keeps the persona's own setting."""
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError(400, "\"max_tokens\" must be a positive integer", param="max_tokens")
    return min(value, limit)


def build_api(context: ApiContext):
    """The FastAPI application (served by uvicorn in `tandem api`, and by a test's own server)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    api = FastAPI(title="Tandem", docs_url=None, redoc_url=None, openapi_url=None)

    def error_response(error: ApiError) -> JSONResponse:
        headers = {"Retry-After": "1"} if error.status == 429 else None
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    @api.middleware("http")
    async def check_key(request: Request, call_next):
        if context.api_keys:
            scheme, _, key = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or key.strip() not in context.api_keys:
                return error_response(ApiError(401, "a valid API key is required (Authorization: Bearer KEY)",
                                               kind="authentication_error", code="invalid_api_key"))
        return await call_next(request)

    @api.get("/v1/models")
    def list_models():
        created = int(time.time())
        return {"object": "list", "data": [{"id": name, "object": "model", "created": created, "owned_by": "tandem"}
                                           for name in model_names(context.catalog, context.has_adapter)]}

    @api.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        body = await request.body()
        try:
            if len(body) > MAX_BODY_BYTES:
                raise ApiError(413, f"the request body has {len(body):,} bytes; the limit is {MAX_BODY_BYTES:,}")
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                raise ApiError(400, "the request body is not valid JSON") from None
            if not valid_unicode(parsed):  # "\ud800" is valid JSON, and no tokenizer takes it
                raise ApiError(400, "the request body holds a lone surrogate escape (such as \\ud800), not valid Unicode")
            chat = parse_request(parsed, context)
            place = Place.take(context)
        except ApiError as error:
            return error_response(error)
        if chat.stream:
            return StreamWithPlace(_stream_events(context, chat, place), place, media_type="text/event-stream")
        from starlette.concurrency import run_in_threadpool

        try:
            return await run_in_threadpool(_answer, context, chat)
        except ApiError as error:
            return error_response(error)
        finally:
            place.give_back()

    class StreamWithPlace(StreamingResponse):
        """A stream that gives its request's place back however it ends: finished, failed, or cut off by a
        client that hung up, even before its first byte (when its events were never started)."""

        def __init__(self, content, place: "Place", **kwargs):
            super().__init__(content, **kwargs)
            self.place = place

        async def __call__(self, scope, receive, send):
            try:
                await super().__call__(scope, receive, send)
            finally:
                self.place.give_back()

    return api


@dataclass
class Place:
    """One admitted request's place among the `capacity` in the house, given back exactly once."""

    context: ApiContext
    held: bool = True

    @classmethod
    def take(cls, context: ApiContext) -> "Place":
        with context.lock:
            if context.in_house >= context.capacity:
                raise ApiError(429, f"the server is busy ({context.capacity} requests in progress); retry shortly",
                               kind="rate_limit_error", code="server_busy")
            context.in_house += 1
        return cls(context)

    def give_back(self) -> None:
        with self.context.lock:
            if self.held:
                self.held = False
                self.context.in_house -= 1


def _answer(context: ApiContext, chat: ChatRequest) -> dict:
    try:
        if chat.raw is not None:
            message = _raw_model(context, chat.raw).invoke(chat.raw["messages"])
            answer, usage = message.content, message.usage_metadata or {}
            finish = message.response_metadata.get("finish_reason", "stop")
        else:
            turn = context.answerer.answer(chat.turn)
            answer, usage, finish = turn.answer, turn.usage, turn.finish_reason
    except TandemError as error:
        raise ApiError(400, str(error)) from None
    completion = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                  "model": chat.model,
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                               "finish_reason": finish}],
                  "usage": {"prompt_tokens": usage.get("input_tokens", 0),
                            "completion_tokens": usage.get("output_tokens", 0),
                            "total_tokens": usage.get("total_tokens", 0)}}
    return completion if chat.raw is not None else {**completion, "sources": sources_field(chat.turn)}


def sources_field(turn: Turn) -> list[dict]:
    """The `sources` of a response: the passages the answer cites, as JSON (bot.citations.Source)."""
    return [source.model_dump(mode="json") for source in turn.sources]


def _raw_model(context: ApiContext, raw: dict):
    """The chat model itself, with a raw request's sampling settings: no persona, passages or log (the client
    rendered the prompt, and logs the turn itself; Tandem's own client does)."""
    settings = {key: value for key, value in raw.items()
                if key in ("max_new_tokens", "temperature", "top_p", "repetition_penalty") and value is not None}
    if not raw["adapter"] and context.has_adapter:
        settings["use_adapter"] = False  # as the chain asks bot.chat_model.LocalChatModel (and bot.remote) for the base
    return context.chat_model.bind(**settings)


def _stream_events(context: ApiContext, chat: ChatRequest, place: Place):
    """Server-sent events as OpenAI streams them: a role chunk, content chunks, a finish chunk, [DONE].
    A sync generator: Starlette iterates it on a worker thread, so generation never blocks the server."""
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def event(delta: dict, finish: str | None = None, **extra) -> str:
        chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": chat.model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    try:
        yield event({"role": "assistant", "content": ""})
        try:
            if chat.raw is not None:
                pieces = (chunk.content for chunk in _raw_model(context, chat.raw).stream(chat.raw["messages"]))
            else:
                pieces = context.answerer.stream(chat.turn)  # logged however the stream ends
            for piece in pieces:
                if piece:
                    yield event({"content": piece})
        except TandemError as error:
            yield f"data: {json.dumps(ApiError(400, str(error)).body())}\n\n"
            return
        yield event({}, "stop", **({} if chat.raw is not None else {"sources": sources_field(chat.turn)}))
        yield "data: [DONE]\n\n"
    finally:
        place.give_back()


# The command line --------------------------------------------------------------------------------------

def serve_from_flags(args) -> int:
    """`tandem api`: check the keys and limits the flags give, load the model, and serve until interrupted."""
    import uvicorn

    keys = _keys_from_flags(args)
    for flag, value in (("--max-tokens", args.max_tokens), ("--capacity", args.capacity)):
        if value is not None and value < 1:
            raise TandemError(f"{flag} must be at least 1")
    answerer = answerer_from_flags(args, catalog_from_flags(args, strict=False))
    context = ApiContext(answerer=answerer, api_keys=frozenset(keys), capacity=args.capacity or CAPACITY,
                         max_tokens=args.max_tokens or MAX_TOKENS)
    store = answerer.store
    print(f"Tandem API on http://{args.host}:{args.port}/v1 ({printable(answerer.chat_model.describe())}); "
          + ("conversation log off" if store is None else f"conversation log: {printable(store.location)}"), flush=True)
    uvicorn.run(build_api(context), host=args.host, port=args.port, log_level="warning")
    return 0


def _keys_from_flags(args) -> set[str]:
    """The keys of --api-key and --api-keys-file; a non-local --host without any is refused."""
    keys = set(args.api_key)
    if args.api_keys_file is not None:
        text = read_user_text(args.api_keys_file)
        keys |= {line.strip() for line in text.splitlines() if line.strip()}
    if args.host not in ("127.0.0.1", "localhost", "::1") and not keys:
        raise TandemError(f"binding to {args.host} exposes the API beyond this machine; add --api-key KEY "
                          "or --api-keys-file FILE")
    return keys
