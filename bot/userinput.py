"""What users hand to Tandem, taken defensively: files read only when regular and bounded, text checked to be
valid Unicode, and anything shown back on a terminal escaped.

The readers of files a user names (personas, recipes, eval configs, training and evaluation data, adapter
and model configs, adapter cards, API key files, report summaries) go through `read_user_file`, so none
of them can hang on a FIFO or fill memory from /dev/zero.
"""

import json
import os
import stat
from pathlib import Path

from bot.errors import InputError, TandemError

MAX_CONFIG_BYTES = 1 << 20
"""Persona, instruction, recipe and configuration files, adapter cards: far below this."""
MAX_DATA_BYTES = 256 << 20
"""Training and evaluation data: the sample domain's is 260 KB; a file is read whole and parsed in memory."""


def read_user_file(path: Path | str, error: type[TandemError] = TandemError, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them; anything else is one `error` naming it.

    A FIFO would block for ever and a device such as /dev/zero never ends, so only regular files are read,
    and never past the limit (a file in /proc says it has 0 bytes and has more).
    """
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):  # checked before open: opening a device can itself do something
            raise error(f"{path}: {_kind(mode)}, not a regular file")
        # O_NONBLOCK: should the path become a FIFO between the two checks, open does not wait for a writer.
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise error(f"{path}: not a regular file")
            data = file.read(limit + 1)
    except OSError as problem:
        raise error(f"{path}: cannot read: {problem.strerror or problem}") from None
    if len(data) > limit:
        raise error(f"{path}: larger than {limit:,} bytes, the most Tandem reads from such a file")
    return data


def read_user_text(path: Path | str, error: type[TandemError] = TandemError, limit: int = MAX_CONFIG_BYTES) -> str:
    """`read_user_file` decoded as UTF-8; bytes that are not UTF-8 are one `error` naming file:line."""
    return decode_utf8(read_user_file(path, error, limit), path, error)


def decode_utf8(data: bytes, path: Path | str, error: type[TandemError] = TandemError) -> str:
    """`data` decoded as UTF-8; bytes that are not UTF-8 are one `error` naming path:line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as bad:
        line = data[:bad.start].count(b"\n") + 1
        raise error(f"{path}:{line}: not valid UTF-8 (byte {bad.start + 1})") from None


def check_text(text: str, what: str, error: type[TandemError] = InputError) -> str:
    """`text` when it is valid Unicode, else one `error`.

    Invalid UTF-8 on a command line or a terminal reaches Python as lone surrogates (surrogateescape),
    and so does a JSON or YAML escape such as "\\ud800"; tokenizers, files and terminals all refuse them.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as bad:
        raise error(f"{what} is not valid Unicode: character {bad.start + 1} is {printable(text[bad.start])} "
                    "(invalid UTF-8 or a lone surrogate)") from None
    return text


def valid_unicode(data) -> bool:
    """False when a string anywhere in parsed JSON holds a lone surrogate ("\\ud800" is valid JSON)."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """`text` safe to print on a terminal: control characters (ESC, newline, ...), invisible formatting
    characters and lone surrogates become escapes such as \\x1b and \\n; everything else is left as it is."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in str(text))


def terminal_text(text: str) -> str:
    """Model output safe to stream to a terminal: control characters other than newline and tab (ESC starts
    terminal commands) become escapes; everything else, emoji joiners and no-break spaces included, is kept."""
    return "".join(c.encode("unicode_escape").decode("ascii")
                   if (ord(c) < 32 and c not in "\n\t") or 127 <= ord(c) < 160 else c for c in text)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"
