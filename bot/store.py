"""The conversation log: every chat turn and its rating, in an SQLite file or a PostgreSQL database, shared by
threads and processes (and, on PostgreSQL, by machines).

Where. `ConversationStore(location)` takes a file path or a database URL (`bot.databases`); with none it
reads $TANDEM_DB_URL, else uses `$TANDEM_HOME/conversations.sqlite3`. The commands take the same as `--db`.

Durability. SQLite runs in WAL mode with `PRAGMA synchronous = FULL`: every commit syncs the
write-ahead log to disk before the method returns, so a turn or a rating that was acknowledged
survives a crash of the process *and* a power loss. WAL's usual pairing, NORMAL, syncs only at
checkpoints; it never corrupts the database, but a power loss can roll back the last transactions,
that is, lose ratings the user was already told were saved. One sync per turn costs a few
milliseconds, next to seconds of generation, so FULL is the setting. PostgreSQL syncs each commit by default.

Concurrency. Gradio runs handlers on worker threads and several `tandem serve` processes may share
one log. Each thread gets its own connection; SQLite writers take the write lock up front and wait for it,
retrying with backoff, so users never see "database is locked". Every write is one transaction committed
before its method returns: the return is the acknowledgement.

Sessions. A turn's session id says where it came from: a browser chat's id (hex), `compare:<hex>` for one
question asked in the app's Compare tab, `ask:<hex>` and `chat:<hex>` for the command line, `api:<client>`
for `tandem api`.

Times are UTC ISO 8601 with microseconds (fixed width, so comparing the text compares the times).
"""

import os
from datetime import date, datetime, timezone
from pathlib import Path

from bot.databases import POSTGRES_SCHEMES, StoreError, open_database  # noqa: F401 (StoreError: callers import it here)
from bot.errors import InputError
from bot.paths import tandem_home

SCHEMA_VERSION = 1
DB_URL_VARIABLE = "TANDEM_DB_URL"

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS turns (
        id {key},
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
        latency_s DOUBLE PRECISION NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS feedback (
        turn_id {reference} PRIMARY KEY REFERENCES turns(id),
        rating INTEGER NOT NULL CHECK (rating IN (1, -1)),
        correction TEXT NULL,
        rated_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS turns_by_session ON turns(session_id, id)",
    "CREATE INDEX IF NOT EXISTS turns_by_persona_time ON turns(persona_id, started_at)",
    "CREATE INDEX IF NOT EXISTS turns_by_time ON turns(started_at)",
    "CREATE INDEX IF NOT EXISTS feedback_by_rating_time ON feedback(rating, rated_at)",
    "CREATE INDEX IF NOT EXISTS feedback_by_time ON feedback(rated_at)",
]

_TURN_COLUMNS = ("session_id", "persona_id", "persona_hash", "instruction_id", "instruction_hash", "base_model",
                 "adapter", "retrieval", "question", "answer", "latency_s", "started_at", "finished_at")

_WITH_FEEDBACK = "SELECT turns.*, feedback.rating, feedback.correction, feedback.rated_at FROM turns "
_RATED = _WITH_FEEDBACK + "JOIN feedback ON feedback.turn_id = turns.id"
_ALL = _WITH_FEEDBACK + "LEFT JOIN feedback ON feedback.turn_id = turns.id"


def log_location(db: str | Path | None = None) -> str:
    """Where the conversation log is: `db` (a file path or a database URL, as --db takes it), else
    $TANDEM_DB_URL, else `$TANDEM_HOME/conversations.sqlite3`."""
    return str(db or os.environ.get(DB_URL_VARIABLE) or tandem_home() / "conversations.sqlite3")


def log_exists(location: str) -> bool:
    """Whether there is a log to read at `location`, so readers do not create an empty one: an SQLite file that
    exists, or a PostgreSQL database (opening it says whether it can be reached)."""
    return location.startswith(POSTGRES_SCHEMES) or Path(location.removeprefix("sqlite:///")).is_file()


class ConversationStore:
    """Chat turns and their ratings at `location` (see `log_location` for the default)."""

    def __init__(self, location: str | Path | None = None):
        self._db = open_database(log_location(location))
        self._db.create_schema(_SCHEMA, SCHEMA_VERSION)

    @property
    def location(self) -> str:
        """The file or the database URL (without its password), for status lines and messages."""
        return self._db.location

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None on PostgreSQL."""
        return getattr(self._db, "path", None)

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
        sql = (f"INSERT INTO turns ({', '.join(_TURN_COLUMNS)}) VALUES ({', '.join('?' * len(_TURN_COLUMNS))}) "
               "RETURNING id")
        return self._db.write(lambda run: run(sql, values)[0]["id"])

    def rate(self, turn_id: int, rating: int, correction: str | None = None) -> None:
        """Thumbs up (+1) or down (-1), with an optional corrected answer; rating again replaces the feedback."""
        if rating not in (1, -1):
            raise InputError(f"rating must be +1 or -1, got {rating!r}")
        correction = correction.strip() if correction and correction.strip() else None

        def upsert(run) -> None:
            if not run("SELECT 1 AS found FROM turns WHERE id = ?", (turn_id,)):
                raise InputError(f"no turn {turn_id} in the conversation log {self.location}")
            run("INSERT INTO feedback (turn_id, rating, correction, rated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (turn_id) DO UPDATE SET rating = excluded.rating, "
                "correction = excluded.correction, rated_at = excluded.rated_at",
                (turn_id, int(rating), correction, _utc_text(datetime.now(timezone.utc))))

        self._db.write(upsert)

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

    def served_turns(self, since: datetime | date | None = None, persona: str | None = None) -> list[dict]:
        """Every turn started at or after `since`, optionally of one persona, oldest first, with its rating and
        correction or None: what `tandem personas stats` counts per persona version."""
        where, values = _filters(persona=persona, since=since)
        return self._read(f"{_ALL}{where} ORDER BY turns.id", values)

    def close(self) -> None:
        """Close the calling thread's connection (other threads' close when those threads end)."""
        self._db.close()

    def _read(self, sql: str, values: tuple) -> list[dict]:
        return [_as_dict(row) for row in self._db.read(sql, values)]


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


def _as_dict(row: dict) -> dict:
    return {**row, "retrieval": bool(row["retrieval"])}
