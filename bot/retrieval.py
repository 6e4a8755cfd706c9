"""Retrieval grounding: a domain's knowledge as passages, and a hybrid (BM25 + MiniLM) LangChain retriever.

    retriever = load_knowledge("data/fernhollow-support/knowledge")
    retriever.invoke("how long is the warranty?")   # -> [Document(page_content=..., metadata=...)]

A domain's knowledge is its documents (PDF, Word, HTML, text and Markdown: bot.documents), split at their
headings and numbered clauses (each passage keeps its heading path, so a table row still says what it belongs
to), *and* its question/answer pairs, so a user who brings only a FAQ file still gets retrieval over it. Training writes the passages into the
adapter directory (`knowledge.jsonl`), so an adapter carries the knowledge it learnt to read.

Search is hybrid: BM25 finds exact terms (product names, codes, amounts) that a small embedding
model blurs, MiniLM finds paraphrases that share no words; the two rankings are fused by reciprocal
rank (Cormack et al. 2009). Both run over a persisted index (`bot.index`), so the passages of a directory
or an adapter are embedded once, not at every start. How often the passages hold the key facts: benchmarks/README.md, "Retrieval: key facts in the passages".
"""

import json
import re
import sys
from pathlib import Path

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from bot.documents import PASSAGE_CHARS, SUPPORTED_SUFFIXES, Reading, knowledge_files, read_documents
from bot.errors import InputError
from bot.userinput import MAX_DATA_BYTES, printable, read_user_text, valid_unicode

TOP_K = 3
PASSAGES_MAX_CHARS = 1200
"""Passages after the first go into a prompt only while all of them together stay within this many
characters: three short passages fit, but of a FAQ whose answers run to 150 words only the best one does,
so a prompt (and a training example) stays about the same length whatever the data's answers are."""
KNOWLEDGE_FILE = "knowledge.jsonl"
"""An adapter's passages, one JSON object per line: {"text", "source"} and, when the passage has them, "section"
and "page"."""
PASSAGE_FIELDS = ("section", "page")
RRF_CONSTANT = 60
"""Reciprocal rank fusion's k: rank r in a list scores 1 / (60 + r), the value of the original paper."""
CANDIDATES = 20
"""How deep each ranking is read before fusing."""

_STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from has have how i if in is it its me my of on or our so "
    "that the their them then there these they this to was we what when where which who why will with you your".split())


def document_passages(directory: Path) -> list[Document]:
    """Passages of every document under `directory` that Tandem reads (`bot.documents`). A file that cannot be
    read is one line on stderr and the others are used; no passage at all is an InputError."""
    directory = Path(directory)
    reading = read_documents([directory]) if directory.is_dir() else Reading()
    for problem in reading.problems:
        print(f"tandem: skipped {printable(problem)}", file=sys.stderr, flush=True)
    if reading.passages:
        print(f"tandem: {printable(directory)}: {reading.summary()}", file=sys.stderr, flush=True)
        return reading.passages
    if not knowledge_files(directory):
        raise InputError(f"{directory}: no knowledge files ({', '.join(SUPPORTED_SUFFIXES)}) found for retrieval")
    raise InputError(f"{directory}: no passages for retrieval: every knowledge file was skipped (listed above)")


def pair_passage(question: str, answer: str, source: str) -> Document:
    """A question/answer pair as a passage: the question is what a later user's words will match. Its source is
    "FILE:LINE" with the file's name alone, as documents are named within their folder, so that an adapter's
    knowledge.jsonl says nothing about the machine it was trained on."""
    return Document(page_content=f"Q: {question}\nA: {answer}", metadata={"source": Path(source).name})


def save_passages(passages: list[Document], path: Path) -> None:
    """Write passages as KNOWLEDGE_FILE: their text and where they came from (source, section, page)."""
    with open(path, "w", encoding="utf-8") as f:
        for passage in passages:
            record = {"text": passage.page_content, "source": passage.metadata.get("source", "")}
            record.update({key: passage.metadata[key] for key in PASSAGE_FIELDS if key in passage.metadata})
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_passages(path: Path) -> list[Document]:
    """Passages written by save_passages; a file of an older Tandem, with only text and source, reads too."""
    passages = []
    for number, line in enumerate(read_user_text(path, InputError, MAX_DATA_BYTES).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record["text"], str) or not valid_unicode(record):
                raise ValueError
            metadata = {"source": str(record.get("source", ""))}
            if isinstance(record.get("section"), str):
                metadata["section"] = record["section"]
            if isinstance(record.get("page"), int) and not isinstance(record["page"], bool):
                metadata["page"] = record["page"]
            passages.append(Document(page_content=record["text"], metadata=metadata))
        except (ValueError, KeyError, TypeError, RecursionError):
            raise InputError(f"{path}:{number}: expected a JSON object with a \"text\" string") from None
    return passages


def words(text: str) -> list[str]:
    """Lower-case word tokens for BM25, stop words removed; amounts and codes stay whole ("$149.95", "fh-204")."""
    return [w for w in re.findall(r"[\w$€£@.-]*\w", text.lower()) if w not in _STOPWORDS]


class HybridRetriever(BaseRetriever):
    """BM25 and MiniLM rankings over a knowledge index (`bot.index`), fused by reciprocal rank; the top `k` are
    returned. Its passage indices are the index's keys."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: object = Field(exclude=True)
    """A `bot.index.KnowledgeIndex`."""
    k: int = TOP_K
    max_chars: int = PASSAGES_MAX_CHARS

    @classmethod
    def over(cls, passages: list[Document], k: int = TOP_K, max_chars: int = PASSAGES_MAX_CHARS,
             reuse=None) -> "HybridRetriever":
        """A retriever over these passages, embedded now into an index in memory (training grounds its examples
        so: the same search as serving, over passages that live only as long as the run). Passages whose text the
        index `reuse` holds take its vectors instead."""
        from bot import embeddings
        from bot.index import SQLiteIndex, text_digest

        if not passages:
            raise InputError("no passages to retrieve from")
        texts = [p.page_content for p in passages]
        vectors = reuse.known_vectors(list(dict.fromkeys(map(text_digest, texts)))) if reuse is not None else {}
        missing = [text for text in dict.fromkeys(texts) if text_digest(text) not in vectors]
        if missing:
            vectors.update(zip(map(text_digest, missing), embeddings.embed(missing)))
        index = SQLiteIndex(None)
        index.write_file("", "", passages, [vectors[text_digest(text)] for text in texts])
        return cls(index=index, k=k, max_chars=max_chars)

    @property
    def passages(self) -> list[Document]:
        """Every passage, in key order (an index in SQLite or in memory)."""
        return self.index.passages

    @property
    def vectors(self):
        """Every passage's unit-length MiniLM vector, one row each, in key order (numpy; SQLite or memory)."""
        return self.index.vectors

    def ranked(self, query: str, depth: int = CANDIDATES) -> list[int]:
        """Passage keys, best first, by fused rank of the lexical and the dense ranking."""
        from bot import embeddings

        # A passage that shares no word with the query has no lexical rank: ranking it by file order
        # would push a paraphrase that only the dense ranking finds below passages that come first.
        lexical = self.index.lexical(words(query), depth)
        dense = self.index.dense(embeddings.embed([query])[0], depth)
        scores: dict[int, float] = {}
        for ranking in (lexical, dense):
            for rank, key in enumerate(ranking):
                scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_CONSTANT + rank + 1)
        return sorted(scores, key=lambda key: (-scores[key], key))

    def fits(self, indices: list[int]) -> bool:
        """Whether these passages may go into one prompt together: at most `k`, and one passage, or several
        within `max_chars`."""
        chars = sum(len(self.index.passage(i).page_content) for i in indices)
        return len(indices) <= self.k and (len(indices) <= 1 or chars <= self.max_chars)

    def top(self, ranked: list[int]) -> list[int]:
        """The best of `ranked` (passage keys, best first) that fit one prompt: the first always."""
        chosen = []
        for index in ranked:
            if not self.fits(chosen + [index]):
                break
            chosen.append(index)
        return chosen

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [self.index.passage(i) for i in self.top(self.ranked(query))]


def load_knowledge(directory: Path, k: int = TOP_K, max_chars: int = PASSAGES_MAX_CHARS,
                   db: str | None = None) -> HybridRetriever:
    """A retriever over the documents under `directory` (top `k` passages within `max_chars`), from the directory's
    persisted index (`bot.index.index_location(db)`), brought up to date first: only changed files are embedded."""
    from bot.knowledge import directory_index

    return HybridRetriever(index=directory_index(directory, db), k=k, max_chars=max_chars)


def adapter_knowledge(adapter: Path, k: int = TOP_K, max_chars: int = PASSAGES_MAX_CHARS,
                      db: str | None = None) -> HybridRetriever | None:
    """A retriever over the passages an adapter was trained to read, when it carries them: indexed once, by the
    content hash of its knowledge.jsonl."""
    from bot.knowledge import passages_index

    path = Path(adapter) / KNOWLEDGE_FILE
    return HybridRetriever(index=passages_index(path, db), k=k, max_chars=max_chars) if path.is_file() else None


def named_knowledge(name: str, k: int = TOP_K, max_chars: int = PASSAGES_MAX_CHARS,
                    db: str | None = None) -> HybridRetriever:
    """A retriever over the index `tandem knowledge add --index NAME` built, as it is."""
    from bot.knowledge import named_index

    return HybridRetriever(index=named_index(name, db), k=k, max_chars=max_chars)


def choose_knowledge(k: int, max_chars: int, knowledge: Path | None = None, adapter: Path | None = None,
                     beside: Path | None = None, index: str | None = None, db: str | None = None) -> HybridRetriever | None:
    """The one rule for what every command retrieves from: the index named `index`, else `knowledge` (a directory the
    user names), else the passages `adapter` was trained to read (its documents and training pairs), else the
    knowledge/ directory beside the data file `beside`; None when there is none of them. Top `k` passages within
    `max_chars`; the indexes are where `bot.index.index_location(db)` says."""
    if index is not None:
        return named_knowledge(index, k, max_chars, db)
    if knowledge is not None:
        return load_knowledge(knowledge, k, max_chars, db)
    retriever = adapter_knowledge(adapter, k, max_chars, db) if adapter is not None else None
    if retriever is None and beside is not None and (directory := knowledge_beside(beside)) is not None:
        retriever = load_knowledge(directory, k, max_chars, db)
    return retriever


def knowledge_beside(data_file: Path) -> Path | None:
    """The `knowledge/` directory of a domain laid out as data/<domain>/{train,eval}.jsonl + knowledge/."""
    candidate = Path(data_file).parent / "knowledge"
    return candidate if knowledge_files(candidate) else None
