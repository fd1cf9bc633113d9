"""Part B drug payment rules from CMS's quarterly ASP pricing file, vectorised over claim lines.

Rules, and where they come from
-------------------------------
* **Payment limit** (Social Security Act §1847A; 42 CFR 414.904): a Part B drug paid under the
  ASP methodology is paid at 106% of its average sales price (or the statutory alternative, e.g.
  the 8% add-on of biosimilars), per billing unit of the HCPCS code's dosage. CMS's file prints
  that limit per unit (``Payment Limit``, three decimals), already computed; it is used as given.
* **Allowed amount** = payment limit x units billed (units of the HCPCS dosage: 200 units of
  J9271 "1 MG" = 200 mg), **rounded to the cent once**, half up. January 2026: J9271 59.726 x 200
  = $11,945.20.
* **Beneficiary share**: the file's ``Co-insurance Percentage`` of the allowed amount (20% under
  §1833(a)(1); lower for Part B rebatable drugs whose coinsurance the Inflation Reduction Act
  adjusts, §1847A(i)(5), e.g. J0897 17.585% in January 2026; 0% for the vaccines Part B covers
  without coinsurance), rounded to the cent once; ``medicare`` = ``allowed`` - ``beneficiary``,
  so the three add up to the cent. The annual Part B deductible is not applied (per-line
  amounts, not a claim).
* **No limit**: where the file prints ``N/A`` (the Medicare contractor prices the drug, e.g.
  A9606 on AWP) or the code is not in the quarter's file (e.g. not-otherwise-classified codes),
  there is no amount and a reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..reasons import reason
from . import _lines
from .money import round_cents

__all__ = ["FEE_SCHEDULE", "NOT_ON_ASP", "NO_LIMIT", "asp_payment"]

FEE_SCHEDULE = "asp"
_RULE = "42 CFR 414.904 (average sales price as the basis for payment); CMS ASP pricing file"

NOT_ON_ASP = reason("ASP_CODE_ABSENT",
                    "the code is not on this quarter's ASP pricing file: the Medicare contractor prices it "
                    "(e.g. a not-otherwise-classified drug code)", _RULE)
NO_LIMIT = reason("ASP_NO_LIMIT",
                  "the ASP pricing file gives no payment limit for this code (N/A): the Medicare contractor "
                  "determines the payment (see the file's notes)", _RULE)


def asp_payment(table: pd.DataFrame, hcpcs: Any, modifiers: Any = None, units: Any = None) -> pd.DataFrame:
    """Price Part B drug lines from one quarter's ASP pricing file.

    Parameters
    ----------
    table : DataFrame
        As :func:`rvucalc.iotools.asp.read_asp` returns it (``hcpcs``, ``dosage``,
        ``payment_limit``, ``coinsurance_pct``, ``notes``).
    hcpcs : array-like of str
        One code per line.
    modifiers : ignored (accepted so that every fee schedule takes the same arguments): the file
        has one limit per code, and JW/JZ (drug wasted / not wasted) do not change it.
    units : None (1 each) or one number per line: billing units of the code's dosage.

    Returns
    -------
    DataFrame, one row per line in input order: ``hcpcs``, ``dosage``, ``payment_limit`` (per
    unit, as printed), ``coinsurance_pct``, ``units``, ``allowed`` (limit x units, rounded to the
    cent), ``beneficiary`` (coinsurance % of allowed, rounded to the cent), ``medicare`` (allowed
    - beneficiary), ``notes`` (the file's), ``reason`` (``""`` where payable), ``fee_schedule``
    (``"asp"``). Amounts are NaN where there is a reason.
    """
    code = _lines.codes(hcpcs)
    n = len(code)
    u, bad_units = _lines.units(units, n)
    m = _lines.match_rows(table["hcpcs"].to_numpy(dtype=object), [], code, None)
    limit = _lines.take(table["payment_limit"].to_numpy(dtype=float), m.row)
    pct = _lines.take(table["coinsurance_pct"].to_numpy(dtype=float), m.row)
    why = _lines.first_reason((m.row < 0, NOT_ON_ASP.code), ((m.row >= 0) & np.isnan(limit), NO_LIMIT.code),
                              (bad_units, _lines.BAD_UNITS.code), n=n)
    ok = why == ""
    allowed = np.where(ok, round_cents(np.where(ok, limit * u, 0.0)), np.nan)
    share = np.where(ok, round_cents(np.where(ok, allowed * pct / 100.0, 0.0)), np.nan)
    return pd.DataFrame({
        "hcpcs": code, "dosage": _lines.take(table["dosage"].to_numpy(dtype=object), m.row, ""),
        "payment_limit": limit, "coinsurance_pct": pct, "units": u, "allowed": allowed,
        "beneficiary": share, "medicare": np.round(allowed - share, 2),
        "notes": _lines.take(table["notes"].to_numpy(dtype=object), m.row, ""),
        "reason": why, "fee_schedule": FEE_SCHEDULE,
    })
