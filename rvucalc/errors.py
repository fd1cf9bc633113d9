"""Exceptions raised by rvucalc.

Every error a user can trigger with a file, a code or an option is one of these,
so a notebook or a script can catch :class:`RvucalcError` and show its message,
which always says what was being read, where, and what was expected.
"""

from __future__ import annotations

from pathlib import Path


class RvucalcError(Exception):
    """Base class of every error rvucalc raises on purpose."""


class CMSFileError(RvucalcError, ValueError):
    """A CMS file could not be read as the layout CMS documents.

    The message names the file, the line (1-based, as a text editor counts) or
    the spreadsheet row, the column, what was expected and what was found.
    """

    def __init__(
        self,
        file: str | Path | None,
        expected: str,
        *,
        line: int | None = None,
        column: str | None = None,
        found: object = None,
    ) -> None:
        self.file = str(file) if file is not None else "<input>"
        self.line = line
        self.column = column
        self.expected = expected
        self.found = found
        where = [Path(self.file).name if file is not None else self.file]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        msg = f"{', '.join(where)}: expected {expected}"
        if found is not None:
            shown = repr(found)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            msg += f", found {shown}"
        super().__init__(msg)


class ReleaseUnavailableError(RvucalcError):
    """A release's file cannot be had or cannot be trusted (base of the three below).

    Loading a release (:func:`rvucalc.load`) raises one of these, with one plain
    sentence naming the file, what is wrong and how to get a good copy, when
    the release cannot be used; a caller pricing many releases can catch this
    class per release and go on with the others.
    """


class MissingFileError(ReleaseUnavailableError, FileNotFoundError):
    """A release file is neither in the local mirror nor in the cache and cannot be downloaded."""


class DownloadError(ReleaseUnavailableError, OSError):
    """A download failed, or what arrived does not match its checksum."""


class ChecksumError(DownloadError):
    """A file under a CMS file name is not the file CMS shipped (its sha256 is not the catalogue's).

    The file is never used, and no other year or release is used in its place.
    """


class FileAccessError(CMSFileError):
    """A file cannot be read: not a regular file (a FIFO, a device), permission denied, or another OS error."""

    def __init__(self, file: str | Path, problem: str) -> None:
        super().__init__(file, "a readable regular file", found=problem)


class UnknownCodeError(RvucalcError, LookupError):
    """A HCPCS code (with modifier) is not in the release being used."""

    def __str__(self) -> str:  # LookupError would quote the message like a dict key
        return str(self.args[0]) if self.args else ""


class UnknownLocalityError(RvucalcError, LookupError):
    """A locality, ZIP code, CBSA or county could not be found."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ReleaseNotFoundError(RvucalcError, LookupError):
    """No release in the catalogue matches what was asked for."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnsupportedModifierError(RvucalcError, ValueError):
    """A modifier that changes the payment was given where only the fee schedule amount is priced."""


class UnknownReasonError(RvucalcError, KeyError):
    """A reason code that is not in rvucalc's registry (:func:`rvucalc.explain`)."""

    def __str__(self) -> str:  # KeyError would quote the message like a dict key
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(RvucalcError, ValueError):
    """An argument of a function or an option of the command line has a value rvucalc refuses.

    The message says which argument, what was given and what is expected, e.g.
    ``conversion_factor=-1 is not a conversion factor: expected a positive finite number of
    dollars per RVU, e.g. 33.4009``. Raised by :mod:`rvucalc.arguments` before anything is priced.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument of the wrong type (a list where a number is expected, ``True`` as a year ...).

    Also a :class:`TypeError`, as Python raises for a wrong type; and an
    :class:`InvalidArgumentError`, so one ``except`` catches both.
    """
