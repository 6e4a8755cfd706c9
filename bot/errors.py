"""User-facing errors: the CLI prints their message on one line and exits 2, with no traceback."""

EXIT_USER_ERROR = 2
"""The exit status of a command stopped by a TandemError, or one that skipped a broken file it was asked to list."""


class TandemError(Exception):
    """A mistake the user can fix (bad input, missing model, unknown persona)."""


class PersonaError(TandemError):
    """A persona or instruction file that does not validate, or an unknown persona id."""


class ModelNotFoundError(TandemError):
    """A model that is neither in the local store nor reachable on the hub."""


class InputError(TandemError):
    """A chat message the chain refuses before calling the model (empty, too long)."""


class DocumentError(InputError):
    """A knowledge document Tandem cannot read (encrypted, corrupt, too large, of a type it does not read): the
    message names the file and the reason, and reading the other documents goes on."""
