"""The LangChain pipeline every front end uses: validate → retrieve → render persona prompt → chat model → leak guard → text.

Input is a dict; persona, instruction and the switches are input keys, so each call (and each item
of a batch) chooses its own:

    {"question": "How do I get a refund?",        # required
     "persona": "support",                        # optional, default: the catalog's first persona; None: no persona
     "instruction": "steps",                      # optional, default: "direct"
     "history": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}],
     "retrieval": True,                           # optional, default: the model's prompt format (on for a
                                                  #   model trained to read passages); needs a retriever
     "passages": ["...", Document(...)],          # optional: passages already found (skips the retriever)
     "few_shot": False,                           # optional, default: the model's prompt format
     "adapter": False,                            # optional; False: the base model without its adapter
     "max_new_tokens": 200, "temperature": 0.3}   # optional: override the persona's generation settings

Output is the answer as a string (streamed token by token with `.stream`); `build_chain(...,
as_message=True)` returns the chat model's message instead, with token counts in `usage_metadata`.
Defaults come from the model's `PromptFormat` (`bot.prompts`), which training records in the adapter
card: a tuned model is asked exactly the way it was trained.

`build_chain(..., with_sources=True)` answers the way LangChain's `create_retrieval_chain` does, with a dict:

    {"answer": "The renewal price rises by at most 5% (§4.3).",
     "context": [Document(...), ...],                  # every passage the model was given, with its metadata
     "sources": [Source(source="agreement.md", section="§4 Term › 4.3 Renewal price cap", page=None,
                        label="agreement.md §4.3", text="...")]}   # the passages the answer cites (bot.citations)

and `.stream` yields the same keys piece by piece: `{"context": [...]}` first, then `{"answer": "..."}` chunks
as they are generated, then `{"sources": [...]}` once the answer is whole (the chunks add up to the dict above).
A source's `label` reads the way the request's persona cites (`Persona.citations`); a persona that shows its
readers no sources still gets them here. A passage given as a string says nothing of where it came from, and is
cited by its place in the prompt ("passage 2").
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, closing
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel
from langchain_core.documents import Document
from langchain_core.messages import AIMessageChunk, BaseMessage, convert_to_messages
from langchain_core.output_parsers import StrOutputParser
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.runnables.config import run_in_executor
from langchain_core.runnables.utils import AddableDict

from bot.citations import cite
from bot.errors import InputError
from bot.leak_guard import LeakGuard
from bot.userinput import check_text
from bot.models import default_model, shipped_adapter_for
from bot.personas import Catalog, load_catalog
from bot.prompts import PromptFormat, render_messages, system_prompt

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

MAX_MESSAGE_CHARS = 4000


def check_question(question, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    """The question as given, or an InputError for one the model should never see."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("Please type a question: the message is empty.")
    if len(question) > max_chars:
        raise InputError(f"The message has {len(question):,} characters; the limit is {max_chars:,}. "
                         "Please shorten it (nothing was sent to the model).")
    return check_text(question, "The message")


def find_passages(retriever: BaseRetriever, question: str) -> list[Document]:
    """The passages retrieval puts into the prompt for this question, each with where it came from (its metadata:
    `source`, `section`, `page`), so an answer can cite them."""
    return list(retriever.invoke(question))


def as_documents(passages: list) -> list[Document]:
    """Passages given as strings or as Documents, as Documents (a string says nothing of where it came from)."""
    return [p if isinstance(p, Document) else Document(page_content=str(p)) for p in passages]


def model_format(chat_model: BaseChatModel, use_adapter: bool = True) -> PromptFormat:
    """The prompt format of a chat model (Tandem's local one knows its adapter's); the base defaults otherwise."""
    return getattr(chat_model, "prompt_format", PromptFormat()) if use_adapter else PromptFormat()


def default_retriever(chat_model: BaseChatModel, knowledge: Path | None = None, index: str | None = None,
                      db: str | None = None) -> BaseRetriever | None:
    """What a chat model retrieves from: the index named `index` or the documents under `knowledge`, else the
    knowledge its adapter was trained to read when its prompt format has retrieval on
    (`bot.retrieval.choose_knowledge`), read with the model's passage count and budget; the indexes are where
    `bot.index.index_location(db)` says."""
    from bot.retrieval import choose_knowledge

    adapter = getattr(chat_model, "adapter", None)  # the local one's, or the card of the adapter a server serves
    prompt_format = model_format(chat_model)
    return choose_knowledge(prompt_format.top_k, prompt_format.passage_chars, knowledge,
                            adapter if prompt_format.retrieval else None, index=index, db=db)


def build_chain(chat_model: BaseChatModel | None = None, catalog: Catalog | None = None,
                max_chars: int = MAX_MESSAGE_CHARS, retriever: BaseRetriever | None = None,
                as_message: bool = False, model: str | None = None, with_sources: bool = False) -> Runnable:
    """A Runnable from the input dict above to the answer text.

    With no arguments it loads the default model (with the shipped adapter when one exists), its
    knowledge when the adapter was trained to read passages, and the shipped personas; `model` names
    another embedded model, hub id or directory to load instead (with the shipped adapter only when it
    was trained on that model). Pass a `chat_model` (any LangChain chat model) or a `catalog` to choose
    others, and a `retriever` to ground answers in passages it finds. `with_sources=True` answers with a dict
    of the answer, the passages it was given and those it cites (see the module docstring).
    """
    if with_sources and as_message:
        raise ValueError("build_chain answers with sources (a dict) or as a message, not both")
    if chat_model is None:
        from bot.chat_model import load_chat_model

        name = model or default_model()
        chat_model = load_chat_model(name, shipped_adapter_for(name))
        retriever = retriever or default_retriever(chat_model)
    elif model is not None:
        raise ValueError("build_chain takes a chat_model or a model name, not both")
    catalog = catalog or load_catalog()

    def route(inputs: dict) -> Runnable:
        # Returning a Runnable from a RunnableLambda makes LangChain run it on the same input, with
        # streaming and callbacks intact: this is how each call gets its persona's own settings.
        question = check_question(inputs.get("question"), max_chars)
        persona_id = inputs.get("persona", catalog.default_persona)
        persona = catalog.persona(persona_id) if persona_id is not None else None
        instruction = catalog.instruction(inputs.get("instruction") or catalog.default_instruction)
        history = [_as_dict(m) for m in convert_to_messages(inputs.get("history") or [])]
        use_adapter = inputs.get("adapter", True) is not False
        passages = [p.page_content for p in request_passages(inputs, question, chat_model, retriever)]
        messages = convert_to_messages(render_messages(
            persona, instruction, question, history, passages=passages,
            with_examples=inputs.get("few_shot", model_format(chat_model, use_adapter).few_shot)))
        settings = persona.generation.as_kwargs() if persona else {}
        settings.update({key: inputs[key] for key in ("max_new_tokens", "temperature") if inputs.get(key) is not None})
        if not use_adapter:
            settings["use_adapter"] = False  # understood by bot.chat_model.LocalChatModel
        secret = system_prompt(persona, instruction)
        if not secret:
            return RunnableLambda(lambda _: messages, name="render_messages") | chat_model.bind(**settings)
        return RunnableLambda(lambda _: messages, name="render_messages") | _Guarded(
            chat_model.bind(**settings), secret, public=[question, *passages])

    chain = RunnableLambda(route, name="tandem")
    if not as_message:
        chain = chain | StrOutputParser()
    if with_sources:
        chain = _with_sources(chain, catalog, max_chars, chat_model, retriever)
    return chain.with_config(run_name="tandem")


def request_passages(inputs: dict, question: str, chat_model: BaseChatModel,
                     retriever: BaseRetriever | None) -> list[Document]:
    """The passages a request gives, else those the retriever finds when the request (or the model's prompt format)
    has retrieval on."""
    passages = as_documents(inputs.get("passages") or [])
    prompt_format = model_format(chat_model, inputs.get("adapter", True) is not False)
    if not passages and retriever is not None and inputs.get("retrieval", prompt_format.retrieval):
        passages = find_passages(retriever, question)
    return passages


def _with_sources(answering: Runnable, catalog: Catalog, max_chars: int, chat_model: BaseChatModel,
                  retriever: BaseRetriever | None) -> Runnable:
    """`answering` (input dict → answer text) answering with a dict: the passages it was given, the answer as it
    streams, and the passages the whole answer cites, labelled as the request's persona cites."""

    def begin(inputs: dict) -> tuple[dict, list[Document], str]:
        """The request with its passages found (once: the prompt and the citations see the same ones), the passages,
        and the persona's citation style."""
        question = check_question(inputs.get("question"), max_chars)
        persona_id = inputs.get("persona", catalog.default_persona)
        style = catalog.persona(persona_id).citations if persona_id is not None else "document"
        passages = request_passages(inputs, question, chat_model, retriever)
        return {**inputs, "passages": passages, "retrieval": bool(passages)}, passages, style

    def end(text: str, passages: list[Document], style: str) -> AddableDict:
        return AddableDict(sources=cite(text, passages, style), **({} if text else {"answer": ""}))

    def answer(inputs: dict, config: RunnableConfig) -> Iterator[AddableDict]:
        request, passages, style = begin(inputs)
        yield AddableDict(context=passages)
        text = ""
        for chunk in answering.stream(request, config):
            text += chunk
            yield AddableDict(answer=chunk)
        yield end(text, passages, style)

    async def answer_async(inputs: dict, config: RunnableConfig) -> AsyncIterator[AddableDict]:
        request, passages, style = await run_in_executor(config, begin, inputs)  # the retriever is synchronous
        yield AddableDict(context=passages)
        text = ""
        async for chunk in answering.astream(request, config):
            text += chunk
            yield AddableDict(answer=chunk)
        yield end(text, passages, style)

    return RunnableLambda(answer, answer_async, name="tandem_with_sources")


class _Guarded(Runnable):
    """A chat model whose answers never repeat a run of the system prompt (bot.leak_guard).

    A Runnable of its own rather than a step after the model: LangChain reads a step's whole input for
    tracing, so only the caller of the model's stream can stop generation once a run appears."""

    def __init__(self, model: Runnable, secret: str, public: list[str]):
        self.model, self.secret, self.public = model, secret, public

    def invoke(self, messages, config: RunnableConfig | None = None, **kwargs) -> BaseMessage:
        return self._withheld(self.model.invoke(messages, config, **kwargs))

    async def ainvoke(self, messages, config: RunnableConfig | None = None, **kwargs) -> BaseMessage:
        return self._withheld(await self.model.ainvoke(messages, config, **kwargs))

    def _withheld(self, message: BaseMessage) -> BaseMessage:
        """A whole answer with any run of the system prompt withheld."""
        guard = LeakGuard(self.secret, self.public)
        text = guard.feed(message.content)
        return message.model_copy(update={"content": text + guard.finish()})

    def stream(self, messages, config: RunnableConfig | None = None, **kwargs) -> Iterator[AIMessageChunk]:
        guard = LeakGuard(self.secret, self.public)
        with closing(self.model.stream(messages, config, **kwargs)) as chunks:  # closing stops generation
            for chunk in chunks:
                shown = _shown(guard, chunk)
                if shown is not None:
                    yield shown
                if guard.leaked:
                    return
        if rest := guard.finish():
            yield AIMessageChunk(content=rest)

    async def astream(self, messages, config: RunnableConfig | None = None, **kwargs) -> AsyncIterator[AIMessageChunk]:
        guard = LeakGuard(self.secret, self.public)
        async with aclosing(self.model.astream(messages, config, **kwargs)) as chunks:
            async for chunk in chunks:
                shown = _shown(guard, chunk)
                if shown is not None:
                    yield shown
                if guard.leaked:
                    return
        if rest := guard.finish():
            yield AIMessageChunk(content=rest)


def _shown(guard: LeakGuard, chunk: AIMessageChunk) -> AIMessageChunk | None:
    """The chunk with only the text the guard lets through; None when that is nothing and it carries no counts."""
    text = guard.feed(chunk.content)
    if not text and not chunk.usage_metadata and not chunk.response_metadata:
        return None
    return chunk.model_copy(update={"content": text})


def _answer_text(answer) -> str:
    """The text of a whole answer the chain gave: a string, a message, or a dict with sources."""
    if answer is None:
        return ""
    if isinstance(answer, dict):
        return answer.get("answer", "")
    return getattr(answer, "content", answer)


def _as_dict(message: BaseMessage) -> dict:
    role = {"human": "user", "ai": "assistant"}.get(message.type, message.type)
    return {"role": role, "content": message.content}


def with_session_memory(chain: Runnable, checkpointer: "BaseCheckpointSaver | None" = None) -> Runnable:
    """The chain with per-session history: pass `config={"configurable": {"session_id": ...}}`.

    Each session's messages are kept by LangGraph's persistence, as LangChain now recommends: a thread per
    session id in `checkpointer` (default: in memory; LangGraph's SQLite or Postgres savers keep them on
    disk). The chain runs outside the graph, so its answer streams token by token and closing the stream
    stops generation, as with the chain alone; a stopped answer is not remembered.
    """
    # Imported here: LangGraph takes most of a second to import, and only this function needs it.
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.func import entrypoint

    @entrypoint(checkpointer=checkpointer or InMemorySaver())
    def conversation(turn: list[dict], *, previous: list[dict] | None = None) -> list[dict]:
        """The session's messages so far, with one more question and its answer."""
        return [*(previous or []), *turn]

    def converse(inputs: dict, config: RunnableConfig) -> Iterator:
        session_id = (config.get("configurable") or {}).get("session_id")
        if session_id is None:
            raise ValueError('with_session_memory needs config={"configurable": {"session_id": ...}}')
        thread = {"configurable": {"thread_id": str(session_id)}}
        answer = None
        for chunk in chain.stream({**inputs, "history": conversation.get_state(thread).values or []}, config):
            answer = chunk if answer is None else answer + chunk
            yield chunk
        text = _answer_text(answer)
        conversation.invoke([{"role": "user", "content": inputs["question"]},
                             {"role": "assistant", "content": text}], thread)

    return RunnableLambda(converse, name="with_session_memory")
