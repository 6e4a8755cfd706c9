"""Training data loading: five formats, problems with file:line, de-duplication, split, leakage."""

import json

import pytest

from finetune.data import DataError, Example, deduplicate, leakage_report, load_examples, split


def write(path, lines):
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.parametrize("record, expected", [
    ({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q1"},
                   {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q"},
                   {"role": "assistant", "content": "A"}]},
     Example("Q", "A", history=({"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}))),
    ({"question": "Q", "answer": "A", "category": "billing"}, Example("Q", "A", "billing")),
    ({"instruction": "Q", "input": "context", "output": "A"}, Example("Q\n\ncontext", "A")),
    ({"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}, Example("Q", "A")),
])
def test_each_jsonl_format_is_detected_and_read(tmp_path, record, expected):
    [example] = load_examples([write(tmp_path / "d.jsonl", [record])]).examples
    assert (example.question, example.answer, example.category, example.history) == \
        (expected.question, expected.answer, expected.category, expected.history)
    assert example.source.endswith("d.jsonl:1")


def test_csv_with_column_flags(tmp_path):
    from finetune.data import CsvColumns

    path = tmp_path / "faq.csv"
    path.write_text('q,a,topic\n"How, exactly?","Like this.",billing\nSecond?,Yes.,shipping\n')
    data = load_examples([path], columns=CsvColumns("q", "a", "topic"))
    assert [(e.question, e.answer, e.category) for e in data.examples] == [
        ("How, exactly?", "Like this.", "billing"), ("Second?", "Yes.", "shipping")]
    with pytest.raises(DataError, match="faq.csv:1: no column 'question' .--question-col.; columns are: q, a, topic"):
        load_examples([path])


def test_problems_name_file_and_line_and_are_skipped(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"question": "ok", "answer": "fine"}\n'
                     b'not json\n'
                     b'{"question": "q"}\n'
                     b'{"question": "q", "answer": ["a"]}\n'
                     b'{"question": "\xff", "answer": "a"}\n'
                     b'[1, 2]\n'
                     b'{"messages": [{"role": "user", "content": "x"}]}\n'
                     b'{"question": "last", "answer": "cut')
    data = load_examples([path], fmt="qa")
    assert [e.question for e in data.examples] == ["ok"]
    messages = [str(p) for p in data.problems]
    for line, fragment in [(2, "invalid JSON"), (3, "field 'answer' is missing"), (4, "must be a string"),
                           (5, "not valid UTF-8"), (6, "expected a JSON object"), (7, "field 'question' is missing"),
                           (8, "truncated last line")]:
        assert any(m.startswith(f"{path}:{line}: ") and fragment in m for m in messages), (line, messages)
    with pytest.raises(DataError, match="7 problem"):
        load_examples([path], fmt="qa", strict=True)


def test_a_bom_is_reported_and_crlf_line_endings_are_normal(tmp_path):
    path = tmp_path / "win.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"question": "q", "answer": "a"}\r\n')
    data = load_examples([path])
    assert len(data.examples) == 1
    assert [str(p) for p in data.problems] == [f"{path}:1: starts with a UTF-8 byte-order mark (removed)"]

    excel = tmp_path / "excel.csv"  # what Excel and Python's csv module write
    excel.write_bytes(b'question,answer\r\n"Two\r\nlines?",Yes.\r\nq2,"b, c"\r\n')
    data = load_examples([excel])
    assert data.problems == []
    assert [(e.question, e.answer) for e in data.examples] == [("Two\nlines?", "Yes."), ("q2", "b, c")]


def test_exact_and_near_duplicates_are_removed():
    examples = [Example("How do I pay?", "By card."), Example("how do i pay", "By card"),
                Example("How do I pay?", "By card."), Example("How can I pay?", "By card.")]
    kept, removed = deduplicate(examples)
    assert removed == 2 and [e.question for e in kept] == ["How do I pay?", "How can I pay?"]


def test_split_is_deterministic_and_stratified():
    examples = [Example(f"q{i}", "a", category=["x", "y"][i % 2]) for i in range(40)]
    train, validation = split(examples, 0.2, seed=3)
    assert split(examples, 0.2, seed=3) == (train, validation)
    assert split(examples, 0.2, seed=4) != (train, validation)
    assert sorted(e.category for e in validation) == ["x"] * 4 + ["y"] * 4
    assert len(train) == 32 and not set(train) & set(validation)


def test_leakage_report_finds_near_copies_of_training_questions():
    train = [Example("How long does shipping take?", "a"), Example("What is your refund window?", "b")]
    leaks = leakage_report(train, ["How long does shipping take??", "Which colours does the kettle come in?"])
    assert [leak.eval_question for leak in leaks] == ["How long does shipping take??"]
    assert leaks[0].cosine >= 0.9


def test_unreadable_and_undetectable_files(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        load_examples([tmp_path / "missing.jsonl"])
    (tmp_path / "odd.jsonl").write_text('{"prompt": "x"}\n')
    with pytest.raises(DataError, match="cannot tell the format"):
        load_examples([tmp_path / "odd.jsonl"])


@pytest.mark.parametrize("record", [
    {"question": "Q", "answer": "A", "key_facts": [" $149.95 ", "9"], "group": "F001"},
    {"question": "Q", "answer": "A", "key_facts": ["$149.95", "9"], "fact_id": "F001"},
    {"instruction": "Q", "output": "A", "key_facts": ["$149.95", "9"], "fact_id": "F001"},
    {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}],
     "key_facts": ["$149.95", "9"], "group": "F001"},
])
def test_key_facts_and_group_are_read_from_every_jsonl_format(tmp_path, record):
    [example] = load_examples([write(tmp_path / "eval.jsonl", [record])]).examples
    assert (example.question, example.answer) == ("Q", "A")
    assert example.key_facts == ("$149.95", "9") and example.group == "F001"


def test_evaluation_fields_are_optional_and_a_numeric_group_is_text(tmp_path):
    plain, numbered = load_examples([write(tmp_path / "eval.jsonl", [
        {"question": "Q1", "answer": "A1"}, {"question": "Q2", "answer": "A2", "fact_id": 7}])]).examples
    assert (plain.key_facts, plain.group) == ((), None)
    assert numbered.group == "7"


def test_csv_key_facts_are_separated_by_semicolons(tmp_path):
    from finetune.data import CsvColumns

    path = tmp_path / "eval.csv"
    path.write_text("q,a,facts,paraphrase\n"
                    "How much?,It is $149.95 for 9 pods.,$149.95; 9 ;,F1\n"
                    "What price?,$149.95.,$149.95,F1\n"
                    "Colour?,Green.,,\n")
    examples = load_examples([path], columns=CsvColumns("q", "a", key_facts="facts", group="paraphrase")).examples
    assert [(e.key_facts, e.group) for e in examples] == [(("$149.95", "9"), "F1"), (("$149.95",), "F1"), ((), None)]
    with pytest.raises(DataError, match="eval.csv:1: no column 'Facts' .--key-facts-col."):
        load_examples([path], columns=CsvColumns("q", "a", key_facts="Facts"))


def test_malformed_key_facts_and_groups_are_problems_with_file_and_line(tmp_path):
    path = write(tmp_path / "eval.jsonl", [
        {"question": "ok", "answer": "fine", "key_facts": ["fine"]},
        {"question": "q2", "answer": "a2", "key_facts": "$149.95"},
        {"question": "q3", "answer": "a3", "key_facts": ["ok", "  "]},
        {"question": "q4", "answer": "a4", "key_facts": [149.95]},
        {"question": "q5", "answer": "a5", "group": ["F1"]},
    ])
    data = load_examples([path])
    assert [e.question for e in data.examples] == ["ok"]
    assert [str(p) for p in data.problems] == [
        f"{path}:2: field 'key_facts' must be a list of non-empty strings",
        f"{path}:3: field 'key_facts' must be a list of non-empty strings",
        f"{path}:4: field 'key_facts' must be a list of non-empty strings",
        f"{path}:5: field 'group' must be a string"]
