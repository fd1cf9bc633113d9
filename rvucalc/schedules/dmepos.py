"""The DMEPOS and PEN fee schedules of a quarter (with CMS's DMEPOS rural ZIP file), chosen by date of
service, and DME lines priced on them.

``load(2026, 1)`` / ``for_date("2026-03-10")`` give a :class:`DMEPOSRates`: ``table`` (the DMEPOS
file and, where at hand, the PEN file, one table with a ``schedule`` column), ``rural_zip`` (the
rural ZIP file, or None with ``missing["rural_zip"]`` saying why), ``limit_violations`` (fees
outside their floor and ceiling: none in CMS's January 2026 file), its release, sources and note.
:meth:`DMEPOSRates.price` prices lines by state and rural status
(:func:`rvucalc.calc.dmepos.dmepos_payment`): a line's ``rural`` value wins; else its ZIP code
on the rural ZIP file; else rural is unknown and, where the item's rural and non-rural fees
differ, the line gets no amount and a reason saying how to supply it. Plain arguments only;
never imports :mod:`rvucalc.facade`.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ..calc import dmepos as rules
from ..errors import ChecksumError, MissingFileError
from ..iotools.dmepos import read_dmepos, read_pen, read_rural_zip
from . import _load

SYSTEM = "dmepos"

__all__ = ["DMEPOSRates", "SYSTEM", "for_date", "load", "price_lines", "rates_or_unavailable"]


class DMEPOSRates:
    """One quarter's DMEPOS (+ PEN) fees and rural ZIP codes."""

    system = SYSTEM
    available = True

    def __init__(self, loaded: _load.Loaded) -> None:
        self.loaded = loaded
        self.release = loaded.release
        self.year, self.quarter = loaded.year, loaded.quarter
        parts = [loaded.tables["dmepos"].assign(schedule="dmepos")]
        if "pen" in loaded.tables:
            parts.append(loaded.tables["pen"].assign(schedule="pen"))
        self.table: pd.DataFrame = pd.concat(parts, ignore_index=True)
        self.rural_zip: pd.DataFrame | None = loaded.tables.get("rural_zip")
        self.missing = dict(loaded.missing)
        self.sources = loaded.sources
        self.limit_violations = rules.limit_violations(self.table)
        notes = [loaded.note] if loaded.note else []
        if len(self.limit_violations):
            notes.append(f"{len(self.limit_violations)} fee(s) of {self.release.id} lie outside their floor and "
                         "ceiling: lines priced on them get no amount (DMEPOS_OUTSIDE_LIMITS)")
        self.note = "; ".join(notes)

    def __repr__(self) -> str:
        return f"<DMEPOS {self.release.id}: {len(self.table)} rows{'; ' + self.note if self.note else ''}>"

    def rural(self, rural: Any = None, zip: Any = None, n: int | None = None) -> np.ndarray:
        """Per line: the line's own ``rural`` value where it has one (Y/N ...), else 1/0 from its ZIP on
        the rural ZIP file (NaN where the ZIP is missing or the file is not at hand). Unreadable
        values are kept as given, so the pricing names them."""
        size = n if n is not None else len(np.asarray(rural if rural is not None else zip, dtype=object).reshape(-1))
        given, unreadable = rules.rural_values(_load.per_line(rural, size), size)
        from_zip = rules.rural_from_zip(_load.per_line(zip, size), self.rural_zip, size)
        out = np.where(np.isnan(given), from_zip, given).astype(object)
        if unreadable.any():
            raw = _load.per_line(rural, size)
            out[unreadable] = raw[unreadable]
        return out

    def price(self, hcpcs: Any, modifiers: Any = None, units: Any = None, *, state: Any = None,
              rural: Any = None, zip: Any = None) -> pd.DataFrame:
        """:func:`rvucalc.calc.dmepos.dmepos_payment` on this quarter, rural status from *rural*, else
        from *zip* on the rural ZIP file; plus ``reason_text``, ``release`` and ``release_note``."""
        code = np.asarray(hcpcs, dtype=object).reshape(-1)
        n = len(code)
        out = rules.dmepos_payment(self.table, code, modifiers, units, state=state,
                                   rural=self.rural(rural, zip, n))
        override = {}
        if self.rural_zip is None:
            why = self.missing.get("rural_zip", "it is not in the catalogue for this release")
            override[rules.RURAL_UNKNOWN.code] = (
                f"{rules.RURAL_UNKNOWN.message}. CMS's DMEPOS rural ZIP code file of {self.release.id} is not at "
                f"hand: {why}")
        out["reason_text"] = _load.reason_texts(out["reason"].to_numpy(dtype=object), override)
        out["release"] = self.release.id
        out["release_note"] = self.note
        return out


def load(year: int, quarter: int = 1, *, mirror: str | os.PathLike[str] | None = None, download: bool = True,
         progress: bool = True) -> DMEPOSRates:
    """The DMEPOS fee schedule of *year*'s *quarter* (another quarter of the same year, with a note, if
    that one is not at hand), with its PEN and rural ZIP files where at hand (their absence is
    noted, never hidden). Raises :class:`~rvucalc.errors.MissingFileError` /
    :class:`~rvucalc.errors.ChecksumError` as :func:`rvucalc.schedules.clfs.load` does."""
    def make() -> DMEPOSRates:
        return DMEPOSRates(_load.load_release(
            SYSTEM, year, quarter, {"dmepos": read_dmepos, "pen": read_pen, "rural_zip": read_rural_zip},
            optional=("pen", "rural_zip"), mirror=mirror, download=download, progress=progress))

    return _load.cached((SYSTEM, year, quarter, _load.mirror_key(mirror), download), make)


def for_date(date_of_service: date | str, *, mirror: str | os.PathLike[str] | None = None,
             download: bool = True, progress: bool = True) -> DMEPOSRates:
    """:func:`load` for the quarter of *date_of_service*."""
    y, q = _load.quarter_of(date_of_service)
    return load(y, q, mirror=mirror, download=download, progress=progress)


def rates_or_unavailable(year: int, quarter: int = 1, *, mirror: str | os.PathLike[str] | None = None,
                         download: bool = True, progress: bool = True) -> DMEPOSRates | _load.Unavailable:
    """:func:`load`, or an :class:`~rvucalc.schedules._load.Unavailable` (falsy; reason
    ``DMEPOS_RELEASE_MISSING`` with how to get the file) when no DMEPOS file of that year is at hand."""
    try:
        return load(year, quarter, mirror=mirror, download=download, progress=progress)
    except (MissingFileError, ChecksumError) as exc:
        return _load.Unavailable(SYSTEM, year, quarter, str(exc))


def price_lines(dates: Any, hcpcs: Any, modifiers: Any = None, units: Any = None, *, state: Any = None,
                rural: Any = None, zip: Any = None, mirror: str | os.PathLike[str] | None = None,
                download: bool = True, progress: bool = True) -> pd.DataFrame:
    """Price DME lines of any dates of service, each on its quarter's DMEPOS/PEN file (columns of
    :meth:`DMEPOSRates.price`; in input order). Lines of a year with no DMEPOS file at hand get
    ``DMEPOS_RELEASE_MISSING``; lines without a date ``FEE_BAD_DATE``."""
    code = np.asarray(hcpcs, dtype=object).reshape(-1)
    n = len(code)
    mods, u = _load.per_line(modifiers, n), _load.per_line(units, n)
    st, ru, zp = _load.per_line(state, n), _load.per_line(rural, n), _load.per_line(zip, n)

    def get(y: int, q: int) -> DMEPOSRates | _load.Unavailable:
        return rates_or_unavailable(y, q, mirror=mirror, download=download, progress=progress)

    def sub(a: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
        return None if a is None else a[idx]

    def price(rates: DMEPOSRates | _load.Unavailable, idx: np.ndarray) -> pd.DataFrame:
        return rates.price(code[idx], sub(mods, idx), sub(u, idx), state=sub(st, idx), rural=sub(ru, idx),
                           zip=sub(zp, idx))

    return _load.price_lines(SYSTEM, get, price, dates, code)
