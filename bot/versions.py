"""The text of every persona version Tandem has served or evaluated, kept by content hash, and diffs between them.

    $TANDEM_HOME/versions/personas/<id>/<content hash>.yaml

The conversation log and every report record a persona's content hash, not its text; an edited persona file
would leave those hashes pointing at text nobody has any more. So the text is kept here when a turn is logged
or a report is written: a file per version, named by its hash, written once and never changed, so
`tandem personas diff` can always show what an old hash said. `tandem personas show` prints the current text
the same way.
"""

import difflib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from bot.errors import PersonaError, TandemError
from bot.files import write_atomically
from bot.paths import tandem_home
from bot.personas import Persona, catalog_from_flags, load_persona
from bot.userinput import terminal_text


def versions_dir(persona_id: str) -> Path:
    return tandem_home() / "versions" / "personas" / persona_id


class _Dumper(yaml.SafeDumper):
    """Multi-line text as a `|` block, the way persona files are written by hand, so a diff shows lines."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def persona_text(persona: Persona) -> str:
    """The persona as YAML, fields in the file's order: what `tandem personas show` prints, diffs compare and
    the optimiser writes; it loads back as the same persona, with the same hash."""
    return yaml.dump(persona.model_dump(mode="json"), Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def keep_version(persona: Persona) -> str:
    """Keep this version's text (once: a kept version is never rewritten) and return its content hash."""
    digest = persona.content_hash
    path = versions_dir(persona.id) / f"{digest}.yaml"
    if not path.exists():
        try:
            with write_atomically(path) as staging:
                staging.write_text(persona_text(persona), encoding="utf-8")
        except OSError:
            # Bookkeeping must never cost a user an answer: a read-only or full home loses the text, not the turn.
            pass
    return digest


@dataclass(frozen=True)
class KeptVersion:
    """One kept version of a persona: its text, validated, and when it was first kept."""

    persona: Persona
    kept_at: datetime | None
    """None for a version that is only in the catalog now and was never kept."""

    @property
    def digest(self) -> str:
        return self.persona.content_hash


def kept_versions(persona_id: str) -> list[KeptVersion]:
    """Every kept version of a persona, oldest first. A file whose text no longer matches its name (edited by
    hand, or damaged) is skipped: a hash must always mean the text that made it."""
    versions = []
    for path in versions_dir(persona_id).glob("*.yaml"):
        try:
            persona = load_persona(path)
        except PersonaError:
            continue
        if persona.content_hash == path.stem and persona.id == persona_id:
            kept_at = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            versions.append(KeptVersion(persona, kept_at))
    return sorted(versions, key=lambda version: version.kept_at)


def known_versions(persona_id: str, current: Persona | None) -> list[KeptVersion]:
    """The kept versions, oldest first, and the catalog's current one last when it was never kept."""
    versions = kept_versions(persona_id)
    if current is not None and current.content_hash not in {v.digest for v in versions}:
        versions.append(KeptVersion(current, None))
    return versions


def find_version(versions: list[KeptVersion], digest: str) -> KeptVersion:
    """The version whose hash is `digest` or starts with it (at least 4 characters, matching one version)."""
    matches = [v for v in versions if v.digest.startswith(digest.lower())] if len(digest) >= 4 else []
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(v.digest for v in versions) or "none"
    if matches:
        raise PersonaError(f"{digest!r} matches {len(matches)} versions; give more of the hash (known: {known})")
    raise PersonaError(f"no kept version {digest!r}; known versions: {known}")


def diff_versions(old: Persona, new: Persona) -> str:
    """A unified diff of the two versions' YAML, headed `id@hash`; empty when they are the same."""
    lines = difflib.unified_diff(persona_text(old).splitlines(keepends=True), persona_text(new).splitlines(keepends=True),
                                 fromfile=f"{old.id}@{old.content_hash}", tofile=f"{new.id}@{new.content_hash}")
    return "".join(lines)


def describe_change(old: Persona | None, new: Persona) -> str:
    """A short account of what changed from `old` to `new`: the fields, and lines added and removed."""
    if old is None:
        return "first version"
    fields = [name for name in Persona.model_fields if getattr(old, name) != getattr(new, name)]
    if not fields:
        return "no change"
    diff = diff_versions(old, new).splitlines()[2:]  # past the two header lines
    added = sum(line.startswith("+") for line in diff)
    removed = sum(line.startswith("-") for line in diff)
    return f"{', '.join(fields)} (+{added} -{removed} lines)"


# The command line --------------------------------------------------------------------------------------

def show_from_flags(args) -> int:
    """`tandem personas show ID`: the persona's whole file, validated."""
    catalog = catalog_from_flags(args, strict=False)
    print(persona_text(catalog.persona(args.id)), end="")
    return 0


def diff_from_flags(args) -> int:
    """`tandem personas diff ID [OLD NEW]`: what changed between two versions, by default the last two."""
    catalog = catalog_from_flags(args, strict=False)
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
