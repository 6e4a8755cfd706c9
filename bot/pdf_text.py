"""PDF documents as blocks of text (pypdf): each page's printed lines, without the running headers and footers
and page numbers that repeat on every page.

An encrypted PDF is opened with the empty password when it has one (a PDF that only forbids editing or printing);
otherwise, and for a corrupt file, one cut short (no %%EOF marker at its end) or one without a text layer (a scan),
reading it is one DocumentError.
"""

import io
import logging
import re
import unicodedata
from collections import Counter

from bot.errors import DocumentError
from bot.outline import Block

EDGE_LINES = 3
"""Running headers and footers are looked for among the first and the last lines of each page."""
_PAGE_NUMBER = re.compile(r"(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?|[-–—]\s*\d{1,4}\s*[-–—]", re.I)
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
"""Soft hyphens and zero-width characters that PDF text carries and a reader never sees."""


def pdf_blocks(data: bytes, name: str) -> list[Block]:
    """The text lines of every page, with their page numbers (1-based)."""
    pages = _page_lines(data, name)
    if not any(pages):
        raise DocumentError(f"{name}: no text layer — a scanned document? run OCR first")
    running = _running_lines(pages)
    blocks = []
    for number, lines in enumerate(pages, start=1):
        for index, line in enumerate(lines):
            at_edge = index < EDGE_LINES or index >= len(lines) - EDGE_LINES
            if at_edge and (_PAGE_NUMBER.fullmatch(line) or _shape(line) in running):
                continue
            blocks.append(Block(line, page=number, wrapped=True))
    return blocks


def _page_lines(data: bytes, name: str) -> list[list[str]]:
    """Each page's non-empty lines, normalised (NFKC: the ligature "ﬁ" is "fi")."""
    from pypdf import PdfReader

    if b"%%EOF" not in data[-1024:]:
        # pypdf would rebuild what it can of a file cut short and read its first pages as if they were all.
        raise DocumentError(f"{name}: a damaged or incomplete PDF (it has no end-of-file marker: cut short?)")
    log = logging.getLogger("pypdf")
    level = log.level
    log.setLevel(logging.ERROR)  # pypdf logs every repair it makes to a damaged file; the outcome is what counts
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _opens(reader):
            raise DocumentError(f"{name}: encrypted: decrypt it first")
        return [_lines(page.extract_text() or "") for page in reader.pages]
    except DocumentError:
        raise
    except Exception as error:  # a damaged file can make pypdf raise anything, and it is one bad file of many
        raise DocumentError(f"{name}: a damaged or incomplete PDF ({_reason(error)})") from None
    finally:
        log.setLevel(level)


def _opens(reader) -> bool:
    """Whether an encrypted PDF opens with the empty password (one that only forbids editing or printing does)."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # an encryption pypdf does not implement: as locked, to the user, as a password
        return False


def _lines(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    lines = ("".join(c if c.isprintable() else " " for c in line).split() for line in text.splitlines())
    return [" ".join(words) for words in lines if words]


def _running_lines(pages: list[list[str]]) -> set[str]:
    """The shapes of the lines at the top or bottom of most pages: running headers and footers."""
    if len(pages) < 2:
        return set()
    counts = Counter(shape for lines in pages for shape in {_shape(line) for line in lines[:EDGE_LINES] + lines[-EDGE_LINES:]})
    return {shape for shape, count in counts.items() if count >= 2 and count > len(pages) / 2}


def _shape(line: str) -> str:
    """A line with its numbers blanked: "Page 3 of 10" and "Page 4 of 10" have one shape."""
    return re.sub(r"\d+", "#", line.casefold())


def _reason(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
