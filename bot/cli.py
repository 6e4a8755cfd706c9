"""The `tandem` command: ask, chat, serve, personas, models. User errors exit 2 with one line, no traceback.

    tandem ask "How do I get a refund?" --persona support --instruction steps
    tandem chat
    tandem serve --port 7860
    tandem api --port 8000
    tandem personas list --json
    tandem models pull
"""

import argparse
import json
import sys
from contextlib import closing
from importlib.metadata import entry_points
from pathlib import Path

from bot.errors import TandemError
from bot.userinput import check_text, printable, read_user_text, terminal_text

EXIT_USER_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except TandemError as error:
        print(f"tandem: {printable(error)}", file=sys.stderr)  # a file name may hold ESC or a newline
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tandem", description="Domain chatbot: fine-tuned core + persona layer.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", help="stream one answer to stdout")
    ask.add_argument("question")
    _add_chat_options(ask)
    _add_log_options(ask)
    ask.set_defaults(run=run_ask)

    chat = commands.add_parser("chat", help="interactive chat in the terminal")
    _add_chat_options(chat)
    _add_log_options(chat)
    chat.set_defaults(run=run_chat)

    serve = commands.add_parser("serve", help="the Gradio chat in the browser")
    _add_model_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7860)
    serve.add_argument("--auth", metavar="USER:PASSWORD", help="required for any non-local --host")
    _add_knowledge_options(serve)
    _add_log_options(serve)
    serve.add_argument("--reports", action="append", type=Path, metavar="DIR",
                       help="reports the Prompts tab reads figures from (repeatable; default: reports)")
    serve.set_defaults(run=run_serve)

    api = commands.add_parser("api", help="an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/models)")
    _add_model_options(api)
    api.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--api-key", action="append", default=[], metavar="KEY",
                     help="a key clients send as 'Authorization: Bearer KEY' (repeatable); required for any "
                          "non-local --host, with or instead of --api-keys-file")
    api.add_argument("--api-keys-file", type=Path, metavar="FILE", help="one API key per line")
    api.add_argument("--max-tokens", type=int, default=None, help="cap on an answer's tokens (default: 512)")
    api.add_argument("--capacity", type=int, default=None,
                     help="requests answered or waiting at once; more get 429 (default: 16)")
    _add_knowledge_options(api)
    _add_log_options(api)
    api.set_defaults(run=run_api)

    personas = commands.add_parser("personas", help="list, show, track and optimise personas").add_subparsers(
        required=True, metavar="ACTION")
    listing = personas.add_parser("list", help="one line per persona, its id first")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    _add_personas_option(listing)
    listing.set_defaults(run=run_personas_list)
    show = personas.add_parser("show", help="a persona's whole file, validated")
    show.add_argument("id")
    _add_personas_option(show)
    show.set_defaults(run=run_personas_show)
    stats = personas.add_parser("stats", help="per persona version: turns, thumbs, latency and report figures",
                                description="One entry per version (content hash) of each persona: turns served, "
                                            "thumbs up and down, corrections and median latency from the conversation "
                                            "log, and the figures of every report that measured it.")
    stats.add_argument("id", nargs="?", help="one persona (default: all)")
    stats.add_argument("--since", metavar="YYYY-MM-DD", help="only turns and reports from this day on (UTC)")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument("--chart", type=Path, metavar="FILE", help="also draw the figures over time into this PNG")
    _add_tracking_options(stats)
    _add_personas_option(stats)
    stats.set_defaults(run=run_personas_stats)
    diff = personas.add_parser("diff", help="what changed between two versions of a persona (unified diff)")
    diff.add_argument("id")
    diff.add_argument("hashes", nargs="*", metavar="HASH",
                      help="two versions, old then new (a hash or its first 4+ characters; default: the last two)")
    _add_personas_option(diff)
    diff.set_defaults(run=run_personas_diff)

    models = commands.add_parser("models", help="the local model store").add_subparsers(required=True,
                                                                                     metavar="ACTION")
    pull = models.add_parser("pull", help="fetch an embedded model into the store (no model hub needed)")
    pull.add_argument("name", nargs="?", default=None, help="an embedded model (tandem models list; default: the default model)")
    pull.add_argument("--quiet", action="store_true", help="print nothing when the model is already there")
    pull.set_defaults(run=run_models_pull)
    listed = models.add_parser("list", help="embedded models and whether they are pulled")
    listed.add_argument("--json", action="store_true")
    listed.set_defaults(run=run_models_list)

    # Commands from other packages (finetune's train/export/data/eval and `personas optimise`, third-party
    # plugins) register through this entry point, so bot never imports them by name: `register(commands, personas)`.
    for entry_point in entry_points(group="tandem.commands"):
        entry_point.load()(commands, personas)
    return parser


def _add_personas_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--personas", action="append", default=[], metavar="DIR", type=Path,
                        help="extra persona directory (repeatable); its files add to or replace shipped ones")


DB_HELP = ("conversation log: an SQLite file or a postgresql://USER:PASSWORD@HOST/DB URL (default: $TANDEM_DB_URL, "
           "else $TANDEM_HOME/conversations.sqlite3)")


def _add_log_options(parser: argparse.ArgumentParser) -> None:
    log = parser.add_mutually_exclusive_group()
    log.add_argument("--db", metavar="URL|FILE", help=DB_HELP)
    log.add_argument("--no-log", action="store_true", help="record no turns or ratings in the conversation log")


def _add_tracking_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL|FILE", help=DB_HELP)
    parser.add_argument("--reports", action="append", type=Path, metavar="DIR",
                        help="a report, or a folder of reports, to read figures from (repeatable; default: reports)")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    from bot.backends import BACKEND_HELP, BACKENDS
    from bot.chain import MAX_MESSAGE_CHARS
    from bot.model_store import DEFAULT_MODEL

    parser.add_argument("--model", help=f"embedded model name, Hugging Face id or directory (default: $TANDEM_MODEL, "
                                        f"else {DEFAULT_MODEL}; with --adapter, the base model its metadata names), "
                                        "or openai:URL for an "
                                        "OpenAI-compatible server such as vLLM (see docs/serving.md, Serving on vLLM)")
    adapter = parser.add_mutually_exclusive_group()
    adapter.add_argument("--adapter", type=Path, help="LoRA adapter directory (default: the shipped one, if any)")
    adapter.add_argument("--no-adapter", action="store_true", help="the base model alone")
    parser.add_argument("--backend", choices=BACKENDS, help=BACKEND_HELP)
    parser.add_argument("--max-chars", type=int, default=MAX_MESSAGE_CHARS, help="longest message accepted")
    _add_personas_option(parser)


def _add_chat_options(parser: argparse.ArgumentParser) -> None:
    _add_model_options(parser)
    parser.add_argument("--persona", help="persona id (see `tandem personas list`)")
    parser.add_argument("--instruction", help="instruction id (default: direct)")
    _add_knowledge_options(parser)


def _add_knowledge_options(parser: argparse.ArgumentParser) -> None:
    knowledge = parser.add_mutually_exclusive_group()
    knowledge.add_argument("--knowledge", type=Path, metavar="DIR",
                           help="ground answers in the top passages of these Markdown files (default: the knowledge "
                                "the adapter was trained to read, when it was)")
    knowledge.add_argument("--no-knowledge", action="store_true", help="no retrieval")


def _catalog(args, strict: bool):
    """Personas from the shipped and --personas directories; broken files are fatal only when strict."""
    from bot.personas import load_catalog

    for directory in args.personas:
        if not directory.is_dir():
            raise TandemError(f"--personas {directory}: no such directory")
    catalog = load_catalog(args.personas)
    if catalog.errors:
        if strict:
            raise TandemError(catalog.errors[0] + (f" (and {len(catalog.errors) - 1} more files)"
                                                  if len(catalog.errors) > 1 else ""))
        for error in catalog.errors:
            print(f"tandem: skipped {printable(error)}", file=sys.stderr)
    return catalog


def _chat_model(args):
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


def _check_knowledge(args) -> None:
    """A --knowledge directory that cannot work is reported before any model is loaded."""
    if args.knowledge is not None and not (args.knowledge.is_dir() and any(args.knowledge.rglob("*.md"))):
        raise TandemError(f"--knowledge {args.knowledge}: not a directory of Markdown (*.md) files")


def _retriever(args, chat_model):
    """--knowledge DIR, else the knowledge the adapter was trained to read (when it was), else none."""
    from bot.chain import default_retriever

    if args.no_knowledge:
        return None
    if args.knowledge is not None:
        print(f"tandem: indexing {printable(args.knowledge)} for retrieval", file=sys.stderr, flush=True)
    return default_retriever(chat_model, args.knowledge)


def _store(args):
    """The conversation log --db names (or the default one), or None with --no-log; opened before the model loads,
    so a log that cannot be reached costs no wait."""
    from bot.store import ConversationStore

    return None if args.no_log else ConversationStore(args.db)


def _check_choice(catalog, persona: str | None, instruction: str | None) -> tuple[str, str]:
    persona = catalog.persona(persona or catalog.default_persona).id
    instruction = catalog.instruction(instruction or catalog.default_instruction).id
    return persona, instruction


def run_ask(args) -> int:
    from bot.answering import Answerer, Turn, new_session_id
    from bot.chain import check_question

    catalog = _catalog(args, strict=False)
    persona, instruction = _check_choice(catalog, args.persona, args.instruction)
    check_text(args.question, "the question")
    check_question(args.question, args.max_chars)  # before the model load, so a typo costs nothing
    _check_knowledge(args)
    store = _store(args)
    chat_model = _chat_model(args)
    answerer = Answerer(chat_model, catalog, _retriever(args, chat_model), store, args.max_chars)
    # Retrieval is asked for whenever there is knowledge: also for a base model, whose prompt format has it off.
    turn = Turn(args.question, new_session_id("ask"), persona, instruction, history=[], retrieval=True)
    with closing(answerer.stream(turn)) as pieces:  # Ctrl-C: the answer is logged as it stood, as Stop in the app
        for piece in pieces:
            sys.stdout.write(terminal_text(piece))
            sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


CHAT_HELP = """commands: /persona ID   /instruction ID   /personas   /instructions   /reset   /help   /quit
Ctrl-C stops an answer; Ctrl-D or /quit leaves."""


def run_chat(args) -> int:
    from bot.answering import Answerer, Turn, new_session_id

    catalog = _catalog(args, strict=False)
    persona, instruction = _check_choice(catalog, args.persona, args.instruction)
    _check_knowledge(args)
    store = _store(args)
    session_id = new_session_id("chat")
    chat_model = _chat_model(args)
    answerer = Answerer(chat_model, catalog, _retriever(args, chat_model), store, args.max_chars)
    if hasattr(sys.stdin, "reconfigure"):
        # Bytes that are not UTF-8 become lone surrogates that check_text refuses, instead of an exception
        # out of input() that would end the session.
        sys.stdin.reconfigure(errors="surrogateescape")
    print(f"Tandem chat on {printable(chat_model.describe())}\npersona: {persona}, instruction: {instruction}\n{CHAT_HELP}")
    while True:
        try:
            line = input(f"[{persona}] you> ")
        except EOFError:
            print()
            return 0
        command, _, rest = line.strip().partition(" ")
        try:
            if command == "/quit":
                return 0
            elif command == "/help":
                print(CHAT_HELP)
            elif command == "/persona":
                persona = catalog.persona(rest.strip()).id
                print(f"persona: {catalog.personas[persona].label()} (applies from the next message)")
            elif command == "/instruction":
                instruction = catalog.instruction(rest.strip()).id
                print(f"instruction: {catalog.instructions[instruction].title}")
            elif command == "/personas":
                print("\n".join(f"{p.id}\t{p.label()}" for p in catalog.personas.values()))
            elif command == "/instructions":
                print("\n".join(f"{i.id}\t{i.title}" for i in catalog.instructions.values()))
            elif command == "/reset":
                session_id = new_session_id("chat")  # a new conversation, with no history
                print("history cleared")
            elif command.startswith("/"):
                print(f"unknown command {command}; {CHAT_HELP}")
            else:
                check_text(line, "the message")
                # No history given: the answerer keeps the session's, as embedding apps are told to.
                _print_answer(answerer.stream(Turn(line, session_id, persona, instruction, retrieval=True)))
        except TandemError as error:
            print(f"tandem: {printable(error)}")


def _print_answer(pieces) -> None:
    """Print the answer as it streams; Ctrl-C stops it and keeps what was said so far."""
    with closing(pieces):
        try:
            print("bot> ", end="", flush=True)
            for piece in pieces:
                print(terminal_text(piece), end="", flush=True)
        except KeyboardInterrupt:
            print(" [stopped]", end="")
        finally:
            print()


def run_serve(args) -> int:
    from bot.app import build_app, launch

    local = args.host in ("127.0.0.1", "localhost", "::1")
    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not (sep and user and password):
            raise TandemError("--auth takes USER:PASSWORD")
        auth = (user, password)
    if not local and auth is None:
        raise TandemError(f"binding to {args.host} exposes the chat beyond this machine; add --auth USER:PASSWORD")
    catalog = _catalog(args, strict=False)
    _check_knowledge(args)
    store = _store(args)
    chat_model = _chat_model(args)
    app = build_app(chat_model, catalog, chat_model.describe(), args.max_chars, retriever=_retriever(args, chat_model),
                    has_adapter=chat_model.adapter is not None, store=store, reports=args.reports)
    print(f"Tandem chat on http://{args.host}:{args.port} ({printable(chat_model.describe())}); "
          + ("conversation log off" if store is None else f"conversation log: {printable(store.location)}"), flush=True)
    launch(app, args.host, args.port, auth)
    return 0


def run_api(args) -> int:
    import uvicorn

    from bot.answering import Answerer
    from bot.api import CAPACITY, MAX_TOKENS, ApiContext, build_api

    keys = set(args.api_key)
    if args.api_keys_file is not None:
        text = read_user_text(args.api_keys_file)
        keys |= {line.strip() for line in text.splitlines() if line.strip()}
    if args.host not in ("127.0.0.1", "localhost", "::1") and not keys:
        raise TandemError(f"binding to {args.host} exposes the API beyond this machine; add --api-key KEY "
                          "or --api-keys-file FILE")
    for flag, value in (("--max-tokens", args.max_tokens), ("--capacity", args.capacity)):
        if value is not None and value < 1:
            raise TandemError(f"{flag} must be at least 1")
    catalog = _catalog(args, strict=False)
    _check_knowledge(args)
    store = _store(args)
    chat_model = _chat_model(args)
    context = ApiContext(
        answerer=Answerer(chat_model, catalog, _retriever(args, chat_model), store, args.max_chars),
        api_keys=frozenset(keys), capacity=args.capacity or CAPACITY, max_tokens=args.max_tokens or MAX_TOKENS)
    print(f"Tandem API on http://{args.host}:{args.port}/v1 ({printable(chat_model.describe())}); "
          + ("conversation log off" if store is None else f"conversation log: {printable(store.location)}"), flush=True)
    uvicorn.run(build_api(context), host=args.host, port=args.port, log_level="warning")
    return 0


def run_personas_list(args) -> int:
    catalog = _catalog(args, strict=False)
    if args.json:
        print(json.dumps([p.model_dump() for p in catalog.personas.values()], indent=2))
    else:
        for p in catalog.personas.values():
            print(f"{p.id}\t{p.title}\t{p.audience}")
    return EXIT_USER_ERROR if catalog.errors else 0


def run_personas_show(args) -> int:
    from bot.versions import persona_text

    catalog = _catalog(args, strict=False)
    print(persona_text(catalog.persona(args.id)), end="")
    return 0


def run_personas_stats(args) -> int:
    from datetime import date

    from bot.persona_stats import plot_stats, stats_json, stats_text, version_stats

    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError:
        raise TandemError(f"--since {args.since!r}: expected a date as YYYY-MM-DD") from None
    catalog = _catalog(args, strict=False)
    stats = version_stats(catalog, _existing_log(args.db), args.reports or [Path("reports")], args.id, since)
    print(stats_json(stats) if args.json else terminal_text(stats_text(stats) or "no persona versions found"))
    if args.chart is not None:
        drawn = plot_stats(stats, args.chart)
        print(f"chart: {args.chart}" if drawn else "chart: nothing to draw yet", file=sys.stderr)
    return 0


def _existing_log(db: str | None):
    """The conversation log if there is one; reading figures must not create an empty log."""
    from bot.store import ConversationStore, log_exists, log_location

    location = log_location(db)
    if db is not None and not log_exists(location):
        raise TandemError(f"--db {db}: no such conversation log")
    return ConversationStore(location) if log_exists(location) else None


def run_personas_diff(args) -> int:
    from bot.versions import diff_versions, find_version, known_versions

    catalog = _catalog(args, strict=False)
    versions = known_versions(args.id, catalog.personas.get(args.id))
    if not versions:
        raise TandemError(f"no version of persona {args.id!r} is kept or in the catalog")
    if len(args.hashes) not in (0, 2):
        raise TandemError("give two versions (HASH_A HASH_B), or none for the last two")
    if args.hashes:
        old, new = (find_version(versions, digest) for digest in args.hashes)
    elif len(versions) < 2:
        print(f"only one version of {args.id} is known: {versions[0].digest}")
        return 0
    else:
        old, new = versions[-2:]
    print(terminal_text(diff_versions(old.persona, new.persona) or f"{old.digest} and {new.digest} are the same\n"),
          end="")
    return 0


def run_models_pull(args) -> int:
    from bot.model_store import default_model, embedded_model, is_pulled, model_dir, pull_model

    name = args.name or default_model()
    embedded_model(name)  # an unknown name is one line before anything is downloaded
    if is_pulled(name):
        if not args.quiet:
            print(f"{name} is already in the store: {model_dir(name)}")
        return 0
    pull_model(name)
    return 0


def run_models_list(args) -> int:
    from bot.model_store import list_models

    rows = list_models()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        state = f"pulled, {row['size_mb']} MB" if row["pulled"] else f"not pulled (tandem models pull {row['name']})"
        default = " (default)" if row["default"] else ""
        print(f"{row['name']}{default}\t{row['licence']}\t{state}\t{row['path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
