"""One answered request, the same for every front end: check → persona and instruction → retrieval → generate
(streamed or whole) → log, over a plain `Turn` record.

`tandem ask`, `tandem chat`, the Gradio app and `tandem api` each fill a `Turn` with what their user asked and
hand it to an `Answerer`; the answer, its passages, the sources it cites and its place in the conversation log come
back on the same record, so every front end shows the same sources. A conversation's history is kept the way
embedding apps are told to keep it (`bot.chain.with_session_memory`: one thread per session id) unless the caller
sends its own, as an API client does.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.retrievers import BaseRetriever

from bot.chain import MAX_MESSAGE_CHARS, build_chain, check_question, find_passages, model_format, with_session_memory
from bot.citations import Source, cite
from bot.personas import Catalog, CitationStyle
from bot.versions import keep_version


def new_session_id(kind: str) -> str:
    """A conversation's id in the log and in the history: `kind:` and 32 random hex digits."""
    return f"{kind}:{uuid.uuid4().hex}"


@dataclass
class Turn:
    """One question and what became of it. The caller fills the first fields; answering fills the rest."""

    question: str
    session_id: str
    persona: str | None = None
    """A persona id of the catalog; None: the catalog's default."""
    instruction: str | None = None
    """An instruction id of the catalog; None: the catalog's default."""
    history: list[dict] | None = None
    """The conversation so far as role/content messages; None: the session's history, kept by the Answerer."""
    retrieval: bool | None = None
    """Ground the answer in passages; None: as the model was trained (its prompt format)."""
    adapter: bool = True
    """False: the base model without its adapter."""
    max_new_tokens: int | None = None
    temperature: float | None = None
    passages: list[Document] = field(default_factory=list)
    """The passages the model was given, in the prompt's order, with where each came from (metadata)."""
    answer: str = ""
    sources: list[Source] = field(default_factory=list)
    """The passages the answer cites (`bot.citations`), once it has ended; labelled as the persona cites."""
    citations: CitationStyle = "document"
    """How the persona cites: a front end shows no sources for "none" (`bot.citations.sources_line`)."""
    finish_reason: str | None = None
    """"stop", "length", or None for an answer cut short by its reader (Stop, Ctrl-C)."""
    usage: dict = field(default_factory=dict)
    """Token counts of a whole answer (`Answerer.answer`): input_tokens, output_tokens, total_tokens."""
    started_at: datetime | None = None
    logged_as: int | None = None
    """The turn's id in the conversation log (for ratings); None when the log is off."""


class Answerer:
    """Answers turns with one chat model, persona catalog, retriever and conversation log."""

    def __init__(self, chat_model: BaseChatModel, catalog: Catalog, retriever: BaseRetriever | None = None,
                 store=None, max_chars: int = MAX_MESSAGE_CHARS):
        self.chat_model, self.catalog, self.retriever, self.store = chat_model, catalog, retriever, store
        self.max_chars = max_chars
        self.chain = build_chain(chat_model, catalog, max_chars, as_message=True)
        self.remembering = with_session_memory(self.chain)
        """The chain with each session's history (for turns that bring none)."""

    @property
    def base_model(self) -> str:
        return getattr(self.chat_model, "base_model", None) or self.chat_model.describe()

    def stream(self, turn: Turn) -> Iterator[str]:
        """The answer's text as it is generated; the turn is logged however the stream ends (a stopped answer as it
        stood). Refusals (an empty question, an unknown persona) raise before anything is generated or logged."""
        runnable, inputs, config = self._prepare(turn)
        try:
            for chunk in runnable.stream(inputs, config):
                turn.answer += chunk.content
                if chunk.response_metadata.get("finish_reason"):
                    turn.finish_reason = chunk.response_metadata["finish_reason"]
                yield chunk.content
            turn.finish_reason = turn.finish_reason or "stop"
        finally:
            turn.sources = cite(turn.answer, turn.passages, turn.citations)
            self._log(turn)

    def answer(self, turn: Turn) -> Turn:
        """The whole answer, with its token counts, logged."""
        if turn.history is None:  # the session's memory streams; gathered here
            for _ in self.stream(turn):
                pass
            return turn
        runnable, inputs, config = self._prepare(turn)
        message = runnable.invoke(inputs, config)
        turn.answer, turn.usage = message.content, dict(message.usage_metadata or {})
        turn.finish_reason = message.response_metadata.get("finish_reason", "stop")
        turn.sources = cite(turn.answer, turn.passages, turn.citations)
        self._log(turn)
        return turn

    def _prepare(self, turn: Turn) -> tuple:
        """Check the question and the persona and instruction, and find the passages: what runs the turn, its input
        and its config."""
        check_question(turn.question, self.max_chars)
        persona = self.catalog.persona(turn.persona or self.catalog.default_persona)
        turn.persona, turn.citations = persona.id, persona.citations
        turn.instruction = self.catalog.instruction(turn.instruction or self.catalog.default_instruction).id
        if turn.retrieval is None:
            turn.retrieval = model_format(self.chat_model, turn.adapter).retrieval
        turn.retrieval = turn.retrieval and self.retriever is not None
        turn.passages = find_passages(self.retriever, turn.question) if turn.retrieval else []
        turn.started_at = datetime.now(timezone.utc)
        inputs = {"question": turn.question, "persona": turn.persona, "instruction": turn.instruction,
                  "retrieval": turn.retrieval, "passages": turn.passages, "adapter": turn.adapter,
                  "max_new_tokens": turn.max_new_tokens, "temperature": turn.temperature}
        if turn.history is None:
            return self.remembering, inputs, {"configurable": {"session_id": turn.session_id}}
        return self.chain, {**inputs, "history": turn.history}, None

    def _log(self, turn: Turn) -> None:
        if self.store is None:
            return
        turn.logged_as = self.store.log_turn(
            session_id=turn.session_id, persona_id=turn.persona, persona_hash=keep_version(self.catalog.persona(turn.persona)),
            instruction_id=turn.instruction, instruction_hash=self.catalog.instruction(turn.instruction).content_hash,
            base_model=self.base_model, adapter=getattr(self.chat_model, "adapter", None) if turn.adapter else None,
            retrieval=turn.retrieval, question=turn.question, answer=turn.answer, started_at=turn.started_at,
            finished_at=datetime.now(timezone.utc))
