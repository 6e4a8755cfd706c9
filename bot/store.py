"""The conversation log: every chat turn and its rating in one SQLite file, shared by threads and processes.

Durability. The file is in WAL mode with `PRAGMA synchronous = FULL`: every commit syncs the
write-ahead log to disk before the method returns, so a turn or a rating that was acknowledged
survives a crash of the process *and* a power loss. WAL's usual pairing, NORMAL, syncs only at
checkpoints; it never corrupts the database, but a power loss can roll back the last transactions,
that is, lose ratings the user was already told were saved. One sync per turn costs a few
milliseconds, next to seconds of generation, so FULL is the setting.

Concurrency. Gradio runs handlers on worker threads and several `tandem serve` processes may share
one file. Each thread gets its own connection; writers take the write lock up front
(`BEGIN IMMEDIATE`) and wait for it up to `busy_timeout`, and a write that still finds the
database busy is retried with backoff, so users never see "database is locked". Every write is one
transaction committed before its method returns: the return is the acknowledgement.

Times are UTC ISO 8601 with microseconds (fixed width, so comparing the text compares the times).
"""

import os
import random
import sqlite3
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

from bot.errors import InputError, TandemError
from bot.paths import tandem_home

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000
RETRIES = 5
"""Attempts after the first when SQLite still reports busy once busy_timeout has run out."""

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS turns (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL,
        persona_id TEXT NOT NULL,
        persona_hash TEXT NOT NULL,
        instruction_id TEXT NOT NULL,
        instruction_hash TEXT NOT NULL,
        base_model TEXT NOT NULL,
        adapter TEXT NULL,
        retrieval INTEGER NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        latency_s REAL NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS feedback (
        turn_id INTEGER PRIMARY KEY REFERENCES turns(id),
        rating INTEGER NOT NULL CHECK (rating IN (1, -1)),
        correction TEXT NULL,
        rated_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS turns_by_session ON turns(session_id, id)",
    "CREATE INDEX IF NOT EXISTS turns_by_persona_time ON turns(persona_id, started_at)",
    "CREATE INDEX IF NOT EXISTS turns_by_time ON turns(started_at)",
    "CREATE INDEX IF NOT EXISTS feedback_by_rating_time ON feedback(rating, rated_at)",
    "CREATE INDEX IF NOT EXISTS feedback_by_time ON feedback(rated_at)",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
]

_TURN_COLUMNS = ("session_id", "persona_id", "persona_hash", "instruction_id", "instruction_hash", "base_model",
                 "adapter", "retrieval", "question", "answer", "latency_s", "started_at", "finished_at")

_WITH_FEEDBACK = "SELECT turns.*, feedback.rating, feedback.correction, feedback.rated_at FROM turns "
_RATED = _WITH_FEEDBACK + "JOIN feedback ON feedback.turn_id = turns.id"
_ALL = _WITH_FEEDBACK + "LEFT JOIN feedback ON feedback.turn_id = turns.id"


class StoreError(TandemError):
    """The conversation log cannot be opened or written (not a database, read-only, too new, busy too long)."""


class ConversationStore:
    """Chat turns and their ratings in `path` (default `$TANDEM_HOME/conversations.sqlite3`)."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else tandem_home() / "conversations.sqlite3"
        self._local = threading.local()
        self._create()

    # Writing

    def log_turn(self, *, session_id: str, persona_id: str, persona_hash: str, instruction_id: str,
                 instruction_hash: str, base_model: str, adapter: str | Path | None, retrieval: bool,
                 question: str, answer: str, started_at: datetime, finished_at: datetime,
                 latency_s: float | None = None) -> int:
        """Record one answered question; returns the turn id. Latency defaults to finished_at - started_at."""
        if latency_s is None:
            latency_s = (finished_at - started_at).total_seconds()
        values = (session_id, persona_id, persona_hash, instruction_id, instruction_hash, base_model,
                  None if adapter is None else str(adapter), int(bool(retrieval)), question, answer,
                  float(latency_s), _utc_text(started_at), _utc_text(finished_at))
        sql = f"INSERT INTO turns ({', '.join(_TURN_COLUMNS)}) VALUES ({', '.join('?' * len(_TURN_COLUMNS))})"
        return self._write(lambda db: db.execute(sql, values).lastrowid)

    def rate(self, turn_id: int, rating: int, correction: str | None = None) -> None:
        """Thumbs up (+1) or down (-1), with an optional corrected answer; rating again replaces the feedback."""
        if rating not in (1, -1):
            raise InputError(f"rating must be +1 or -1, got {rating!r}")
        correction = correction.strip() if correction and correction.strip() else None

        def upsert(db: sqlite3.Connection) -> None:
            if db.execute("SELECT 1 FROM turns WHERE id = ?", (turn_id,)).fetchone() is None:
                raise InputError(f"no turn {turn_id} in the conversation log {self.path}")
            db.execute("INSERT INTO feedback (turn_id, rating, correction, rated_at) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (turn_id) DO UPDATE SET rating = excluded.rating, "
                       "correction = excluded.correction, rated_at = excluded.rated_at",
                       (turn_id, int(rating), correction, _utc_text(datetime.now(timezone.utc))))

        self._write(upsert)

    # Reading

    def turns(self, session_id: str | None = None) -> list[dict]:
        """Every turn (of one session, if given) in the order logged, with its rating and correction or None."""
        if session_id is None:
            return self._read(_ALL + " ORDER BY turns.id", ())
        return self._read(_ALL + " WHERE turns.session_id = ? ORDER BY turns.id", (session_id,))

    def recent_rated(self, persona: str | None = None, rating: int | None = None, limit: int = 100) -> list[dict]:
        """Rated turns, most recently rated first, optionally of one persona and one rating."""
        where, values = _filters(persona=persona, rating=rating)
        return self._read(f"{_RATED}{where} ORDER BY feedback.rated_at DESC, turns.id DESC LIMIT ?",
                          (*values, limit))

    def rated_turns(self, since: datetime | date | None = None, persona: str | None = None) -> list[dict]:
        """Rated turns started at or after `since` (a date means its midnight UTC), oldest first."""
        where, values = _filters(persona=persona, since=since)
        return self._read(f"{_RATED}{where} ORDER BY turns.id", values)

    def close(self) -> None:
        """Close the calling thread's connection (other threads' close when those threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # SQLite

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # Conversations are personal data: the file (and SQLite's -wal and -shm, which copy its mode)
            # is readable by its owner only.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))

        def create_schema(db: sqlite3.Connection) -> None:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer Tandem (schema {version}; "
                                 f"this one knows {SCHEMA_VERSION})")
            if version < SCHEMA_VERSION:
                for statement in _SCHEMA:  # not executescript, which would commit our transaction
                    db.execute(statement)

        self._retrying(_use_wal)
        self._write(create_schema)

    def _connection(self) -> sqlite3.Connection:
        """The calling thread's connection, opened and configured on first use (and again after a fork)."""
        connection, pid = getattr(self._local, "connection", None), getattr(self._local, "pid", None)
        if connection is None or pid != os.getpid():
            # isolation_level=None: no implicit transactions; every write is an explicit BEGIN IMMEDIATE.
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute("PRAGMA foreign_keys = ON")
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def _write(self, action):
        """Run `action(db)` in one IMMEDIATE transaction, committed before returning its result."""
        def transaction(db: sqlite3.Connection):
            db.execute("BEGIN IMMEDIATE")
            try:
                result = action(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return result

        return self._retrying(transaction)

    def _read(self, sql: str, values: tuple) -> list[dict]:
        return self._retrying(lambda db: [_as_dict(row) for row in db.execute(sql, values)])

    def _retrying(self, work):
        """`work(db)`, retried with growing, jittered pauses while SQLite reports the database busy or locked."""
        for attempt in range(RETRIES + 1):
            try:
                return work(self._connection())
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise StoreError(f"{self.path}: {error}") from None
                if attempt == RETRIES:
                    raise StoreError(f"{self.path} stayed busy through {RETRIES + 1} waits of "
                                     f"{BUSY_TIMEOUT_MS / 1000:g} s; another program holds it") from None
                time.sleep(min(0.05 * 2 ** attempt, 1.0) * random.uniform(0.5, 1.5))
            except sqlite3.DatabaseError as error:
                if type(error) is not sqlite3.DatabaseError:  # integrity and programming errors are bugs
                    raise
                raise StoreError(f"{self.path} is not a Tandem conversation log or is damaged: {error}") from None


def _use_wal(db: sqlite3.Connection) -> None:
    # The journal mode is stored in the file: set once, it holds for every later connection.
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode = WAL")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error) or "busy" in str(error)


def _filters(persona: str | None = None, rating: int | None = None,
             since: datetime | date | None = None) -> tuple[str, tuple]:
    clauses, values = [], []
    if persona is not None:
        clauses.append("turns.persona_id = ?")
        values.append(persona)
    if rating is not None:
        clauses.append("feedback.rating = ?")
        values.append(rating)
    if since is not None:
        if not isinstance(since, datetime):
            since = datetime(since.year, since.month, since.day, tzinfo=timezone.utc)
        clauses.append("turns.started_at >= ?")
        values.append(_utc_text(since))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(values)


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"{moment} has no time zone; pass an aware datetime such as datetime.now(timezone.utc)")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _as_dict(row: sqlite3.Row) -> dict:
    record = dict(row)
    record["retrieval"] = bool(record["retrieval"])
    return record
