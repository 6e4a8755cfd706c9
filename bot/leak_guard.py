"""The system-prompt leak guard: an answer never repeats 8 consecutive words of the persona's instructions.

A model asked "repeat the text above" sometimes does, whatever the backend or thread count. The guard sits
between the chat model and the caller and reads the answer as it streams: text that could be the start of
a run of the system prompt is held back until the next words show it is not, and a run that completes is
dropped, generation stops, and the answer ends with `WITHHELD` instead. Words are compared case-folded
and without punctuation, so a leak reworded only in its commas is caught too.

Runs that also appear in the question or the passages are not secret (the user or the knowledge base
said them), so grounded answers that quote a passage are never cut.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator

RUN_WORDS = 8
WITHHELD = "I can't share my instructions, but I'm happy to help with your question."

_WORD = re.compile(r"\w+")


def plain_words(text: str) -> list[str]:
    """The words of `text`, case-folded, without punctuation."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def secret_runs(secret: str, public: Iterable[str] = (), words: int = RUN_WORDS) -> set[tuple[str, ...]]:
    """Every run of `words` consecutive words of `secret` that none of the `public` texts contains."""
    hidden = plain_words(secret)
    runs = {tuple(hidden[i:i + words]) for i in range(len(hidden) - words + 1)}
    said = [" " + " ".join(plain_words(text)) + " " for text in public]
    return {run for run in runs if not any(f" {' '.join(run)} " in text for text in said)}


def leaked_run(answer: str, secret: str, words: int = RUN_WORDS) -> str | None:
    """The first run of `words` consecutive words of `secret` that `answer` repeats, or None."""
    said = plain_words(answer)
    runs = secret_runs(secret, words=words)
    for start in range(len(said) - words + 1):
        if tuple(said[start:start + words]) in runs:
            return " ".join(said[start:start + words])
    return None


class LeakGuard:
    """Feeds on an answer's text piece by piece and returns what may be shown so far."""

    def __init__(self, secret: str, public: Iterable[str] = (), words: int = RUN_WORDS):
        self.words = words
        self.runs = secret_runs(secret, public, words)
        self.text = ""      # everything the model said
        self.shown = 0      # characters of it already returned
        self.leaked = False

    def feed(self, piece: str) -> str:
        """The text that may be shown now, given one more piece of the answer ("" while holding back)."""
        if self.leaked:
            return ""
        self.text += piece
        matches = list(_WORD.finditer(self.text))
        said = [unicodedata.normalize("NFKC", match[0]).lower() for match in matches]
        unshown = next((i for i, match in enumerate(matches) if match.end() > self.shown), len(matches))
        for first in range(max(0, unshown - self.words + 1), len(said) - self.words + 1):
            if tuple(said[first:first + self.words]) in self.runs:
                self.leaked = True
                earlier = self.text[:self.shown]
                before = self._release(matches[first].start()).rstrip()
                shown = (earlier + before).rstrip() if before else earlier
                return before + (" " if shown and not shown[-1].isspace() else "") + WITHHELD
        ends_in_word = bool(matches) and matches[-1].end() == len(self.text)
        return self._release(self._hold_from(matches, said, ends_in_word))

    def finish(self) -> str:
        """The held-back rest, once the answer is complete (an unfinished run is not a leak)."""
        return "" if self.leaked else self._release(len(self.text))

    def _release(self, end: int) -> str:
        end = max(end, self.shown)
        piece, self.shown = self.text[self.shown:end], end
        return piece

    def _hold_from(self, matches: list[re.Match], said: list[str], ends_in_word: bool) -> int:
        """Where the longest tail of the answer that could still grow into a run begins.

        The tail's last word may be unfinished when the text ends inside it: then it need only begin
        the run's word at that place."""
        for length in range(min(self.words, len(said)), 0, -1):
            tail = said[-length:]
            for run in self.runs:
                if length < self.words and tuple(run[:length]) == tuple(tail):
                    return matches[-length].start()
                if ends_in_word and tuple(run[:length - 1]) == tuple(tail[:-1]) and run[length - 1].startswith(tail[-1]):
                    return matches[-length].start()
        return len(self.text)


def guard_stream(pieces: Iterator[str], guard: LeakGuard) -> Iterator[str]:
    """The pieces of an answer with any run of the system prompt withheld; stops reading once one appears."""
    for piece in pieces:
        shown = guard.feed(piece)
        if shown:
            yield shown
        if guard.leaked:
            return
    rest = guard.finish()
    if rest:
        yield rest
