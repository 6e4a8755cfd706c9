"""The two databases the conversation log runs on, behind one small interface: an SQLite file (the default)
and a PostgreSQL server (for several app or API instances behind a load balancer).

    open_database("/home/me/.cache/tandem/conversations.sqlite3")      # or "sqlite:////home/me/..."
    open_database("postgresql://tandem:secret@db.internal:5432/tandem")

`bot.store` writes its SQL once, with `?` placeholders, and runs it through `write(action)` and `read(sql)`;
`action(run)` gets a `run(sql, values) -> list[dict]` inside one transaction. What differs between the two
lives here: connecting, starting a write transaction, the id column's type, where the schema version is
kept, and which errors mean "wait and retry" (SQLite's busy lock) or "say so in one line".

Both keep an acknowledged write: SQLite syncs every commit to disk (WAL, synchronous=FULL), and PostgreSQL
does so by default (synchronous_commit=on). Each thread has its own connection, opened again after a fork.
"""

import os
import random
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.errors import TandemError

BUSY_TIMEOUT_MS = 10_000
RETRIES = 5
"""Attempts after the first when SQLite still reports busy once busy_timeout has run out."""
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite:///"


class StoreError(TandemError):
    """The conversation log cannot be opened or written (not a database, read-only, too new, busy too long,
    a server that cannot be reached)."""


def open_database(location: str | Path) -> "Database":
    """The database at `location`: a `postgresql://` URL, an `sqlite:///PATH` URL, or an SQLite file's path."""
    text = str(location)
    if text.startswith(POSTGRES_SCHEMES):
        return PostgresDatabase(text)
    if text.startswith(SQLITE_SCHEME):
        return SQLiteDatabase(Path(text[len(SQLITE_SCHEME):]))
    if re.match(r"^[a-z][a-z0-9+.-]*://", text):
        raise StoreError(f"{shown_url(text)}: not a database Tandem can use; give a postgresql:// URL or an "
                         "SQLite file's path")
    return SQLiteDatabase(Path(location))


def shown_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages and status lines."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


class Database(ABC):
    """One connection per thread, transactions, and the schema's version; subclasses say how for their kind."""

    key_column = ""
    """The type of an auto-numbered primary key."""
    reference_column = ""
    """The type of a column that refers to such a key."""

    def __init__(self, location: str):
        self.location = location
        """Where the data is, as shown to a person (a password is never shown)."""
        self._local = threading.local()

    def create_schema(self, statements: list[str], version: int) -> None:
        """Run `statements` (with {key} and {reference} filled in) once, and record `version`; a database
        written by a newer schema is refused."""
        def create(run) -> None:
            self._lock_schema(run)
            current = self._schema_version(run)
            if current > version:
                raise StoreError(f"{self.location} was written by a newer Tandem (schema {current}; "
                                 f"this one knows {version})")
            if current < version:
                for statement in statements:
                    run(statement.format(key=self.key_column, reference=self.reference_column))
                self._set_schema_version(run, version)

        self.write(create)

    @abstractmethod
    def write(self, action):
        """`action(run)` in one write transaction, committed before this returns its result."""
        ...

    @abstractmethod
    def read(self, sql: str, values: tuple = ()) -> list[dict]:
        ...

    def close(self) -> None:
        """Close the calling thread's connection (other threads' close when those threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _connection(self):
        """The calling thread's connection, opened on first use (and again after a fork or a lost connection)."""
        connection, pid = getattr(self._local, "connection", None), getattr(self._local, "pid", None)
        if connection is None or pid != os.getpid() or self._is_lost(connection):
            connection = self._connect()
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    @abstractmethod
    def _connect(self):
        ...

    def _is_lost(self, connection) -> bool:
        return False

    def _lock_schema(self, run) -> None:
        """Keep other processes from creating the schema at the same time (SQLite's write lock already does)."""

    @abstractmethod
    def _schema_version(self, run) -> int:
        ...

    @abstractmethod
    def _set_schema_version(self, run, version: int) -> None:
        ...


class SQLiteDatabase(Database):
    """A file in WAL mode with synchronous=FULL; writers take the lock up front (BEGIN IMMEDIATE) and wait for
    it up to `busy_timeout`, and a write that still finds the file busy is retried with backoff, so users never
    see "database is locked"."""

    key_column = "INTEGER PRIMARY KEY"
    reference_column = "INTEGER"

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Conversations are personal data: the file (and SQLite's -wal and -shm, which copy its mode)
            # is readable by its owner only.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._retrying(_use_wal)

    def write(self, action):
        def transaction(connection: sqlite3.Connection):
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = action(_runner(connection))
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return result

        return self._retrying(transaction)

    def read(self, sql: str, values: tuple = ()) -> list[dict]:
        return self._retrying(lambda connection: _runner(connection)(sql, values))

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; every write is an explicit BEGIN IMMEDIATE.
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    def _schema_version(self, run) -> int:
        return run("PRAGMA user_version")[0]["user_version"]

    def _set_schema_version(self, run, version: int) -> None:
        run(f"PRAGMA user_version = {int(version)}")

    def _retrying(self, work):
        """`work(connection)`, retried with growing, jittered pauses while SQLite reports the file busy or locked."""
        for attempt in range(RETRIES + 1):
            try:
                return work(self._connection())
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise StoreError(f"{self.location}: {error}") from None
                if attempt == RETRIES:
                    raise StoreError(f"{self.location} stayed busy through {RETRIES + 1} waits of "
                                     f"{BUSY_TIMEOUT_MS / 1000:g} s; another program holds it") from None
                time.sleep(min(0.05 * 2 ** attempt, 1.0) * random.uniform(0.5, 1.5))
            except sqlite3.DatabaseError as error:
                if type(error) is not sqlite3.DatabaseError:  # integrity and programming errors are bugs
                    raise
                raise StoreError(f"{self.location} is not a Tandem conversation log or is damaged: {error}") from None


def _runner(connection: sqlite3.Connection):
    def run(sql: str, values: tuple = ()) -> list[dict]:
        return [dict(row) for row in connection.execute(sql, values)]
    return run


def _use_wal(connection: sqlite3.Connection) -> None:
    # The journal mode is stored in the file: set once, it holds for every later connection.
    if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        connection.execute("PRAGMA journal_mode = WAL")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error) or "busy" in str(error)


class PostgresDatabase(Database):
    """A PostgreSQL database through psycopg 3. Row locks and MVCC let writers proceed side by side, so there is
    no busy lock to wait out; the schema version is kept in a one-row table, `tandem_schema`."""

    key_column = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    reference_column = "BIGINT"

    def __init__(self, url: str):
        super().__init__(shown_url(url))
        self._url = url
        self._connection()  # a wrong URL, a refused password or a server that is down is found now

    def write(self, action):
        import psycopg

        try:
            connection = self._connection()
            with connection.transaction():
                return action(self._runner(connection))
        except psycopg.OperationalError as error:
            raise StoreError(f"{self.location}: {_one_line(error)}") from None

    def read(self, sql: str, values: tuple = ()) -> list[dict]:
        import psycopg

        try:
            return self._runner(self._connection())(sql, values)
        except psycopg.OperationalError as error:
            raise StoreError(f"{self.location}: {_one_line(error)}") from None

    def _connect(self):
        import psycopg
        from psycopg.rows import dict_row

        try:
            # autocommit: a read is its own statement; a write is an explicit transaction (`write`).
            return psycopg.connect(self._url, autocommit=True, row_factory=dict_row, connect_timeout=10)
        except psycopg.Error as error:
            raise StoreError(f"{self.location}: cannot connect: {_one_line(error)}") from None

    def _is_lost(self, connection) -> bool:
        return connection.closed or connection.broken

    @staticmethod
    def _runner(connection):
        def run(sql: str, values: tuple = ()) -> list[dict]:
            cursor = connection.execute(sql.replace("?", "%s"), values)  # Tandem's SQL holds no literal ? or %
            return cursor.fetchall() if cursor.description is not None else []
        return run

    def _lock_schema(self, run) -> None:
        # Two processes creating the same tables at once can collide in PostgreSQL's catalogue; an advisory
        # lock, released with the transaction, makes them take turns. The number is arbitrary and Tandem's own.
        run("SELECT pg_advisory_xact_lock(7281964)")

    def _schema_version(self, run) -> int:
        run("CREATE TABLE IF NOT EXISTS tandem_schema (version INTEGER NOT NULL)")
        rows = run("SELECT version FROM tandem_schema")
        return rows[0]["version"] if rows else 0

    def _set_schema_version(self, run, version: int) -> None:
        run("DELETE FROM tandem_schema")
        run("INSERT INTO tandem_schema (version) VALUES (?)", (version,))


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
