"""HTML pages as blocks (BeautifulSoup): h1-h6 as headings, paragraphs and list items as lines, table rows and
preformatted text verbatim; scripts, styles, navigation and hidden elements left out.

The bytes are decoded as the page declares (a <meta charset>, or a byte order mark); a page that declares nothing
is decoded as its bytes suggest (UTF-8 if they are).
"""

import re

from bot.errors import DocumentError
from bot.outline import Block

DROPPED = ("script", "style", "nav", "noscript", "template", "head", "svg", "iframe", "object", "canvas")
"""Elements whose content is not the page's text: code, styling, site navigation, the <head>."""
BLOCKS = ("p", "div", "li", "ul", "ol", "dl", "dt", "dd", "section", "article", "main", "header", "footer", "aside",
          "blockquote", "figure", "figcaption", "table", "caption", "address", "details", "summary", "hr", "form",
          "fieldset", "legend", "body")
"""Elements that start a new line of text."""
_HEADING, _VERBATIM = "\ue000", "\ue001"
"""Private-use characters that mark a heading's line ("\ue000" + level + "\ue000" + title) and a verbatim line."""


def html_blocks(data: bytes, name: str) -> list[Block]:
    """The page's headings and lines of text, in document order."""
    try:
        from bs4 import BeautifulSoup, Comment, Declaration, Doctype, ProcessingInstruction

        soup = BeautifulSoup(data, "html.parser")
        for element in soup.find_all(DROPPED):
            element.decompose()
        for element in soup.find_all(attrs={"hidden": True}):
            element.decompose()
        for text in soup.find_all(string=True):
            if isinstance(text, (Comment, Declaration, Doctype, ProcessingInstruction)):
                text.extract()
            elif text.find_parent("pre") is None:  # outside <pre>, a run of white space is one space
                text.replace_with(_clean(re.sub(r"\s+", " ", text)))
        for row in soup.find_all("tr"):
            cells = [" ".join(cell.get_text(" ").split()) for cell in row.find_all(("td", "th"))]
            row.replace_with(f"\n{_VERBATIM}{' | '.join(cells)}\n" if any(cells) else "\n")
        for heading in soup.find_all(re.compile(r"^h[1-6]$")):
            heading.replace_with(f"\n{_HEADING}{heading.name[1]}{_HEADING}{' '.join(heading.get_text(' ').split())}\n")
        for pre in soup.find_all("pre"):
            pre.replace_with("\n" + "".join(f"{_VERBATIM}{_clean(line)}\n" for line in pre.get_text().splitlines()))
        for tag in soup.find_all("br"):
            tag.replace_with("\n")
        for tag in soup.find_all(BLOCKS):
            tag.insert_before("\n")
            tag.insert_after("\n")
        text = soup.get_text()
    except Exception as error:  # html.parser takes almost anything; what is left is a page too broken to read
        raise DocumentError(f"{name}: not a readable HTML page ({type(error).__name__})") from None
    return [_block(line) for line in text.split("\n")]


def _block(line: str) -> Block:
    if line.startswith(_HEADING):
        level, _, title = line[1:].partition(_HEADING)
        return Block(title, level=int(level))
    if line.startswith(_VERBATIM):
        return Block(line[1:], verbatim=True)
    return Block(" ".join(line.split()))


def _clean(text: str) -> str:
    """Text without control and invisible characters (the marker characters among them: a page could hold them)."""
    return text if text.isprintable() else "".join(c for c in text if c.isprintable() or c == " ")
