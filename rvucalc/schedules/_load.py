"""Choosing and loading the quarter's release of a fee schedule (CLFS, ASP, DMEPOS) by date of service.

Plain arguments only (year and quarter or a date, mirror folder, downloads on/off, progress
bar): this module imports neither :mod:`rvucalc.facade` nor :mod:`rvucalc.sites`. Files are found
and checked by :func:`rvucalc.fetch.locate` (mirror, cache, download; sha256 from the catalogue,
else trust on first use) and parsed through :func:`rvucalc.loading.read_cached`.

Which release: the one of the date's year and quarter. When that quarter is not catalogued or its
file is not at hand, another quarter **of the same year** is used (the nearest earlier one first,
then later ones), and a note says so; never another year. A file whose checksum does not match is
refused (:class:`~rvucalc.errors.ChecksumError`), never replaced by another quarter's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from .. import arguments, catalogue
from ..catalogue import Release
from ..errors import ChecksumError, DownloadError, MissingFileError
from ..fetch import locate, offline
from ..loading import read_cached, source_of
from ..models import Source
from ..reasons import Reason, explain, reason

MONTHS = ("January", "April", "July", "October")
NAMES = {"clfs": "Clinical Laboratory Fee Schedule", "asp": "ASP drug pricing file",
         "dmepos": "DMEPOS fee schedule"}

NO_RELEASE: dict[str, Reason] = {
    "clfs": reason("CLFS_RELEASE_MISSING",
                   "the quarter's Clinical Laboratory Fee Schedule file is not at hand, so the lab test is not "
                   "priced (it is paid under the CLFS, not the PFS)",
                   "CMS publishes the CLFS quarterly (see the catalogue's page/url)"),
    "asp": reason("ASP_RELEASE_MISSING",
                  "the quarter's ASP drug pricing file is not at hand, so the drug is not priced (it is paid from "
                  "the ASP file, not the PFS)",
                  "CMS publishes the ASP pricing files quarterly (see the catalogue's page/url)"),
    "dmepos": reason("DMEPOS_RELEASE_MISSING",
                     "the quarter's DMEPOS fee schedule file is not at hand, so the item is not priced (it is paid "
                     "under the DMEPOS fee schedule, not the PFS)",
                     "CMS publishes the DMEPOS fee schedule quarterly (see the catalogue's page/url)"),
}
BAD_DATE = reason("FEE_BAD_DATE", "date of service missing or not a date, so no quarter's fee schedule can be "
                  "chosen", "claim line input (date of service)")


def quarter_of(when: date | datetime | str | pd.Timestamp) -> tuple[int, int]:
    """``(year, quarter)`` of a date of service (``"2026-03-10"`` -> ``(2026, 1)``)."""
    ts = pd.Timestamp(when)
    if pd.isna(ts):
        raise ValueError(f"{when!r} is not a date of service")
    return int(ts.year), (int(ts.month) - 1) // 3 + 1


def period_label(year: int, quarter: int) -> str:
    """``"January 2026 (Q1)"``."""
    return f"{MONTHS[quarter - 1]} {year} (Q{quarter})"


def _quarter(r: Release) -> int:
    if r.quarter:
        return int(r.quarter)
    if r.effective:
        return (int(str(r.effective)[5:7]) - 1) // 3 + 1
    return 1


def candidates(system: str, year: int, quarter: int) -> list[Release]:
    """The year's releases of *system*: the quarter asked first, then earlier quarters (nearest
    first), then later ones. Never another year."""
    rels = catalogue.for_year(system, year)  # newest first
    return sorted(rels, key=lambda r: (0 if _quarter(r) == quarter else 1 if _quarter(r) < quarter else 2,
                                       abs(_quarter(r) - quarter), -r.order[1]))


def how_to_get(system: str, year: int, quarter: int) -> str:
    """Where CMS's file for the quarter comes from, in one clause."""
    want = [r for r in catalogue.for_year(system, year) if _quarter(r) == quarter]
    if want:
        r = want[0]
        where = r.url or r.page or "the CMS website"
        return (f"download {where} into the folder named by RVUCALC_MIRROR"
                + (f" or run `rvucalc fetch {r.id}` where cms.gov can be reached" if r.url else ""))
    return (f"CMS publishes it quarterly; the {period_label(year, quarter)} release is not in rvucalc's "
            "release catalogue yet")


@dataclass
class Loaded:
    """The tables of one release, how they were found, and what the caller should be told."""

    system: str
    year: int
    quarter: int  # the quarter asked for
    release: Release
    tables: dict[str, pd.DataFrame]
    sources: list[Source]
    note: str = ""  # another quarter used, optional tables missing ...
    missing: dict[str, str] = field(default_factory=dict)  # optional table -> why it is not at hand


def load_release(system: str, year: int, quarter: int, tables: dict[str, Callable[..., pd.DataFrame]], *,
                 optional: tuple[str, ...] = (), mirror: str | os.PathLike[str] | None = None,
                 download: bool = True, progress: bool = True) -> Loaded:
    """Load *tables* (table name -> reader) of *system*'s release for *year* and *quarter*.

    Raises :class:`MissingFileError` (one sentence: what is missing and how to get it) when no
    release of that year is at hand, and :class:`ChecksumError` when a file is not CMS's.
    """
    year = arguments.year(year)
    quarter = arguments.quarter(quarter)
    tried: list[str] = []
    for rel in candidates(system, year, quarter):
        got: dict[str, pd.DataFrame] = {}
        sources: list[Source] = []
        missing: dict[str, str] = {}
        failed = False
        for table, reader in tables.items():
            if table not in rel.files:
                if table in optional:
                    missing[table] = f"{rel.label} has no {table!r} table in the catalogue"
                    continue
                failed = True
                tried.append(f"{rel.id} has no {table!r} table")
                break
            try:
                loc = locate(rel, table, mirror=mirror, download=download, progress=progress)
            except ChecksumError:
                raise  # a damaged or edited file is reported, never replaced by another quarter's
            except (MissingFileError, DownloadError) as exc:
                if table in optional:
                    missing[table] = str(exc)
                    continue
                failed = True
                tried.append(str(exc))
                break
            got[table] = read_cached(loc, reader)
            sources.append(source_of(loc))
        if failed:
            continue
        notes = []
        if _quarter(rel) != quarter:
            listed = any(_quarter(r) == quarter for r in catalogue.for_year(system, year))
            why = "its file could not be had" if listed else "it is not in rvucalc's catalogue"
            notes.append(f"CMS's {NAMES.get(system, system)} for {period_label(year, quarter)} is not at hand "
                         f"({why}); {rel.label} ({rel.id}), of the same year, is used instead")
        for t, why in missing.items():
            notes.append(f"table {t!r} of {rel.id} is not at hand: {why}")
        return Loaded(system, year, quarter, rel, got, sources, "; ".join(notes), missing)
    raise MissingFileError(unavailable_text(system, year, quarter, download, tried))


def unavailable_text(system: str, year: int, quarter: int, download: bool, tried: list[str]) -> str:
    """``CMS's CY2026 ASP drug pricing file is not at hand for April 2026 (Q2) (...): download ...``"""
    have = catalogue.for_year(system, year)
    if not have:
        cause = f"no {NAMES.get(system, system)} release of {year} is in rvucalc's catalogue"
    elif not download or offline():
        cause = "not in the mirror or the cache, and downloads are off"
    else:
        cause = "not in the mirror or the cache, and the download failed"
    return (f"CMS's {NAMES.get(system, system)} for {period_label(year, quarter)} is not at hand ({cause}; no "
            f"other quarter of {year} either, and another year's is never used): "
            f"{how_to_get(system, year, quarter)}.")


# ----------------------------------------------------------------------------- one process's tables

_CACHE: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def cached(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """*make()* once per process and *key* (successful loads only; a failure is tried again)."""
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    value = make()
    with _LOCK:
        _CACHE.setdefault(key, value)
        return _CACHE[key]


def clear_cache() -> None:
    """Forget the tables loaded in this process (e.g. after files in the mirror changed)."""
    with _LOCK:
        _CACHE.clear()


def mirror_key(mirror: str | os.PathLike[str] | None) -> str:
    return os.fspath(mirror) if mirror is not None else os.environ.get("RVUCALC_MIRROR", "")


# ----------------------------------------------------------------------------- results


def reason_texts(codes: np.ndarray, override: dict[str, str] | None = None) -> np.ndarray:
    """Plain words for each reason code (``""`` where none); *override* replaces a code's words."""
    inv, uniq = pd.factorize(pd.Series(codes, dtype=object).fillna(""))
    words = np.array([(override or {}).get(c) or (explain(c).message if c else "") for c in uniq], dtype=object)
    return words[inv] if len(words) else np.zeros(0, dtype=object)


class Unavailable:
    """Stands in for a quarter's tables when no file of that year is at hand.

    :meth:`price` gives every line no amount and :attr:`reason` (its message says what is missing
    and how to get it). It is falsy, like :class:`rvucalc.sites.UnavailableRates`.
    """

    available = False

    def __init__(self, system: str, year: int, quarter: int, message: str) -> None:
        base = NO_RELEASE[system]
        self.system, self.year, self.quarter = system, year, quarter
        self.reason = Reason(code=base.code, message=message, rule=base.rule)
        self.release = None
        self.sources: list[Source] = []
        self.note = message

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<{self.system.upper()} {period_label(self.year, self.quarter)} unavailable: {self.reason.message}>"

    def price(self, hcpcs: Any, *_args: Any, **_kw: Any) -> pd.DataFrame:
        """The lines asked, with no amount and the reason (code and words)."""
        code = pd.Series(np.asarray(hcpcs, dtype=object).reshape(-1), dtype=object).astype(str).str.strip().str.upper()
        n = len(code)
        return pd.DataFrame({"hcpcs": code.to_numpy(dtype=object), "allowed": np.full(n, np.nan),
                             "beneficiary": np.full(n, np.nan), "medicare": np.full(n, np.nan),
                             "reason": self.reason.code, "reason_text": self.reason.message,
                             "fee_schedule": self.system, "release": "", "release_note": self.note})


def by_date(dates: Any, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(year, quarter, ok)`` per line from dates of service (vectorised; bad dates not ok)."""
    arr = np.asarray(dates, dtype=object).reshape(-1)
    if arr.size == 1 and n != 1:
        arr = np.repeat(arr, n)
    if arr.size != n:
        raise ValueError(f"dates: {arr.size} values for {n} lines")
    ts = pd.to_datetime(pd.Series(arr, dtype=object), errors="coerce", format="mixed")
    ok = ts.notna().to_numpy()
    year = np.where(ok, ts.dt.year.fillna(0).to_numpy(dtype=np.int64), 0)
    quarter = np.where(ok, (ts.dt.month.fillna(1).to_numpy(dtype=np.int64) - 1) // 3 + 1, 0)
    return year, quarter, ok


def per_line(values: Any, n: int) -> np.ndarray | None:
    """*values* as a 1-D object array of *n* items (one value repeated; lists kept as items); None stays None."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or np.ndim(values) == 0:
        items = [values] * n
    else:
        items = list(values)
    if len(items) != n:
        raise ValueError(f"{len(items)} values for {n} lines")
    out = np.empty(n, dtype=object)
    out[:] = items if n else []
    return out


def price_lines(system: str, get: Callable[[int, int], Any], price: Callable[[Any, np.ndarray], pd.DataFrame],
                dates: Any, hcpcs: Any) -> pd.DataFrame:
    """Price lines whose dates of service may fall in several quarters: one vectorised call per
    quarter (``get(year, quarter)`` gives the tables or an :class:`Unavailable`; ``price(tables,
    idx)`` prices the lines at positions *idx*). Lines without a usable date get ``FEE_BAD_DATE``.
    Rows come back in input order."""
    code = pd.Series(np.asarray(hcpcs, dtype=object).reshape(-1), dtype=object)
    n = len(code)
    year, quarter, ok = by_date(dates, n)
    parts: list[pd.DataFrame] = []
    if ok.any():
        pairs = pd.DataFrame({"y": year[ok], "q": quarter[ok]}).drop_duplicates()
        for y, q in pairs.itertuples(index=False):
            idx = np.flatnonzero(ok & (year == y) & (quarter == q))
            part = price(get(int(y), int(q)), idx)
            part.index = idx
            parts.append(part)
    if (~ok).any():
        idx = np.flatnonzero(~ok)
        parts.append(pd.DataFrame({"hcpcs": code.iloc[idx].astype(str).str.strip().str.upper().to_numpy(dtype=object),
                                   "allowed": np.nan, "beneficiary": np.nan, "medicare": np.nan,
                                   "reason": BAD_DATE.code, "reason_text": BAD_DATE.message,
                                   "fee_schedule": system, "release": "", "release_note": ""}, index=idx))
    out = pd.concat(parts).sort_index() if parts else pd.DataFrame(
        {"hcpcs": [], "allowed": [], "beneficiary": [], "medicare": [], "reason": [], "reason_text": []})
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype(object).where(out[c].notna(), "")
    return out.reset_index(drop=True)


__all__ = ["BAD_DATE", "Loaded", "NO_RELEASE", "Unavailable", "by_date", "cached", "candidates", "clear_cache",
           "how_to_get", "load_release", "per_line", "period_label", "price_lines", "quarter_of", "reason_texts",
           "unavailable_text"]
