"""The checkable specifics a text states (numbers, amounts, codes, e-mail addresses) in one normal form, and
the names it mentions.

An answer cites the passages that state its specifics (`bot.citations`), training's grounding judges whether a
passage supports an answer by them, and evaluation scores key facts and unsupported specifics by them, so all three
compare text the same way.
"""

import re
import unicodedata

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
}
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
CURRENCY_WORDS = {"usd", "dollar", "dollars", "eur", "euro", "euros", "gbp", "pound", "pounds"}


def fact_tokens(text: str) -> list[str]:
    """Text as comparable tokens: case folded, number words as digits, "1,000.00" as "1000", "89.60" as "89.6",
    currency symbols and words dropped, "per cent" as "%", plural s removed from words."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)           # 1,000 -> 1000
    text = re.sub(r"(\d+)\.(\d*?)0+\b", lambda m: m[1] + ("." + m[2] if m[2] else ""), text)  # 20.00 -> 20, 89.60 -> 89.6
    text = re.sub(r"\bper ?cent\b", "%", text)
    text = re.sub(r"(\d)-(?=[a-z])", r"\1 ", text)             # 30-day -> 30 day
    text = re.sub(rf"\b({'|'.join(TENS)})[- ]({'|'.join(UNITS)})\b",  # twenty-five -> 25
                  lambda m: str(NUMBER_WORDS[m[1]] + NUMBER_WORDS[m[2]]), text)
    tokens = []
    for token in re.findall(r"\d+(?:\.\d+)?|%|[a-z]+", text):
        if token in NUMBER_WORDS:
            token = str(NUMBER_WORDS[token])
        elif token in CURRENCY_WORDS:
            continue
        elif token.isalpha() and len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
            token = token[:-1]
        tokens.append(token)
    return tokens


EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CODE = re.compile(r"\b(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b")
"""Order numbers, plan codes, discount codes: a word that mixes letters and digits ("FH-204", "SPRIG10")."""
LIST_MARKER = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)


def specifics(text: str) -> set[str]:
    """The checkable specifics an answer states: e-mail addresses, codes, and numbers (amounts, durations,
    counts, phone numbers) in normalised form; the numbers of a numbered list are not specifics."""
    found = {email.lower().rstrip(".") for email in EMAIL.findall(text)}
    rest = EMAIL.sub(" ", LIST_MARKER.sub(" ", text))
    found |= {code.lower() for code in CODE.findall(rest) if not code.isdigit() and not _is_quantity(code)}
    found |= {token for token in fact_tokens(rest) if token[0].isdigit()}
    return found


def _is_quantity(word: str) -> bool:
    """"30day", "2nd", "10am": a number glued to a unit is a number, not a code."""
    return re.fullmatch(r"\d+(?:st|nd|rd|th|am|pm|gb|mb|kb|kg|g|ml|l|cm|mm|m|km|h|hr|hrs|min|s|x|day|days|week|month|year|hour|minute)",
                        word.lower().replace("-", "")) is not None


def stated_specifics(text: str, wanted: set[str]) -> set[str]:
    """Those of `wanted` the text states: among its own specifics, or as a whole word of it (case folded).
    A whole word, not a substring: "$149.95" does not state "$49.95", nor "15 days" "5 days"."""
    own, lowered = specifics(text), text.lower()
    return {s for s in wanted if s in own or re.search(rf"(?<![\w.]){re.escape(s)}(?!\w|\.\d)", lowered)}


NAME = re.compile(r"\b[A-Z][\w-]*[A-Za-z0-9]")
SENTENCE_START = ".!?:;\n"
"""A capitalised word after one of these (or first in the text) may be capitalised only because it starts a sentence
or a list item."""


def names(text: str) -> set[str]:
    """The names a text mentions, case folded: capitalised words of two letters or more that do not start a sentence
    or a list item ("Sprigbox", "Germany", "Settings"). In English these are proper nouns; nothing here knows
    the domain."""
    found = set()
    for match in NAME.finditer(text):
        before = text[:match.start()].rstrip(" \t\"'(*-•")
        if before and before[-1] not in SENTENCE_START:
            found.add(match.group().lower())
    return found
