"""Persona and instruction files: every shipped one loads; bad files fail with file, field and line."""

import textwrap

import pytest

from bot.errors import PersonaError
from bot.paths import shipped_personas_dir
from bot.personas import StyleRules, load_catalog, load_instruction, load_persona

GOOD = textwrap.dedent("""\
    id: tester
    title: Tester
    audience: test writers
    description: A persona for tests.
    system_prompt: You are a tester.
    examples:
      - user: Hi
        assistant: Hello.
      - user: Bye
        assistant: Goodbye.
    style:
      max_words: 10
    generation:
      temperature: 0.5
    """)


def test_every_shipped_persona_and_instruction_loads():
    catalog = load_catalog()
    assert catalog.errors == []
    assert len(catalog.personas) >= 5
    assert len(catalog.instructions) >= 5
    for path in shipped_personas_dir().glob("*.yaml"):
        persona = load_persona(path)
        assert persona.id == path.stem, "a persona's id matches its file name"
        assert len(persona.examples) >= 2
        assert persona.generation.temperature is not None and persona.generation.max_new_tokens
        assert persona.style != StyleRules(), f"{path.name} has no checkable style rule"
        assert "\ncitations: " in path.read_text(), f"{path.name} says how it cites its sources"
    for path in (shipped_personas_dir() / "instructions").glob("*.yaml"):
        assert load_instruction(path).id == path.stem


def test_the_shipped_personas_cite_as_their_readers_need_and_a_clause_citer_asks_for_the_clause():
    personas = load_catalog().personas
    assert {p.id: p.citations for p in personas.values()} == {
        "compliance": "clause", "engineer": "document", "executive": "document", "plain": "document", "support": "none"}
    for persona in personas.values():
        if persona.citations == "clause":
            assert "clause number" in persona.system_prompt, f"{persona.id} cites clauses: its answers name them too"


def test_the_citation_style_is_checked_and_is_not_part_of_the_content_hash(tmp_path):
    path = tmp_path / "tester.yaml"
    path.write_text(GOOD)
    default = load_persona(path)
    path.write_text(GOOD + "citations: clause\n")
    clause = load_persona(path)
    assert (default.citations, clause.citations) == ("document", "clause")
    assert clause.content_hash == default.content_hash, "it changes what is shown, not what the model is told"
    path.write_text(GOOD + "citations: footnote\n")
    with pytest.raises(PersonaError, match="tester.yaml:15: field 'citations'"):
        load_persona(path)


def test_shipped_personas_follow_their_own_rules_in_their_examples():
    for persona in load_catalog().personas.values():
        for example in persona.examples:
            assert persona.style.violations(example.assistant) == [], (persona.id, example.assistant)


@pytest.mark.parametrize("edit, expected", [
    (lambda t: t.replace("examples:", "examples: [\n"), "tester.yaml:8: invalid YAML"),
    (lambda t: t.replace("system_prompt: You are a tester.\n", ""), "tester.yaml:1: field 'system_prompt': Field required"),
    (lambda t: t + "colour: blue\n", "tester.yaml:15: field 'colour': unknown field"),
    (lambda t: t.replace("max_words: 10", "max_words: ten"), "tester.yaml:12: field 'style.max_words'"),
    (lambda t: t.replace("temperature: 0.5", "temperature: [1]"), "tester.yaml:14: field 'generation.temperature'"),
    (lambda t: t.replace("  - user: Bye\n    assistant: Goodbye.\n", ""), "field 'examples': List should have at least 2"),
    (lambda t: t.replace("assistant: Hello.", "assistant: '   '"), "tester.yaml:8: field 'examples.0.assistant'"),
    (lambda t: t.replace("id: tester", "id: Not An Id"), "tester.yaml:1: field 'id'"),
    (lambda t: "- just\n- a list\n", "expected a mapping"),
])
def test_bad_persona_files_name_file_field_and_line(tmp_path, edit, expected):
    path = tmp_path / "tester.yaml"
    path.write_text(edit(GOOD))
    with pytest.raises(PersonaError) as raised:
        load_persona(path)
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message


def test_good_persona_file_loads(tmp_path):
    (tmp_path / "tester.yaml").write_text(GOOD)
    persona = load_persona(tmp_path / "tester.yaml")
    assert persona.generation.as_kwargs() == {"temperature": 0.5}


def test_a_broken_file_is_skipped_and_the_others_still_load(tmp_path):
    (tmp_path / "tester.yaml").write_text(GOOD)
    (tmp_path / "broken.yaml").write_text(GOOD.replace("id: tester", "id: broken") + "surprise: 1\n")
    catalog = load_catalog([tmp_path])
    assert "tester" in catalog.personas and "support" in catalog.personas
    assert "broken" not in catalog.personas
    assert len(catalog.errors) == 1 and "broken.yaml" in catalog.errors[0] and "surprise" in catalog.errors[0]


def test_a_user_directory_adds_and_replaces_personas(tmp_path):
    (tmp_path / "tester.yaml").write_text(GOOD)
    (tmp_path / "support.yaml").write_text(GOOD.replace("id: tester", "id: support").replace("Tester", "Mine"))
    catalog = load_catalog([tmp_path])
    assert catalog.persona("tester").title == "Tester"
    assert catalog.persona("support").title == "Mine"


def test_unknown_ids_list_the_valid_ones():
    catalog = load_catalog()
    with pytest.raises(PersonaError, match="valid ids: .*support.*"):
        catalog.persona("pirate")
    with pytest.raises(PersonaError, match="valid ids: .*direct.*steps"):
        catalog.instruction("sing")


def test_style_rules_report_each_violation():
    rules = StyleRules(max_words=5, max_sentence_words=3, avoid_words=["simply"], must_include_any=["bottom line"],
                       no_exclamations=True)
    assert rules.violations("Bottom line: yes. Do it.") == []
    broken = rules.violations("You simply click the big green button now!")
    assert len(broken) == 5
    assert StyleRules(avoid_words=["simply"]).violations("Simplyfy is not a word") == []
