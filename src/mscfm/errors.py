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
