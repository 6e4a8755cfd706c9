"""Rated turns into training data: what is exported, filters, de-duplication, scrubbing, CSV safety, the CLI."""

import csv
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.errors import TandemError
from bot.store import ConversationStore
from finetune.data import load_examples
from finetune.feedback import DEFAULT_EXISTING, export_feedback, luhn_valid, neutralise_formula
from tests.conftest import T0, rated

TANDEM = str(Path(sys.executable).parent / "tandem")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def pairs(path: Path) -> list[tuple[str, str]]:
    return [(r["messages"][0]["content"], r["messages"][1]["content"]) for r in read_jsonl(path)]


@pytest.fixture
def store(tmp_path) -> ConversationStore:
    return ConversationStore(tmp_path / "log.sqlite3")


def test_corrections_and_thumbs_up_are_exported_thumbs_down_alone_is_not(store, tmp_path):
    liked = rated(store, "Do pods expire?", "Pods keep for two years.", 1)
    rated(store, "How long is shipping?", "Ten weeks.", -1, "Shipping takes three to five days.")
    rated(store, "Is there a warranty?", "Yes.", 1, "Yes: two years on the Sprigbox.")
    rated(store, "Can I pay by cheque?", "Certainly, any currency.", -1)
    rated(store, "Unrated question?", "Unrated answer.", None)
    report = export_feedback(store, tmp_path / "out.jsonl", existing=[])
    assert pairs(tmp_path / "out.jsonl") == [("Do pods expire?", "Pods keep for two years."),
                                             ("How long is shipping?", "Shipping takes three to five days."),
                                             ("Is there a warranty?", "Yes: two years on the Sprigbox.")]
    assert read_jsonl(tmp_path / "out.jsonl")[0] == {
        "messages": [{"role": "user", "content": "Do pods expire?"},
                     {"role": "assistant", "content": "Pods keep for two years."}],
        "persona": "support", "turn_id": liked, "source": "feedback"}
    assert (report.exported, report.skipped_thumbs_down, report.duplicates_of_training, report.duplicates_within) == \
        (3, 1, 0, 0)


def test_since_and_persona_filters(store, tmp_path):
    rated(store, "Old question?", "Old answer.", 1, at=T0 - timedelta(days=3))
    rated(store, "Support question?", "Support answer.", 1, at=T0)
    rated(store, "Engineer question?", "Engineer answer.", 1, persona="engineer", at=T0 + timedelta(days=1))
    export_feedback(store, tmp_path / "since.jsonl", since=date(2025, 3, 1), existing=[])
    assert [q for q, _ in pairs(tmp_path / "since.jsonl")] == ["Support question?", "Engineer question?"]
    export_feedback(store, tmp_path / "persona.jsonl", persona="engineer", existing=[])
    assert [(r["persona"], r["messages"][0]["content"]) for r in read_jsonl(tmp_path / "persona.jsonl")] == \
        [("engineer", "Engineer question?")]


def test_examples_already_in_the_training_data_or_the_export_are_dropped(store, tmp_path):
    training = tmp_path / "train.jsonl"
    training.write_text(json.dumps({"question": "Where is my order?", "answer": "Check the tracking link."}) + "\n")
    rated(store, "where is my ORDER", "Check the tracking link!", 1)  # the same once normalised
    rated(store, "Where is my order?", "It left the warehouse on Monday.", 1)  # same question, new answer: kept
    rated(store, "Do you ship abroad?", "Yes, to the EU.", 1)
    rated(store, "do you ship abroad", "yes to the EU", 1)  # repeats the one above
    rated(store, "Do you ship abroad?", "Wrong.", -1, "Yes, to the EU.")  # a correction repeating it too
    report = export_feedback(store, tmp_path / "out.jsonl", existing=[training])
    assert pairs(tmp_path / "out.jsonl") == [("Where is my order?", "It left the warehouse on Monday."),
                                             ("Do you ship abroad?", "Yes, to the EU.")]
    assert (report.exported, report.duplicates_of_training, report.duplicates_within) == (2, 1, 2)


def test_the_default_existing_data_is_the_sample_domain(store, tmp_path):
    shipped = json.loads(DEFAULT_EXISTING.read_text().splitlines()[0])
    rated(store, shipped["question"].upper(), shipped["answer"], 1)
    rated(store, "A question nobody asked before?", "A new answer.", 1)
    report = export_feedback(store, tmp_path / "out.jsonl")
    assert pairs(tmp_path / "out.jsonl") == [("A question nobody asked before?", "A new answer.")]
    assert report.duplicates_of_training == 1


@pytest.mark.parametrize("text, expected", [
    ("Write to jane.doe+garden@example.co.uk or BOB@mail.example.com.", "Write to [EMAIL] or [EMAIL]."),
    ("Call +44 20 7946 0958 or +1 (555) 123-4567.", "Call [PHONE] or [PHONE]."),
    ("Ring (555) 123-4567, 555-123-4567, 555.123.4567 or 1-800-555-0199.",
     "Ring [PHONE], [PHONE], [PHONE] or [PHONE]."),
    ("Card 4111 1111 1111 1111, 5500-0000-0000-0004 and 378282246310005.", "Card [CARD], [CARD] and [CARD]."),
    ("Order 1234 5678 9012 3456 cost $149.95 for 9 pods on 2025-03-01, ref 4111111111111112.",
     "Order 1234 5678 9012 3456 cost $149.95 for 9 pods on 2025-03-01, ref 4111111111111112."),
    ("Temperatures of -5 to +30 degrees, 10-20 items, version 1.2.3, 1,299 units.",
     "Temperatures of -5 to +30 degrees, 10-20 items, version 1.2.3, 1,299 units."),
])
def test_personal_data_is_scrubbed_and_other_numbers_are_not(store, tmp_path, text, expected):
    rated(store, f"Question: {text}", f"Answer: {text}", 1)
    export_feedback(store, tmp_path / "out.jsonl", existing=[])
    assert pairs(tmp_path / "out.jsonl") == [(f"Question: {expected}", f"Answer: {expected}")]


def test_scrubbing_is_counted_and_can_be_narrowed_or_switched_off(store, tmp_path):
    rated(store, "I am ann@example.com, +44 20 7946 0958.", "Card 4111 1111 1111 1111 noted, ann@example.com.", 1)
    report = export_feedback(store, tmp_path / "all.jsonl", existing=[])
    assert report.scrubbed == {"email": 2, "phone": 1, "card": 1}
    report = export_feedback(store, tmp_path / "email.jsonl", scrub={"email"}, existing=[])
    assert pairs(tmp_path / "email.jsonl") == [("I am [EMAIL], +44 20 7946 0958.",
                                                "Card 4111 1111 1111 1111 noted, [EMAIL].")]
    assert report.scrubbed == {"email": 2, "phone": 0, "card": 0}
    export_feedback(store, tmp_path / "none.jsonl", scrub=set(), existing=[])
    assert "ann@example.com" in pairs(tmp_path / "none.jsonl")[0][0]
    with pytest.raises(TandemError, match="unknown scrub kind 'address'; choose from email, phone, card"):
        export_feedback(store, tmp_path / "bad.jsonl", scrub={"address"}, existing=[])


def test_luhn_check():
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112") and not luhn_valid("1234567890123456")


def test_csv_export_neutralises_spreadsheet_formulas(store, tmp_path):
    rated(store, "=HYPERLINK(\"http://evil\")", "+1 is the answer", 1)
    rated(store, "-2 degrees, is that cold?", "@SUM(A1) no", 1)
    rated(store, "A plain question?", "A plain answer.", 1)
    report = export_feedback(store, tmp_path / "out.csv", existing=[])
    with open(tmp_path / "out.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert rows == [["question", "answer", "persona"],
                    ["'=HYPERLINK(\"http://evil\")", "'+1 is the answer", "support"],
                    ["'-2 degrees, is that cold?", "'@SUM(A1) no", "support"],
                    ["A plain question?", "A plain answer.", "support"]]
    assert report.exported == 3
    assert [neutralise_formula(cell) for cell in ("\tcmd", "\rcmd", "ok =1")] == ["'\tcmd", "'\rcmd", "ok =1"]
    assert len(load_examples([tmp_path / "out.csv"]).examples) == 3


def test_the_export_loads_as_chat_data_and_tokenizes_for_training(store, tmp_path, tiny_model_dir):
    from transformers import AutoTokenizer

    from bot.personas import load_catalog
    from bot.prompts import PromptFormat
    from finetune.grounding import GroundedExample
    from finetune.recipe import Recipe
    from finetune.rows import tokenize_examples

    rated(store, "How do I reset my password?", "Use the reset link on the login page.", 1)
    rated(store, "Refunds?", "Wrong.", -1, "Refunds take five days.")
    export_feedback(store, tmp_path / "out.jsonl", existing=[])
    data = load_examples([tmp_path / "out.jsonl"], strict=True)  # strict: any problem would raise
    assert [(e.question, e.answer) for e in data.examples] == [
        ("How do I reset my password?", "Use the reset link on the login page."), ("Refunds?", "Refunds take five days.")]
    rows, long = tokenize_examples([GroundedExample(e, (), e.answer) for e in data.examples],
                                   AutoTokenizer.from_pretrained(tiny_model_dir), load_catalog(), Recipe(), PromptFormat())
    assert len(rows) == 2 and long == []
    assert all(sum(row.completion_mask) > 0 for row in rows)


def test_a_failed_export_leaves_the_previous_file_and_no_temporary(store, tmp_path, monkeypatch):
    out = tmp_path / "out.jsonl"
    out.write_text("previous export\n")
    rated(store, "Question?", "Answer.", 1)

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr("bot.files.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        export_feedback(store, out, existing=[])
    assert out.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.jsonl")] == []


def tandem(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([TANDEM, "data", "export", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_the_cli_end_to_end(tandem_home, tmp_path):
    store = ConversationStore()  # $TANDEM_HOME/conversations.sqlite3, as tandem serve writes it
    rated(store, "My e-mail is ann@example.com, why no invoice?", "Invoices go out on the 1st.", 1)
    rated(store, "Shipping time?", "Ten weeks.", -1)
    rated(store, "=cmd|' /C calc'!A0", "Formula?", 1, persona="engineer", at=T0 + timedelta(days=2))
    work = tmp_path / "work"
    work.mkdir()

    result = tandem(cwd=work)
    assert result.returncode == 0, result.stderr
    [out] = work.glob("feedback-*.jsonl")
    assert date.fromisoformat(out.stem.removeprefix("feedback-"))  # today's date, as the process saw it
    assert pairs(out)[0] == ("My e-mail is [EMAIL], why no invoice?", "Invoices go out on the 1st.")
    assert result.stdout.splitlines() == [
        f"2 examples written to {out.name}",
        "left out: 1 thumbs-down without a correction, 0 already in the training data, 0 repeated within the export, "
        "0 empty",
        "scrubbed: 1 email, 0 phone, 0 card"]

    result = tandem("--since", "2025-03-02", "--persona", "engineer", "--no-scrub", "--out", "eng.csv", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "eng.csv").read_text() == "question,answer,persona\n'=cmd|' /C calc'!A0,Formula?,engineer\n"
    assert "scrubbed: nothing" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--since", "last week"], "tandem: --since 'last week': expected a date as YYYY-MM-DD"),
    (["--scrub", "email,address"], "tandem: unknown scrub kind 'address'; choose from email, phone, card"),
    (["--db", "missing.sqlite3"], "tandem: no conversation log at missing.sqlite3"),
    (["--existing", "nowhere.jsonl"], "tandem: nowhere.jsonl: cannot read"),
])
def test_cli_mistakes_are_one_line_errors(tandem_home, tmp_path, args, message):
    ConversationStore()
    result = tandem(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert list(tmp_path.glob("feedback-*")) == []
