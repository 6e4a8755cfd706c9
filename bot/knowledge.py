"""Keeping a knowledge index in step with its files, and the `tandem knowledge` command.

    tandem knowledge add contracts/                      # the index that `--knowledge contracts/` uses
    tandem knowledge add policies/ faq.md --index legal  # a named one, for `tandem serve --index legal`
    tandem knowledge list [--index NAME]
    tandem knowledge remove contracts/old.md [--index NAME]

An update hashes every file (sha256, with the reader's version) and reads only those whose hash changed; their
passages are embedded unless a passage with the same text is already in the index, and each file is written in its
own transaction, so an interrupted update keeps what it finished. A file that disappeared from a directory added is removed. A file that
cannot be read is one line, and the others go on.
"""

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from bot.documents import READER_VERSION, SUPPORTED_SUFFIXES, directory_files, file_passages, knowledge_files
from bot.errors import EXIT_USER_ERROR, InputError, TandemError
from bot.index import (KnowledgeIndex, KnowledgeIndexError, directory_index_name, index_location, index_names,
                       open_index, text_digest)
from bot.userinput import MAX_DATA_BYTES, printable, read_user_file

KNOWLEDGE_KEY = "knowledge.jsonl"
"""The one file of an adapter's index."""
EMBED_BATCH = 256
"""Passages embedded, then written, at a time: an interrupted update loses at most this many."""


@dataclass
class Changes:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    """Passages embedded (the others' vectors were in the index already)."""
    problems: list[str] = field(default_factory=list)

    def summary(self, index: KnowledgeIndex) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {self.removed} removed; "
                f"{index.size():,} passages ({self.embedded:,} embedded)")


@dataclass
class _Pending:
    path: str
    sha256: str
    passages: list[Document]
    new: bool


def update_index(index: KnowledgeIndex, paths: list[Path]) -> Changes:
    """Bring `index` in step with `paths` (directories and files): changed files read and embedded again, files gone
    from a directory removed. A passage's `source` is its file's path relative to the directory named (a file
    named alone: its name)."""
    changes, indexed = Changes(), index.files()
    found: dict[str, tuple[Path, str]] = {}
    gone: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            unlisted: list = []
            for file in directory_files(path, unlisted):  # every file, so an unsupported one is named, not ignored
                found[str(file.resolve())] = (file, file.relative_to(path).as_posix())
            changes.problems += map(str, unlisted)
            inside = str(path.resolve()) + os.sep
            gone += [key for key in indexed if key.startswith(inside) and key not in found]
        elif not path.exists():
            changes.problems.append(f"{path}: no such file or directory")
        else:
            found[str(path.resolve())] = (path, path.name)
    pending = []
    for key, (file, source) in found.items():
        try:
            digest = indexed_digest(read_user_file(file, InputError, MAX_DATA_BYTES))
            if key in indexed and indexed[key].sha256 == digest:
                changes.unchanged += 1
                continue
            pending.append(_Pending(key, digest, file_passages(file, source), key not in indexed))
        except InputError as error:
            changes.problems.append(str(error))
    for problem in changes.problems:
        print(f"tandem: skipped {printable(problem)}", file=sys.stderr, flush=True)
    _write(index, pending, changes)
    changes.removed = len(set(gone))
    index.remove_files(sorted(set(gone)))
    return changes


def indexed_digest(data: bytes) -> str:
    """What an index records of a file: the sha256 of the reader version and the file's bytes, so a file is read
    again when it changes or when Tandem reads its type differently."""
    return hashlib.sha256(f"tandem-reader-{READER_VERSION}\n".encode() + data).hexdigest()


def _write(index: KnowledgeIndex, pending: list[_Pending], changes: Changes) -> None:
    """Embed what the index does not hold yet, about EMBED_BATCH passages at a time, and write each file."""
    from tqdm import tqdm

    texts = {text_digest(p.page_content): p.page_content for item in pending for p in item.passages}
    vectors = index.known_vectors(list(texts))
    with tqdm(total=len(texts) - len(vectors), desc="tandem: embedding", unit=" passages", file=sys.stderr,
              disable=None, leave=False) as bar:
        batch, size = [], 0
        for item in pending:
            batch.append(item)
            size += len(item.passages)
            if size >= EMBED_BATCH:
                _write_batch(index, batch, texts, vectors, changes, bar)
                batch, size = [], 0
        _write_batch(index, batch, texts, vectors, changes, bar)


def _write_batch(index: KnowledgeIndex, batch: list[_Pending], texts: dict, vectors: dict, changes: Changes,
                 bar) -> None:
    from bot import embeddings

    missing = list(dict.fromkeys(digest for item in batch for p in item.passages
                                 if (digest := text_digest(p.page_content)) not in vectors))
    if missing:
        vectors.update(zip(missing, embeddings.embed([texts[digest] for digest in missing])))
        changes.embedded += len(missing)
        bar.update(len(missing))
    for item in batch:
        rows = [vectors[text_digest(p.page_content)] for p in item.passages]
        if not index.write_file(item.path, item.sha256, item.passages, rows):
            changes.unchanged += 1  # another process wrote the same content meanwhile
        elif item.new:
            changes.added += 1
        else:
            changes.updated += 1


def directory_index(directory: Path, db: str | None = None) -> KnowledgeIndex:
    """The persisted index of the documents under `directory`, brought up to date; one line says what changed."""
    directory = Path(directory)
    if not knowledge_files(directory):
        raise InputError(f"{directory}: no knowledge files ({', '.join(SUPPORTED_SUFFIXES)}) found "
                         "for retrieval")
    index = open_index(directory_index_name(directory), db)
    changes = update_index(index, [directory])
    print(f"tandem: knowledge {printable(directory)} (index {index.name}): {changes.summary(index)}", file=sys.stderr,
          flush=True)
    return _searchable(index)


def passages_index(path: Path, db: str | None = None) -> KnowledgeIndex:
    """The index of an adapter's knowledge.jsonl, built once: it is named by the file's content hash."""
    from bot import embeddings
    from bot.retrieval import read_passages

    digest = hashlib.sha256(read_user_file(path, InputError, MAX_DATA_BYTES)).hexdigest()
    index = open_index(f"adapter-{digest[:16]}", db)
    if not index.files():
        passages = read_passages(path)
        print(f"tandem: indexing the adapter's {len(passages):,} passages, once ({index.location})", file=sys.stderr,
              flush=True)
        # One key for every copy of the file, so two processes that build it at once write it once.
        index.write_file(KNOWLEDGE_KEY, digest, passages, embeddings.embed([p.page_content for p in passages]))
    return _searchable(index)


def named_index(name: str, db: str | None = None) -> KnowledgeIndex:
    """An index `tandem knowledge add --index NAME` built, as it is."""
    return _searchable(open_index(name, db, create=False))


def _searchable(index: KnowledgeIndex) -> KnowledgeIndex:
    if not index.size():
        raise InputError(f"knowledge index {index.name} holds no passages")
    return index


# tandem knowledge ...

def add_from_flags(args) -> int:
    """tandem knowledge add PATH... [--index NAME] [--db URL]: add or update files; one summary line."""
    if args.index is None and not (len(args.paths) == 1 and args.paths[0].is_dir()):
        raise TandemError("name the index with --index NAME to add files or several directories (a directory alone "
                          "has its own: the one --knowledge DIR uses)")
    name = args.index or directory_index_name(args.paths[0])
    index = open_index(name, args.db)
    changes = update_index(index, args.paths)
    print(f"index {index.name}: files {changes.summary(index)}")
    return EXIT_USER_ERROR if changes.problems else 0


def list_from_flags(args) -> int:
    """tandem knowledge list [--index NAME]: every index (files, passages, last update), or one index's files. An
    index that cannot be opened is one line, and the others are listed."""
    if args.index is not None:
        index = open_index(args.index, args.db, create=False)
        for file in index.files().values():
            print(f"{printable(file.path)}\t{counted(file.passages, 'passage')}\tupdated {file.updated_at}")
        return 0
    names = index_names(args.db)
    if not names:
        print(f"no knowledge indexes in {index_location(args.db)} (tandem knowledge add DIR builds one)")
    broken = False
    for name, index in _each_index(names, args.db):
        if index is None:
            broken = True
            continue
        print(f"{name}\t{counted(len(index.files()), 'file')}\t{counted(index.size(), 'passage')}\t"
              f"updated {index.updated_at() or 'never'}")
    return EXIT_USER_ERROR if broken else 0


def remove_from_flags(args) -> int:
    """tandem knowledge remove PATH... [--index NAME]: forget files (a directory: every file under it) in the index
    named, else in every index holding them; `--index NAME` alone deletes the whole index."""
    if not args.paths:
        if args.index is None:
            raise TandemError("name the files to remove, or the index to delete with --index NAME")
        open_index(args.index, args.db, create=False).drop()
        print(f"index {args.index}: deleted")
        return 0
    keys = {str(Path(path).resolve()): path for path in args.paths}
    found, broken = set(), False
    for name, index in _each_index([args.index] if args.index else index_names(args.db), args.db):
        if index is None:
            broken = True
            continue
        held = {path: key for path in index.files() for key in keys if path == key or path.startswith(key + os.sep)}
        if held:
            passages = index.remove_files(sorted(held))
            found.update(held.values())
            print(f"index {name}: removed {counted(len(held), 'file')}, {counted(passages, 'passage')}")
    for key, path in keys.items():
        if key not in found:
            print(f"tandem: {printable(path)}: in no knowledge index{f' {args.index}' if args.index else ''}",
                  file=sys.stderr)
    return EXIT_USER_ERROR if broken or len(found) < len(keys) else 0


def _each_index(names: list[str], db: str | None):
    """(name, index) for each name, the index closed after its turn; (name, None) for one that cannot be opened, which
    is said in one line."""
    for name in names:
        try:
            index = open_index(name, db, create=False)
        except KnowledgeIndexError as error:
            print(f"tandem: {printable(error)}", file=sys.stderr)
            yield name, None
            continue
        try:
            yield name, index
        finally:
            index.close()


def counted(count: int, noun: str) -> str:
    """"1 passage", "1,227 passages"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
