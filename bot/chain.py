"""The LangChain pipeline every front end uses: validate → render persona prompt → chat model → text.

Input is a dict; persona and instruction are input keys, so each call (and each item of a batch)
chooses its own:

    {"question": "How do I get a refund?",        # required
     "persona": "support",                        # optional, default: the catalog's first persona
     "instruction": "steps",                      # optional, default: "direct"
     "history": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}],
     "retrieval": True,                           # optional; only with a retriever, on by default there
     "adapter": False}                            # optional; False: the base model without its adapter

Output is the answer as a string (streamed token by token with `.stream`). With a `retriever` (any
LangChain retriever; `bot.retrieval.load_knowledge` builds one over a domain's knowledge files), the
top passages for the question are put into the system prompt unless the input says "retrieval": False.
"""

from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, convert_to_messages
from langchain_core.output_parsers import StrOutputParser
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.runnables.history import RunnableWithMessageHistory

from bot.errors import InputError
from bot.models import DEFAULT_MODEL, default_adapter
from bot.personas import Catalog, load_catalog
from bot.prompts import render_messages

MAX_MESSAGE_CHARS = 4000


def check_question(question, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    """The question as given, or an InputError for one the model should never see."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("Please type a question: the message is empty.")
    if len(question) > max_chars:
        raise InputError(f"The message has {len(question):,} characters; the limit is {max_chars:,}. "
                         "Please shorten it (nothing was sent to the model).")
    return question


def build_chain(chat_model: BaseChatModel | None = None, catalog: Catalog | None = None,
                max_chars: int = MAX_MESSAGE_CHARS, retriever: BaseRetriever | None = None) -> Runnable:
    """A Runnable from the input dict above to the answer text.

    With no arguments it loads the default model (with the shipped adapter when one exists) and the
    shipped personas; pass a `chat_model` (any LangChain chat model) or a `catalog` to choose others,
    and a `retriever` to ground answers in passages it finds.
    """
    if chat_model is None:
        from bot.chat_model import load_chat_model

        chat_model = load_chat_model(DEFAULT_MODEL, default_adapter())
    catalog = catalog or load_catalog()

    def route(inputs: dict) -> Runnable:
        # Returning a Runnable from a RunnableLambda makes LangChain run it on the same input, with
        # streaming and callbacks intact: this is how each call gets its persona's own settings.
        question = check_question(inputs.get("question"), max_chars)
        persona = catalog.persona(inputs.get("persona") or catalog.default_persona)
        instruction = catalog.instruction(inputs.get("instruction") or catalog.default_instruction)
        history = [_as_dict(m) for m in convert_to_messages(inputs.get("history") or [])]
        passages = []
        if retriever is not None and inputs.get("retrieval", True):
            passages = [document.page_content for document in retriever.invoke(question)]
        messages = convert_to_messages(render_messages(persona, instruction, question, history, passages=passages))
        settings = persona.generation.as_kwargs()
        if inputs.get("adapter") is False:
            settings["use_adapter"] = False  # understood by bot.chat_model.LocalChatModel
        return RunnableLambda(lambda _: messages, name="render_messages") | chat_model.bind(**settings)

    return (RunnableLambda(route, name="tandem") | StrOutputParser()).with_config(run_name="tandem")


def _as_dict(message: BaseMessage) -> dict:
    role = {"human": "user", "ai": "assistant"}.get(message.type, message.type)
    return {"role": role, "content": message.content}


def with_session_memory(chain: Runnable, get_history=None) -> RunnableWithMessageHistory:
    """The chain with per-session history: pass `config={"configurable": {"session_id": ...}}`.

    History lives in memory, one InMemoryChatMessageHistory per session id, unless `get_history`
    (session_id → BaseChatMessageHistory) supplies another store.
    """
    if get_history is None:
        sessions: dict[str, InMemoryChatMessageHistory] = {}

        def get_history(session_id: str) -> InMemoryChatMessageHistory:
            return sessions.setdefault(session_id, InMemoryChatMessageHistory())

    return RunnableWithMessageHistory(chain, get_history, input_messages_key="question",
                                      history_messages_key="history")
