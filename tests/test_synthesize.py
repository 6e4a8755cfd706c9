"""`tandem data synthesize`: pairs written from passages, the filters that keep only grounded ones, and resume."""

import argparse
import json

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from bot.errors import TandemError
from bot.retrieval import document_passages
from finetune.data import load_examples
from finetune.synthesize import SynthesisConfig, drop_reason, parse_pairs, passage_id, synthesize

KNOWLEDGE = {
    "fees.md": "# Fees\n\nLate payment carries interest of 1.25% per month. Invoices are due within 35 days.\n",
    "support.md": "# Support\n\nSeverity 1 incidents get a response within 45 minutes, around the clock.\n",
}


class ScriptedWriter(BaseChatModel):
    """Replies to each passage's prompt with the pairs scripted for the passage's first heading; records prompts."""

    replies: dict = Field(default_factory=dict)
    prompts: list = Field(default_factory=list)
    fail_on: str | None = None
    """A heading whose prompt raises, as an interrupted run would stop."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        prompt = messages[-1].content
        self.prompts.append(prompt)
        heading = next(h for h in self.replies if h in prompt)
        if heading == self.fail_on:
            raise KeyboardInterrupt
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.replies[heading]))])


REPLIES = {
    "Fees": "Sure, here are questions.\n\nQ: How much interest is charged on late payments?\nA: Interest of 1.25% a "
            "month.\n\nQ: When are invoices due?\nA: Within 35 days.\n\nQ: Is there a discount for early "
            "payment?\nA: Yes, 5% off.\n\nQ: How much interest is charged for late payments?\nA: 1.25% per month on late payment.",
    "Support": "Q: How fast is a Severity 1 incident answered?\nA: Within 45 minutes,\naround the clock.\n\n"
               "Q: what about weekends\nA: Around the clock.",
}


def config(knowledge, tmp_path, **overrides) -> SynthesisConfig:
    return SynthesisConfig(knowledge=knowledge, out=tmp_path / "qa.jsonl", **overrides)


def rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_pairs_are_read_from_the_reply_whatever_comes_before_them_and_across_lines():
    assert parse_pairs(REPLIES["Support"]) == [("How fast is a Severity 1 incident answered?",
                                                "Within 45 minutes, around the clock."),
                                               ("what about weekends", "Around the clock.")]
    assert len(parse_pairs(REPLIES["Fees"])) == 4


def test_an_answer_is_kept_only_when_its_passage_holds_it(knowledge, tmp_path):
    settings = config(knowledge, tmp_path, max_answer_words=12)
    passage = KNOWLEDGE["fees.md"]
    assert drop_reason("When are invoices due?", "Within 35 days.", passage, settings) is None
    assert drop_reason("Is there a discount?", "Yes, 5% off.", passage, settings) == "specifics not in the passage"
    assert drop_reason("Who pays for shipping?", "The reseller always covers shipping costs.", passage, settings) \
        == "answer not in the passage"
    assert drop_reason("when due", "Within 35 days.", passage, settings) == "not a question"
    assert drop_reason("When are they due?", "Invoices " * 13, passage, settings) == "answer too long"


def test_synthesized_pairs_are_training_data_with_their_passage(knowledge, tmp_path):
    writer = ScriptedWriter(replies=REPLIES)
    tally = synthesize(config(knowledge, tmp_path), writer, progress=False)
    written = rows(tmp_path / "qa.jsonl")
    assert [r["question"] for r in written] == ["How much interest is charged on late payments?",
                                                "When are invoices due?", "How fast is a Severity 1 incident answered?"]
    assert {r["category"] for r in written} == {"fees.md", "support.md"}
    assert tally.summary() == ("2 passages: 6 pairs written, 3 kept; dropped 1 near-duplicate question, 1 not a "
                               "question, 1 specifics not in the passage")
    fees = document_passages(knowledge)[0]
    assert written[0]["passage"] == passage_id(fees) and written[0]["section"] == "Fees"
    assert "1.25% per month" in writer.prompts[0] and "4 questions" in writer.prompts[0]
    examples = load_examples([tmp_path / "qa.jsonl"], "qa").examples
    assert [e.answer for e in examples] == [r["answer"] for r in written]


def test_an_interrupted_run_resumes_after_the_last_passage_done(knowledge, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        synthesize(config(knowledge, tmp_path), ScriptedWriter(replies=REPLIES, fail_on="Support"), progress=False)
    assert len(rows(tmp_path / "qa.jsonl")) == 2
    # A crash after a passage's rows and before its progress line, with a line cut short: both are undone.
    with open(tmp_path / "qa.jsonl", "a") as f:
        f.write(json.dumps({"question": "Half?", "answer": "Yes.", "passage": "not-done"}) + "\n{\"question\": \"cut")
    again = ScriptedWriter(replies=REPLIES)
    tally = synthesize(config(knowledge, tmp_path), again, progress=False)
    assert len(again.prompts) == 1 and "Severity 1" in again.prompts[0]
    assert [r["question"] for r in rows(tmp_path / "qa.jsonl")][-1] == "How fast is a Severity 1 incident answered?"
    assert len(rows(tmp_path / "qa.jsonl")) == 3 and tally.kept == 3 and tally.passages == 2
    done = ScriptedWriter(replies=REPLIES)
    synthesize(config(knowledge, tmp_path), done, progress=False)
    assert done.prompts == [], "a finished run has nothing left to write"


def test_a_resumed_run_must_use_the_same_settings_and_never_overwrites_other_files(knowledge, tmp_path, monkeypatch):
    from finetune import synthesize as module

    synthesize(config(knowledge, tmp_path), ScriptedWriter(replies=REPLIES), progress=False)
    with pytest.raises(TandemError, match="was written with other settings"):
        synthesize(config(knowledge, tmp_path, questions_per_passage=2), ScriptedWriter(replies=REPLIES),
                   progress=False)
    monkeypatch.setattr(module, "PROMPT", module.PROMPT + " Be brief.")
    with pytest.raises(TandemError, match="was written with other settings"):
        synthesize(config(knowledge, tmp_path), ScriptedWriter(replies=REPLIES), progress=False)
    other = tmp_path / "mine.jsonl"
    other.write_text("{}\n")
    with pytest.raises(TandemError, match="exists and has no progress file"):
        synthesize(SynthesisConfig(knowledge=knowledge, out=other), ScriptedWriter(replies=REPLIES), progress=False)
    assert other.read_text() == "{}\n"


def test_train_with_knowledge_and_no_data_trains_on_pairs_synthesized_from_it(knowledge, monkeypatch):
    from bot.paths import tandem_home
    from finetune import synthesize as module
    from finetune.train import request_from_flags

    asked = []
    monkeypatch.setattr(module, "synthesize", lambda settings: asked.append(settings) or module.Tally())
    (knowledge.parent / "eval.jsonl").write_text('{"question": "Q?", "answer": "A."}\n')
    args = argparse.Namespace(knowledge=knowledge, data=None, eval_data=None, recipe="default", out=None, format=None,
                              strict=False, resume=False, question_col="question", answer_col="answer",
                              category_col=None)
    request = request_from_flags(args)
    out = tandem_home() / "synthesized" / f"{knowledge.parent.name}.jsonl"
    assert [a.out for a in asked] == [out] and asked[0].knowledge == knowledge
    assert request.data == [out] and request.knowledge == knowledge
    assert request.eval_data == [knowledge.parent / "eval.jsonl"]
    assert request.out == tandem_home() / "adapters" / knowledge.parent.name
