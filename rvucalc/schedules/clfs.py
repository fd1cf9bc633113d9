"""The Clinical Laboratory Fee Schedule of a quarter, chosen by date of service, and lab lines priced on it.

``load(2026, 1)`` / ``for_date("2026-03-10")`` give a :class:`CLFSRates` (the table, its release
and sources, a note when another quarter of the year stands in); :meth:`CLFSRates.price` prices
lines (:func:`rvucalc.calc.clfs.clfs_payment`); :func:`price_lines` prices lines of any dates.
Plain arguments only; never imports :mod:`rvucalc.facade`.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ..calc import clfs as rules
from ..errors import ChecksumError, MissingFileError
from ..iotools.clfs import read_clfs
from . import _load

SYSTEM = "clfs"

__all__ = ["CLFSRates", "SYSTEM", "for_date", "load", "price_lines", "rates_or_unavailable"]


class CLFSRates:
    """One quarter's CLFS (``table``: :func:`rvucalc.iotools.clfs.read_clfs`'s columns)."""

    system = SYSTEM
    available = True

    def __init__(self, loaded: _load.Loaded) -> None:
        self.loaded = loaded
        self.release = loaded.release
        self.year, self.quarter = loaded.year, loaded.quarter
        self.table: pd.DataFrame = loaded.tables["clfs"]
        self.sources = loaded.sources
        self.note = loaded.note

    def __repr__(self) -> str:
        return f"<CLFS {self.release.id}: {len(self.table)} rows{'; ' + self.note if self.note else ''}>"

    def price(self, hcpcs: Any, modifiers: Any = None, units: Any = None) -> pd.DataFrame:
        """:func:`rvucalc.calc.clfs.clfs_payment` on this quarter, plus ``reason_text``, ``release``
        and ``release_note`` columns."""
        out = rules.clfs_payment(self.table, hcpcs, modifiers, units)
        out["reason_text"] = _load.reason_texts(out["reason"].to_numpy(dtype=object))
        out["release"] = self.release.id
        out["release_note"] = self.note
        return out


def load(year: int, quarter: int = 1, *, mirror: str | os.PathLike[str] | None = None, download: bool = True,
         progress: bool = True) -> CLFSRates:
    """The CLFS of *year*'s *quarter* (another quarter of the same year, with a note, if that one is not at
    hand). Raises :class:`~rvucalc.errors.MissingFileError` naming what is missing and how to get it,
    :class:`~rvucalc.errors.ChecksumError` for a file that is not CMS's."""
    def make() -> CLFSRates:
        return CLFSRates(_load.load_release(SYSTEM, year, quarter, {"clfs": read_clfs}, mirror=mirror,
                                            download=download, progress=progress))

    return _load.cached((SYSTEM, year, quarter, _load.mirror_key(mirror), download), make)


def for_date(date_of_service: date | str, *, mirror: str | os.PathLike[str] | None = None,
             download: bool = True, progress: bool = True) -> CLFSRates:
    """:func:`load` for the quarter of *date_of_service*."""
    y, q = _load.quarter_of(date_of_service)
    return load(y, q, mirror=mirror, download=download, progress=progress)


def rates_or_unavailable(year: int, quarter: int = 1, *, mirror: str | os.PathLike[str] | None = None,
                         download: bool = True, progress: bool = True) -> CLFSRates | _load.Unavailable:
    """:func:`load`, or an :class:`~rvucalc.schedules._load.Unavailable` (falsy; its ``price`` gives
    reason ``CLFS_RELEASE_MISSING`` with how to get the file) when no file of that year is at hand.
    A file that is not CMS's (checksum) is said the same way, never replaced."""
    try:
        return load(year, quarter, mirror=mirror, download=download, progress=progress)
    except (MissingFileError, ChecksumError) as exc:
        return _load.Unavailable(SYSTEM, year, quarter, str(exc))


def price_lines(dates: Any, hcpcs: Any, modifiers: Any = None, units: Any = None, *,
                mirror: str | os.PathLike[str] | None = None, download: bool = True,
                progress: bool = True) -> pd.DataFrame:
    """Price lab lines of any dates of service, each on its quarter's CLFS (columns of
    :meth:`CLFSRates.price`; in input order). Lines of a year with no CLFS at hand get
    ``CLFS_RELEASE_MISSING``; lines without a date ``FEE_BAD_DATE``."""
    code = np.asarray(hcpcs, dtype=object).reshape(-1)
    mods, u = _load.per_line(modifiers, len(code)), _load.per_line(units, len(code))

    def get(y: int, q: int) -> CLFSRates | _load.Unavailable:
        return rates_or_unavailable(y, q, mirror=mirror, download=download, progress=progress)

    def price(rates: CLFSRates | _load.Unavailable, idx: np.ndarray) -> pd.DataFrame:
        return rates.price(code[idx], None if mods is None else mods[idx], None if u is None else u[idx])

    return _load.price_lines(SYSTEM, get, price, dates, code)

