"""Word (.docx) documents as blocks (python-docx): paragraphs with their heading levels and the numbers Word draws
before them ("4.3", which are not in the paragraph's text), and table rows, in document order.

A .docx is a zip archive: before python-docx unpacks one, the sizes its members declare are checked (zipfile never
unpacks more than a member declares), so a small file that would unpack to gigabytes is one DocumentError.
"""

import io
import re
import zipfile

from bot.errors import DocumentError
from bot.outline import Block

MAX_UNZIPPED_BYTES = 256 << 20
"""What a .docx may unpack to: its text is a few MB at most, the rest is images."""
MAX_RATIO = 500
BOMB_MEMBER_BYTES = 8 << 20
"""A member larger than BOMB_MEMBER_BYTES that unpacks to more than MAX_RATIO times its packed size is a zip bomb:
deflate packs at most about 1,000 to 1, which only runs of one byte reach; Word's parts pack 2 to 30 to 1 (its
styles), and text repeated thousands of times, about 180 to 1."""
MAX_MEMBERS = 10_000
_FORMATS = {"decimal": str, "decimalZero": lambda n: f"{n:02d}",
            "lowerLetter": lambda n: _letters(n), "upperLetter": lambda n: _letters(n).upper(),
            "lowerRoman": lambda n: _roman(n).lower(), "upperRoman": lambda n: _roman(n)}
"""How Word writes a list number (w:numFmt); bullets and other formats draw no number Tandem keeps."""


def docx_blocks(data: bytes, name: str) -> list[Block]:
    """The paragraphs and table rows of the document's body."""
    check_archive(data, name)
    try:
        import docx
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
        numbers = _ListNumbers(document)
        blocks = []
        for item in document.iter_inner_content():
            if isinstance(item, Paragraph):
                label = numbers.label(item)
                text = f"{label} {item.text.strip()}" if label else item.text
                blocks.append(Block(text, level=_heading_level(item)))
            else:
                blocks += [Block(row, verbatim=True) for row in _rows(item)]
        return blocks
    except Exception as error:  # a damaged document can make python-docx or lxml raise anything
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise DocumentError(f"{name}: not a readable Word document ({reason})") from None


def check_archive(data: bytes, name: str) -> None:
    """Refuse what is not a zip archive, or one that would unpack to too much (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise DocumentError(f"{name}: not a Word .docx document (not a zip archive)") from None
    if len(members) > MAX_MEMBERS:
        raise DocumentError(f"{name}: holds {len(members):,} files, more than a Word document does: a zip bomb?")
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNZIPPED_BYTES:
        raise DocumentError(f"{name}: unpacks to {unpacked:,} bytes, more than the {MAX_UNZIPPED_BYTES:,} Tandem "
                            "unpacks: a zip bomb?")
    for member in members:
        if member.file_size > BOMB_MEMBER_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise DocumentError(f"{name}: {member.filename} unpacks {member.file_size // max(member.compress_size, 1):,} "
                                "times its size: a zip bomb?")


def _heading_level(paragraph) -> int | None:
    """0 for the Title style, N for "Heading N", else the outline level its style gives it (custom heading styles),
    None for body text."""
    style = paragraph.style
    name = style.name if style is not None else ""
    if name == "Title":
        return 0
    if match := re.fullmatch(r"Heading (\d)", name or ""):
        return int(match[1])
    for element in [paragraph._p, *_style_chain(style)]:
        level = _find(element, "w:pPr", "w:outlineLvl")
        if level is not None:
            value = int(level.get(_qn("w:val"), "9"))
            return value + 1 if value < 9 else None  # level 9 is body text
    return None


def _rows(table) -> list[str]:
    """Each row as "cell | cell"; a merged cell, which python-docx repeats, once."""
    rows = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if not cells or cells[-1] != text:
                cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


class _ListNumbers:
    """The numbers Word draws before numbered paragraphs, counted as Word counts them (numbering.xml)."""

    def __init__(self, document):
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}
        """abstract numbering id -> level -> (number format, text such as "%1.%2", start)."""
        self.abstract: dict[str, str] = {}
        """numbering id -> its abstract numbering id."""
        self.style_levels: dict[tuple[str, str], int] = {}
        """(abstract numbering id, style id) -> the level that style is numbered at."""
        self.counts: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return  # no numbered paragraphs
        for definition in root.iter(_qn("w:abstractNum")):
            levels = self.levels[definition.get(_qn("w:abstractNumId"))] = {}
            for level in definition.iter(_qn("w:lvl")):
                values = [_value(level, tag) for tag in ("w:numFmt", "w:lvlText", "w:start")]
                depth = int(level.get(_qn("w:ilvl"), "0"))
                levels[depth] = (values[0] or "decimal", values[1] or "", int(values[2] or 1))
                if (style := _value(level, "w:pStyle")) is not None:
                    self.style_levels[(definition.get(_qn("w:abstractNumId")), style)] = depth
        for number in root.iter(_qn("w:num")):
            self.abstract[number.get(_qn("w:numId"))] = _value(number, "w:abstractNumId")

    def label(self, paragraph) -> str | None:
        """The paragraph's number as Word draws it ("4.3", "(a)"), counting it; None when it has none."""
        number_id, level = self._numbering(paragraph)
        levels = self.levels.get(self.abstract.get(number_id), {})
        if level not in levels or not 0 <= level < 10 or levels[level][0] not in _FORMATS:
            return None  # not numbered, or a bullet
        counts = self.counts.setdefault(self.abstract[number_id], [0] * 10)
        counts[level] = counts[level] + 1 if counts[level] else levels[level][2]
        counts[level + 1:] = [0] * (len(counts) - level - 1)
        text = levels[level][1]
        for depth in range(level + 1):
            form, _, start = levels.get(depth, ("decimal", "", 1))
            if f"%{depth + 1}" in text:
                if form not in _FORMATS:
                    return None
                text = text.replace(f"%{depth + 1}", _FORMATS[form](counts[depth] or start))
        return text.strip() or None

    def _numbering(self, paragraph) -> tuple[str | None, int]:
        """The numbering id and level of the paragraph, set on it or on its style."""
        for element in [paragraph._p, *_style_chain(paragraph.style)]:
            numbering = _find(element, "w:pPr", "w:numPr")
            if numbering is not None:
                number_id = _value(numbering, "w:numId")
                level = _value(numbering, "w:ilvl")
                return number_id, int(level) if level is not None else self._style_level(number_id, element)
        return None, 0

    def _style_level(self, number_id: str | None, style) -> int:
        """A style numbered without a level (Heading 2 of a legal list) is at the level that names the style."""
        return self.style_levels.get((self.abstract.get(number_id), style.get(_qn("w:styleId"))), 0)


def _style_chain(style) -> list:
    """The style's element and those of the styles it is based on."""
    chain = []
    while style is not None and len(chain) < 20:
        chain.append(style.element)
        style = style.base_style
    return chain


def _find(element, *path: str):
    for tag in path:
        element = element.find(_qn(tag)) if element is not None else None
    return element


def _value(element, tag: str) -> str | None:
    child = element.find(_qn(tag))
    return child.get(_qn("w:val")) if child is not None else None


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def _letters(number: int) -> str:
    """Word's letter numbering: a..z, then aa..zz."""
    return chr(ord("a") + (number - 1) % 26) * ((number - 1) // 26 + 1) if number > 0 else str(number)


def _roman(number: int) -> str:
    if not 0 < number < 4000:
        return str(number)
    text = ""
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                           (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, number = divmod(number, value)
        text += letters * count
    return text
