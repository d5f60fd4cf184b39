"""Exceptions a user can act on. The CLI prints their message on one line and exits non-zero."""

from __future__ import annotations


class MscfmError(Exception):
    """Base class: the message says what went wrong and what was expected."""

    exit_code = 1


class DataError(MscfmError):
    """Curated data failed to load or validate (message names file, row and column)."""

    exit_code = 2


class ParameterError(MscfmError):
    """A notebook parameter given on the command line is unknown or of the wrong type."""

    exit_code = 2


class BuildError(MscfmError):
    """Executing a chapter or building the book failed (message names the chapter or step)."""

    exit_code = 3


class InputError(MscfmError):
    """A user-supplied input file (e.g. for `mscfm meta`) is malformed."""

    exit_code = 2


_ANSI = __import__("re").compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")


def plain(text: str) -> str:
    """A message without terminal colour or control codes (tools such as Sphinx colour their
    output; a code in a message or a log summary is noise, and unsafe in a page)."""
    return _ANSI.sub("", text)


def shorten(value: object, limit: int = 120, quote: bool = True) -> str:
    """``repr(value)`` (``str`` without ``quote``), cut in the middle when long: a 100 KB value
    echoed back in a message would bury the message."""
    text = repr(value) if quote else str(value)
    if len(text) <= limit:
        return text
    half = (limit - 20) // 2
    return f"{text[:half]}...({len(text) - 2 * half} characters)...{text[-half:]}"
