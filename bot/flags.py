"""Objects built from the command line's flags: the chat model, the retriever, the conversation log and the
answerer over them, shared by every command that answers questions."""

from bot.errors import TandemError


def chat_model_from_flags(args):
    """--model, --adapter or --no-adapter, --backend: the chat model, loaded."""
    from transformers.utils import logging as hf_logging

    from bot.chat_model import load_chat_model
    from bot.models import adapter_base_model, default_adapter, default_model, shipped_adapter_for
    from bot.remote import is_remote

    hf_logging.disable_progress_bar()  # loading from the store takes about a second
    adapter = args.adapter
    if adapter is None and not args.no_adapter:
        # A server named by openai:URL serves the shipped adapter too, by default (bot.remote).
        adapter = default_adapter() if is_remote(args.model) else shipped_adapter_for(args.model or default_model())
    model = args.model or (adapter and adapter_base_model(adapter)) or default_model()
    return load_chat_model(model, adapter, args.backend)


def check_knowledge(args) -> None:
    """A --knowledge directory or an --index that cannot work is reported before any model is loaded."""
    from bot.documents import SUPPORTED_SUFFIXES, knowledge_files
    from bot.index import open_index

    if args.knowledge is not None and not knowledge_files(args.knowledge):
        raise TandemError(f"--knowledge {args.knowledge}: not a directory of documents "
                          f"({', '.join(SUPPORTED_SUFFIXES)})")
    if getattr(args, "index", None) is not None:
        open_index(args.index, args.db, create=False).close()


def retriever_from_flags(args, chat_model):
    """--index NAME, else --knowledge DIR, else the knowledge the adapter was trained to read (when it was), else
    none; the indexes are in the database --db names when it is PostgreSQL (bot.index.index_location)."""
    from bot.chain import default_retriever

    if args.no_knowledge:
        return None
    return default_retriever(chat_model, args.knowledge, index=args.index, db=args.db)


def store_from_flags(args):
    """The conversation log --db names (or the default one), or None with --no-log; opened before the model loads,
    so a log that cannot be reached costs no wait."""
    from bot.store import ConversationStore

    return None if args.no_log else ConversationStore(args.db)


def existing_log_from_flags(args):
    """The conversation log --db names (or the default one) if there is one; reading figures must not create an
    empty log."""
    from bot.store import ConversationStore, log_exists, log_location

    location = log_location(args.db)
    if args.db is not None and not log_exists(location):
        raise TandemError(f"--db {args.db}: no such conversation log")
    return ConversationStore(location) if log_exists(location) else None


def answerer_from_flags(args, catalog):
    """The answerer over `catalog` and the model, knowledge and log the flags name; the knowledge directory and the
    log are checked before the model loads."""
    from bot.answering import Answerer

    check_knowledge(args)
    store = store_from_flags(args)
    chat_model = chat_model_from_flags(args)
    return Answerer(chat_model, catalog, retriever_from_flags(args, chat_model), store, args.max_chars)
