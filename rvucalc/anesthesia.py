"""Anesthesia services priced for a place: ``fs.anesthesia("01402", minutes=90, zip=90012)``.

The rules are in :mod:`rvucalc.calc.anesthesia` ((base units + time units) ×
the locality's anesthesia CF; time units = minutes / 15 to one decimal; AA/QZ
100%, QK/QY/QX 50%, AD 3 base units). This module finds the numbers: the
anesthesia CF of the locality from the release's ``ANES`` member (national CF
from the catalogue when no place is given), and the base units from CMS's
base-unit file (catalogue system ``anes_base``) or from the user.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from . import catalogue
from .calc import anesthesia as calc
from .codes import split_code
from .errors import DownloadError, MissingFileError, UnsupportedModifierError
from .fetch import locate
from .iotools.anes_base import read_anes_base
from .loading import read_cached, source_of
from .models import LocalityInfo, Source
from .reasons import Reason, explain, reason

#: Anesthesia pricing modifiers (see :mod:`rvucalc.calc.anesthesia`).
MODIFIERS = frozenset(calc.MODIFIER_SHARE) - {""}

ANES_HINT = reason(
    "ANES_PRICED_BY_UNITS",
    "anesthesia code: priced from base and time units × the anesthesia CF; use "
    "fs.anesthesia(code, minutes=...) or `rvucalc anes CODE --minutes N`",
    "42 CFR 414.46(b)(1); Medicare Claims Processing Manual ch.12 s.50")


class AnesthesiaQuote(BaseModel):
    """One anesthesia service priced: units, CF, share and the amount (cents, half up)."""

    hcpcs: str
    modifier: str
    minutes: float | None
    base_units: float | None  # the code's base units (given or from the file)
    base_units_from: str  # "user" or the file's name
    allowed_base_units: float | None  # 3 under AD
    time_units: float
    total_units: float | None
    share: float | None
    conversion_factor: float | None
    conversion_factor_kind: str
    locality: LocalityInfo | None
    amount: float | None
    reasons: list[Reason] = []
    release: str
    sources: list[Source]

    def to_frame(self) -> pd.DataFrame:
        """One row; missing numbers NaN, text ``""`` when empty."""
        d = self.model_dump(exclude={"locality", "reasons", "sources"})
        d["locality_id"] = self.locality.locality_id if self.locality else "national"
        d["reason"] = "|".join(r.code for r in self.reasons)
        d["reason_text"] = "; ".join(r.message for r in self.reasons)
        d["sources"] = "; ".join(f"{s.release}:{s.file}" for s in self.sources)
        df = pd.DataFrame([d])
        for c in ("minutes", "base_units", "allowed_base_units", "total_units", "share", "conversion_factor",
                  "amount"):
            df[c] = df[c].astype(float)
        return df

    def render_items(self) -> list[Any]:
        from .render import Table, usd

        where = "national" if self.locality is None else f"{self.locality.locality_id} {self.locality.name}"
        t = Table(["code", "base units", "time units", "total units", "share", "anesthesia CF", "amount"],
                  numeric=["base units", "time units", "total units", "share", "anesthesia CF", "amount"])
        num = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
        t.rows.append([self.hcpcs + (f"-{self.modifier}" if self.modifier else ""),
                       num(self.allowed_base_units, "g"), f"{self.time_units:.1f}", num(self.total_units, "g"),
                       "-" if self.share is None else f"{self.share:.0%}",
                       "-" if self.conversion_factor is None else f"${self.conversion_factor:.4f}".rstrip("0"),
                       usd(self.amount)])
        mins = "no minutes" if self.minutes is None else f"{self.minutes:g} minutes"
        items: list[Any] = [f"anesthesia {self.hcpcs}, {mins}, {where}; CF {self.conversion_factor_kind}; "
                            f"base units from {self.base_units_from}", t]
        items += [f"{r.message} [{r.code}]" for r in self.reasons]
        items.append("sources:\n" + "\n".join(f"  {s}" for s in self.sources))
        return items

    def __str__(self) -> str:
        from .render import to_text

        return to_text(*self.render_items())


def base_units_table(year: int, *, mirror: Any = None, download: bool = False, progress: bool = False
                     ) -> tuple[pd.DataFrame, Source]:
    """CMS's base units for *year*, else the newest earlier year at hand (the source's note says
    which); :class:`MissingFileError` when none is at hand."""
    rels = [r for r in catalogue.releases("anes_base") if r.year <= year]
    errors: list[str] = []
    for r in reversed(rels):
        try:
            loc = locate(r, "anes_base", mirror=mirror, download=download, progress=progress)
        except (MissingFileError, DownloadError) as exc:
            errors.append(str(exc))
            continue
        note = "" if r.year == year else (f"CY{r.year} base units used for CY{year}: the newest "
                                          "base-unit file at hand")
        return read_cached(loc, read_anes_base), source_of(loc, note)
    raise MissingFileError(
        f"no anesthesia base-unit file for CY{year} or earlier is at hand"
        + (f" ({errors[0]})" if errors else "")
        + "; give base units (base_units=7, or --base-units 7), or place CMS's 'Anesthesia Base Units by "
          "CPT Code' file in RVUCALC_MIRROR (see data/anes_base)")


def conversion_factor(locality_id: str | None, qp: bool | None, *, release: Any,
                      anes: pd.DataFrame | None = None, anes_file: str = "") -> tuple[float | None, str]:
    """``(anesthesia CF, what it is)``: national from the catalogue entry of *release* without a
    locality, else the locality's row of CMS's anesthesia CF table *anes* (file *anes_file*);
    ``(None, ...)`` for a locality the table does not list."""
    use_qp = bool(qp)
    if locality_id is None:
        cfs = release.extra.get("anesthesia_conversion_factors", {})
        key = "qp" if use_qp else "nonqp"
        v = cfs.get(key)
        if v is None:
            raise MissingFileError(f"{release.id}: the catalogue has no national anesthesia CF ({key}); "
                                   "give a locality, ZIP or county")
        return float(v), f"national {'QP' if use_qp else 'non-QP'} (catalogue, {release.id})"
    assert anes is not None
    row = anes[anes["locality_id"] == locality_id]
    if row.empty:
        return None, "none for this locality"
    col = "anes_cf_qp" if use_qp else "anes_cf"
    v = float(row[col].iloc[0])
    if np.isnan(v):
        raise MissingFileError(f"{anes_file} has no QP anesthesia CF column")
    return v, f"{'QP' if use_qp else 'non-QP'} for {locality_id} ({anes_file})"


def check_code(hcpcs: str, modifier: str | None = None) -> tuple[str, str]:
    """``(code, modifier)`` of an anesthesia service; raises for a code outside 00100-01999 or a
    modifier that is not an anesthesia pricing modifier."""
    code, mod = split_code(hcpcs, modifier)
    if mod and mod not in MODIFIERS:
        raise UnsupportedModifierError(f"{code}-{mod}: anesthesia is priced with the pricing modifiers "
                                       "AA, QZ, QK, QY, QX or AD (or none: personally performed)")
    if not (code.isdigit() and "00100" <= code <= "01999"):
        raise UnsupportedModifierError(f"{code} is not an anesthesia code (00100-01999); use quote for it")
    return code, mod


def quote(code: str, modifier: str, minutes: float | None, *, base_units: float | None,
          base_units_from: str, conversion_factor: float | None, conversion_factor_kind: str,
          locality: LocalityInfo | None, release: str, sources: list[Source],
          present_at_induction: bool = False) -> AnesthesiaQuote:
    """Price one anesthesia service from plain values (see :meth:`rvucalc.FeeSchedule.anesthesia`,
    which finds them): base units (``None``: not in the base-unit file), minutes, the anesthesia
    CF of the place, the pricing modifier. Rules: :func:`rvucalc.calc.anesthesia.anesthesia_amount`."""
    mins = None if minutes is None else float(minutes)
    cf = conversion_factor
    r = calc.anesthesia_amount([code], [np.nan if base_units is None else base_units],
                               [np.nan if mins is None else mins], [np.nan if cf is None else cf],
                               [modifier], present_at_induction).iloc[0]
    why = [x for x in [explain(str(r["reason"]))] if x is not None]
    if mins is None and modifier != "AD" and code not in calc.NO_TIME_UNITS:
        why.append(calc.NO_MINUTES)
    ok = not np.isnan(r["amount"])
    return AnesthesiaQuote(
        hcpcs=code, modifier=modifier, minutes=mins, base_units=base_units, base_units_from=base_units_from,
        allowed_base_units=None if np.isnan(r["base_units"]) else float(r["base_units"]),
        time_units=float(r["time_units"]), total_units=None if np.isnan(r["total_units"]) else float(r["total_units"]),
        share=float(r["share"]) if not np.isnan(r["share"]) else None, conversion_factor=cf,
        conversion_factor_kind=conversion_factor_kind, locality=locality,
        amount=float(r["amount"]) if ok else None, reasons=why, release=release, sources=sources)


__all__ = ["ANES_HINT", "MODIFIERS", "AnesthesiaQuote", "base_units_table", "check_code",
           "conversion_factor", "quote"]
