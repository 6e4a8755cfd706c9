"""Retrieval grounding: a domain's `knowledge/` Markdown files as a LangChain retriever.

    retriever = load_knowledge(Path("data/fernhollow-support/knowledge"))
    retriever.invoke("how long is the warranty?")   # -> [Document(page_content=..., metadata=...)]

Files are split at their headings (each passage keeps its heading path, so a table row still says
what it belongs to), then into pieces of at most PASSAGE_CHARS; passages are embedded once with the
embedded MiniLM model into LangChain's in-memory vector store. The chain puts the top passages into
the system prompt when retrieval is switched on (`bot.chain`), and evaluation measures exactly that.
"""

import json
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import InMemoryVectorStore, VectorStoreRetriever

from bot.errors import InputError

PASSAGE_CHARS = 700
TOP_K = 3


class MiniLMEmbeddings(Embeddings):
    """LangChain's embeddings interface over the embedded all-MiniLM-L6-v2 (`bot.embeddings`)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        from bot.embeddings import embed

        return embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def split_markdown(text: str, source: str) -> list[Document]:
    """Passages of one Markdown file, each prefixed with its heading path."""
    from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

    headings = [("#", "h1"), ("##", "h2"), ("###", "h3")]
    sections = MarkdownHeaderTextSplitter(headings, strip_headers=True).split_text(text)
    pieces = RecursiveCharacterTextSplitter(chunk_size=PASSAGE_CHARS, chunk_overlap=0)
    passages = []
    for section in sections:
        title = " › ".join(section.metadata[key] for key in ("h1", "h2", "h3") if key in section.metadata)
        for piece in pieces.split_text(section.page_content):
            content = f"{title}\n{piece}" if title else piece
            passages.append(Document(page_content=content, metadata={"source": source, "section": title}))
    return passages


def load_knowledge(directory: Path, k: int = TOP_K) -> VectorStoreRetriever:
    """A retriever over every `*.md` file under `directory` (top `k` passages by cosine similarity)."""
    directory = Path(directory)
    files = sorted(directory.rglob("*.md")) if directory.is_dir() else []
    if not files:
        raise InputError(f"{directory}: no knowledge files (*.md) found for retrieval")
    passages = []
    for path in files:
        passages += split_markdown(path.read_text(encoding="utf-8"), str(path.relative_to(directory)))
    store = InMemoryVectorStore(MiniLMEmbeddings())
    store.add_documents(passages)
    return store.as_retriever(search_kwargs={"k": k})


def knowledge_for_adapter(adapter: Path) -> Path | None:
    """The knowledge/ directory beside the data an adapter was trained on, when the metadata names one."""
    from bot.models import ADAPTER_METADATA
    from bot.paths import PROJECT_ROOT

    try:
        data = json.loads((Path(adapter) / ADAPTER_METADATA).read_text())["data"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not data:
        return None
    first = Path(data[0])
    return knowledge_beside(first if first.is_absolute() else PROJECT_ROOT / first)


def knowledge_beside(data_file: Path) -> Path | None:
    """The `knowledge/` directory of a domain laid out as data/<domain>/{train,eval}.jsonl + knowledge/."""
    candidate = Path(data_file).parent / "knowledge"
    return candidate if candidate.is_dir() and any(candidate.rglob("*.md")) else None
