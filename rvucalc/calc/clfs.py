"""Clinical Laboratory Fee Schedule (CLFS) payment rules, vectorised over claim lines.

Rules, and where they come from
-------------------------------
* **Payment** (42 CFR 414 subpart G, 414.507; Social Security Act §1833(h)): a clinical
  diagnostic laboratory test is paid at the lesser of the actual charge and the CLFS national
  limitation amount: the ``RATE`` of the test's row in CMS's CLFS file. There is no geographic
  adjustment. The charge is not known here, so the amount is the national limit; it is
  multiplied by the units of service and rounded to the cent once (half up).
* **Beneficiary share**: none. Part B coinsurance and deductible do not apply to clinical
  diagnostic laboratory tests paid on the fee schedule (Social Security Act §1833(a)(1)(D) and
  (b)(3)): ``beneficiary`` is 0 and ``medicare`` equals ``allowed``.
* **Which row**: CMS lists a test once without a modifier and, where the test is CLIA-waived,
  again with ``QW`` (same rate). A line takes the row whose modifiers are its pricing modifiers
  (those the file uses with the code, i.e. ``QW``); others (90, 91, 59 ...) do not change the row.
* **No national limit**: rows with ``RATE`` 0 (CMS's ``INDICATOR`` L, e.g. new PLA codes in
  their first year) are priced by the Medicare contractor (gapfilling, 42 CFR 414.508(b)): no
  amount here, with a reason. A code not in the quarter's file gets no amount and a reason.

Every dollar amount is rounded to cents half up, once, at the end (:mod:`rvucalc.calc.money`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..reasons import reason
from . import _lines
from .money import round_cents

__all__ = ["FEE_SCHEDULE", "NOT_ON_CLFS", "NO_NATIONAL_LIMIT", "MODIFIER_ABSENT", "clfs_payment"]

FEE_SCHEDULE = "clfs"
_RULE = "42 CFR 414 subpart G (414.507): CLFS national limitation amount; CMS CLFS public use file"

NOT_ON_CLFS = reason("CLFS_CODE_ABSENT",
                     "the code is not on this quarter's Clinical Laboratory Fee Schedule file",
                     _RULE)
NO_NATIONAL_LIMIT = reason(
    "CLFS_NO_NATIONAL_LIMIT",
    "the CLFS file gives no national limit for this test (rate 0.00, indicator L): the Medicare "
    "contractor prices it",
    "42 CFR 414.508(b) (gapfilling: contractor pricing of a new test); CMS CLFS public use file")
MODIFIER_ABSENT = reason(
    "CLFS_MODIFIER_ABSENT",
    "the CLFS file has no row for this code with the line's pricing modifier (or none without one)",
    _RULE)


def clfs_payment(table: pd.DataFrame, hcpcs: Any, modifiers: Any = None, units: Any = None) -> pd.DataFrame:
    """Price claim lines on the CLFS.

    Parameters
    ----------
    table : DataFrame
        The quarter's CLFS as :func:`rvucalc.iotools.clfs.read_clfs` returns it (``hcpcs``,
        ``modifier``, ``rate``, ``indicator``).
    hcpcs : array-like of str
        One code per line.
    modifiers : None, or one string (``"QW"``, ``"QW 91"``) or list of modifiers per line.
    units : None (1 each) or one number per line.

    Returns
    -------
    DataFrame, one row per line in input order: ``hcpcs``, ``modifier`` (the row's modifier used,
    ``""`` if none), ``indicator``, ``rate`` (the national limit, NaN where none), ``units``,
    ``allowed`` (rate x units, rounded to the cent), ``beneficiary`` (0.0), ``medicare``
    (= allowed), ``reason`` (``""`` where payable, else a code of :mod:`rvucalc.reasons`),
    ``fee_schedule`` (``"clfs"``). Amounts are NaN where there is a reason.
    """
    code = _lines.codes(hcpcs)
    n = len(code)
    u, bad_units = _lines.units(units, n)
    m = _lines.match_rows(table["hcpcs"].to_numpy(dtype=object), [table["modifier"].to_numpy(dtype=object)],
                          code, modifiers)
    rate = _lines.take(table["rate"].to_numpy(dtype=float), m.row)
    indicator = _lines.take(table["indicator"].to_numpy(dtype=object), m.row, "")
    no_limit = (m.row >= 0) & ~(rate > 0)
    why = _lines.first_reason((~m.known, NOT_ON_CLFS.code), (m.known & (m.row < 0), MODIFIER_ABSENT.code),
                              (no_limit, NO_NATIONAL_LIMIT.code), (bad_units, _lines.BAD_UNITS.code), n=n)
    ok = why == ""
    allowed = np.where(ok, round_cents(np.where(ok, rate * u, 0.0)), np.nan)
    return pd.DataFrame({
        "hcpcs": code, "modifier": _lines.take(table["modifier"].to_numpy(dtype=object), m.row, ""),
        "indicator": indicator, "rate": np.where(rate > 0, rate, np.nan), "units": u,
        "allowed": allowed, "beneficiary": np.where(ok, 0.0, np.nan), "medicare": allowed,
        "reason": why, "fee_schedule": FEE_SCHEDULE,
    })
