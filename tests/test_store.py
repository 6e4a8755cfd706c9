"""The conversation log on SQLite and on a real PostgreSQL server: schema and durability settings, rating and
listing, many writers at once, kill -9."""

import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from bot import databases
from bot.databases import BUSY_TIMEOUT_MS
from bot.errors import InputError
from bot.paths import PROJECT_ROOT
from bot.store import SCHEMA_VERSION, ConversationStore, StoreError, log_exists, log_location

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)

# A writer process: logs and rates turns, printing each turn id only once rate() has returned.
WRITER = """
import sys, types
from datetime import datetime, timezone

# bot/__init__ imports LangChain (about a second); a bare package keeps the many restarts quick.
package = types.ModuleType("bot")
package.__path__ = [sys.argv[1] + "/bot"]
sys.modules["bot"] = package
from bot.store import ConversationStore

store, name, count = ConversationStore(sys.argv[2]), sys.argv[3], int(sys.argv[4])
print("ready", flush=True)
done = 0
while count == 0 or done < count:
    now = datetime.now(timezone.utc)
    turn = store.log_turn(session_id=name, persona_id="support", persona_hash="p", instruction_id="direct",
                          instruction_hash="i", base_model="tiny", adapter=None, retrieval=False,
                          question=f"{name} question {done}", answer=f"answer {done}", started_at=now,
                          finished_at=now)
    store.rate(turn, 1 if turn % 2 else -1, f"correction {turn}" if turn % 3 == 0 else None)
    print(turn, flush=True)
    done += 1
"""


def log(store: ConversationStore, question: str = "How do I reset it?", persona: str = "support",
        session: str = "s1", at: datetime = T0, retrieval: bool = False) -> int:
    return store.log_turn(session_id=session, persona_id=persona, persona_hash="a1b2c3d4e5f6", instruction_id="direct",
                          instruction_hash="f6e5d4c3b2a1", base_model="tiny", adapter=None, retrieval=retrieval,
                          question=question, answer=f"Answer to {question}", started_at=at,
                          finished_at=at + timedelta(seconds=1.5))


def start_writer(db, name: str, count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(PROJECT_ROOT), str(db), name, str(count)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path) -> str:
    """Where a test's log goes: a new SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "log.sqlite3")
    return request.getfixturevalue("postgres_url")


def count_feedback(store: ConversationStore) -> int:
    return store._db.read("SELECT COUNT(*) AS n FROM feedback")[0]["n"]


# Where the log is --------------------------------------------------------------------------------------------


def test_default_path_is_in_the_tandem_home(tandem_home):
    store = ConversationStore()
    assert store.path == tandem_home / "conversations.sqlite3"
    assert store.path.is_file() and store.location == str(store.path)


def test_the_location_comes_from_db_then_the_environment_then_the_home(tandem_home, monkeypatch, tmp_path):
    assert log_location() == str(tandem_home / "conversations.sqlite3")
    monkeypatch.setenv("TANDEM_DB_URL", "postgresql://tandem@db.internal/tandem")
    assert log_location() == "postgresql://tandem@db.internal/tandem"
    assert log_location(tmp_path / "mine.sqlite3") == str(tmp_path / "mine.sqlite3")
    store = ConversationStore(f"sqlite:///{tmp_path}/by-url.sqlite3")
    assert store.path == tmp_path / "by-url.sqlite3" and store.path.is_file()
    assert log_exists(f"sqlite:///{tmp_path}/by-url.sqlite3") and not log_exists(str(tmp_path / "none.sqlite3"))
    assert log_exists("postgresql://tandem@db.internal/tandem")


def test_a_database_url_of_another_kind_is_refused_in_one_line(tmp_path):
    with pytest.raises(StoreError, match="^mysql://me:\\*\\*\\*@db/log: not a database Tandem can use"):
        ConversationStore("mysql://me:secret@db/log")


# SQLite's own settings -----------------------------------------------------------------------------------------


def test_schema_and_durability_settings(tmp_path):
    store = ConversationStore(tmp_path / "log.sqlite3")
    raw = sqlite3.connect(store.path)
    columns = {table: [row[1] for row in raw.execute(f"PRAGMA table_info({table})")] for table in ("turns", "feedback")}
    assert columns == {
        "turns": ["id", "session_id", "persona_id", "persona_hash", "instruction_id", "instruction_hash", "base_model",
                  "adapter", "retrieval", "question", "answer", "latency_s", "started_at", "finished_at"],
        "feedback": ["turn_id", "rating", "correction", "rated_at"]}
    indexes = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    assert {"turns_by_persona_time", "turns_by_time", "feedback_by_rating_time"} <= indexes
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # stored in the file
    connection = store._db._connection()  # synchronous and busy_timeout belong to each connection
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.path.stat().st_mode & 0o777 == 0o600


def test_files_that_are_not_this_log_are_named_in_the_error(tmp_path):
    not_a_database = tmp_path / "notes.sqlite3"
    not_a_database.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError, match="notes.sqlite3 is not a Tandem conversation log"):
        ConversationStore(not_a_database)
    newer = tmp_path / "newer.sqlite3"
    sqlite3.connect(newer).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer.sqlite3 was written by a newer Tandem"):
        ConversationStore(newer)


def test_a_write_waits_out_a_lock_held_past_the_busy_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(databases, "BUSY_TIMEOUT_MS", 50)  # SQLite gives up after 50 ms; the retries go on
    store = ConversationStore(tmp_path / "log.sqlite3")
    turn = log(store)
    other = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    releasing = threading.Event()

    def release():  # long after SQLite's 50 ms busy timeout: only Tandem's retries can wait this out
        releasing.set()
        other.execute("COMMIT")

    threading.Timer(0.4, release).start()
    store.rate(turn, 1)
    assert releasing.is_set(), "the write went through only once the lock was given up"
    assert store.turns()[0]["rating"] == 1


def test_a_lock_never_released_ends_in_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(databases, "BUSY_TIMEOUT_MS", 20)
    monkeypatch.setattr(databases, "RETRIES", 1)
    store = ConversationStore(tmp_path / "log.sqlite3")
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreError, match="log.sqlite3 stayed busy through 2 waits"):
        log(store)
    other.execute("ROLLBACK")
    assert store.turns() == []


# PostgreSQL's own settings -------------------------------------------------------------------------------------

def test_the_schema_on_postgresql(postgres_url):
    import psycopg

    ConversationStore(postgres_url)
    with psycopg.connect(postgres_url) as raw:
        def columns(table: str) -> list[tuple[str, str]]:
            return raw.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
                               "ORDER BY ordinal_position", (table,)).fetchall()

        assert [name for name, _ in columns("turns")] == [
            "id", "session_id", "persona_id", "persona_hash", "instruction_id", "instruction_hash", "base_model",
            "adapter", "retrieval", "question", "answer", "latency_s", "started_at", "finished_at"]
        assert dict(columns("turns"))["id"] == "bigint" and dict(columns("turns"))["latency_s"] == "double precision"
        assert [name for name, _ in columns("feedback")] == ["turn_id", "rating", "correction", "rated_at"]
        indexes = {row[0] for row in raw.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
        assert {"turns_by_persona_time", "turns_by_time", "feedback_by_rating_time"} <= indexes
        assert raw.execute("SELECT version FROM tandem_schema").fetchall() == [(SCHEMA_VERSION,)]


def test_a_postgresql_log_of_a_newer_schema_is_refused(postgres_url):
    import psycopg

    ConversationStore(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as raw:
        raw.execute("UPDATE tandem_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="was written by a newer Tandem"):
        ConversationStore(postgres_url)


def test_a_server_that_cannot_be_reached_is_one_line_without_the_password():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError) as error:
        ConversationStore(f"postgresql://tandem:hunter2@127.0.0.1:{port}/tandem")
    message = str(error.value)
    assert message.startswith(f"postgresql://tandem:***@127.0.0.1:{port}/tandem: cannot connect")
    assert "hunter2" not in message and "\n" not in message


# Both databases ----------------------------------------------------------------------------------------------

def test_log_rate_and_rate_again(location):
    store = ConversationStore(location)
    turn = log(store, retrieval=True)
    [logged] = store.turns()
    assert logged["id"] == turn
    assert (logged["question"], logged["retrieval"], logged["latency_s"], logged["rating"]) == \
        ("How do I reset it?", True, 1.5, None)
    assert (logged["started_at"], logged["finished_at"]) == ("2025-03-01T12:00:00.000000+00:00",
                                                             "2025-03-01T12:00:01.500000+00:00")
    store.rate(turn, 1)
    assert (store.turns()[0]["rating"], store.turns()[0]["correction"]) == (1, None)
    store.rate(turn, -1, "  Hold the button for ten seconds.  ")
    assert (store.turns()[0]["rating"], store.turns()[0]["correction"]) == (-1, "Hold the button for ten seconds.")
    store.rate(turn, -1, "   ")
    assert store.turns()[0]["correction"] is None
    assert count_feedback(store) == 1


def test_a_reopened_store_keeps_everything(location):
    first = ConversationStore(location)
    turn = log(first)
    first.rate(turn, 1, "Fixed.")
    first.close()
    assert [(t["id"], t["rating"], t["correction"]) for t in ConversationStore(location).turns()] == [(turn, 1, "Fixed.")]


def test_listing_filters(location):
    store = ConversationStore(location)
    old = log(store, "old", at=T0 - timedelta(days=2))
    same_day = log(store, "same day", persona="engineer", at=T0, session="s2")
    later = log(store, "later", at=T0 + timedelta(days=1))
    unrated = log(store, "unrated", at=T0 + timedelta(days=1))
    for turn, rating in ((later, 1), (old, -1), (same_day, 1)):
        store.rate(turn, rating)

    def ids(rows):
        return [row["id"] for row in rows]

    assert ids(store.recent_rated()) == [same_day, old, later]  # most recently rated first
    assert ids(store.recent_rated(persona="support")) == [old, later]
    assert ids(store.recent_rated(rating=-1)) == [old]
    assert ids(store.recent_rated(persona="engineer", rating=-1)) == []
    assert ids(store.recent_rated(limit=2)) == [same_day, old]
    assert ids(store.rated_turns()) == [old, same_day, later]  # oldest first, unrated left out
    assert ids(store.rated_turns(since=date(2025, 3, 1))) == [same_day, later]
    assert ids(store.rated_turns(since=T0 + timedelta(seconds=1))) == [later]
    assert ids(store.rated_turns(since=date(2025, 3, 1), persona="support")) == [later]
    assert ids(store.turns()) == [old, same_day, later, unrated]
    assert ids(store.turns(session_id="s2")) == [same_day]


@pytest.mark.parametrize("rating", [0, 2, -2, "1", None])
def test_a_rating_other_than_up_or_down_is_refused(location, rating):
    store = ConversationStore(location)
    turn = log(store)
    with pytest.raises(InputError, match="rating must be \\+1 or -1"):
        store.rate(turn, rating)
    assert store.turns()[0]["rating"] is None


def test_rating_an_unknown_turn_is_refused(location):
    store = ConversationStore(location)
    with pytest.raises(InputError, match=f"no turn 999 in the conversation log {re.escape(store.location)}$"):
        store.rate(999, 1)
    assert count_feedback(store) == 0


def test_times_must_carry_a_time_zone(location):
    store = ConversationStore(location)
    with pytest.raises(ValueError, match="no time zone"):
        log(store, at=datetime(2025, 3, 1, 12, 0))
    assert store.turns() == []


def test_eight_threads_writing_at_once(location):
    store = ConversationStore(location)
    start, errors = threading.Barrier(8), []

    def work(worker: int) -> None:
        try:
            start.wait()
            for i in range(50):
                turn = log(store, f"thread {worker} question {i}", session=f"thread-{worker}")
                store.rate(turn, 1 if i % 2 else -1)
        except Exception as error:  # collected: an exception in a thread would not fail the test
            errors.append(error)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    turns = store.turns()
    assert len(turns) == 400
    assert {t["question"] for t in turns} == {f"thread {w} question {i}" for w in range(8) for i in range(50)}
    assert all(t["rating"] == (1 if int(t["question"].split()[-1]) % 2 else -1) for t in turns)


def test_several_processes_writing_at_once(location):
    db = location  # not created beforehand: the processes also race to create the schema
    writers = [start_writer(db, f"process-{n}", 40) for n in range(4)]
    acknowledged = set()
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert "locked" not in err and "busy" not in err
        acknowledged |= {int(line) for line in out.split()[1:]}
    turns = ConversationStore(db).turns()
    assert {t["id"] for t in turns} == acknowledged and len(acknowledged) == 160
    assert all(t["rating"] == (1 if t["id"] % 2 else -1) for t in turns)


def test_acknowledged_ratings_survive_kill_9(location):
    db, rng = location, random.Random(7)
    acknowledged = set()
    for round in range(15):
        writer = start_writer(db, f"run-{round}", 0)
        assert writer.stdout.readline() == "ready\n", writer.stderr.read()
        time.sleep(rng.uniform(0.02, 0.3))  # the writer is mid-loop: logging, rating or printing
        os.kill(writer.pid, signal.SIGKILL)
        out, err = writer.stdout.read(), writer.stderr.read()
        assert writer.wait(timeout=10) == -signal.SIGKILL, err
        assert "locked" not in err, err
        acknowledged |= {int(line) for line in out.split("\n")[:-1]}  # a line cut short was never acknowledged
    assert len(acknowledged) >= 15
    rated = {t["id"]: (t["rating"], t["correction"]) for t in ConversationStore(db).turns()}
    missing = [turn for turn in acknowledged
               if rated.get(turn) != (1 if turn % 2 else -1, f"correction {turn}" if turn % 3 == 0 else None)]
    assert missing == []
    if not location.startswith("postgresql://"):
        assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
