"""A user's documents as passages: each file type read into passages that keep where they came from.

    file_passages(Path("knowledge/refunds.md"), "refunds.md")  # -> [Document(page_content=..., metadata=...)]

Every passage's metadata says where it came from, so an answer can cite it:
`source` (the file, relative to the knowledge directory), `section` (its heading path, "Refunds › Fees")
and, for paged documents, `page` (1-based, the page the passage starts on).
"""

from pathlib import Path

from langchain_core.documents import Document

from bot.errors import InputError
from bot.userinput import MAX_DATA_BYTES, check_text, read_user_text

PASSAGE_CHARS = 700
SUPPORTED_SUFFIXES = (".md",)
"""The file types a knowledge directory may hold."""


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


def file_passages(path: Path, source: str) -> list[Document]:
    """Passages of one document; `source` is the name its passages cite. An InputError names a file Tandem cannot
    read and why."""
    text = check_text(read_user_text(path, InputError, MAX_DATA_BYTES), str(path))
    return split_markdown(text, source)


def knowledge_files(directory: Path) -> list[Path]:
    """The documents under `directory` that Tandem reads, in a stable order (a FIFO or socket too, so that reading
    it says what it is)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.rglob("*") if not path.is_dir() and path.suffix.lower() in SUPPORTED_SUFFIXES)
