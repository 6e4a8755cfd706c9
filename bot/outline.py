"""A document's structure: the heading path of every line of its text, from its headings and its numbered clauses.

    sections([Block("4. Term and Renewal"), Block("4.3 Renewal price cap. Fees may rise by at most 5%.")])
    # -> [Section(title="4. Term and Renewal › 4.3 Renewal price cap", text="Fees may rise by at most 5%.")]

The readers (bot.documents and the format modules) turn a file into Blocks: headings with their level, lines or
paragraphs of text, table rows. A contract's numbered clauses ("4. Term and Renewal", "4.3 Renewal price cap",
"Section 4.3 – ...", "§ 4.3 ...", "Article 4 ...", "ARTICLE IV") are headings too, as deep as their number
(4 → 1, 4.3 → 2, 4.3.1 → 3) and nested under their parent clause. Lines that only look like clauses stay text: a
sentence that starts with a number ("30 days after notice, ..."), an item of a numbered list (its neighbours are
numbered too), a printed line whose sentence goes on in the next one. The tests show what is and is not a clause.
"""

import re
from bisect import bisect_right
from dataclasses import dataclass, field

SEPARATOR = " › "
"""Between the headings of a heading path."""
TITLE_WORDS = 8
TITLE_CHARS = 70
"""A clause's title is at most this long ("4.3 Renewal price cap. Fees may ..." has the title "Renewal price cap");
a longer first sentence is the clause's text, and its heading is the number alone."""

_KEYWORD = r"Section|SECTION|Clause|CLAUSE|Article|ARTICLE|§"
_NUMBER = r"\d{1,3}(?:\.\d{1,3}){0,5}"
_ROMAN = r"(?=[IVXLC])C{0,3}(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_CLAUSE = re.compile(rf"""(?P<label>(?P<keyword>{_KEYWORD})\s*(?P<keyed>{_NUMBER}|{_ROMAN})\.? | (?P<number>{_NUMBER})\.?)
                         (?:\s*:\s*|\s+[-–—]\s+|\s+|$) (?P<rest>.*)""", re.X | re.S)
_BARE_HEADING = re.compile(r"(\d{1,2})\s+(\S.*)", re.S)
"""A top-level clause numbered without a full stop: "3 Termination"."""
_LIST_ITEM = re.compile(r"(\d{1,3})\.\s")
"""The start of an item of a numbered list, or of a top-level clause: "3. ..."."""
_SENTENCE_WORDS = frozenset(
    "shall may will must is are was were be been has have had can could should would does do did not".split())
"""Words of a sentence that a heading does not use."""
_OPEN_ENDINGS = frozenset("a an the and or nor but of to in on for with by at from as than that which who".split())
"""Words that a heading does not end on: the text goes on in the next line."""


@dataclass(frozen=True)
class Block:
    """One heading, line or paragraph of a document, in reading order; an empty `text` ends a paragraph."""

    text: str
    level: int | None = None
    """A heading's level (1 for the top, 0 for a document's title); None for text."""
    page: int | None = None
    """The page it is printed on (1-based), for paged documents."""
    verbatim: bool = False
    """A table row or code: never a clause heading."""
    wrapped: bool = False
    """A printed line (PDF): its sentence may go on in the next block."""


@dataclass(frozen=True)
class Clause:
    """A numbered clause at the start of a line: "4.3 Renewal price cap. Fees may rise ..."."""

    label: str
    """The number as written, with its keyword: "4.3", "4.", "Section 4.3", "§ 4.3", "ARTICLE IV"."""
    depth: int
    title: str
    body: str
    """The text after the title on the same line."""
    keyword: bool

    @property
    def heading(self) -> str:
        return f"{self.label} {self.title}" if self.title else self.label


@dataclass
class Section:
    """The text under one heading path, with the page each part of it is printed on."""

    title: str
    page: int | None = None
    """The page the section starts on (its heading's)."""
    text: str = ""
    marks: list[tuple[int, int]] = field(default_factory=list)
    """(offset in text, page) where the text moves onto a page."""
    parts: list[str] = field(default_factory=list, repr=False)
    """The text while it is read, piece by piece (joined once: adding to a long string is slow)."""
    length: int = 0

    def page_at(self, offset: int) -> int | None:
        """The page the character at `offset` of the text is printed on."""
        index = bisect_right(self.marks, offset, key=lambda mark: mark[0]) - 1
        return self.marks[index][1] if index >= 0 else self.page


@dataclass
class _Heading:
    title: str
    level: int | None
    """Its level when it is a heading of the document's own; None for a clause found in the text."""
    depth: int | None
    """Its clause depth when it is numbered."""


def parse_clause(line: str) -> Clause | None:
    """The numbered clause `line` starts, judged from the line alone; None when it starts none."""
    match = _CLAUSE.fullmatch(" ".join(line.split()))
    if match is None:
        return None
    keyword = match["keyword"] is not None
    number = match["keyed"] or match["number"]
    label, rest = match["label"], match["rest"]
    if not keyword and "." not in label:
        return None  # "30 days after notice": a bare number starts sentences, "30." and "4.3" start clauses
    depth = number.count(".") + 1 if number[0].isdigit() else 1
    if not rest:
        return Clause(label, depth, "", "", keyword) if keyword else None
    if rest[0].islower() or not (rest[0].isupper() or rest[0] in "\"'“‘(["):
        return None  # "4.3 of the Agreement", "1.5 2.0 3.5": a sentence or figures, not a clause
    if re.search(r"(?:\.\s?){3,}\s*\d+$|…\s*\d+$", rest):
        return None  # "4.3 Renewal price cap ....... 7": a line of the table of contents
    title, body = _title_and_body(rest)
    if _is_title(title) and (keyword or depth > 1 or body or not rest.endswith(".")):
        return Clause(label, depth, title, body, keyword)
    if keyword or depth > 1:
        return Clause(label, depth, "", rest, keyword)  # "4.3 Either party may terminate ...": the number alone
    return None  # "1. Open the app and tap Settings.": a list item, not a clause heading


def sections(blocks: list[Block]) -> list[Section]:
    """The document's text grouped under heading paths, in reading order; a section without text is left out."""
    stack: list[_Heading] = []
    found = [Section("")]
    joinable = False  # whether the next line may continue the last one's sentence
    skip = 0
    for index, block in enumerate(blocks):
        if skip:
            skip -= 1
            continue
        text = block.text.rstrip() if block.verbatim else block.text.strip()
        if block.level is not None:
            if text:
                clause = parse_clause(text)
                _push(stack, _Heading(" ".join(text.split()), block.level, clause.depth if clause else None))
                found.append(Section(_path(stack), block.page))
                joinable = False
            continue
        clause, skip = (None, 0) if block.verbatim else _clause_at(blocks, index)
        if clause is not None:
            _push(stack, _Heading(clause.heading, None, clause.depth))
            found.append(Section(_path(stack), block.page))
            text, joinable = clause.body, False
        if not text:
            joinable = False
            continue
        last = found[-1].parts[-1] if found[-1].parts else ""
        _append(found[-1], text, block.page, joinable and _continues(last, text))
        joinable = block.wrapped
    for section in found:
        section.text, section.parts = "".join(section.parts), []
    return [section for section in found if section.text]


def _clause_at(blocks: list[Block], index: int) -> tuple[Clause | None, int]:
    """The clause blocks[index] starts, judged with its neighbours, and how many blocks after it it takes up."""
    block = blocks[index]
    clause = parse_clause(block.text)
    if clause is None:
        return _bare_number_heading(blocks, index), 0
    if block.wrapped and index > 0 and blocks[index - 1].wrapped and _goes_on(blocks[index - 1].text):
        return None, 0  # "as set out in Section" / "4.3 of the Agreement": the line before goes on in this one
    before_index, after_index = _neighbour(blocks, index, -1), _neighbour(blocks, index, +1)
    before = blocks[before_index] if before_index is not None else None
    after = blocks[after_index] if after_index is not None else None
    if clause.title and not clause.body and block.wrapped and after is not None and after.text.strip()[:1].islower():
        # "4.3 Either party may end the" / "agreement on notice": the title was the start of a sentence.
        return (Clause(clause.label, clause.depth, "", clause.title, clause.keyword)
                if clause.keyword or clause.depth > 1 else None), 0
    if not clause.keyword and clause.depth == 1 and not clause.body and (
            _numbered(before) == int(clause.label[:-1]) - 1 or _numbered(after) == int(clause.label[:-1]) + 1):
        return None, 0  # "1. Call us" next to "2. Wait for the e-mail": a numbered list, or a table of contents
    if clause.keyword and not clause.title and not clause.body and after is not None:
        title = " ".join(after.text.split())
        if _is_title(title) and parse_clause(title) is None:  # "ARTICLE IV" above "TERM AND TERMINATION"
            return Clause(clause.label, clause.depth, title, "", True), after_index - index
    return clause, 0


def _bare_number_heading(blocks: list[Block], index: int) -> Clause | None:
    """"3 Termination", a number and a title with no full stop between them, on a line of its own: a top-level
    clause when the line is a paragraph of its own (Word, HTML), or when a printed line (PDF, text) is followed by
    the clause's first sub-clause ("3.1 ..."). A sentence ("30 days after notice") or one item of a list numbered
    "1 ...", "2 ..." stays text."""
    match = _BARE_HEADING.fullmatch(" ".join(blocks[index].text.split()))
    if match is None or not match[2][0].isupper() or match[2].endswith(".") or not _is_title(match[2]):
        return None
    number = int(match[1])
    before_index, after_index = _neighbour(blocks, index, -1), _neighbour(blocks, index, +1)
    if any(_bare_number(blocks[i]) in (number - 1, number + 1) for i in (before_index, after_index) if i is not None):
        return None
    if blocks[index].wrapped:
        after = parse_clause(blocks[after_index].text) if after_index is not None else None
        if after is None or after.keyword or not after.label.startswith(f"{number}."):
            return None
    return Clause(match[1], 1, match[2], "", False)


def _bare_number(block: Block) -> int | None:
    match = _BARE_HEADING.fullmatch(" ".join(block.text.split()))
    return int(match[1]) if match else None


def _neighbour(blocks: list[Block], index: int, step: int) -> int | None:
    """The index of the nearest block of text before (step -1) or after (+1) blocks[index]; None past a heading or
    the end."""
    index += step
    while 0 <= index < len(blocks):
        if blocks[index].level is not None:
            return None
        if blocks[index].text.strip():
            return index
        index += step
    return None


def _numbered(block: Block | None) -> int | None:
    """The number of the list item (or top-level clause) `block` starts: 3 for "3. ..."."""
    match = _LIST_ITEM.match(block.text.strip()) if block is not None else None
    return int(match[1]) if match else None


def _goes_on(line: str) -> bool:
    """Whether a printed line stops mid-sentence: on a comma, or a word such as "the", "of" or "Section"."""
    words = line.split()
    return bool(words) and (line.endswith(",") or words[-1].lower() in _OPEN_ENDINGS
                            or re.fullmatch(_KEYWORD, words[-1]) is not None)


def _title_and_body(rest: str) -> tuple[str, str]:
    """"Renewal price cap. Fees may rise ..." -> ("Renewal price cap", "Fees may rise ..."): split at the first full
    stop that ends a word (not "U.S.") and is followed by a new sentence (not "Inc. shall")."""
    for stop in re.finditer(r"\w\w\.(?:\s+|$)", rest):
        after = rest[stop.end():]
        if not after[:1].islower():
            return rest[:stop.end()].rstrip()[:-1], after
    return rest, ""


def _is_title(text: str) -> bool:
    words = text.split()
    return (0 < len(words) <= TITLE_WORDS and len(text) <= TITLE_CHARS and text[-1] not in ",;:-–—"
            and words[-1].lower() not in _OPEN_ENDINGS
            and not any(word.lower().strip(",;:()\"'") in _SENTENCE_WORDS for word in words))


def _push(stack: list[_Heading], heading: _Heading) -> None:
    """Put `heading` on the heading path: a document heading closes the clauses and the headings at its level or
    below; a clause closes the clauses (and numbered headings) as deep as it or deeper."""
    if heading.level is not None:
        while stack and (stack[-1].level is None or stack[-1].level >= heading.level):
            stack.pop()
    else:
        while stack and stack[-1].depth is not None and stack[-1].depth >= heading.depth:
            stack.pop()
    stack.append(heading)


def _path(stack: list[_Heading]) -> str:
    return SEPARATOR.join(heading.title for heading in stack)


def _continues(previous: str, text: str) -> bool:
    """Whether a printed line goes on the sentence of the line before it (and is not a new item or sentence)."""
    if _goes_on(previous):
        return True
    return (not previous.endswith((".", "!", "?", ":", ";"))
            and not re.match(r"[•▪◦·*–-]\s|\(?\w{1,3}[.)]\s|\d{1,3}(?:\.\d{1,3})+\.?\s", text))


def _append(section: Section, text: str, page: int | None, continued: bool) -> None:
    if not section.parts:
        joint = ""
    elif continued and re.search(r"[^\W\d_]-$", section.parts[-1]) and text[:1].islower():
        joint = ""  # "non-" / "exclusive": a word broken across lines
    else:
        joint = " " if continued else "\n"
    if page is not None and (not section.marks or section.marks[-1][1] != page):
        section.marks.append((section.length + len(joint), page))
        section.page = section.page if section.page is not None else page
    section.parts += [joint, text]
    section.length += len(joint) + len(text)
