"""Which retrieved passages an answer cites, and how a citation reads: the sources every front end shows.

    cite(answer, passages, "clause")   # -> [Source(source="agreement.md", section="§4 Term › 4.3 Renewal price cap",
                                       #            page=None, label="agreement.md §4.3", text=...)]

Not every passage retrieval put into the prompt supports the answer. An answer cites the fewest passages that
together state its specifics (numbers, amounts, codes, e-mail addresses: `bot.specifics.specifics`) and the names it
mentions (`bot.specifics.names`), chosen greedily: first the passage that states most of them, ties to the
better-ranked one, then the passage that states most of those still unstated, and so on. An answer that states none
of them in any passage cites the top passage, the one retrieval ranked best. Nothing here knows the domain.

A passage's metadata says where it came from (`bot.documents`): `source` (the file), `section` (its heading path,
"4. Term and Renewal › 4.3 Renewal price cap") and, for paged documents, `page`; a passage may lack any of them
(passages handed to the chain as strings, an adapter's knowledge written before sections were kept).
"""

import re
from pathlib import PurePath

from langchain_core.documents import Document
from pydantic import BaseModel, ConfigDict

from bot.personas import CitationStyle
from bot.specifics import names, specifics, stated_specifics

SECTION_SEPARATOR = " › "
"""Between the headings of a section's path, as `bot.documents` joins them."""
CLAUSE = re.compile(r"(?P<prefix>§+\s*|(?:section|clause|article)\s+)?(?P<number>(?:[A-Z]\.)?\d+(?:\.\d+)*)\.?"
                    r"(?=[\s:]|$)", re.IGNORECASE)
"""A heading that starts with a clause number: "4.3 Renewal price cap", "4. Term", "B.1 Uptime", "Section 4.3",
"§4.3", "Clause 12". A bare number without a dot ("2024 pricing") is not one."""


class Source(BaseModel):
    """One passage an answer cites: where it came from, how the persona cites it, and the text the model read."""

    model_config = ConfigDict(frozen=True)

    source: str
    """The file the passage came from, relative to the knowledge directory ("" when unknown)."""
    section: str | None = None
    """Its heading path ("Warranty › Claims"); None when the passage has none."""
    page: int | None = None
    """The 1-based page it starts on, for paged documents (PDF); None otherwise."""
    label: str
    """The citation as the persona reads it ("agreement.md §4.3", "agreement.pdf › Renewal (p. 3)")."""
    text: str
    """The passage as it was put into the prompt."""


def cited(answer: str, passages: list[str]) -> list[int]:
    """The passages an answer cites, as indices into `passages` (best ranked first), the most supporting first;
    the top passage when none states anything the answer does; none when there are no passages."""
    if not passages:
        return []
    wanted = specifics(answer) | names(answer)
    held = [stated_specifics(passage, wanted) for passage in passages]
    unstated = set().union(*held)
    chosen: list[int] = []
    while unstated:
        best = max(range(len(passages)), key=lambda i: (len(held[i] & unstated), -i))
        chosen.append(best)
        unstated -= held[best]
    return chosen or [0]


def cite(answer: str, passages: list[Document], style: CitationStyle = "document") -> list[Source]:
    """The sources of an answer given `passages` (in the order the model saw them), labelled in `style`."""
    return [source_of(passages[i], i + 1, style) for i in cited(answer, [p.page_content for p in passages])]


def source_of(passage: Document, number: int, style: CitationStyle = "document") -> Source:
    """A passage as a source record; `number` is its place in the prompt ("passage 2" when it says nothing of where
    it came from)."""
    metadata = passage.metadata or {}
    page = metadata.get("page")
    page = page if isinstance(page, int) and not isinstance(page, bool) and page > 0 else None
    source, section = str(metadata.get("source") or ""), str(metadata.get("section") or "") or None
    label = citation_label(source, section, page, style) or f"passage {number}"
    return Source(source=source, section=section, page=page, label=label, text=passage.page_content)


def citation_label(source: str, section: str | None, page: int | None, style: CitationStyle = "document") -> str:
    """How a citation reads: "clause" gives the document and the clause number of the deepest heading that starts
    with one ("agreement.md §4.3"), else what "document" gives: the document, the deepest heading and the page
    ("agreement.pdf › Renewal (p. 3)"). "none" reads as "document": the persona shows nothing, the record keeps it.
    Empty when there is nothing to say."""
    document = shown_source(source)
    number = clause_number(section) if style == "clause" else None
    if number is not None:
        return f"{document} §{number}".strip()
    headings = _headings(section)
    label = SECTION_SEPARATOR.join(part for part in (document, headings[-1] if headings else "") if part)
    return f"{label} (p. {page})".strip() if page is not None else label


def clause_number(section: str | None) -> str | None:
    """The clause number of the deepest heading of `section` that starts with one ("4.3" of "4. Term and Renewal ›
    4.3 Renewal price cap"; "4" of "4. Term and Renewal › Notes"); None when no heading does."""
    for heading in reversed(_headings(section)):
        match = CLAUSE.match(heading)
        if match and (match["prefix"] or "." in match[0]):
            return match["number"]
    return None


def shown_source(source: str) -> str:
    """The source as a citation shows it: a path relative to the knowledge directory as it is, an absolute one (a
    training data file, for an adapter's question/answer pairs) by its name alone."""
    return PurePath(source).name if PurePath(source).is_absolute() else source


def sources_line(sources: list[Source], style: CitationStyle) -> str:
    """One line naming an answer's sources for a person to read ("Sources: agreement.md §4.3; faq.md › Fees"); empty
    for a persona that cites none, or an answer without sources."""
    if style == "none" or not sources:
        return ""
    return "Sources: " + "; ".join(dict.fromkeys(source.label for source in sources))


def _headings(section: str | None) -> list[str]:
    return [part.strip() for part in (section or "").split(SECTION_SEPARATOR.strip()) if part.strip()]
