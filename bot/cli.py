"""The `tandem` command: ask, chat, serve, api, personas, models, knowledge. User errors exit 2 with one line, no traceback.

    tandem ask "How do I get a refund?" --persona support --instruction steps
    tandem chat
    tandem serve --port 7860
    tandem api --port 8000
    tandem personas list --json
    tandem models pull
    tandem knowledge add contracts/

The parser is built here; each `run_*` is one call into the module that owns the command, which reads its
flags (the objects several commands build from the same flags are in `bot.flags`).
"""

import argparse
import sys
from importlib.metadata import entry_points
from pathlib import Path

from bot.errors import EXIT_USER_ERROR, TandemError
from bot.userinput import printable


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

    knowledge = commands.add_parser("knowledge", help="knowledge indexes: add, list and remove documents").add_subparsers(
        required=True, metavar="ACTION")
    add = knowledge.add_parser("add", help="add or update documents in an index; only changed files are embedded")
    add.add_argument("paths", nargs="+", type=Path, metavar="DIR|FILE")
    _add_index_options(add, "the index (default for one directory: its own, the one --knowledge DIR uses; required "
                            "otherwise)")
    add.set_defaults(run=run_knowledge_add)
    indexes = knowledge.add_parser("list", help="every index (files, passages, last update), or one index's files")
    _add_index_options(indexes, "list this index's files")
    indexes.set_defaults(run=run_knowledge_list)
    remove = knowledge.add_parser("remove", help="remove documents from an index, or with --index alone the index")
    remove.add_argument("paths", nargs="*", type=Path, metavar="FILE|DIR")
    _add_index_options(remove, "only from this index (default: every index that holds them)")
    remove.set_defaults(run=run_knowledge_remove)

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
                           help="ground answers in the top passages of this folder's documents: PDF, Word (.docx), HTML, "
                                "text, Markdown, from the folder's index, updated first (default: the knowledge the "
                                "adapter was trained to read, when it was)")
    knowledge.add_argument("--index", metavar="NAME", help="ground answers in an index `tandem knowledge add --index "
                                                           "NAME` built")
    knowledge.add_argument("--no-knowledge", action="store_true", help="no retrieval")


INDEX_HELP = ("the index (default: a directory's own, the one --knowledge DIR uses); in the database --db names when "
              "it is PostgreSQL, else in $TANDEM_HOME/knowledge/")


def _add_index_options(parser: argparse.ArgumentParser, index_help: str = INDEX_HELP) -> None:
    parser.add_argument("--index", metavar="NAME", help=index_help)
    parser.add_argument("--db", metavar="URL", help="a postgresql:// URL: the indexes in that database (default: "
                                                    "$TANDEM_DB_URL when it is one)")


def run_ask(args) -> int:
    from bot.terminal import ask_from_flags

    return ask_from_flags(args)


def run_chat(args) -> int:
    from bot.terminal import chat_from_flags

    return chat_from_flags(args)


def run_serve(args) -> int:
    from bot.app import serve_from_flags

    return serve_from_flags(args)


def run_api(args) -> int:
    from bot.api import serve_from_flags

    return serve_from_flags(args)


def run_personas_list(args) -> int:
    from bot.personas import list_from_flags

    return list_from_flags(args)


def run_personas_show(args) -> int:
    from bot.versions import show_from_flags

    return show_from_flags(args)


def run_personas_stats(args) -> int:
    from bot.persona_stats import stats_from_flags

    return stats_from_flags(args)


def run_personas_diff(args) -> int:
    from bot.versions import diff_from_flags

    return diff_from_flags(args)


def run_models_pull(args) -> int:
    from bot.model_store import pull_from_flags

    return pull_from_flags(args)


def run_models_list(args) -> int:
    from bot.model_store import list_from_flags

    return list_from_flags(args)


def run_knowledge_add(args) -> int:
    from bot.knowledge import add_from_flags

    return add_from_flags(args)


def run_knowledge_list(args) -> int:
    from bot.knowledge import list_from_flags

    return list_from_flags(args)


def run_knowledge_remove(args) -> int:
    from bot.knowledge import remove_from_flags

    return remove_from_flags(args)


if __name__ == "__main__":
    sys.exit(main())
