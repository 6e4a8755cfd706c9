"""An answer's text, assembled once from its token ids as they come, and the one stop policy over it.

Each new token is decoded with the few tokens before it (the ones whose text is not settled yet: a character can
span several tokens), never the whole answer again, so a token costs the same at the end of a long answer as at
its start. The answer ends after the first stop string, when one is asked for; an engine ends it at its end token
or after `max_new_tokens` (`bot.engines`).
"""

INCOMPLETE = "\ufffd"
"""What the tokenizer gives for bytes that are only part of a character: its text is not settled yet."""


class AnswerText:
    """Feed it token ids one by one; each call returns the text they add (maybe none yet)."""

    def __init__(self, tokenizer, stop_strings: list[str] | None = None):
        self.tokenizer = tokenizer
        self.stop_strings = [stop for stop in stop_strings or [] if stop]
        self.tokens: list[int] = []
        self.text = ""
        self.stopped = False
        """A stop string has appeared: the answer ends with it, and later tokens add nothing."""
        self._settled = 0
        """Tokens before this one are in `text` for good and are not decoded again."""
        self._shown = 0
        """Tokens before this one have their text in `text`."""

    def add(self, token: int) -> str:
        """The text this token adds to the answer."""
        if self.stopped:
            return ""
        self.tokens.append(token)
        before = self._decode(self.tokens[self._settled:self._shown])
        after = self._decode(self.tokens[self._settled:])
        if len(after) <= len(before) or after.endswith(INCOMPLETE):
            return ""  # the token's text depends on the tokens still to come
        self._settled, self._shown = self._shown, len(self.tokens)
        return self._until_stop(after[len(before):])

    def finish(self) -> str:
        """Whatever text is still held back once the answer has ended (an incomplete character, as the tokenizer
        renders it)."""
        if self.stopped or self._shown == len(self.tokens):
            return ""
        before = self._decode(self.tokens[self._settled:self._shown])
        rest = self._decode(self.tokens[self._settled:])[len(before):]
        self._shown = len(self.tokens)
        return self._until_stop(rest)

    def _decode(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=True)

    def _until_stop(self, new: str) -> str:
        """`new`, cut after the first stop string that the answer's text now holds."""
        if self.stop_strings:
            # A stop string may start in text already given: look from as far back as the longest could reach.
            reach = max(len(stop) for stop in self.stop_strings) - 1
            window_start = max(0, len(self.text) - reach)
            window = self.text[window_start:] + new
            ends = [window.find(stop) + len(stop) for stop in self.stop_strings if stop in window]
            if ends:
                new = new[:max(0, min(ends) - (len(self.text) - window_start))]
                self.stopped = True
        self.text += new
        return new
