"""`tandem eval`: the cell matrix and its chain inputs, a whole report on the tiny model, comparisons, CLI errors."""

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.errors import PersonaError, TandemError
from bot.paths import PROJECT_ROOT, shown_path
from bot.personas import load_catalog
from finetune.data import Example
from finetune.evaluation.evaluate import (GENERAL_QUESTIONS, Cell, EvalConfig, EvalError, load_general_questions,
                                          plan_cells, run_eval, select_questions)
from bot.citations import cited
from finetune.evaluation.metrics import cited_recall, cosine_pairs, key_fact_recall, unsupported_specifics
from finetune.evaluation.report import compare, drift, summarise, verdict
from tests.conftest import tiny_recipe, write_qa

pytestmark = pytest.mark.usefixtures("one_thread")

TANDEM = str(Path(sys.executable).parent / "tandem")
MAX_NEW_TOKENS = 8
PERSONAS = ["support", "executive"]  # executive requires "bottom line": the tiny model's answers never adhere
ALL_PROMPTS = ["none", "persona", "few-shot", "retrieval"]
PROMPTS = ["none", "support", "executive", "support+few-shot", "support+retrieval"]
CELLS = [f"{model} · {prompt}" for model in ("base", "tuned") for prompt in PROMPTS]
EVAL_SET = [
    {"question": "How long do refunds take?", "answer": "Refunds take five days.",
     "key_facts": ["refunds", "5 days"], "group": "F1"},
    {"question": "When will my refund arrive?", "answer": "Refunds arrive within five days.",
     "key_facts": ["refunds", "5 days"], "group": "F1"},
    {"question": "How do I reset my password?", "answer": "Use the reset link on the login page.",
     "key_facts": ["reset link", "login page"], "group": "F2"},
    {"question": "How much is the kettle?", "answer": "The kettle costs $49.95.", "key_facts": ["$49.95"]},
    {"question": "Say hello.", "answer": "Hello."},
]
KNOWLEDGE = {"refunds.md": "# Refunds\n\n## Timing\n\nRefunds take five days.\n",
        "account.md": "# Account\n\n## Password\n\nUse the reset link on the login page.\n"}


def tandem(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TANDEM, "eval", *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def domain(knowledge) -> SimpleNamespace:
    """An evaluation set with a paraphrase pair, the two KNOWLEDGE files beside it and two general questions."""
    root = knowledge.parent
    (root / "eval.jsonl").write_text("".join(json.dumps(record) + "\n" for record in EVAL_SET))
    (root / "general.jsonl").write_text('{"question": "What is the capital of France?"}\n\n'
                                        '{"question": "How many days are in a week?"}\n')
    return SimpleNamespace(eval=root / "eval.jsonl", knowledge=knowledge, general=root / "general.jsonl")


@pytest.fixture(scope="module")
def adapter(noisy_model_dir, tmp_path_factory) -> Path:
    from finetune.train import TrainRequest, train

    tmp = tmp_path_factory.mktemp("adapter")
    return train(TrainRequest(data=[write_qa(tmp / "train.jsonl", 12)], out=tmp / "adapter",
                              recipe=tiny_recipe(noisy_model_dir, epochs=1, validation_fraction=0.0, eval_every=100)))


@pytest.fixture(scope="module")
def report(noisy_model_dir, adapter, domain, tmp_path_factory) -> Path:
    config = EvalConfig(data=[domain.eval], knowledge=domain.knowledge, base_model=str(noisy_model_dir),
                        adapters=[adapter], personas=PERSONAS, prompts=ALL_PROMPTS, general_questions=domain.general,
                        max_new_tokens=MAX_NEW_TOKENS, batch_size=8,
                        out=tmp_path_factory.mktemp("reports"))
    return run_eval(config, progress=False)


def read_rows(report: Path) -> list[dict]:
    return [json.loads(line) for line in (report / "results.jsonl").read_text().splitlines()]


def read_summary(report: Path) -> dict:
    return json.loads((report / "summary.json").read_text())


# The matrix and the questions --------------------------------------------------------------------------

def test_cells_are_every_model_under_every_prompt_base_first():
    catalog = load_catalog()
    cells = plan_cells(EvalConfig(prompts=ALL_PROMPTS), [Path("a/one"), Path("b/two")], catalog)
    prompts = ["none", "support", "plain", "support+few-shot", "support+retrieval"]
    assert [c.label for c in cells] == [f"{m} · {p}" for m in ("base", "tuned:one", "tuned:two") for p in prompts]
    assert [c.adapter for c in cells[::5]] == [None, "a/one", "b/two"]
    few_shot, retrieval = cells[3], cells[4]
    assert (few_shot.persona, few_shot.few_shot, few_shot.retrieval) == ("support", True, False)
    assert (retrieval.persona, retrieval.few_shot, retrieval.retrieval) == ("support", False, True)

    single = plan_cells(EvalConfig(personas=["plain"], prompts=["persona", "none"]), [Path("x")], catalog)
    assert [c.label for c in single] == ["base · none", "base · plain", "tuned · none", "tuned · plain"]
    same_names = plan_cells(EvalConfig(prompts=["none"]), [Path("a/run"), Path("b/run")], catalog)
    assert [c.variant for c in same_names] == ["base", "tuned:run", "tuned:run-2"]


def test_a_cell_asks_through_the_chain_with_every_switch_explicit():
    passages = ["[a passage]"]
    assert Cell("base", None, None).inputs("q?", passages) == {
        "question": "q?", "persona": None, "few_shot": False, "retrieval": False, "adapter": False}
    assert Cell("tuned", "a/one", "support", few_shot=True).inputs("q?") == {
        "question": "q?", "persona": "support", "few_shot": True, "retrieval": False, "adapter": True}
    assert Cell("tuned:one", "a/one", "support", retrieval=True).inputs("q?", passages) == {
        "question": "q?", "persona": "support", "few_shot": False, "retrieval": True, "adapter": True,
        "passages": passages}
    assert Cell("base", None, "support", retrieval=True).inputs("q?")["passages"] == [], \
        "no passages found: none given, and the chain has no retriever to look again"


def test_an_unknown_persona_fails_before_any_model_is_loaded(tmp_path):
    with pytest.raises(PersonaError, match="unknown persona 'nosuch'; valid ids: .*support"):
        plan_cells(EvalConfig(personas=["support", "nosuch"]), [], load_catalog())
    config = EvalConfig(personas=["nosuch"], adapters=[], base_model=str(tmp_path / "no-such-model"),
                        out=tmp_path / "reports")
    with pytest.raises(PersonaError, match="nosuch"):  # not ModelNotFoundError: no model was loaded
        run_eval(config, progress=False)
    assert not (tmp_path / "reports").exists()


def test_selected_questions_are_spread_evenly_and_deterministic():
    examples = [Example(f"q{i}", "a") for i in range(10)]
    assert select_questions(examples, None) == examples and select_questions(examples, 10) == examples
    chosen = select_questions(examples, 5)
    assert [e.question for e in chosen] == ["q0", "q2", "q4", "q6", "q8"]
    assert select_questions(examples, 5) == chosen


@pytest.mark.parametrize("limit", range(1, 8))
def test_selected_questions_keep_paraphrase_groups_whole(limit):
    examples = [Example(f"q{i}", "a", group=f"g{i // 2}") for i in range(8)]  # four pairs of paraphrases
    chosen = select_questions(examples, limit)
    assert chosen and select_questions(examples, limit) == chosen
    groups = {e.group for e in chosen}
    assert sorted(e.question for e in chosen) == sorted(e.question for e in examples if e.group in groups), \
        f"limit {limit}: {[e.question for e in chosen]} splits a paraphrase pair"


def test_general_questions_are_read_and_bad_lines_named(tmp_path):
    shipped = load_general_questions(GENERAL_QUESTIONS)
    assert shipped[0].question == "What is the capital of France?" and shipped[0].source.endswith(":1")
    assert len(shipped) == sum(1 for line in GENERAL_QUESTIONS.read_text().splitlines() if line.strip())
    path = tmp_path / "general.jsonl"
    path.write_text('{"question": "Why is the sky blue?"}\n{"prompt": "no question"}\n')
    with pytest.raises(EvalError, match=f"{path}:2: expected a JSON object"):
        load_general_questions(path)


# A whole report on the tiny model ------------------------------------------------------------------------

def test_the_report_directory_holds_every_file(report):
    assert sorted(p.name for p in report.iterdir()) == [
        "correctness.png", "recall_vs_adherence.png", "report.html", "report.md", "results.jsonl", "summary.json"]
    for chart in ("correctness.png", "recall_vs_adherence.png"):
        assert (report / chart).read_bytes()[:4] == b"\x89PNG"
        assert f"![{chart}]({chart})" in (report / "report.md").read_text()
    html = (report / "report.html").read_text()
    assert "<table>" in html and "base · support+retrieval" in html


def test_every_cell_answers_every_question_exactly_once(report):
    rows = read_rows(report)
    domain = Counter((r["cell"], r["question"]) for r in rows if r["kind"] == "domain")
    assert domain == Counter({(cell, q["question"]): 1 for cell in CELLS for q in EVAL_SET})
    general = Counter((r["model"], r["prompt"], r["question"]) for r in rows if r["kind"] == "general")
    assert general == Counter({(m, "none", q): 1 for m in ("base", "tuned")
                               for q in ("What is the capital of France?", "How many days are in a week?")})
    assert [c["cell"] for c in read_summary(report)["cells"]] == CELLS


def test_prompt_variants_cost_what_they_add(report):
    tokens = {(r["cell"], r["question"]): r["prompt_tokens"] for r in read_rows(report) if r["kind"] == "domain"}
    for model in ("base", "tuned"):
        for q in EVAL_SET:
            cost = {prompt: tokens[(f"{model} · {prompt}", q["question"])] for prompt in PROMPTS}
            assert cost["none"] < cost["support"] < cost["support+few-shot"]
            assert cost["support"] < cost["support+retrieval"]


def budget(row: dict, max_new_tokens: int) -> int:
    """The most tokens an answer may have: the configured cap, or its persona's own limit when that is lower."""
    persona = row["persona"] and load_catalog().persona(row["persona"])
    return min(max_new_tokens, (persona and persona.generation.max_new_tokens) or max_new_tokens)


def test_row_scores_follow_from_the_answers(report):
    catalog = load_catalog()
    domain = [r for r in read_rows(report) if r["kind"] == "domain"]
    for row in domain:
        assert row["key_fact_recall"] == key_fact_recall(row["answer"], row["key_facts"])
        if row["retrieval"]:
            assert row["passages"] and row["passage_recall"] == key_fact_recall("\n\n".join(row["passages"]),
                                                                               row["key_facts"])
            assert row["cited"] == cited(row["answer"], row["passages"]) and row["cited"]
            first = key_fact_recall(row["passages"][row["cited"][0]], row["key_facts"]) if row["key_facts"] else None
            assert row["cited_recall"] == first
        else:
            assert row["passages"] is None and row["passage_recall"] is None
            assert row["cited"] is None and row["cited_recall"] is None and row["cited_any_recall"] is None
        assert row["unsupported"] == unsupported_specifics(row["answer"], [row["reference"], row["question"],
                                                                           *(row["passages"] or [])])
        if row["persona"]:
            violations = catalog.persona(row["persona"]).style.violations(row["answer"])
            assert (row["style_violations"], row["adherence"]) == (violations, not violations)
        else:
            assert row["adherence"] is None
        assert row["new_tokens"] <= budget(row, MAX_NEW_TOKENS)
        assert not row["truncated"] or row["new_tokens"] == budget(row, MAX_NEW_TOKENS), "a truncated answer used it all"
    similarity = cosine_pairs([r["answer"] for r in domain], [r["reference"] for r in domain])
    assert [r["similarity"] for r in domain] == pytest.approx(similarity, abs=2e-3)
    pairs = {cell: [r for r in domain if r["cell"] == cell and r["group"] == "F1"] for cell in CELLS}
    agreement = cosine_pairs([a["answer"] for a, _ in pairs.values()], [b["answer"] for _, b in pairs.values()])
    for (first, second), score in zip(pairs.values(), agreement):
        assert first["agreement"] == second["agreement"] == pytest.approx(score, abs=2e-3)
    assert all(r["agreement"] is None for r in domain if r["group"] != "F1"), \
        "only questions with a paraphrase in the set have an agreement"


def test_passages_are_found_once_per_question_and_given_to_every_retrieval_cell(report):
    retrieved = [r for r in read_rows(report) if r["kind"] == "domain" and r["retrieval"]]
    assert {r["cell"] for r in retrieved} == {"base · support+retrieval", "tuned · support+retrieval"}
    for question in EVAL_SET:
        shown = [r["passages"] for r in retrieved if r["question"] == question["question"]]
        assert len(shown) == 2 and shown[0] == shown[1], question["question"]
    refunds = next(r for r in retrieved if r["question"] == "How long do refunds take?")
    assert refunds["passages"][0] == "Refunds › Timing\nRefunds take five days."


def expected_figures(members: list[dict]) -> dict:
    """A cell's figures recomputed from its rows in results.jsonl."""
    def average(key):
        values = [r[key] for r in members if r[key] is not None]
        return sum(values) / len(values) if values else None

    recall, adheres = average("key_fact_recall"), [r["adherence"] for r in members if r["adherence"] is not None]
    in_passages, in_cited, in_any_cited = average("passage_recall"), average("cited_recall"), average("cited_any_recall")
    return {
        "answers": len(members),
        "key_fact_recall": None if recall is None else round(100 * recall, 1),
        "passage_recall": None if in_passages is None else round(100 * in_passages, 1),
        "cited_recall": None if in_cited is None else round(100 * in_cited, 1),
        "cited_any_recall": None if in_any_cited is None else round(100 * in_any_cited, 1),
        "adherence": round(100 * adheres.count(True) / len(adheres), 1) if adheres else None,
        "similarity": round(average("similarity"), 3),
        "agreement": round(average("agreement"), 3),
        "tokens_per_second": round(sum(r["new_tokens"] for r in members) / sum(r["seconds"] for r in members), 1),
    }


def test_summary_figures_are_recomputable_from_the_rows_and_shown_in_the_table(report):
    rows = [r for r in read_rows(report) if r["kind"] == "domain"]
    cells = {c["cell"]: c for c in read_summary(report)["cells"]}
    table = [line for line in (report / "report.md").read_text().splitlines() if line.startswith("| ")]
    headings = [h.strip() for h in table[0].strip("|").split("|")]
    columns = {"key_fact_recall": ("Key-fact recall", "%"), "passage_recall": ("Key facts in passages", "%"),
               "cited_recall": ("Key facts in first cited passage", "%"),
               "cited_any_recall": ("Key facts in cited passages", "%"),
               "adherence": ("Persona adherence", "%"),
               "similarity": ("Similarity to reference", ""), "agreement": ("Paraphrase agreement", ""),
               "tokens_per_second": ("Generated tok/s", ""), "answers": ("Answers", "")}
    shown = {line.split("|")[1].strip(): [v.strip() for v in line.strip("|").split("|")] for line in table[1:]}
    for label in CELLS:
        expected = expected_figures([r for r in rows if r["cell"] == label])
        assert {key: cells[label][key] for key in expected} == expected, label
        for key, (heading, unit) in columns.items():
            value = expected[key]
            expected_text = "–" if value is None else f"{value:g}{unit}"
            assert shown[label][headings.index(heading)] == expected_text, (label, key)
    assert cells["base · none"]["adherence"] is None
    assert cells["base · support"]["adherence"] == 100.0 and cells["base · executive"]["adherence"] == 0.0


def test_drift_compares_the_adapter_with_the_base_on_general_questions(report):
    general = [r for r in read_rows(report) if r["kind"] == "general"]
    assert all(r["base_similarity"] == 1.0 for r in general if r["model"] == "base")
    tuned = [r["base_similarity"] for r in general if r["model"] == "tuned"]
    [entry] = read_summary(report)["drift"]
    assert entry == {"model": "tuned", "questions": 2, "similarity_to_base": round(sum(tuned) / 2, 3),
                     "flagged": sum(tuned) / 2 < 0.6}


def test_the_manifest_records_what_was_measured(report, adapter, noisy_model_dir):
    manifest = read_summary(report)["manifest"]
    catalog = load_catalog()
    assert manifest["personas"] == {p.id: p.content_hash for p in catalog.personas.values()}
    assert manifest["instructions"] == {i.id: i.content_hash for i in catalog.instructions.values()}
    recorded = manifest["adapters"]["tuned"]
    metadata = json.loads((adapter / "tandem-adapter.json").read_text())
    assert {key: recorded[key] for key in metadata} == metadata
    assert recorded["path"] == str(adapter)
    weights = (adapter / "adapter_model.safetensors").read_bytes()
    assert recorded["weights_sha256"] == hashlib.sha256(weights).hexdigest()[:12]
    assert manifest["base_model"] == str(noisy_model_dir) and manifest["questions"] == len(EVAL_SET)
    assert [c["label"] for c in manifest["cells"]] == CELLS
    markdown = (report / "report.md").read_text()
    assert f"| persona support | {catalog.persona('support').content_hash} |" in markdown
    assert f"weights {recorded['weights_sha256']}" in markdown


def test_the_verdict_states_what_each_configuration_cost(report, adapter):
    summary = read_summary(report)
    metrics = json.loads((adapter / "metrics.json").read_text())
    training = summary["manifest"]["adapters"]["tuned"]["training"]
    assert training == {"minutes": round(metrics["wall_seconds"] / 60, 1), "steps": metrics["steps"],
                        "epochs": metrics["epochs_completed"],
                        "tokens": round(metrics["wall_seconds"] * metrics["train_tokens_per_second"])}
    per_request, tuning = summary["cost"]
    for cell in summary["cells"]:
        assert (f"{cell['cell']} {cell['prompt_tokens']:.0f} prompt tokens and {cell['seconds_per_answer']:.1f} s an "
                f"answer") in per_request
    assert tuning.startswith(f"Fine-tuning (tuned) cost {training['minutes']:g} min of training over about "
                             f"{training['tokens']:,} tokens")
    assert "key-fact recall under support+retrieval" in tuning
    assert all(f"- {line}" in (report / "report.md").read_text() for line in summary["cost"])
    assert "optimisation" not in summary, "no optimisation report under this report's folder"


def test_paths_inside_the_project_are_recorded_relative_to_it(tmp_path):
    assert shown_path(PROJECT_ROOT / "data" / "fernhollow-support" / "eval.jsonl") == "data/fernhollow-support/eval.jsonl"
    assert shown_path(tmp_path / "eval.jsonl") == str(tmp_path / "eval.jsonl")


def test_editing_a_persona_changes_its_hash_in_the_next_report(report, domain, noisy_model_dir, tmp_path):
    edited = tmp_path / "personas"
    edited.mkdir()
    original = (PROJECT_ROOT / "personas" / "support.yaml").read_text()
    (edited / "support.yaml").write_text(original.replace("Be warm and patient", "Be brief and patient"))
    catalog = load_catalog([edited])
    config = EvalConfig(data=[domain.eval], base_model=str(noisy_model_dir), adapters=[], personas=["support"],
                        prompts=["persona"], limit=1, general_questions=domain.general, max_new_tokens=4,
                        out=tmp_path / "reports")
    again = run_eval(config, catalog, progress=False)
    before, after = read_summary(report)["manifest"], read_summary(again)["manifest"]
    assert after["personas"]["support"] == catalog.persona("support").content_hash != before["personas"]["support"]
    assert after["personas"]["plain"] == before["personas"]["plain"]
    assert after["instructions"] == before["instructions"]
    changed = compare(report, again, 2, 5)["changed_inputs"]
    assert f"persona support: {before['personas']['support']} → {after['personas']['support']}" in changed


def test_the_whole_command_runs_on_the_tiny_model(noisy_model_dir, adapter, domain, tmp_path):
    config = tmp_path / "eval.yaml"  # the two general questions, to keep the run short; flags override the rest
    config.write_text(f"general_questions: {domain.general}\nmax_new_tokens: 50\n")
    result = tandem("--config", config, "--base-model", noisy_model_dir, "--adapter", adapter, "--data", domain.eval,
                    "--knowledge", domain.knowledge, "--personas", ",".join(PERSONAS), "--prompts", ",".join(ALL_PROMPTS),
                    "--limit", "4", "--max-new-tokens", "6", "--out", tmp_path / "reports")
    assert result.returncode == 0, result.stderr[-3000:]
    [out] = list((tmp_path / "reports").iterdir())
    assert f"Report: {out / 'report.html'}" in result.stdout
    summary = read_summary(out)
    assert summary["manifest"]["questions"] == 4
    assert [c["cell"] for c in summary["cells"]] == CELLS and all(c["answers"] == 4 for c in summary["cells"])
    assert all(sentence in result.stdout for sentence in summary["verdict"])
    assert summary["manifest"]["config"]["max_new_tokens"] == 6, "a flag overrides the config file"
    assert all(r["new_tokens"] <= budget(r, 6) for r in read_rows(out))
    assert any(r["persona"] is None and r["new_tokens"] == 6 for r in read_rows(out)), "the flag's limit was used"


# Figures, verdict and comparisons ------------------------------------------------------------------------

def row(cell: str, **values) -> dict:
    model, prompt = cell.split(" · ")
    return {"kind": "domain", "cell": cell, "model": model, "prompt": prompt,
            "persona": None if prompt == "none" else prompt, "few_shot": False, "retrieval": False,
            "key_fact_recall": None, "adherence": None, "similarity": 0.5, "reading_ease": 60.0, "agreement": None,
            "seconds": 0.5, "new_tokens": 10, "prompt_tokens": 40, "truncated": False, **values}


def test_summarise_and_verdict_on_rows_written_by_hand():
    rows = [row("base · support", key_fact_recall=0.5, adherence=True),
            row("base · support", key_fact_recall=0.0, adherence=False),
            row("base · support", adherence=True),
            row("tuned · support", key_fact_recall=1.0, adherence=True, seconds=0.25),
            row("tuned · support", key_fact_recall=1.0, adherence=True, seconds=0.25, agreement=0.9),
            {"kind": "general", "model": "tuned", "base_similarity": 0.4},
            {"kind": "general", "model": "tuned", "base_similarity": 0.6}]
    base, tuned = summarise(rows)
    assert (base["key_fact_recall"], base["adherence"], base["answers"]) == (25.0, 66.7, 3)
    assert base["tokens_per_second"] == 20.0, "30 tokens in 1.5 s"
    assert (tuned["key_fact_recall"], tuned["adherence"], tuned["agreement"], tuned["seconds_per_answer"]) == \
        (100.0, 100.0, 0.9, 0.25)
    assert drift(rows, 0.6) == [{"model": "tuned", "questions": 2, "similarity_to_base": 0.5, "flagged": True}]
    assert drift(rows, 0.4)[0]["flagged"] is False
    [sentence] = verdict([base, tuned], "support")
    assert "recall from 25% to 100% (+75 points)" in sentence and "adherence moved from 67% to 100%" in sentence


def test_the_verdict_sets_retrieval_recall_against_the_facts_its_passages_held():
    rows = [row("base · support+retrieval", key_fact_recall=0.0, passage_recall=0.75),
            row("base · support+retrieval", key_fact_recall=0.5, passage_recall=1.0)]
    [cell] = summarise(rows)
    assert (cell["key_fact_recall"], cell["passage_recall"]) == (25.0, 87.5)
    [sentence] = verdict([cell], "support")
    assert "reaches 25%, though the passages it put in the prompt held 88% of the key facts" in sentence


def test_the_cited_passage_holding_the_key_facts_is_measured_first_and_together():
    passages = ["Refunds › Timing\nRefunds take five days.", "Refunds › Method\nRefunds go back to your Visa card.",
                "Shipping › Time\nOrders ship in 2 days."]
    facts = ["5 days", "Visa"]
    assert cited_recall(passages, cited("Refunds take 5 days, back to your Visa card.", passages), facts) == (0.5, 1.0)
    assert cited_recall(passages, cited("It ships in 2 days.", passages), facts) == (0.0, 0.0), \
        "an answer that relied on the wrong passage cites it, and the citation does not hold the facts"
    assert cited_recall(passages, [], facts) == (None, None) and cited_recall(passages, [0], []) == (None, None)
    rows = [row("tuned · support+retrieval", cited_recall=1.0, cited_any_recall=1.0),
            row("tuned · support+retrieval", cited_recall=0.0, cited_any_recall=0.5),
            row("tuned · support+retrieval", cited_recall=None, cited_any_recall=None),  # no key facts
            row("tuned · support")]  # no retrieval: no cited figures
    grounded, ungrounded = summarise(rows[:3]), summarise(rows[3:])
    assert (grounded[0]["cited_recall"], grounded[0]["cited_any_recall"]) == (50.0, 75.0)
    assert (ungrounded[0]["cited_recall"], ungrounded[0]["cited_any_recall"]) == (None, None)


def write_summary(directory: Path, recall: float, adherence: float = 90.0, support_hash: str = "aaaaaaaaaaaa") -> Path:
    directory.mkdir(parents=True)
    cells = [{"cell": "base · support", "key_fact_recall": recall, "adherence": adherence, "similarity": 0.5,
              "agreement": None, "seconds_per_answer": 1.0},
             {"cell": "tuned · none", "key_fact_recall": 50.0, "adherence": None, "similarity": 0.4}]
    manifest = {"personas": {"support": support_hash}, "instructions": {"direct": "dddddddddddd"}, "adapters": {},
                "questions_hash": "qqqq"}
    (directory / "summary.json").write_text(json.dumps({"cells": cells, "manifest": manifest}))
    return directory


@pytest.mark.parametrize("recall, adherence, regressions", [
    (80.0, 90.0, []),
    (78.0, 85.0, []),                  # exactly at the margins
    (77.5, 90.0, ["base · support: key fact recall fell 2.5 points (80 → 77.5; allowed 2)"]),
    (80.0, 84.0, ["base · support: adherence fell 6 points (90 → 84; allowed 5)"]),
])
def test_a_drop_beyond_the_margin_is_a_regression(tmp_path, recall, adherence, regressions):
    old, new = write_summary(tmp_path / "old", 80.0), write_summary(tmp_path / "new", recall, adherence)
    result = compare(old, new, max_recall_drop=2, max_adherence_drop=5)
    assert result["regressions"] == regressions
    assert [r["cell"] for r in result["cells"]] == ["base · support", "tuned · none"]
    assert result["cells"][0]["deltas"]["key_fact_recall"] == {"old": 80.0, "new": recall, "delta": recall - 80.0}
    assert result["changed_inputs"] == []


def test_comparison_names_changed_inputs_and_needs_a_common_cell(tmp_path):
    old = write_summary(tmp_path / "old", 80.0)
    new = write_summary(tmp_path / "new", 80.0, support_hash="bbbbbbbbbbbb")
    assert compare(old, new, 2, 5)["changed_inputs"] == ["persona support: aaaaaaaaaaaa → bbbbbbbbbbbb"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "summary.json").write_text(json.dumps({"cells": [{"cell": "x · y"}], "manifest": {}}))
    with pytest.raises(TandemError, match="no cell in common"):
        compare(old, other, 2, 5)


def test_the_gate_exits_1_on_a_regression_and_writes_the_comparison_into_new(tmp_path):
    old, new = write_summary(tmp_path / "old", 80.0), write_summary(tmp_path / "new", 70.0)
    gated = tandem("--compare", old, new, "--gate")
    assert gated.returncode == 1, gated.stderr
    assert "REGRESSION base · support: key fact recall fell 10 points" in gated.stdout
    assert "gate failed: 1 regression(s)" in gated.stderr
    assert "class='regression'" in (new / "compare-old.html").read_text()
    assert "| base · support | 80 → 70 (-10) |" in (new / "compare-old.md").read_text()
    assert tandem("--compare", old, new).returncode == 0, "without --gate a regression is reported, not fatal"
    assert tandem("--compare", old, new, "--gate", "--max-recall-drop", "10").returncode == 0


def test_the_gate_exits_0_within_the_margins(tmp_path):
    old, new = write_summary(tmp_path / "old", 80.0), write_summary(tmp_path / "new", 79.0, 87.0)
    result = tandem("--compare", old, new, "--gate")
    assert result.returncode == 0, result.stderr
    assert "base · support: recall 80 → 79 (-1), adherence 90 → 87 (-3)" in result.stdout
    assert "No regressions beyond the allowed margins." in (new / "compare-old.md").read_text()
    assert (new / "compare-old.html").is_file() and not list(old.glob("compare-*"))


def test_an_unknown_persona_on_the_command_line_exits_2_naming_the_valid_ids():
    result = tandem("--personas", "nosuch", "--no-adapter", "--limit", "1")
    assert result.returncode == 2
    valid = ", ".join(load_catalog().personas)
    assert result.stderr == f"tandem: unknown persona 'nosuch'; valid ids: {valid}\n"


@pytest.mark.parametrize("args, message", [
    (["--gate"], "tandem: --gate needs --compare OLD NEW"),
    (["--prompts", "none,sampling", "--no-adapter"], "tandem: --prompts: Input should be"),
    (["--limit", "0", "--no-adapter"], "tandem: --limit: Input should be greater than 0"),
])
def test_user_errors_exit_2_with_one_line(args, message):
    result = tandem(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith(message), result.stderr


def test_comparing_a_directory_that_is_not_a_report_exits_2(tmp_path):
    report_dir = write_summary(tmp_path / "old", 80.0)
    (tmp_path / "empty").mkdir()
    result = tandem("--compare", report_dir, tmp_path / "empty")
    assert result.returncode == 2
    assert result.stderr.strip() == f"tandem: {tmp_path / 'empty'}: not a Tandem report directory (no summary.json)"


def test_an_other_base_model_answers_the_lead_retrieval_cell_on_the_same_passages(noisy_model_dir, tiny_model_dir,
                                                                                  adapter, domain, tmp_path):
    config = EvalConfig(data=[domain.eval], knowledge=domain.knowledge, base_model=str(noisy_model_dir),
                        adapters=[adapter], other_models=[str(tiny_model_dir)], personas=["support"],
                        prompts=["persona", "retrieval"], limit=2, general_questions=domain.general,
                        max_new_tokens=4, out=tmp_path / "reports")
    summary = read_summary(run_eval(config, progress=False))
    other = f"base:{tiny_model_dir.name}"
    assert [c["cell"] for c in summary["cells"] if c["model"] == other] == [f"{other} · support+retrieval"]
    cells = {c["cell"]: c for c in summary["cells"]}
    assert cells[f"{other} · support+retrieval"]["passage_recall"] == cells["base · support+retrieval"]["passage_recall"]
    assert not any(d["model"] == other for d in summary["drift"]), "no drift check: it has no adapter"
    verdict_text = " ".join(summary["cost"])
    assert f"A bigger model with a good prompt: {tiny_model_dir.name} under support+retrieval" in verdict_text
    assert "tuned reaches" in verdict_text
    assert not any(other in s for s in summary["verdict"] if s.startswith("Under the")), "not taken for a tuned model"
