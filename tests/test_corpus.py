"""The shipped domain corpora: complete, clean, and with an evaluation set that does not leak."""

import json
from collections import Counter
from pathlib import Path

import pytest

from bot.paths import PROJECT_ROOT
from finetune.data import SAMPLE_DOMAIN, leakage_report, load_examples

DOMAINS = sorted(p for p in (PROJECT_ROOT / "data").iterdir() if (p / "train.jsonl").is_file())


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_there_are_two_domains_of_different_kinds():
    assert SAMPLE_DOMAIN in DOMAINS and len(DOMAINS) >= 2


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda p: p.name)
def test_each_domain_loads_cleanly_and_is_documented(domain):
    for name in ("train.jsonl", "eval.jsonl"):
        data = load_examples([domain / name])
        assert data.problems == [] and data.duplicates == 0, (name, data.problems[:3])
    assert (domain / "README.md").is_file() and list((domain / "knowledge").glob("*.md"))


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda p: p.name)
def test_every_fact_is_asked_several_ways_and_evaluated_with_key_facts(domain):
    facts = {row["fact_id"] for row in rows(domain / "facts.jsonl")}
    per_fact = Counter(row["fact_id"] for row in rows(domain / "train.jsonl"))
    assert set(per_fact) == facts
    assert all(count >= 2 for count in per_fact.values())
    if domain == SAMPLE_DOMAIN:  # the shipped adapter's recipe relies on many phrasings per fact
        assert all(count >= 8 for count in per_fact.values())
    for row in rows(domain / "eval.jsonl"):
        assert row["fact_id"] in facts and row["key_facts"]
        assert all(key.lower() in row["answer"].lower() for key in row["key_facts"]), row


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda p: p.name)
def test_no_evaluation_question_is_a_near_copy_of_a_training_question(domain):
    train = load_examples([domain / "train.jsonl"]).examples
    evaluation = [e.question for e in load_examples([domain / "eval.jsonl"]).examples]
    assert leakage_report(train, evaluation, threshold=0.9) == []


def test_the_sample_domain_is_big_enough():
    assert len(rows(SAMPLE_DOMAIN / "facts.jsonl")) >= 120
    assert len(rows(SAMPLE_DOMAIN / "train.jsonl")) >= 400
    assert len(rows(SAMPLE_DOMAIN / "eval.jsonl")) >= 100
