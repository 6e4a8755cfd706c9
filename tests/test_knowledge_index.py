"""The persisted knowledge index: incremental updates (only changed files embedded), removal, metadata, start-up
from stored vectors, rankings equal to the in-memory retriever's and between SQLite and PostgreSQL, damaged or
foreign files, and `tandem knowledge add / list / remove` with the commands that retrieve from an index."""

import hashlib
import math
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document

from bot.cli import main
from bot.embeddings import EMBEDDING_DIMENSIONS
from bot.index import (BM25_B, BM25_K1, KnowledgeIndexError, SQLiteIndex, directory_index_name, index_location,
                       open_index)
from bot.documents import file_passages
from bot.knowledge import update_index
from bot.retrieval import CANDIDATES, RRF_CONSTANT, HybridRetriever, adapter_knowledge, load_knowledge, words

DOCUMENTS = {
    "shipping.md": "# Shipping\n\n## Delivery times\n\nStandard delivery takes 3 to 5 business days; express "
                   "arrives the next day.\n\n## Costs\n\nShipping is free above $49.95; below, it costs $4.95.\n",
    "refunds.md": "# Refunds\n\n## Refund window\n\nReturn any product within 30 days for a full refund to the "
                  "original payment method.\n",
    "parts/kettle.md": "# Parts\n\n## Catalogue\n\nZX-41 is the spare limescale filter for the Aero kettle. ZX-40 is "
                       "its power base.\n",
}
QUERIES = ["How long does delivery take?", "What does shipping cost below $49.95?", "Which part is ZX-41?",
           "Can I get my money back?", "zzz"]


class CountingEmbedder:
    """A stand-in for MiniLM: each word hashed into one of the model's dimensions, unit length, so texts that share
    words are near; it records every text it embeds."""

    def __init__(self):
        self.texts: list[str] = []

    def __call__(self, texts):
        self.texts += list(texts)
        rows = np.zeros((len(texts), EMBEDDING_DIMENSIONS), dtype=np.float32)
        for row, text in zip(rows, texts):
            for word in words(text) or ["-"]:
                row[int(hashlib.sha256(word.encode()).hexdigest(), 16) % EMBEDDING_DIMENSIONS] += 1.0
            row /= np.linalg.norm(row)
        return rows


@pytest.fixture
def embedder(monkeypatch) -> CountingEmbedder:
    fake = CountingEmbedder()
    monkeypatch.setattr("bot.embeddings.embed", fake)
    return fake


def write_documents(directory: Path, documents: dict[str, str] = DOCUMENTS) -> Path:
    for name, text in documents.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


@pytest.fixture
def docs(tmp_path) -> Path:
    return write_documents(tmp_path / "docs")


# Updates ----------------------------------------------------------------------------------------------------

def test_only_changed_files_are_read_and_embedded_again(docs, embedder):
    index = open_index("docs")
    first = update_index(index, [docs])
    assert (first.added, first.updated, first.unchanged, first.removed, first.embedded) == (3, 0, 0, 0, 4)
    assert len(embedder.texts) == index.size() == 4

    embedder.texts.clear()
    again = update_index(open_index("docs"), [docs])
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 3, 0) and embedder.texts == []

    (docs / "refunds.md").write_text("# Refunds\n\n## Refund window\n\nReturn any product within 60 days.\n")
    (docs / "contact.md").write_text("# Contact\n\nWrite to help@example.com.\n")
    changed = update_index(index, [docs])
    assert (changed.added, changed.updated, changed.unchanged, changed.embedded) == (1, 1, 2, 2)
    assert sorted(embedder.texts) == ["Contact\nWrite to help@example.com.",
                                      "Refunds › Refund window\nReturn any product within 60 days."]
    texts = [p.page_content for p in index.passages]
    assert "60 days" in " ".join(texts) and "30 days" not in " ".join(texts)


def test_a_passage_already_in_the_index_is_not_embedded_again(docs, embedder):
    index = open_index("docs")
    update_index(index, [docs])
    embedder.texts.clear()
    write_documents(docs, {"copy-of-refunds.md": DOCUMENTS["refunds.md"]})
    assert update_index(index, [docs]).embedded == 0 and embedder.texts == []
    assert index.size() == 5


def test_a_newer_reader_reads_every_file_again_and_embeds_only_passages_it_split_differently(docs, embedder,
                                                                                            monkeypatch):
    index = open_index("docs")
    update_index(index, [docs])
    embedder.texts.clear()
    monkeypatch.setattr("bot.knowledge.READER_VERSION", 99)
    monkeypatch.setattr("bot.knowledge.file_passages", lambda path, source: (
        [Document("Refunds\nSplit anew.", metadata={"source": source})] if source == "refunds.md"
        else file_passages(path, source)))
    again = update_index(index, [docs])
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 3, 0, 1)
    assert embedder.texts == ["Refunds\nSplit anew."]
    assert update_index(index, [docs]).unchanged == 3


def test_files_gone_from_the_directory_are_removed(docs, embedder):
    index = open_index("docs")
    update_index(index, [docs])
    (docs / "parts" / "kettle.md").unlink()
    changes = update_index(index, [docs])
    assert (changes.removed, changes.unchanged) == (1, 2)
    assert sorted(Path(path).name for path in index.files()) == ["refunds.md", "shipping.md"]
    assert index.lexical(["zx-41"], 20) == [] and index.size() == 3


def test_a_bad_file_is_one_problem_and_the_others_are_indexed(docs, embedder, capsys):
    (docs / "broken.md").write_bytes(b"# Title\n\xff\n")
    os.mkfifo(docs / "pipe.md")
    (docs.parent / "notes.xlsx").write_text("not a document")
    changes = update_index(open_index("docs"), [docs, docs / "missing.md", docs.parent / "notes.xlsx"])
    assert changes.added == 3 and len(changes.problems) == 4
    assert capsys.readouterr().err.splitlines() == [
        f"tandem: skipped {docs / 'missing.md'}: no such file or directory",
        f"tandem: skipped {docs / 'broken.md'}:2: not valid UTF-8 (byte 9)",
        f"tandem: skipped {docs / 'pipe.md'}: a FIFO, not a regular file",
        f"tandem: skipped {docs.parent / 'notes.xlsx'}: not a type Tandem reads (it reads .pdf, .docx, .html, .htm, .md, "
        ".markdown, .txt)"]


def test_passages_keep_their_metadata_through_the_index(tmp_path, embedder):
    passages = [Document(page_content="Fees are due in 30 days.", metadata={"source": "msa.pdf", "section": "Fees",
                                                                              "page": 4}),
                Document(page_content="Q: Refunds?\nA: Within 30 days.", metadata={"source": "faq.jsonl:3"})]
    index = SQLiteIndex(tmp_path / "meta.sqlite3")
    index.write_file("/docs/msa.pdf", "abc", passages, embedder([p.page_content for p in passages]))
    index.close()
    assert SQLiteIndex(tmp_path / "meta.sqlite3").passages == passages
    update_index(docs_index := open_index("docs"), [write_documents(tmp_path / "docs")])
    assert {p.metadata["source"] for p in docs_index.passages} == {"shipping.md", "refunds.md", "parts/kettle.md"}
    assert docs_index.passages[0].metadata == {"source": "parts/kettle.md", "section": "Parts › Catalogue"}


# Search ------------------------------------------------------------------------------------------------------

def test_a_reopened_index_searches_its_stored_vectors_and_embeds_only_the_query(docs, embedder, capsys):
    built = load_knowledge(docs, k=2)
    rankings = [built.ranked(query) for query in QUERIES]
    embedder.texts.clear()
    reopened = load_knowledge(docs, k=2)
    assert [reopened.ranked(query) for query in QUERIES] == rankings
    assert embedder.texts == QUERIES, "no passage embedded at start-up"
    assert (f"tandem: knowledge {docs} (index {directory_index_name(docs)}): 0 added, 0 updated, 3 unchanged, "
            "0 removed; 4 passages (0 embedded)") in capsys.readouterr().err


def bm25_ranking(passages: list[Document], query: str) -> list[int]:
    """BM25 as the index's docstring defines it (SQLite FTS5's bm25()), written out: the lexical ranking's spec."""
    documents = [words(p.page_content) for p in passages]
    average = sum(map(len, documents)) / len(documents)
    scores = {}
    for i, document in enumerate(documents):
        if not set(document) & set(words(query)):
            continue
        scores[i] = 0.0
        for term in words(query):
            found = sum(term in d for d in documents)
            idf = math.log((len(documents) - found + 0.5) / (found + 0.5))
            tf = document.count(term)
            scores[i] += (idf if idf > 0 else 1e-6) * tf * (BM25_K1 + 1) / (
                tf + BM25_K1 * (1 - BM25_B + BM25_B * len(document) / average))
    return sorted(scores, key=lambda i: (-scores[i], i))[:CANDIDATES]


def test_rankings_match_the_in_memory_retriever_and_the_bm25_formula(docs):
    """The real MiniLM: the persisted index ranks as the in-memory retriever over the same passages (the fusion
    written out here over BM25 and the cosine), query by query."""
    from bot.embeddings import embed

    persisted = load_knowledge(docs, k=3)
    passages = persisted.passages
    in_memory = HybridRetriever.over(passages, k=3)
    vectors = embed([p.page_content for p in passages])
    queries = QUERIES + ["spare filter for the kettle", "next day express", "free shipping threshold"]
    for query in queries:
        lexical = bm25_ranking(passages, query)
        assert persisted.index.lexical(words(query), CANDIDATES) == lexical, query
        dense = np.argsort(-(vectors @ embed([query])[0]), kind="stable")[:CANDIDATES].tolist()
        fused = {}
        for ranking in (lexical, dense):
            for rank, i in enumerate(ranking):
                fused[i] = fused.get(i, 0.0) + 1 / (RRF_CONSTANT + rank + 1)
        expected = sorted(fused, key=lambda i: (-fused[i], i))
        assert persisted.ranked(query) == in_memory.ranked(query) == expected, query
        assert persisted.invoke(query) == in_memory.invoke(query)


def test_an_adapters_knowledge_is_indexed_once_by_its_content(tmp_path, embedder, capsys):
    from bot.retrieval import save_passages

    save_passages([Document(page_content=f"Passage {i} about refunds.", metadata={"source": "faq.md"})
                   for i in range(5)], tmp_path / "knowledge.jsonl")
    first = adapter_knowledge(tmp_path)
    assert len(embedder.texts) == 5 and "indexing the adapter's 5 passages, once" in capsys.readouterr().err
    embedder.texts.clear()
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "knowledge.jsonl").write_bytes((tmp_path / "knowledge.jsonl").read_bytes())
    again = adapter_knowledge(copy)
    assert embedder.texts == [] and again.index.name == first.index.name and again.passages == first.passages
    assert capsys.readouterr().err == ""


def test_training_takes_the_documents_vectors_from_their_index_and_embeds_only_its_pairs(docs, embedder):
    from bot.retrieval import pair_passage

    index = load_knowledge(docs).index
    embedder.texts.clear()
    pair = pair_passage("How do I descale the kettle?", "Boil vinegar.", "faq.jsonl:1")
    retriever = HybridRetriever.over(index.passages + [pair], reuse=index)
    assert embedder.texts == [pair.page_content]
    assert np.array_equal(retriever.vectors[:4], index.vectors) and retriever.passages[-1] == pair


# Damaged and foreign files -------------------------------------------------------------------------------------

def test_a_damaged_or_foreign_index_file_is_one_line(tandem_home, capsys):
    directory = Path(index_location())
    directory.mkdir(parents=True)
    (directory / "garbage.sqlite3").write_bytes(b"this is not a database at all" * 100)
    other = sqlite3.connect(directory / "foreign.sqlite3")
    other.execute("CREATE TABLE notes (text TEXT)")
    other.commit()
    other.close()
    with pytest.raises(KnowledgeIndexError, match="garbage.sqlite3: not a Tandem knowledge index, or damaged: file is "
                                                  "not a database"):
        open_index("garbage")
    with pytest.raises(KnowledgeIndexError, match="foreign.sqlite3 is not a Tandem knowledge index$"):
        open_index("foreign")
    assert main(["knowledge", "list", "--index", "foreign"]) == 2
    assert capsys.readouterr().err == f"tandem: {directory / 'foreign.sqlite3'} is not a Tandem knowledge index\n"
    open_index("good").close()
    assert main(["knowledge", "list"]) == 2, "the others are listed, each broken one in a line"
    captured = capsys.readouterr()
    assert [line.split("\t")[:3] for line in captured.out.splitlines()] == [["good", "0 files", "0 passages"]]
    assert [line.split(":")[0] for line in captured.err.splitlines()] == ["tandem"] * 2


def test_an_index_from_another_embedding_model_or_a_newer_tandem_is_refused(tmp_path, embedder):
    path = tmp_path / "old.sqlite3"
    SQLiteIndex(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE tandem_index SET value = 'another-model' WHERE key = 'embedding'")
    with pytest.raises(KnowledgeIndexError, match="was built with another embedding model"):
        SQLiteIndex(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE tandem_index SET value = '99' WHERE key = 'version'")
    with pytest.raises(KnowledgeIndexError, match=r"written by a newer Tandem \(index format 99; this one knows 1\)"):
        SQLiteIndex(path)


# tandem knowledge ... ------------------------------------------------------------------------------------------

def test_knowledge_add_list_and_remove(docs, embedder, capsys):
    name = directory_index_name(docs)
    assert main(["knowledge", "add", str(docs)]) == 0
    assert capsys.readouterr().out == f"index {name}: files 3 added, 0 updated, 0 unchanged, 0 removed; 4 passages " \
                                      "(4 embedded)\n"
    assert main(["knowledge", "add", str(docs)]) == 0
    assert "0 added, 0 updated, 3 unchanged, 0 removed; 4 passages (0 embedded)" in capsys.readouterr().out

    extra = write_documents(docs.parent / "extra", {"faq.md": "# FAQ\n\nOpen nine to six.\n"})
    assert main(["knowledge", "add", str(extra / "faq.md"), str(docs / "refunds.md")]) == 2
    assert "tandem: name the index with --index NAME to add files or several directories" in capsys.readouterr().err
    assert main(["knowledge", "add", str(extra / "faq.md"), str(docs / "refunds.md"), "--index", "support"]) == 0
    assert capsys.readouterr().out.startswith("index support: files 2 added")

    assert main(["knowledge", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert sorted(line.split("\t")[:3] for line in listed) == sorted([[name, "3 files", "4 passages"],
                                                                      ["support", "2 files", "2 passages"]])
    assert main(["knowledge", "list", "--index", "support"]) == 0
    assert [line.split("\t")[:2] for line in capsys.readouterr().out.splitlines()] == [
        [str(docs / "refunds.md"), "1 passage"], [str(extra / "faq.md"), "1 passage"]]

    assert main(["knowledge", "remove", str(docs / "refunds.md")]) == 0, "from every index that holds it"
    assert sorted(capsys.readouterr().out.splitlines()) == sorted([f"index {name}: removed 1 file, 1 passage",
                                                                   "index support: removed 1 file, 1 passage"])
    assert main(["knowledge", "remove", str(docs / "refunds.md"), "--index", "support"]) == 2
    assert capsys.readouterr().err == f"tandem: {docs / 'refunds.md'}: in no knowledge index support\n"
    assert main(["knowledge", "remove", "--index", "support"]) == 0
    assert capsys.readouterr().out == "index support: deleted\n"
    assert main(["knowledge", "list", "--index", "support"]) == 2
    assert "tandem: no knowledge index 'support' in" in capsys.readouterr().err


def test_knowledge_add_reports_a_bad_file_in_one_line_and_exits_2(docs, embedder, capsys):
    (docs / "broken.md").write_bytes(b"\xff")
    assert main(["knowledge", "add", str(docs)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"tandem: skipped {docs / 'broken.md'}:1: not valid UTF-8 (byte 1)\n"
    assert "3 added" in captured.out
    assert main(["knowledge", "add", str(docs), "--index", "no/slash"]) == 2
    assert "tandem: --index 'no/slash': an index name is letters, digits" in capsys.readouterr().err


@pytest.fixture
def echo_cli(echo_model, monkeypatch):
    monkeypatch.setattr("bot.chat_model.load_chat_model", lambda *args, **settings: echo_model)
    return echo_model


def system_prompt(echo_model) -> str:
    return next(m.content for m in echo_model.calls[-1][0] if m.type == "system")


def test_ask_retrieves_from_a_named_index_and_from_a_directory_kept_up_to_date(docs, embedder, echo_cli, capsys):
    assert main(["knowledge", "add", str(docs / "parts"), "--index", "parts"]) == 0
    embedder.texts.clear()
    assert main(["ask", "Which part is ZX-41?", "--index", "parts", "--model", "base", "--no-log"]) == 0
    assert "ZX-41 is the spare limescale filter" in system_prompt(echo_cli)
    assert embedder.texts == ["Which part is ZX-41?"]
    assert main(["ask", "Hi", "--index", "nothing-here", "--model", "/nonexistent-dir", "--no-log"]) == 2
    assert "tandem: no knowledge index 'nothing-here'" in capsys.readouterr().err, "before any model loads"

    for _ in range(2):
        assert main(["ask", "How much is shipping?", "--knowledge", str(docs), "--model", "base", "--no-log"]) == 0
    assert "Shipping is free above $49.95" in system_prompt(echo_cli)
    err = capsys.readouterr().err
    assert "3 added, 0 updated, 0 unchanged, 0 removed; 4 passages (4 embedded)" in err
    assert "0 added, 0 updated, 3 unchanged, 0 removed; 4 passages (0 embedded)" in err


# PostgreSQL ------------------------------------------------------------------------------------------------------

def test_the_postgresql_index_updates_incrementally_and_ranks_as_sqlite(docs, embedder, postgres_url):
    index = open_index("docs", postgres_url)
    assert type(index).__name__ == "PostgresIndex"
    first = update_index(index, [docs])
    assert (first.added, first.embedded, index.size()) == (3, 4, 4)
    (docs / "refunds.md").write_text("# Refunds\n\nReturn any product within 60 days.\n")
    embedder.texts.clear()
    changed = update_index(index, [docs])
    assert (changed.updated, changed.unchanged, changed.embedded) == (1, 2, 1) and len(embedder.texts) == 1
    (docs / "parts" / "kettle.md").unlink()
    assert update_index(index, [docs]).removed == 1 and index.size() == 3

    write_documents(docs)  # back as at the start; both stores built from it in the same order
    update_index(open_index("parity", postgres_url), [docs])
    sqlite = open_index("parity")
    update_index(sqlite, [docs])
    shared = HybridRetriever(index=open_index("parity", postgres_url), k=3)  # another instance, the same index
    local = HybridRetriever(index=sqlite, k=3)
    for query in QUERIES + ["spare filter for the kettle", "free above"]:
        ids = shared.ranked(query)
        assert [shared.index.passage(i) for i in ids] == [local.index.passage(i) for i in local.ranked(query)], query
        assert shared.invoke(query) == local.invoke(query), query
    assert shared.index.passage(ids[0]).metadata.keys() == {"source", "section"}


def test_the_commands_put_the_index_in_the_postgresql_database_db_names(docs, embedder, echo_cli, postgres_url,
                                                                          capsys, tandem_home):
    assert main(["knowledge", "add", str(docs), "--db", postgres_url]) == 0
    assert main(["knowledge", "list", "--db", postgres_url]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split("\t")[:3] == [directory_index_name(docs), "3 files",
                                                                        "4 passages"]
    embedder.texts.clear()
    assert main(["ask", "Which part is ZX-41?", "--knowledge", str(docs), "--db", postgres_url, "--model", "base"]) == 0
    assert "ZX-41 is the spare limescale filter" in system_prompt(echo_cli)
    assert embedder.texts == ["Which part is ZX-41?"] and not (tandem_home / "knowledge").exists()
    assert main(["knowledge", "remove", str(docs / "shipping.md"), "--db", postgres_url]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"index {directory_index_name(docs)}: removed 1 file, " \
                                                       "2 passages"
