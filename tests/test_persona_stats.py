"""Persona versions: their text kept by hash, diffs, per-version figures from the log and the reports, the
`tandem personas stats` and `diff` commands, and the app's Prompts tab."""

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from gradio_client import Client

from bot.answering import Answerer
from bot.app import AppContext, build_app, respond
from bot.errors import PersonaError
from bot.persona_stats import HEADERS, plot_stats, stats_json, stats_rows, version_stats
from bot.personas import Catalog, load_catalog
from bot.store import ConversationStore
from bot.versions import (describe_change, diff_versions, find_version, keep_version, kept_versions, known_versions,
                          persona_text, versions_dir)
from tests.conftest import serving

TANDEM = str(Path(sys.executable).parent / "tandem")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def edited(persona, **changes):
    """The persona with some fields changed, validated again (a new version with a new hash)."""
    return type(persona).model_validate({**persona.model_dump(), **changes})


def tandem(*args, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([TANDEM, "personas", *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "TANDEM_HOME": str(home), "HF_HUB_OFFLINE": "1"})


def log(store: ConversationStore, persona, at: datetime, latency: float, rating: int | None = None,
        correction: str | None = None) -> int:
    turn = store.log_turn(session_id="s", persona_id=persona.id, persona_hash=persona.content_hash,
                          instruction_id="direct", instruction_hash="i", base_model="tiny", adapter=None,
                          retrieval=False, question="q?", answer="a.", started_at=at,
                          finished_at=at + timedelta(seconds=latency))
    if rating is not None:
        store.rate(turn, rating, correction)
    return turn


def write_report(directory: Path, started: str, versions: dict[str, str], cells: list[dict]) -> Path:
    """A report directory as `tandem eval` leaves it, reduced to the summary.json readers use."""
    directory.mkdir(parents=True)
    full = [{"cell": c["cell"], "persona": c["persona"], "answers": 4, "key_fact_recall": c.get("recall"),
             "adherence": c.get("adherence"), "unsupported_rate": c.get("unsupported")} for c in cells]
    summary = {"cells": full, "manifest": {"started": started, "personas": versions}}
    (directory / "summary.json").write_text(json.dumps(summary))
    return directory


# The kept texts ------------------------------------------------------------------------------------------

def test_a_version_is_kept_once_by_its_hash_and_reads_back_as_the_same_persona(tandem_home):
    plain = load_catalog().persona("plain")
    assert keep_version(plain) == plain.content_hash
    path = tandem_home / "versions" / "personas" / "plain" / f"{plain.content_hash}.yaml"
    assert path.read_text() == persona_text(plain)
    os.utime(path, (1, 1))
    keep_version(plain)  # kept versions are never rewritten
    assert path.stat().st_mtime == 1
    [kept] = kept_versions("plain")
    assert kept.persona == plain and kept.digest == plain.content_hash


def test_a_kept_file_whose_text_no_longer_matches_its_hash_is_ignored(tandem_home):
    plain = load_catalog().persona("plain")
    keep_version(plain)
    path = versions_dir("plain") / f"{plain.content_hash}.yaml"
    path.write_text(path.read_text().replace("Plain English", "Tampered"))
    (versions_dir("plain") / "broken.yaml").write_text("id: [")
    assert kept_versions("plain") == []


def test_a_home_that_cannot_be_written_costs_the_text_not_the_answer(tandem_home):
    tandem_home.mkdir(parents=True)
    tandem_home.chmod(0o500)
    try:
        plain = load_catalog().persona("plain")
        assert keep_version(plain) == plain.content_hash
    finally:
        tandem_home.chmod(0o700)


def test_diff_and_change_name_what_changed():
    plain = load_catalog().persona("plain")
    newer = edited(plain, system_prompt=plain.system_prompt + "\nEnd with one question back to the reader.")
    diff = diff_versions(plain, newer)
    assert diff.startswith(f"--- plain@{plain.content_hash}\n+++ plain@{newer.content_hash}\n")
    assert "\n+  End with one question back to the reader.\n" in diff
    assert diff_versions(plain, plain) == ""
    assert describe_change(None, plain) == "first version"
    assert describe_change(plain, newer) == "system_prompt (+1 -0 lines)"
    assert describe_change(plain, edited(newer, title="Plainer")) == "title, system_prompt (+2 -1 lines)"


def test_versions_are_found_by_hash_prefix(tandem_home):
    plain = load_catalog().persona("plain")
    versions = known_versions("plain", plain)
    assert find_version(versions, plain.content_hash[:5]).persona == plain
    with pytest.raises(PersonaError, match="no kept version 'ffff'; known versions: " + plain.content_hash):
        find_version(versions, "ffff")
    with pytest.raises(PersonaError, match="no kept version"):
        find_version(versions, plain.content_hash[:3])  # too short to mean anything


# Figures per version ---------------------------------------------------------------------------------

@pytest.fixture
def history(tandem_home, tmp_path):
    """Two versions of plain: the first served three turns and measured by one report, the second (the current
    one) served one turn and measured by a later report; support served one turn and was never edited."""
    catalog = load_catalog()
    old = edited(catalog.persona("plain"), system_prompt="Explain simply.")
    new = catalog.persona("plain")
    store = ConversationStore(tmp_path / "log.sqlite3")
    for version in (old, new):
        keep_version(version)
    os.utime(versions_dir("plain") / f"{old.content_hash}.yaml", (T0.timestamp() - 99, T0.timestamp() - 99))
    log(store, old, T0, 2.0, rating=1)
    log(store, old, T0 + timedelta(hours=1), 4.0, rating=-1, correction="Better.")
    log(store, old, T0 + timedelta(hours=2), 3.0)
    log(store, new, T0 + timedelta(days=5), 1.5, rating=1)
    log(store, catalog.persona("support"), T0 + timedelta(days=5), 9.0)
    reports = tmp_path / "reports"
    write_report(reports / "2026-03-02T10-00-00", "2026-03-02T10-00-00", {"plain": old.content_hash, "support": "x"},
                 [{"cell": "base · plain", "persona": "plain", "recall": 10.0, "adherence": 80.0, "unsupported": 30.0},
                  {"cell": "base · none", "persona": None, "recall": 5.0}])
    write_report(reports / "2026-03-09T10-00-00", "2026-03-09T10-00-00", {"plain": new.content_hash},
                 [{"cell": "base · plain", "persona": "plain", "recall": 12.5, "adherence": 95.0, "unsupported": 20.0}])
    (reports / "broken").mkdir()
    (reports / "broken" / "summary.json").write_text("{not json")
    return catalog, store, reports, old, new


def test_each_version_gets_its_turns_thumbs_latency_and_reports(history):
    catalog, store, reports, old, new = history
    first, second = version_stats(catalog, store, [reports], "plain")
    assert (first.version, second.version) == (old.content_hash, new.content_hash)
    assert (first.current, second.current) == (False, True)
    assert first.first_seen < T0.isoformat() < second.first_seen, "kept before its first turn: kept is first seen"
    assert (first.turns, first.thumbs_up, first.thumbs_down, first.corrections) == (3, 1, 1, 1)
    assert (first.up_rate, first.down_rate, first.median_latency_s) == (33.3, 33.3, 3.0)
    assert (second.turns, second.thumbs_up, second.median_latency_s) == (1, 1, 1.5)
    assert first.change == "first version" and second.change.startswith("system_prompt (")
    [measured] = first.reports
    assert (Path(measured.report).name, measured.cell, measured.recall, measured.adherence, measured.unsupported) == \
        ("2026-03-02T10-00-00", "base · plain", 10.0, 80.0, 30.0)
    assert [m.recall for m in second.reports] == [12.5]


def test_since_leaves_out_older_turns_and_reports(history):
    catalog, store, reports, old, new = history
    stats = {s.version: s for s in version_stats(catalog, store, [reports], "plain", since=date(2026, 3, 4))}
    assert stats[old.content_hash].turns == 0 and stats[old.content_hash].reports == []
    assert stats[new.content_hash].turns == 1 and len(stats[new.content_hash].reports) == 1


def test_every_persona_is_listed_without_an_id_and_an_unknown_id_is_an_error(history):
    catalog, store, reports, old, new = history
    unkept = edited(catalog.persona("support"), title="Served before versions were kept")
    log(store, unkept, T0 - timedelta(days=1), 5.0)
    stats = version_stats(catalog, store, [reports])
    assert {s.persona for s in stats} == set(catalog.personas)
    before, support = [s for s in stats if s.persona == "support"]
    assert (before.version, before.turns, before.change, before.text_kept) == (unkept.content_hash, 1, "text not kept",
                                                                               False)
    assert support.turns == 1 and support.median_latency_s == 9.0 and support.change == "text not kept"
    assert support.reports == [], "the first report loaded support 'x' but asked nothing under it"
    with pytest.raises(PersonaError, match="unknown persona 'nosuch'"):
        version_stats(catalog, store, [reports], "nosuch")


def test_the_log_reads_turns_through_one_store_function(history):
    catalog, store, reports, old, new = history
    assert [t["persona_hash"] for t in store.served_turns(persona="plain")] == [old.content_hash] * 3 + [new.content_hash]
    assert [t["rating"] for t in store.served_turns(persona="plain")] == [1, -1, None, 1]
    assert len(store.served_turns(since=date(2026, 3, 6))) == 2


def test_table_json_and_chart_hold_the_same_figures(history, tmp_path):
    catalog, store, reports, old, new = history
    stats = version_stats(catalog, store, [reports], "plain")
    rows = stats_rows(stats)
    assert len(rows) == 2 and all(len(row) == len(HEADERS) for row in rows)
    assert rows[0][4:9] == ["3", "1 (33.3%)", "1 (33.3%)", "1", "3"]
    assert rows[1][1] == f"{new.content_hash} (current)"
    assert rows[0][9] == "2026-03-02T10-00-00 · base · plain: 10 / 80 / 30"
    as_json = json.loads(stats_json(stats))
    assert as_json[0]["thumbs_up_rate"] == 33.3 and as_json[1]["reports"][0]["recall"] == 12.5
    assert plot_stats(stats, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"
    assert not plot_stats(version_stats(catalog, None, [], "engineer"), tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


# Where versions are kept -------------------------------------------------------------------------------

def test_a_chat_turn_keeps_the_text_of_the_persona_it_was_answered_under(echo_model, tandem_home, tmp_path):
    catalog = load_catalog()
    edited_plain = edited(catalog.persona("plain"), description="Edited for this test.")
    catalog = Catalog({**catalog.personas, "plain": edited_plain}, catalog.instructions, [])
    store = ConversationStore(tmp_path / "log.sqlite3")
    context = AppContext(answerer=Answerer(echo_model, catalog, store=store, max_chars=200), has_adapter=False)
    session = {"messages": [], "persona": None, "id": "s", "turns": {}, "pending": None}
    list(respond(context, "hello", "plain", "direct", session))
    [turn] = store.served_turns()
    assert turn["persona_hash"] == edited_plain.content_hash
    [kept] = kept_versions("plain")
    assert kept.persona == edited_plain


# The commands ------------------------------------------------------------------------------------------

def test_stats_and_diff_commands(history, tmp_path):
    catalog, store, reports, old, new = history
    home = Path(os.environ["TANDEM_HOME"])
    text = tandem("stats", "plain", "--db", store.path, "--reports", reports, home=home)
    assert text.returncode == 0, text.stderr
    assert f"plain {new.content_hash} (current)" in text.stdout
    assert "log: 3 turns, thumbs up 1 (33.3%), thumbs down 1 (33.3%), 1 corrections, median latency 3 s" in text.stdout
    assert "base · plain (4 answers): key-fact recall 12.5%, adherence 95%, unsupported specifics 20%" in text.stdout
    as_json = tandem("stats", "--json", "--since", "2026-03-04", "--db", store.path, "--reports", reports,
                     "--chart", tmp_path / "c.png", home=home)
    entries = json.loads(as_json.stdout)
    assert {e["persona"] for e in entries} == set(catalog.personas) and (tmp_path / "c.png").is_file()
    assert [e["turns"] for e in entries if e["persona"] == "plain"] == [0, 1]

    diff = tandem("diff", "plain", home=home)
    assert diff.returncode == 0 and diff.stdout == diff_versions(old, new)
    reverse = tandem("diff", "plain", new.content_hash[:6], old.content_hash, home=home)
    assert reverse.stdout == diff_versions(new, old)
    same = tandem("diff", "plain", old.content_hash, old.content_hash, home=home)
    assert same.stdout == f"{old.content_hash} and {old.content_hash} are the same\n"


def test_reports_default_to_the_reports_folder_of_the_current_directory(history, tmp_path):
    catalog, store, reports, old, new = history
    home = Path(os.environ["TANDEM_HOME"])
    result = tandem("stats", "plain", "--json", "--db", store.path, home=home, cwd=reports.parent)
    assert [len(e["reports"]) for e in json.loads(result.stdout)] == [1, 1]


@pytest.mark.parametrize("args, message", [
    (["stats", "nosuch"], "unknown persona 'nosuch'"),
    (["stats", "--since", "March"], "--since 'March': expected a date"),
    (["stats", "--db", "no-such.sqlite3"], "--db no-such.sqlite3: no such conversation log"),
    (["diff", "plain", "abcd"], "give two versions"),
    (["diff", "plain", "abcd", "ef01"], "no kept version 'abcd'"),
    (["diff", "nosuch"], "no version of persona 'nosuch'"),
])
def test_mistakes_are_one_line(tandem_home, args, message):
    result = tandem(*args, home=tandem_home)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr


def test_diff_with_one_known_version_says_so(tandem_home):
    result = tandem("diff", "engineer", home=tandem_home)
    assert result.returncode == 0
    assert result.stdout == f"only one version of engineer is known: {load_catalog().persona('engineer').content_hash}\n"


# The Prompts tab ---------------------------------------------------------------------------------------

def test_the_prompts_tab_shows_the_table_and_the_chart(history, echo_model):
    catalog, store, reports, old, new = history
    app = build_app(echo_model, catalog, "echo", store=store, reports=[reports])
    with serving(app) as url:
        table, chart = Client(url, verbose=False).predict("plain", api_name="/prompt_stats")
    assert table["headers"] == HEADERS
    assert [row[:5] for row in table["data"]] == [[r[0], r[1], r[2], r[3], r[4]] for r in stats_rows(
        version_stats(catalog, store, [reports], "plain"))]
    assert Path(chart).read_bytes()[:4] == b"\x89PNG"


def test_a_persona_known_only_by_its_kept_text_has_stats_too(tandem_home):
    """An optimised persona lives in its own folder; its kept versions are enough to ask about it."""
    catalog = load_catalog()
    copy = edited(catalog.persona("plain"), id="plain-copy")
    with pytest.raises(PersonaError, match="unknown persona 'plain-copy'"):
        version_stats(catalog, None, [], "plain-copy")
    keep_version(copy)
    [entry] = version_stats(catalog, None, [], "plain-copy")
    assert (entry.version, entry.current, entry.text_kept, entry.change) == (copy.content_hash, False, True,
                                                                             "first version")
