"""`tandem personas optimise`: the rewrites, the split, the example pool, the search on a fake model whose answers
follow from its prompt (so a better persona exists and can be found), budgets, resuming, the command on the tiny
model, and the cost line of the report."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from bot.personas import load_catalog, load_persona
from bot.prompts import stated_rules
from bot.store import ConversationStore
from bot.versions import kept_versions
from finetune.data import Example, load_examples
from finetune.evaluation.cost import cost_lines, find_optimisation, load_optimisation, training_cost
from finetune.evaluation.evaluate import EvalConfig, run_eval
from finetune.prompt_search.candidates import Candidate, candidate_persona, example_pool
from finetune.prompt_search.optimise import OptimiseConfig, OptimiseError, run_optimise, split_questions
from finetune.prompt_search.rewrites import LAYOUTS, RULES, rewrite_prompt, split_sentences
from tests.conftest import EchoChatModel, echo_reply, rated

pytestmark = pytest.mark.usefixtures("one_thread")

TANDEM = str(Path(sys.executable).parent / "tandem")
PERSONA = """id: tester
title: Tester
audience: people who test things
description: Answers for testers.
system_prompt: |
  You answer for testers. Keep it short.
  Say what to check next.
examples:
  - user: Does the kettle boil fast?
    assistant: "Bottom line: yes, in about two minutes."
  - user: Is the lid safe?
    assistant: "Bottom line: yes, it locks."
style:
  max_words: 400
  must_include_any: ["bottom line"]
  avoid_words: [basically]
"""
QUESTIONS = [  # six paraphrase groups of two
    ("How long do refunds take?", "Refunds take five days.", ["refunds"], "G1"),
    ("When do refunds arrive?", "Refunds arrive in five days.", ["refunds"], "G1"),
    ("How do I reset my password?", "Use the reset link.", ["reset"], "G2"),
    ("Where is the password reset?", "On the login page.", ["reset"], "G2"),
    ("How much is the kettle?", "It costs $49.95.", ["$49.95"], "G3"),
    ("What does the kettle cost?", "The kettle is $49.95.", ["$49.95"], "G3"),
    ("Do you ship abroad?", "We ship to 30 countries.", ["ship"], "G4"),
    ("Can you ship to Canada?", "Yes, we ship to Canada.", ["ship"], "G4"),
    ("Is there a warranty?", "Two years of warranty.", ["warranty"], "G5"),
    ("How long is the warranty?", "The warranty is two years.", ["warranty"], "G5"),
    ("Can I pause my plan?", "Yes, for up to three months.", ["pause"], "G6"),
    ("How do I pause my plan?", "Open Plans and choose Pause.", ["pause"], "G6"),
]
TRAINING = [
    {"question": "What is the bottom line on returns?", "answer": "Bottom line: returns are free.", "fact_id": "T1"},
    {"question": "How do I clean the filter?", "answer": "Rinse it under the tap.", "fact_id": "T2"},  # no bottom line
    {"question": "Can I pay by card?", "answer": "Bottom line: yes, every major card.", "fact_id": "T3"},
    {"question": "Can I pay by cheque?", "answer": "Bottom line: basically no.", "fact_id": "T4"},  # avoided word
    {"question": "How long do refunds take?", "answer": "Bottom line: five days.", "fact_id": "T5"},  # an eval question
    {"question": "Refund timing?", "answer": "Bottom line: five days.", "fact_id": "G1"},  # an eval group
    {"question": "Which colours are there?", "answer": "Bottom line: red and blue.", "fact_id": "T6"},
]


class EchoWithUsage(EchoChatModel):
    """The echo model (its answer repeats the system prompt's first line and every user message, few-shot ones
    included) with token counts, as the report needs them."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append((messages, kwargs))
        text = echo_reply(messages)
        tokens = sum(len(m.content.split()) for m in messages)
        usage = {"input_tokens": tokens, "output_tokens": len(text.split()), "total_tokens": tokens + len(text.split())}
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text, usage_metadata=usage))])


@pytest.fixture
def domain(tmp_path) -> SimpleNamespace:
    root = tmp_path / "domain"
    (root / "personas").mkdir(parents=True)
    (root / "personas" / "tester.yaml").write_text(PERSONA)
    (root / "eval.jsonl").write_text("".join(json.dumps({"question": q, "answer": a, "key_facts": f, "fact_id": g}) + "\n"
                                             for q, a, f, g in QUESTIONS))
    (root / "train.jsonl").write_text("".join(json.dumps(record) + "\n" for record in TRAINING))
    (root / "general.jsonl").write_text('{"question": "What is the capital of France?"}\n')
    return SimpleNamespace(root=root, personas=root / "personas", eval=root / "eval.jsonl", train=root / "train.jsonl",
                           general=root / "general.jsonl", catalog=load_catalog([root / "personas"]))


def config(domain, tmp_path, **fields) -> OptimiseConfig:
    settings = {"data": [domain.eval], "adapters": [], "base_model": "echo", "dev_questions": 4, "heldout_questions": 4,
                "budget_answers": 200, "batch_size": 4, "max_new_tokens": 8, "reports": tmp_path / "reports",
                "out": tmp_path / "optimised" / "tester-optimised.yaml", **fields}
    return OptimiseConfig(**settings)


# The rewrites ------------------------------------------------------------------------------------------

def test_rewrites_work_from_the_persona_alone():
    tester = load_persona_text(PERSONA)
    assert split_sentences(tester.system_prompt) == ["You answer for testers.", "Keep it short.", "Say what to check next."]
    assert stated_rules(tester.style) == ['Always include the words "bottom line" in your answer.',
                                          "Answer in at most 400 words.", "Never use these words: basically."]
    assert rewrite_prompt(tester, "original", "implicit", False) == tester.system_prompt
    assert rewrite_prompt(tester, "concise", "implicit", False) == "You answer for testers."
    assert rewrite_prompt(tester, "checklist", "implicit", False) == (
        "Follow these instructions:\n1. You answer for testers.\n2. Keep it short.\n3. Say what to check next.")
    after = rewrite_prompt(tester, "concise", "after", True)
    assert after.startswith("You answer for testers.\n\nRules for every answer:\n- Always include the words "
                            '"bottom line" in your answer.\n') and after.endswith("never guess one.")
    assert rewrite_prompt(tester, "concise", "before", False).startswith("Rules for every answer:\n")
    with pytest.raises(ValueError):
        rewrite_prompt(tester, "poetic", "implicit", False)


def test_every_rewrite_of_every_shipped_persona_is_a_valid_persona_with_the_same_rules():
    for persona in load_catalog().personas.values():
        own = {e.id: e for e in example_pool(persona, [], [], None)}
        for layout in LAYOUTS:
            for rules in RULES:
                candidate = candidate_persona(persona, Candidate(layout, rules, True, tuple(own)), own)
                assert candidate.style == persona.style and candidate.generation == persona.generation
                assert candidate.examples == persona.examples and candidate.id == persona.id


def load_persona_text(text: str):
    import yaml

    from bot.personas import Persona

    return Persona.model_validate(yaml.safe_load(text))


# The split and the pool --------------------------------------------------------------------------------

def test_the_split_keeps_paraphrase_groups_whole_and_apart(domain):
    questions = load_examples([domain.eval]).examples
    dev, heldout = split_questions(questions, 4, 4, seed=0)
    assert (len(dev), len(heldout)) == (4, 4)
    assert not {q.group for q in dev} & {q.group for q in heldout}
    for part in (dev, heldout):
        groups = {q.group for q in part}
        assert sorted(q.question for q in part) == sorted(q.question for q in questions if q.group in groups)
    assert split_questions(questions, 4, 4, seed=0) == (dev, heldout)
    assert split_questions(questions, 4, 4, seed=1) != (dev, heldout)
    with pytest.raises(OptimiseError, match="1 question group"):
        split_questions([Example("q1", "a", group="g"), Example("q2", "a", group="g")], 1, 1, seed=0)


def test_the_pool_holds_only_examples_that_follow_the_rules_and_leak_nothing(domain, tmp_path):
    store = ConversationStore(tmp_path / "log.sqlite3")
    rated(store, "What is the bottom line? Mail me at ann@example.com", "Bottom line: we will write to ann@example.com.", 1)
    rated(store, "Is it broken?", "It is.", -1, "Bottom line: no, restart it.")
    rated(store, "Is it blue?", "Bottom line: yes.", -1)  # thumbs-down without a correction
    questions = load_examples([domain.eval]).examples
    tester = domain.catalog.persona("tester")
    pool = example_pool(tester, questions, [domain.train], store.location)
    assert [(e.ref, e.source, e.user) for e in pool] == [
        ("p1", "persona", "Does the kettle boil fast?"), ("p2", "persona", "Is the lid safe?"),
        ("t1", "training", "What is the bottom line on returns?"), ("t2", "training", "Can I pay by card?"),
        ("t3", "training", "Which colours are there?"),
        ("l1", "log", "What is the bottom line? Mail me at [EMAIL]"), ("l2", "log", "Is it broken?")]
    assert pool[5].assistant == "Bottom line: we will write to [EMAIL]." and pool[6].assistant == "Bottom line: no, restart it."
    assert len({e.id for e in pool}) == len(pool)
    assert example_pool(tester, questions, [], None) == pool[:2]
    not_asked = [q for q in questions if q.group != "G1"]  # a run that asks nothing of G1 may show its example
    assert "Refund timing?" in [e.user for e in example_pool(tester, not_asked, [domain.train], None)]


# The search on the echo model ---------------------------------------------------------------------------

def test_the_search_finds_the_example_that_makes_answers_follow_the_rules_and_the_held_out_split_agrees(
        domain, tmp_path, tandem_home):
    """The echo model repeats every user message, few-shot ones included, and the persona requires "bottom line":
    only carrying the training example that asks about "the bottom line" makes its answers adhere."""
    model = EchoWithUsage()
    result = run_optimise("tester", config(domain, tmp_path), domain.catalog, progress=False, chat_model=model)
    record = result.record
    assert record["before"]["adherence"] == 0 and record["after"]["adherence"] == 100
    assert record["after"]["score"] > record["before"]["score"]
    assert "t1" in record["chosen"].split() and record["chosen_hash"] in [c["hash"] for c in record["candidates"]]
    assert {"ref": "t1", "source": "training", "user": "What is the bottom line on returns?"} in record["examples"]
    optimised = load_persona(result.persona_file)
    assert optimised.id == "tester-optimised" and optimised.title == "Tester (optimised)"
    assert "What is the bottom line on returns?" in [e.user for e in optimised.examples]
    assert optimised.style == domain.catalog.persona("tester").style, "the judge's rules never change"
    assert (domain.personas / "tester.yaml").read_text() == PERSONA, "the original file is untouched"
    assert {v.persona.id for v in kept_versions("tester") + kept_versions("tester-optimised")} == {
        "tester", "tester-optimised"}

    # The cost is every answer generated, and the budget bounded it.
    assert record["cost"]["answers"] == len(model.calls) <= 200
    assert record["cost"]["heldout_answers"] == 8 and record["cost"]["search_answers"] == 4 * len(record["candidates"])
    assert record["stopped"].startswith(("the budget of 200 answers", "every change within reach"))

    # The report: the original and the optimised persona on held-out questions the search never saw.
    summary = json.loads((result.report / "summary.json").read_text())
    assert summary["optimisation"] == record
    assert [c["cell"] for c in summary["cells"]] == ["base · tester+few-shot", "base · tester-optimised+few-shot"]
    assert [c["adherence"] for c in summary["cells"]] == [0, 100]
    rows = [json.loads(line) for line in (result.report / "results.jsonl").read_text().splitlines()]
    heldout = {r["question"] for r in rows}
    dev, _ = split_questions(load_examples([domain.eval]).examples, 4, 4, seed=0)
    assert len(heldout) == 4 and not heldout & {q.question for q in dev}
    assert summary["manifest"]["personas"]["tester-optimised"] == optimised.content_hash
    assert any(s.startswith("Optimising the tester persona (base, 4 dev questions) changed the held-out score")
               for s in summary["verdict"])
    markdown = (result.report / "report.md").read_text()
    assert "## Optimisation" in markdown and "**(chosen)**" in markdown and "Cost per request:" in markdown
    assert find_optimisation([tmp_path / "reports"], ["tester"]) == load_optimisation(result.report)


def test_a_rerun_replays_the_saved_search_and_a_larger_budget_goes_on(domain, tmp_path, tandem_home):
    model = EchoWithUsage()
    first = run_optimise("tester", config(domain, tmp_path, budget_answers=32), domain.catalog, progress=False,
                         chat_model=model)
    assert first.record["stopped"].startswith("the budget of 32 answers") and len(first.record["candidates"]) == 6
    calls = len(model.calls)
    again = run_optimise("tester", config(domain, tmp_path, budget_answers=32), domain.catalog, progress=False,
                         chat_model=model)
    assert again.reused and len(model.calls) == calls, "nothing new within the budget: not one answer generated"
    assert again.report == first.report
    further = run_optimise("tester", config(domain, tmp_path, budget_answers=200), domain.catalog, progress=False,
                           chat_model=model)
    changes = [c["change"] for c in further.record["candidates"]]
    assert changes[:6] == [c["change"] for c in first.record["candidates"]]
    assert len(changes) > 6 and further.record["cost"]["answers"] == len(model.calls)


def test_an_interrupted_search_resumes_where_it_stopped_and_ends_as_an_uninterrupted_one(domain, tmp_path,
                                                                                        monkeypatch):
    monkeypatch.setenv("TANDEM_HOME", str(tmp_path / "home-a"))
    whole = run_optimise("tester", config(domain, tmp_path / "a"), domain.catalog, progress=False,
                         chat_model=EchoWithUsage())

    monkeypatch.setenv("TANDEM_HOME", str(tmp_path / "home-b"))
    model = EchoWithUsage()
    original_generate = EchoWithUsage._generate

    def stop_after_five_candidates(self, messages, **kwargs):
        if len(self.calls) == 20:
            raise KeyboardInterrupt
        return original_generate(self, messages, **kwargs)

    monkeypatch.setattr(EchoWithUsage, "_generate", stop_after_five_candidates)
    with pytest.raises(KeyboardInterrupt):
        run_optimise("tester", config(domain, tmp_path / "b"), domain.catalog, progress=False, chat_model=model)
    monkeypatch.setattr(EchoWithUsage, "_generate", original_generate)
    [state] = (tmp_path / "home-b" / "optimise").glob("tester-*.json")
    assert len(json.loads(state.read_text())["evaluations"]) == 5
    resumed = run_optimise("tester", config(domain, tmp_path / "b"), domain.catalog, progress=False,
                           chat_model=model)
    assert resumed.record["candidates"] == whole.record["candidates"]
    assert resumed.record["chosen"] == whole.record["chosen"] and resumed.record["after"] == whole.record["after"]
    assert resumed.record["cost"]["answers"] == whole.record["cost"]["answers"]


def test_the_minutes_budget_stops_the_search_but_not_the_held_out_comparison(domain, tmp_path, tandem_home):
    result = run_optimise("tester", config(domain, tmp_path, budget_minutes=1e-6), domain.catalog, progress=False,
                          chat_model=EchoWithUsage())
    assert result.record["stopped"] == "the budget of 1e-06 minutes"
    assert len(result.record["candidates"]) == 1 and result.record["cost"]["heldout_answers"] == 8


def test_with_few_shot_off_only_the_wording_is_searched(domain, tmp_path, tandem_home):
    result = run_optimise("tester", config(domain, tmp_path, few_shot="off"), domain.catalog, progress=False,
                          chat_model=EchoWithUsage())
    assert [c["change"] for c in result.record["candidates"]] == [
        "the original", "rules stated after the text", "rules stated before the text", "grounding sentence",
        "layout concise", "layout checklist"], "every one-step change of the wording, and nothing else"
    assert result.record["stopped"] == "every change within reach was tried"
    assert load_persona(result.persona_file).examples == domain.catalog.persona("tester").examples


@pytest.mark.parametrize("fields, message", [
    ({"budget_answers": 11}, "--budget-answers 11 does not cover"),
    ({"new_id": "tester"}, "--new-id tester: the optimised persona needs an id of its own"),
    ({"db": "no-such.sqlite3"}, "--db no-such.sqlite3: no such conversation log"),
])
def test_runs_that_cannot_work_stop_before_answering(domain, tmp_path, tandem_home, fields, message):
    model = EchoWithUsage()
    with pytest.raises(OptimiseError, match=message):
        run_optimise("tester", config(domain, tmp_path, **fields), domain.catalog, progress=False, chat_model=model)
    assert model.calls == []


def test_the_output_never_replaces_another_persona(domain, tmp_path, tandem_home):
    with pytest.raises(OptimiseError, match="already holds persona 'tester'; only an earlier tester-optimised"):
        run_optimise("tester", config(domain, tmp_path, out=domain.personas / "tester.yaml"), domain.catalog,
                     progress=False, chat_model=EchoWithUsage())
    assert (domain.personas / "tester.yaml").read_text() == PERSONA


# The command on the tiny model --------------------------------------------------------------------------

def test_the_command_on_the_tiny_model_then_resumed(domain, tmp_path, tandem_home, noisy_model_dir):
    def optimise(*extra):
        return subprocess.run(
            [TANDEM, "personas", "optimise", "tester", "--personas", str(domain.personas), "--data", str(domain.eval),
             "--base-model", str(noisy_model_dir), "--no-adapter", "--dev-questions", "4", "--heldout-questions", "4",
             "--max-new-tokens", "8", "--budget-answers", "28", *extra],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
            env={**os.environ, "TANDEM_HOME": str(tandem_home), "OMP_NUM_THREADS": "1"})

    result = optimise()
    assert result.returncode == 0, result.stderr
    assert "tandem: optimising tester on the base model (few-shot on, retrieval off): 4 dev and 4 held-out " \
           "questions, 5 examples to draw from (2 persona, 3 training)" in result.stderr
    assert "optimise tester" in result.stderr, "the progress bar"
    assert "Optimising the tester persona (base, 4 dev questions) changed the held-out score" in result.stdout
    assert "Persona: personas-optimised/tester-optimised.yaml (use it with --personas personas-optimised)" in result.stdout
    [report] = (tmp_path / "reports").iterdir()
    record = json.loads((report / "summary.json").read_text())["optimisation"]
    assert record["cost"]["answers"] == 28 and len(record["candidates"]) == 5, "4 answers each, 8 held out"
    assert load_persona(tmp_path / "personas-optimised" / "tester-optimised.yaml").id == "tester-optimised"

    again = optimise()
    assert again.returncode == 0 and "Nothing new to try within the budget" in again.stdout
    assert len(list((tmp_path / "reports").iterdir())) == 1
    mistake = optimise("--new-id", "tester")
    assert mistake.returncode == 2 and len(mistake.stderr.splitlines()) == 1 and "id of its own" in mistake.stderr


# The cost line ---------------------------------------------------------------------------------------------

def test_training_cost_comes_from_the_adapters_metrics(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"wall_seconds": 1441.1, "train_tokens_per_second": 211.3,
                                                       "steps": 67, "epochs_completed": 1.0}))
    assert training_cost(tmp_path) == {"minutes": 24.0, "tokens": 304504, "steps": 67, "epochs": 1.0}
    (tmp_path / "metrics.json").write_text("[1, 2]")
    assert training_cost(tmp_path) is None and training_cost(tmp_path / "nowhere") is None


def test_the_cost_line_sets_prompt_optimisation_against_fine_tuning():
    def cell(model, prompt, recall, adherence, tokens, seconds):
        return {"cell": f"{model} · {prompt}", "model": model, "prompt": prompt, "key_fact_recall": recall,
                "adherence": adherence, "prompt_tokens": tokens, "seconds_per_answer": seconds}

    cells = [cell("base", "support", 2.5, 86.9, 146.9, 5.3), cell("tuned", "support", 2.0, 100.0, 150.2, 3.1),
             cell("base", "support+retrieval", 12.0, 79.0, 610.0, 4.9),
             cell("tuned", "support+retrieval", 56.3, 100.0, 612.0, 2.9)]
    manifest = {"adapters": {"tuned": {"training": {"minutes": 24.0, "tokens": 304504, "steps": 67}}}}
    record = {"persona": "support", "model": "base", "retrieval": False, "report": "reports/2026-12-01T10-00-00",
              "before": {"key_fact_recall": 2.0, "adherence": 80.0}, "after": {"key_fact_recall": 3.0, "adherence": 95.0},
              "cost": {"answers": 600, "minutes": 24.6}}
    lines = cost_lines(cells, manifest, "support", record)
    assert lines[0] == ("Cost per request: base · support 147 prompt tokens and 5.3 s an answer; tuned · support 150 "
                        "prompt tokens and 3.1 s an answer; base · support+retrieval 610 prompt tokens and 4.9 s an "
                        "answer; tuned · support+retrieval 612 prompt tokens and 2.9 s an answer.")
    assert lines[1] == ("Fine-tuning (tuned) cost 24 min of training over about 304,504 tokens, 67 steps, once; it "
                        "bought key-fact recall under support 2% → 2% (+0 points); key-fact recall under "
                        "support+retrieval 12% → 56% (+44 points).")
    assert lines[2] == ("Optimising the support prompt (base model, report 2026-12-01T10-00-00) moved held-out key-fact "
                        "recall 2% → 3% (+1 points) and persona adherence 80% → 95% (+15 points) for 600 answers and "
                        "25 minutes of generation; fine-tuning (tuned) moved key-fact recall under support 2% → 2% "
                        "(+0 points) and adherence 87% → 100% (+13 points) for 24 min of training over about 304,504 "
                        "tokens, 67 steps.")
    assert cost_lines(cells, {"adapters": {"tuned": {"training": None}}}, "support")[1].startswith(
        "Fine-tuning (tuned) cost an unrecorded training time (the adapter has no metrics.json), once")


def test_tandem_eval_finds_the_newest_optimisation_of_an_evaluated_persona(domain, tmp_path, tandem_home,
                                                                            noisy_model_dir):
    result = run_optimise("tester", config(domain, tmp_path), domain.catalog, progress=False,
                          chat_model=EchoWithUsage())
    report = run_eval(EvalConfig(data=[domain.eval], base_model=str(noisy_model_dir), adapters=[], personas=["tester"],
                                 prompts=["persona"], limit=2, general_questions=domain.general, max_new_tokens=8,
                                 batch_size=4, out=tmp_path / "reports"), domain.catalog, progress=False)
    cost = json.loads((report / "summary.json").read_text())["cost"]
    assert cost[0].startswith("Cost per request: base · tester ")
    assert cost[1].startswith(f"Optimising the tester prompt (base model, report {result.report.name}) moved held-out "
                              "key-fact recall") and cost[1].endswith("; this report has no fine-tuned model to set it "
                                                                      "against.")
    assert all(f"- {line}" in (report / "report.md").read_text() for line in cost)


def test_the_persona_is_asked_as_its_model_asks_unless_told_otherwise(tmp_path):
    from finetune.prompt_search.optimise import _cell

    (tmp_path / "tandem-adapter.json").write_text(json.dumps(
        {"base_model": "tiny", "prompt_format": {"few_shot": False, "retrieval": True, "top_k": 3}}))
    tuned = _cell(OptimiseConfig(), "plain", [tmp_path])
    assert (tuned.variant, tuned.adapter, tuned.few_shot, tuned.retrieval) == ("tuned", str(tmp_path), False, True)
    assert _cell(OptimiseConfig(few_shot="on", retrieval="off"), "plain", [tmp_path]).few_shot is True
    base = _cell(OptimiseConfig(), "plain", [])
    assert (base.variant, base.adapter, base.few_shot, base.retrieval) == ("base", None, True, False)


def test_on_a_tuned_model_that_reads_only_the_wording_is_searched_with_passages_in_the_prompt(
        domain, tmp_path, tandem_home, noisy_model_dir):
    from finetune.train import TrainRequest, train
    from tests.conftest import tiny_recipe, write_qa

    adapter = train(TrainRequest(data=[write_qa(tmp_path / "train.jsonl", 12)], out=tmp_path / "adapter",
                                 recipe=tiny_recipe(noisy_model_dir, epochs=1, validation_fraction=0.0, eval_every=100)))
    result = run_optimise("tester", config(domain, tmp_path, adapters=[adapter], base_model=None, budget_answers=28),
                          domain.catalog, progress=False)
    record = result.record
    assert (record["model"], record["few_shot"], record["retrieval"]) == ("tuned", False, True)
    assert not any("examples" in c["change"] for c in record["candidates"])
    rows = [json.loads(line) for line in (result.report / "results.jsonl").read_text().splitlines()]
    assert all(r["passages"] and r["retrieval"] and r["model"] == "tuned" for r in rows)
    assert [c["cell"] for c in json.loads((result.report / "summary.json").read_text())["cells"]] == [
        "tuned · tester+retrieval", "tuned · tester-optimised+retrieval"]


def test_an_optimisation_report_given_to_eval_must_be_one(tmp_path, tandem_home):
    (tmp_path / "plain-report").mkdir()
    (tmp_path / "plain-report" / "summary.json").write_text(json.dumps({"manifest": {}, "cells": []}))
    for given, message in ((tmp_path / "nowhere", "not a Tandem report directory"),
                           (tmp_path / "plain-report", "not a prompt optimisation report")):
        result = subprocess.run([TANDEM, "eval", "--optimisation", str(given), "--limit", "2"], capture_output=True,
                                text=True, timeout=120, env={**os.environ, "TANDEM_HOME": str(tandem_home)})
        assert result.returncode == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1, \
            result.stderr
