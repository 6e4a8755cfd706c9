"""The knowledge index: passages stored once with their MiniLM vectors and their words, and searched where they are
stored, so a start-up reads vectors instead of computing them again.

    index = open_index("contracts")                                  # $TANDEM_HOME/knowledge/contracts.sqlite3
    index = open_index("contracts", "postgresql://tandem@db/tandem")  # one index for every app and API instance

Two stores behind one interface, `KnowledgeIndex`: an SQLite file per index (the default; chosen by measurement
against sqlite-vec, FAISS and LanceDB: benchmarks/README.md, "The knowledge index"), and PostgreSQL with pgvector
(`bot.pgindex`). Both keep each file's path and sha256, so an update reads and embeds only the files that changed
(`bot.knowledge`), and each passage's text, metadata (source, section, page), vector and words.

Lexical ranking is BM25 as SQLite's FTS5 computes it: k1 = 1.2, b = 0.75, and the idf of a term found in more than
half the passages floored at 1e-6. FTS5 indexes the passages' words as `bot.retrieval.words` splits them (amounts
and codes such as "$149.95" and "fh-204" stay whole), and PostgreSQL computes the same formula in SQL over the
same words, so the two stores rank alike. The dense ranking is exact in SQLite (every vector, held in memory as
one numpy array: 15 MB at 10,000 passages) and approximate in PostgreSQL (HNSW).

A passage's key is its place in the snapshot an SQLite index loads when first searched (its row id in PostgreSQL):
a process keeps the passages it first read; another process's update shows from its next start.
"""

import hashlib
import json
import os
import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from bot.embeddings import EMBEDDING_DIMENSIONS, EMBEDDING_SHA256
from bot.errors import TandemError
from bot.paths import tandem_home
from bot.retrieval import words

FORMAT = "tandem-knowledge-index"
FORMAT_VERSION = 1
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
BM25_K1 = 1.2
BM25_B = 0.75
BM25_IDF_FLOOR = 1e-6
"""FTS5's bm25() constants (fixed in SQLite); bot.pgindex computes the same."""
FTS_TOKENIZER = "unicode61 remove_diacritics 0 tokenchars '$€£@.-_'"
"""Every character `words` keeps is a token character, so FTS5 splits the stored words at spaces only."""
BUSY_TIMEOUT_S = 30
"""How long a writer waits for another one (another `tandem knowledge add`) to finish its file."""


class KnowledgeIndexError(TandemError):
    """An index that cannot be opened or used: not an index, damaged, too new, built by another embedding model."""


@dataclass(frozen=True)
class IndexedFile:
    path: str
    """The file's absolute path (the key: passages cite their `source`, relative to the directory added)."""
    sha256: str
    passages: int
    updated_at: str


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise KnowledgeIndexError(f"--index {name!r}: an index name is letters, digits, '.', '_' and '-' "
                                  "(at most 100, the first a letter or digit)")
    return name


def directory_index_name(directory: Path) -> str:
    """The index `--knowledge DIR` keeps for a directory: its last two path parts and a hash of its whole path."""
    resolved = Path(directory).resolve()
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(resolved.parts[-2:])).strip("-._")[:60] or "knowledge"
    return f"{label}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:8]}"


def text_digest(text: str) -> str:
    """A passage's identity for reusing its vector: the same text anywhere in the index is embedded once."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def index_location(db: str | None = None) -> str:
    """Where indexes live: the PostgreSQL database `db` (or $TANDEM_DB_URL) names when the conversation log is
    there, else $TANDEM_HOME/knowledge/."""
    from bot.store import DB_URL_VARIABLE, POSTGRES_SCHEMES

    location = str(db or os.environ.get(DB_URL_VARIABLE) or "")
    return location if location.startswith(POSTGRES_SCHEMES) else str(tandem_home() / "knowledge")


def open_index(name: str, db: str | None = None, create: bool = True) -> "KnowledgeIndex":
    """The index `name` at `index_location(db)`; with `create=False`, one that does not exist is an error."""
    location = index_location(db)
    check_name(name)
    if location.startswith("postgres"):
        from bot.pgindex import PostgresIndex

        return PostgresIndex(location, name, create)
    path = Path(location) / f"{name}.sqlite3"
    if not create and not path.is_file():
        raise KnowledgeIndexError(f"no knowledge index {name!r} in {location} (tandem knowledge list shows them)")
    return SQLiteIndex(path, name)


def index_names(db: str | None = None) -> list[str]:
    location = index_location(db)
    if location.startswith("postgres"):
        from bot.pgindex import postgres_index_names

        return postgres_index_names(location)
    return sorted(path.stem for path in Path(location).glob("*.sqlite3"))


class KnowledgeIndex(ABC):
    """Files and their passages, searched by BM25 and by vector. Keys are what `passage` takes."""

    name: str
    location: str
    """Where it is, as shown to a person (a database URL without its password)."""

    @abstractmethod
    def files(self) -> dict[str, IndexedFile]:
        ...

    @abstractmethod
    def write_file(self, path: str, sha256: str, passages: list[Document], vectors) -> bool:
        """Replace the passages of `path` with these (one vector row each) in one transaction; False when another
        process has just written the same content."""

    @abstractmethod
    def remove_files(self, paths: list[str]) -> int:
        """Forget these files; returns how many passages went with them."""

    @abstractmethod
    def known_vectors(self, digests: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of passages whose `text_digest` is among `digests`."""

    @abstractmethod
    def lexical(self, terms: list[str], depth: int) -> list[int]:
        """Keys of the passages sharing a word with `terms`, best BM25 first, at most `depth`."""

    @abstractmethod
    def dense(self, vector, depth: int) -> list[int]:
        """Keys of the passages nearest `vector` (unit length) by cosine, nearest first, at most `depth`."""

    @abstractmethod
    def passage(self, key: int) -> Document:
        ...

    @abstractmethod
    def size(self) -> int:
        """Passages in the index."""

    @abstractmethod
    def updated_at(self) -> str | None:
        ...

    @abstractmethod
    def drop(self) -> None:
        """Delete the whole index."""

    def close(self) -> None:
        pass


@dataclass
class _Snapshot:
    ids: list[int]
    positions: dict[int, int]
    texts: list[str]
    metadata: list[str]
    vectors: np.ndarray


class SQLiteIndex(KnowledgeIndex):
    """One SQLite file (or memory, for `path=None`): FTS5 for the words, vectors as float32 BLOBs read into one numpy
    array when the index is first searched. One connection, shared by threads under a lock; WAL, so a reader never
    waits for a writer."""

    def __init__(self, path: Path | None, name: str = "passages"):
        self.path, self.name = path, name
        self.location = str(path) if path else ":memory:"
        self._lock = threading.RLock()
        self._snapshot: _Snapshot | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path or ":memory:", timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
        try:
            self._guarded(self._prepare)
        except BaseException:
            self._db.close()
            raise

    # Writing

    def write_file(self, path: str, sha256: str, passages: list[Document], vectors) -> bool:
        vectors = checked_vectors(vectors, len(passages), self.location)
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM files WHERE path = ? AND sha256 = ?", (path, sha256)).fetchone():
                return False
            self._delete(db, [path])
            for position, (passage, vector) in enumerate(zip(passages, vectors)):
                text = passage.page_content
                row = db.execute("INSERT INTO passages (path, position, text, metadata, digest, vector) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", (path, position, text, metadata_json(passage),
                                                               text_digest(text), vector.tobytes()))
                db.execute("INSERT INTO lexical (rowid, words) VALUES (?, ?)", (row.lastrowid, " ".join(words(text))))
            db.execute("INSERT INTO files (path, sha256, passages, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (path) "
                       "DO UPDATE SET sha256 = excluded.sha256, passages = excluded.passages, "
                       "updated_at = excluded.updated_at", (path, sha256, len(passages), now_text()))
        return True

    def remove_files(self, paths: list[str]) -> int:
        with self._transaction() as db:
            return self._delete(db, paths)

    def drop(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    # Reading

    def files(self) -> dict[str, IndexedFile]:
        rows = self._read("SELECT path, sha256, passages, updated_at FROM files ORDER BY path")
        return {row[0]: IndexedFile(*row) for row in rows}

    def known_vectors(self, digests: list[str]) -> dict[str, np.ndarray]:
        found = {}
        for start in range(0, len(digests), 500):
            chunk = digests[start:start + 500]
            for digest, blob in self._read(f"SELECT digest, vector FROM passages WHERE digest IN "
                                           f"({', '.join('?' * len(chunk))})", tuple(chunk)):
                found[digest] = np.frombuffer(blob, dtype=np.float32)
        return found

    def lexical(self, terms: list[str], depth: int) -> list[int]:
        if not terms:
            return []
        query = " OR ".join(f'"{term}"' for term in terms)  # `words` never holds a double quote
        positions = self._loaded().positions
        rows = self._read("SELECT rowid FROM lexical WHERE lexical MATCH ? ORDER BY bm25(lexical), rowid LIMIT ?",
                          (query, depth))
        return [positions[row[0]] for row in rows if row[0] in positions]

    def dense(self, vector, depth: int) -> list[int]:
        vectors = self._loaded().vectors
        if not len(vectors):
            return []
        scores = vectors @ np.asarray(vector, dtype=np.float32)
        return np.argsort(-scores, kind="stable")[:depth].tolist()

    def passage(self, key: int) -> Document:
        snapshot = self._loaded()
        return Document(page_content=snapshot.texts[key], metadata=json.loads(snapshot.metadata[key]))

    @property
    def passages(self) -> list[Document]:
        """Every passage, in key order."""
        return [self.passage(key) for key in range(len(self._loaded().ids))]

    @property
    def vectors(self) -> np.ndarray:
        """Every passage's vector, one row each, in key order."""
        return self._loaded().vectors

    def size(self) -> int:
        return self._read("SELECT count(*) FROM passages")[0][0]

    def updated_at(self) -> str | None:
        return self._read("SELECT max(updated_at) FROM files")[0][0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # Inside

    def _prepare(self) -> None:
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            with self._transaction() as db:  # taken as a writer, so two processes never both create it
                if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'tandem_index'").fetchone():
                    self._create(db)
        self._check()
        if self.path is not None and self._db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")  # a derived cache: a power loss costs re-embedding a file

    def _create(self, db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE tandem_index (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.executemany("INSERT INTO tandem_index VALUES (?, ?)", [("format", FORMAT), ("version", str(FORMAT_VERSION)),
                                                                  ("embedding", EMBEDDING_SHA256), ("name", self.name)])
        db.execute("CREATE TABLE files (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, passages INTEGER NOT NULL, "
                   "updated_at TEXT NOT NULL)")
        db.execute("CREATE TABLE passages (id INTEGER PRIMARY KEY, path TEXT NOT NULL, position INTEGER NOT NULL, "
                   "text TEXT NOT NULL, metadata TEXT NOT NULL, digest TEXT NOT NULL, vector BLOB NOT NULL)")
        db.execute("CREATE INDEX passages_by_path ON passages (path)")
        db.execute("CREATE INDEX passages_by_digest ON passages (digest)")
        db.execute(f"CREATE VIRTUAL TABLE lexical USING fts5(words, tokenize=\"{FTS_TOKENIZER}\")")

    def _check(self) -> None:
        try:
            meta = dict(self._db.execute("SELECT key, value FROM tandem_index").fetchall())
        except sqlite3.OperationalError:
            meta = {}
        if meta.get("format") != FORMAT:
            raise KnowledgeIndexError(f"{self.location} is not a Tandem knowledge index")
        if int(meta.get("version", 0)) > FORMAT_VERSION:
            raise KnowledgeIndexError(f"{self.location} was written by a newer Tandem (index format {meta['version']}; "
                                      f"this one knows {FORMAT_VERSION})")
        if meta.get("embedding") != EMBEDDING_SHA256:
            raise KnowledgeIndexError(f"{self.location} was built with another embedding model; remove it "
                                      f"(tandem knowledge remove --index {self.name}) and add its files again")

    def _delete(self, db: sqlite3.Connection, paths: list[str]) -> int:
        removed = 0
        for path in paths:
            removed += db.execute("SELECT count(*) FROM passages WHERE path = ?", (path,)).fetchone()[0]
            db.execute("DELETE FROM lexical WHERE rowid IN (SELECT id FROM passages WHERE path = ?)", (path,))
            db.execute("DELETE FROM passages WHERE path = ?", (path,))
            db.execute("DELETE FROM files WHERE path = ?", (path,))
        return removed

    def _loaded(self) -> _Snapshot:
        if self._snapshot is None:
            self._snapshot = self._guarded(self._load)
        return self._snapshot

    def _load(self) -> _Snapshot:
        """Every passage, read in one transaction; the vectors straight into one array (no second copy of them)."""
        self._db.execute("BEGIN")
        try:
            count = self._db.execute("SELECT count(*) FROM passages").fetchone()[0]
            ids, texts, metadata = [], [], []
            vectors = np.empty((count, EMBEDDING_DIMENSIONS), dtype=np.float32)
            for row, (id_, text, meta, blob) in enumerate(
                    self._db.execute("SELECT id, text, metadata, vector FROM passages ORDER BY id")):
                ids.append(id_)
                texts.append(text)
                metadata.append(meta)
                vectors[row] = np.frombuffer(blob, dtype=np.float32)
        finally:
            self._db.execute("COMMIT")
        return _Snapshot(ids, {id_: i for i, id_ in enumerate(ids)}, texts, metadata, vectors)

    def _read(self, sql: str, values: tuple = ()) -> list[tuple]:
        return self._guarded(lambda: self._db.execute(sql, values).fetchall())

    @contextmanager
    def _transaction(self):
        with self._lock:
            self._guarded(lambda: self._db.execute("BEGIN IMMEDIATE"))
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            finally:
                self._snapshot = None  # read again at the next search

    def _guarded(self, work):
        with self._lock:
            try:
                return work()
            except sqlite3.DatabaseError as error:
                if isinstance(error, (sqlite3.IntegrityError, sqlite3.ProgrammingError)):
                    raise  # a bug, not the file
                if "locked" in str(error) or "busy" in str(error):
                    raise KnowledgeIndexError(f"{self.location} stayed busy for {BUSY_TIMEOUT_S} s: another program "
                                              "is writing it") from None
                raise KnowledgeIndexError(f"{self.location}: not a Tandem knowledge index, or damaged: {error}") from None


def checked_vectors(vectors, count: int, location: str) -> np.ndarray:
    """`count` float32 rows of the embedding model's width."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.size != count * EMBEDDING_DIMENSIONS:
        raise KnowledgeIndexError(f"{location}: {vectors.size:,} numbers for {count:,} vectors of "
                                  f"{EMBEDDING_DIMENSIONS} dimensions")
    return vectors.reshape(count, EMBEDDING_DIMENSIONS)


def metadata_json(passage: Document) -> str:
    return json.dumps(passage.metadata, ensure_ascii=False, sort_keys=True, default=str)
