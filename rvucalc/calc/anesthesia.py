"""Anesthesia fee schedule amount: (base units + time units) × anesthesia conversion factor.

Rules, each from CMS:

* **Amount** - "the product of the sum of allowable base and time units and an
  anesthesia-specific CF" (42 CFR 414.46(b)(1)); the CF is the locality's, from
  the ``ANES`` member of the PFS release.
* **Time units** - "the A/B MAC computes time units by dividing reported
  anesthesia time by 15 minutes. Round the time unit to one decimal place. The
  A/B MAC does not recognize time units for CPT codes 01995 or 01996"
  (Medicare Claims Processing Manual, Pub. 100-04, ch.12 s.50). So time units
  are fractional, to one decimal, rounded half up: 37 minutes = 2.5 units.
* **Modifiers** (Claims Processing Manual ch.12 s.50 and s.140; 42 CFR 414.46 and
  414.60):

  - ``AA`` anesthesia personally performed by an anesthesiologist: 100%;
  - ``QZ`` CRNA service without medical direction by a physician: 100% (the
    same allowance as a physician's; 42 CFR 414.60);
  - ``QK`` medical direction of two, three or four concurrent procedures,
    ``QY`` medical direction of one CRNA, ``QX`` CRNA service with medical
    direction: 50% each of the allowance for the service personally performed
    (services from 1998; 42 CFR 414.46(d) for the physician, 414.60 for the CRNA);
  - ``AD`` medical supervision of more than four concurrent procedures: three
    base units per procedure, plus one time unit when the anesthesiologist was
    present at induction, and no other time units (ch.12 s.50).

  No modifier is priced as personally performed (100%).

The amount is rounded to cents half up once, at the end
(:func:`rvucalc.calc.money.round_cents`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..reasons import reason
from .money import round_cents

#: Share of the personally-performed allowance paid per pricing modifier.
MODIFIER_SHARE: dict[str, float] = {"": 1.0, "AA": 1.0, "QZ": 1.0, "QK": 0.5, "QY": 0.5, "QX": 0.5, "AD": 1.0}
#: Base units allowed under medical supervision (AD), whatever the code's own base units.
AD_BASE_UNITS = 3.0
#: Codes with no time units (ch.12 s.50: 01995, 01996).
NO_TIME_UNITS = frozenset({"01995", "01996"})

_RULE = "Medicare Claims Processing Manual (Pub. 100-04) ch.12 s.50; 42 CFR 414.46"
MEDICALLY_DIRECTED = reason("ANES_MEDICAL_DIRECTION_50",
                            "medical direction (QK, QY or QX): 50% of the personally performed allowance",
                            "Claims Processing Manual ch.12 s.50 and s.140; 42 CFR 414.46(d), 414.60")
SUPERVISION_AD = reason("ANES_SUPERVISION_AD",
                        "medical supervision of more than four procedures (AD): 3 base units, plus 1 time unit "
                        "if present at induction, no other time units", _RULE)
NO_TIME = reason("ANES_NO_TIME_UNITS", "no time units are recognised for this code (01995, 01996)", _RULE)
NO_BASE = reason("ANES_NO_BASE_UNITS",
                 "no base units for this code: not in the base-unit file at hand and none given",
                 "CMS anesthesia base units by CPT code (Anesthesiologists Center); 42 CFR 414.46(a)(1)")
UNKNOWN_MODIFIER = reason("ANES_MODIFIER_UNKNOWN",
                          "not an anesthesia pricing modifier (AA, QZ, QK, QY, QX or AD)", _RULE)
NO_MINUTES = reason("ANES_NO_MINUTES", "no minutes given: base units only (no time units)", _RULE)
NO_CF = reason("ANES_NO_CF", "no anesthesia conversion factor for this locality in the ANES file",
               "CMS PFS release, ANES member (anesthesia CF by locality)")


def time_units(minutes: ArrayLike) -> np.ndarray:
    """Minutes / 15, rounded to one decimal place, half up (ch.12 s.50); NaN stays NaN."""
    m = np.asarray(minutes, dtype=float)
    tenths = m / 15.0 * 10.0
    return np.floor(tenths + 0.5 + 1e-9) / 10.0


def anesthesia_amount(
    hcpcs: ArrayLike,
    base_units: ArrayLike,
    minutes: ArrayLike,
    cf: ArrayLike,
    modifier: ArrayLike | None = None,
    present_at_induction: ArrayLike | bool = False,
) -> pd.DataFrame:
    """Vectorised anesthesia amounts, one row per input element.

    Columns: ``base_units`` (allowed: 3 under AD), ``time_units`` (allowed),
    ``total_units``, ``share`` (1.0 or 0.5), ``conversion_factor``, ``amount``
    (rounded to cents; NaN with a reason) and ``reason`` (``""`` or a code:
    ``ANES_NO_BASE_UNITS``, ``ANES_NO_CF``, ``ANES_MODIFIER_UNKNOWN``; informative
    ``ANES_MEDICAL_DIRECTION_50`` / ``ANES_SUPERVISION_AD`` / ``ANES_NO_TIME_UNITS``
    when the amount is paid with that rule).
    """
    code = np.asarray(hcpcs, dtype=object).astype(str)
    n = len(code)
    mod = (np.full(n, "", dtype=object) if modifier is None
           else np.char.upper(np.asarray(modifier, dtype=object).astype(str)).astype(object))
    mod = np.where(pd.isna(pd.Series(mod)).to_numpy() | (mod == "nan"), "", mod)
    base = np.broadcast_to(np.asarray(base_units, dtype=float), (n,)).copy()
    mins = np.broadcast_to(np.asarray(minutes, dtype=float), (n,)).copy()
    conv = np.broadcast_to(np.asarray(cf, dtype=float), (n,)).copy()
    induct = np.broadcast_to(np.asarray(present_at_induction, dtype=bool), (n,))
    known = np.isin(mod, list(MODIFIER_SHARE))
    share = pd.Series(mod).map(MODIFIER_SHARE).to_numpy(dtype=float, na_value=np.nan)
    is_ad = mod == "AD"
    no_time = np.isin(code, list(NO_TIME_UNITS))
    tu = np.where(no_time, 0.0, time_units(np.nan_to_num(mins, nan=0.0)))
    tu = np.where(is_ad, np.where(induct, 1.0, 0.0), tu)
    allowed_base = np.where(is_ad, AD_BASE_UNITS, base)
    total = allowed_base + tu
    amount = round_cents(total * conv * share)
    reasons = np.select(
        [~known, np.isnan(allowed_base), np.isnan(conv), is_ad, np.isin(mod, ["QK", "QY", "QX"]), no_time],
        [UNKNOWN_MODIFIER.code, NO_BASE.code, NO_CF.code, SUPERVISION_AD.code, MEDICALLY_DIRECTED.code,
         NO_TIME.code], "").astype(object)
    bad = ~known | np.isnan(allowed_base) | np.isnan(conv)
    return pd.DataFrame({
        "base_units": allowed_base, "time_units": tu, "total_units": total, "share": share,
        "conversion_factor": conv, "amount": np.where(bad, np.nan, amount), "reason": reasons,
    })


__all__ = ["AD_BASE_UNITS", "MODIFIER_SHARE", "NO_TIME_UNITS", "anesthesia_amount", "time_units"]
