"""Persona and instruction files: YAML validated into typed models, with errors naming file, field and line;
the catalog the --personas flags name, and `tandem personas list`."""

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from bot.errors import EXIT_USER_ERROR, PersonaError, TandemError
from bot.paths import shipped_personas_dir
from bot.userinput import printable
from bot.yamlfiles import line_of, load_yaml_model


def _no_control_characters(allowed: str):
    """A check that text holds no control character (ESC, NUL, ...) but those `allowed`: persona text is
    printed on terminals and shown to the model, and a control character has no business in either."""
    def check(text: str) -> str:
        bad = next((c for c in text if (c < " " or "\x7f" <= c <= "\x9f") and c not in allowed), None)
        if bad is not None:
            raise ValueError(f"holds the control character {printable(bad)}")
        return text
    return AfterValidator(check)


Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), _no_control_characters("\n\t")]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), _no_control_characters("")]
"""Text on one line: titles and audiences are listed one per line."""
CitationStyle = Literal["clause", "document", "none"]
"""How a persona cites the passages an answer stands on (`Persona.citations`, `bot.citations`)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exchange(Strict):
    """One few-shot exchange shown to the model before the conversation."""

    user: Text
    assistant: Text


class StyleRules(Strict):
    """Rules a program can check on any answer; evaluation reports adherence to them."""

    max_words: int | None = Field(default=None, gt=0)
    """The answer has at most this many words."""
    max_sentence_words: int | None = Field(default=None, gt=0)
    """No sentence is longer than this many words (plain language)."""
    avoid_words: list[Text] = []
    """Words or phrases that must not appear (case-insensitive, whole words)."""
    must_include_any: list[Text] = []
    """At least one of these phrases must appear (case-insensitive)."""
    no_exclamations: bool = False
    """The answer contains no exclamation mark."""

    def violations(self, answer: str) -> list[str]:
        """The rules this answer breaks, one short description each; empty when it follows them all."""
        broken = []
        words = answer.split()
        if self.max_words is not None and len(words) > self.max_words:
            broken.append(f"{len(words)} words > max_words {self.max_words}")
        if self.max_sentence_words is not None:
            longest = max((len(s.split()) for s in re.split(r"[.!?]+\s", answer)), default=0)
            if longest > self.max_sentence_words:
                broken.append(f"a sentence of {longest} words > max_sentence_words {self.max_sentence_words}")
        lowered = answer.lower()
        for word in self.avoid_words:
            if re.search(rf"\b{re.escape(word.lower())}\b", lowered):
                broken.append(f"uses avoided word {word!r}")
        if self.must_include_any and not any(p.lower() in lowered for p in self.must_include_any):
            broken.append(f"includes none of {self.must_include_any}")
        if self.no_exclamations and "!" in answer:
            broken.append("uses an exclamation mark")
        return broken


class Generation(Strict):
    """Generation settings a persona overrides; unset ones keep the model's defaults."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    max_new_tokens: int | None = Field(default=None, gt=0, le=4096)

    def as_kwargs(self) -> dict:
        return self.model_dump(exclude_none=True)


class Persona(Strict):
    """Who the bot is for one audience: tone, examples and checkable style, chosen per request."""

    id: Id
    title: Line
    audience: Line
    description: Text
    system_prompt: Text
    examples: list[Exchange] = Field(min_length=2)
    style: StyleRules = StyleRules()
    generation: Generation = Generation()
    citations: CitationStyle = "document"
    """How the CLI and the app cite the passages a grounded answer stands on: "clause" ("agreement.md §4.3", the
    clause number of the passage's section heading, else as "document"), "document" ("agreement.pdf › Renewal
    (p. 3)"), or "none" (no sources shown to this persona's readers; the chain's and the API's output still carry
    them). It changes what is shown, not what the model is told, so it is not part of the content hash."""

    def label(self) -> str:
        return f"{self.title} — for {self.audience}"

    @property
    def content_hash(self) -> str:
        return content_hash(self, exclude={"citations"})


class Instruction(Strict):
    """What to do with the question (answer directly, step by step, summarise...), chosen independently."""

    id: Id
    title: Line
    description: Text
    prompt: Text

    @property
    def content_hash(self) -> str:
        return content_hash(self)


def content_hash(item: BaseModel, exclude: set[str] = frozenset()) -> str:
    """12 hex digits of sha256 over the parsed file: any edit that changes what the model is told or judged
    on gives a new hash (comments, layout and the `exclude`d fields, which change neither, do not), so reports and
    logs can tell persona versions apart."""
    canonical = json.dumps(item.model_dump(mode="json", exclude=set(exclude)), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def load_persona(path: Path) -> Persona:
    return load_yaml_model(path, Persona, PersonaError, strict=True)


def load_instruction(path: Path) -> Instruction:
    return load_yaml_model(path, Instruction, PersonaError, strict=True)


class Catalog:
    """The personas and instructions available to one app or chain, by id."""

    def __init__(self, personas: dict[str, Persona], instructions: dict[str, Instruction], errors: list[str]):
        self.personas = personas
        self.instructions = instructions
        self.errors = errors
        """One line per file that failed to load; those files are skipped, the rest still work."""

    def persona(self, persona_id: str) -> Persona:
        if persona_id not in self.personas:
            raise PersonaError(f"unknown persona {persona_id!r}; valid ids: {', '.join(self.personas)}")
        return self.personas[persona_id]

    def instruction(self, instruction_id: str) -> Instruction:
        if instruction_id not in self.instructions:
            raise PersonaError(f"unknown instruction {instruction_id!r}; valid ids: {', '.join(self.instructions)}")
        return self.instructions[instruction_id]

    @property
    def default_persona(self) -> str:
        return "support" if "support" in self.personas else next(iter(self.personas))

    @property
    def default_instruction(self) -> str:
        return "direct" if "direct" in self.instructions else next(iter(self.instructions))


def load_catalog(extra_dirs: list[Path] | tuple = ()) -> Catalog:
    """Shipped personas, then each extra directory's; a later file with the same id replaces an earlier one.

    A directory holds persona files (`*.yaml`) and, in `instructions/`, instruction files. Broken
    files, and a second file with an id already used in the same directory, are listed in
    `Catalog.errors` and skipped; having no persona or no instruction at all is a PersonaError.
    """
    personas, instructions, errors = {}, {}, []
    for directory in [shipped_personas_dir(), *map(Path, extra_dirs)]:
        if not directory.is_dir():
            errors.append(f"{directory}: no such personas directory")
            continue
        _collect(sorted(directory.glob("*.yaml")), load_persona, personas, errors)
        _collect(sorted((directory / "instructions").glob("*.yaml")), load_instruction, instructions, errors)
    for kind, found in (("persona", personas), ("instruction", instructions)):
        if not found:
            raise PersonaError(f"no valid {kind} file found" + (f"; first problem: {errors[0]}" if errors else ""))
    return Catalog(personas, instructions, errors)


def _collect(paths, load, into: dict, errors: list[str]) -> None:
    """Load each file into `into` by id; within one directory an id may be used once (across directories a
    later one replaces an earlier one: that is how a user's file overrides a shipped persona)."""
    here: dict[str, Path] = {}
    for path in paths:
        try:
            item = load(path)
        except PersonaError as error:
            errors.append(str(error))
            continue
        if item.id in here:
            errors.append(f"{path}:{line_of(path, ('id',)) or 1}: field 'id': {item.id!r} is already the id of "
                          f"{here[item.id].name} in the same directory")
            continue
        here[item.id] = path
        into[item.id] = item


# The command line --------------------------------------------------------------------------------------

def catalog_from_flags(args, strict: bool) -> Catalog:
    """Personas from the shipped and --personas directories; broken files are fatal only when strict."""
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


def list_from_flags(args) -> int:
    """`tandem personas list`: one line per persona, or --json; exit 2 when a file was skipped."""
    catalog = catalog_from_flags(args, strict=False)
    if args.json:
        print(json.dumps([p.model_dump() for p in catalog.personas.values()], indent=2))
    else:
        for p in catalog.personas.values():
            print(f"{p.id}\t{p.title}\t{p.audience}")
    return EXIT_USER_ERROR if catalog.errors else 0
