"""The ASP drug pricing file of a quarter, chosen by date of service, and drug lines priced on it.

``load(2026, 1)`` / ``for_date("2026-03-10")`` give an :class:`ASPRates` (the table, its release
and sources, a note when another quarter of the year stands in); :meth:`ASPRates.price` prices
lines (:func:`rvucalc.calc.asp.asp_payment`); :func:`price_lines` prices lines of any dates.
ASP limits change every quarter: a date in April 2026 with only January 2026's file at hand is
priced on January's limits *with a note saying so*.
Plain arguments only; never imports :mod:`rvucalc.facade`.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ..calc import asp as rules
from ..errors import ChecksumError, MissingFileError
from ..iotools.asp import read_asp
from . import _load

SYSTEM = "asp"

__all__ = ["ASPRates", "SYSTEM", "for_date", "load", "price_lines", "rates_or_unavailable"]


class ASPRates:
    """One quarter's ASP payment limits (``table``: :func:`rvucalc.iotools.asp.read_asp`'s columns)."""

    system = SYSTEM
    available = True

    def __init__(self, loaded: _load.Loaded) -> None:
        self.loaded = loaded
        self.release = loaded.release
        self.year, self.quarter = loaded.year, loaded.quarter
        self.table: pd.DataFrame = loaded.tables["asp"]
        self.sources = loaded.sources
        self.note = loaded.note

    def __repr__(self) -> str:
        return f"<ASP {self.release.id}: {len(self.table)} rows{'; ' + self.note if self.note else ''}>"

    def price(self, hcpcs: Any, modifiers: Any = None, units: Any = None) -> pd.DataFrame:
        """:func:`rvucalc.calc.asp.asp_payment` on this quarter, plus ``reason_text``, ``release``
        and ``release_note`` columns (*modifiers* do not change an ASP limit)."""
        out = rules.asp_payment(self.table, hcpcs, modifiers, units)
        out["reason_text"] = _load.reason_texts(out["reason"].to_numpy(dtype=object))
        out["release"] = self.release.id
        out["release_note"] = self.note
        return out


def load(year: int, quarter: int = 1, *, mirror: str | os.PathLike[str] | None = None, download: bool = True,
         progress: bool = True) -> ASPRates:
    """The ASP pricing file of *year*'s *quarter* (another quarter of the same year, with a note, if that one is not at
    hand). Raises :class:`~rvucalc.errors.MissingFileError` naming what is missing and how to get it,
    :class:`~rvucalc.errors.ChecksumError` for a file that is not CMS's."""
    def make() -> ASPRates:
        return ASPRates(_load.load_release(SYSTEM, year, quarter, {"asp": read_asp}, mirror=mirror,
                                            download=download, progress=progress))

    return _load.cached((SYSTEM, year, quarter, _load.mirror_key(mirror), download), make)


def for_date(date_of_service: date | str, *, mirror: str | os.PathLike[str] | None = None,
             download: bool = True, progress: bool = True) -> ASPRates:
    """:func:`load` for the quarter of *date_of_service*."""
    y, q = _load.quarter_of(date_of_service)
    return load(y, q, mirror=mirror, download=download, progress=progress)


def rates_or_unavailable(year: int, quarter: int = 1, *, mirror: str | os.PathLike[str] | None = None,
                         download: bool = True, progress: bool = True) -> ASPRates | _load.Unavailable:
    """:func:`load`, or an :class:`~rvucalc.schedules._load.Unavailable` (falsy; its ``price`` gives
    reason ``ASP_RELEASE_MISSING`` with how to get the file) when no file of that year is at hand.
    A file that is not CMS's (checksum) is said the same way, never replaced."""
    try:
        return load(year, quarter, mirror=mirror, download=download, progress=progress)
    except (MissingFileError, ChecksumError) as exc:
        return _load.Unavailable(SYSTEM, year, quarter, str(exc))


def price_lines(dates: Any, hcpcs: Any, modifiers: Any = None, units: Any = None, *,
                mirror: str | os.PathLike[str] | None = None, download: bool = True,
                progress: bool = True) -> pd.DataFrame:
    """Price drug lines of any dates of service, each on its quarter's ASP file (columns of
    :meth:`ASPRates.price`; in input order). Lines of a year with no ASP file at hand get
    ``ASP_RELEASE_MISSING``; lines without a date ``FEE_BAD_DATE``."""
    code = np.asarray(hcpcs, dtype=object).reshape(-1)
    mods, u = _load.per_line(modifiers, len(code)), _load.per_line(units, len(code))

    def get(y: int, q: int) -> ASPRates | _load.Unavailable:
        return rates_or_unavailable(y, q, mirror=mirror, download=download, progress=progress)

    def price(rates: ASPRates | _load.Unavailable, idx: np.ndarray) -> pd.DataFrame:
        return rates.price(code[idx], None if mods is None else mods[idx], None if u is None else u[idx])

    return _load.price_lines(SYSTEM, get, price, dates, code)

