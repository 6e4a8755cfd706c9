"""`tandem ask` and `tandem chat`: answers streamed to the terminal, escaped so model output cannot drive it, each
followed by a line naming its sources when the persona cites them."""

import sys
from contextlib import closing

from bot.answering import Turn, new_session_id
from bot.chain import check_question
from bot.citations import sources_line
from bot.errors import TandemError
from bot.flags import answerer_from_flags
from bot.personas import Catalog, catalog_from_flags
from bot.userinput import check_text, printable, terminal_text

CHAT_HELP = """commands: /persona ID   /instruction ID   /personas   /instructions   /reset   /help   /quit
Ctrl-C stops an answer; Ctrl-D or /quit leaves."""


def ask_from_flags(args) -> int:
    """`tandem ask QUESTION`: one answer, streamed to stdout."""
    catalog = catalog_from_flags(args, strict=False)
    persona, instruction = _check_choice(catalog, args.persona, args.instruction)
    check_text(args.question, "the question")
    check_question(args.question, args.max_chars)  # before the model load, so a typo costs nothing
    answerer = answerer_from_flags(args, catalog)
    # Retrieval is asked for whenever there is knowledge: also for a base model, whose prompt format has it off.
    turn = Turn(args.question, new_session_id("ask"), persona, instruction, history=[], retrieval=True)
    with closing(answerer.stream(turn)) as pieces:  # Ctrl-C: the answer is logged as it stood, as Stop in the app
        for piece in pieces:
            sys.stdout.write(terminal_text(piece))
            sys.stdout.flush()
    sys.stdout.write("\n")
    _print_sources(turn)
    return 0


def chat_from_flags(args) -> int:
    """`tandem chat`: a conversation in the terminal, with /commands to switch persona and instruction."""
    catalog = catalog_from_flags(args, strict=False)
    persona, instruction = _check_choice(catalog, args.persona, args.instruction)
    answerer = answerer_from_flags(args, catalog)
    session_id = new_session_id("chat")
    if hasattr(sys.stdin, "reconfigure"):
        # Bytes that are not UTF-8 become lone surrogates that check_text refuses, instead of an exception
        # out of input() that would end the session.
        sys.stdin.reconfigure(errors="surrogateescape")
    print(f"Tandem chat on {printable(answerer.chat_model.describe())}\npersona: {persona}, instruction: {instruction}\n"
          f"{CHAT_HELP}")
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
                turn = Turn(line, session_id, persona, instruction, retrieval=True)
                if _print_answer(answerer.stream(turn)):
                    _print_sources(turn)
        except TandemError as error:
            print(f"tandem: {printable(error)}")


def _check_choice(catalog: Catalog, persona: str | None, instruction: str | None) -> tuple[str, str]:
    """The persona and instruction ids asked for (or the catalog's defaults), checked before the model loads."""
    persona = catalog.persona(persona or catalog.default_persona).id
    instruction = catalog.instruction(instruction or catalog.default_instruction).id
    return persona, instruction


def _print_answer(pieces) -> bool:
    """Print the answer as it streams; Ctrl-C stops it and keeps what was said so far. Whether it was whole."""
    with closing(pieces):
        try:
            print("bot> ", end="", flush=True)
            for piece in pieces:
                print(terminal_text(piece), end="", flush=True)
            return True
        except KeyboardInterrupt:
            print(" [stopped]", end="")
            return False
        finally:
            print()


def _print_sources(turn: Turn) -> None:
    """The answer's sources on one line, as its persona cites them; nothing for a persona that cites none."""
    line = sources_line(turn.sources, turn.citations)
    if line:
        print(printable(line), flush=True)
