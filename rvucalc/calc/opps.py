"""Hospital outpatient (OPPS) pricing from Addendum B, vectorised.

Rules implemented, and where they come from
-------------------------------------------
* **Wage adjustment** (42 CFR 419.43(a)–(c); CY OPPS final rules, section II.C):
  60% of the national payment rate (the labor-related share) is multiplied by the
  hospital's IPPS wage index; 40% is not::

      adjusted = rate × (0.60 × wage_index + 0.40)

  419.43(a) applies the same adjustment to the national beneficiary copayment.
  Drugs and biologicals with status indicator G, K or K1 are paid at national
  ASP-based amounts and are *not* wage adjusted (set ``wage_adjust_si`` to change).
* **Copayment** (42 CFR 419.40(b), 419.41, 419.43(a); Social Security Act §1833(t)(8)):
  the unadjusted copayment is the larger of Addendum B's *National Unadjusted
  Copayment* and its *Minimum Unadjusted Copayment*: 419.40(b)(1) defines the
  coinsurance percentage as "the greater of ... the ratio of the APC group
  unadjusted copayment amount to the annual APC group payment rate, or 20
  percent"; CMS prints the minimum as 20% of the rate rounded up to the cent,
  ``$0.00`` for preventive services whose coinsurance is waived, and ``.`` for
  the national copayment where it equals the minimum. If neither is printed, 20%
  of the rate is used. For Part B rebatable drugs with an *IRA Coinsurance
  percentage* (inflation-adjusted coinsurance, §1833(t)(8)(F) as added by the
  Inflation Reduction Act; 42 CFR 419.41(e), 427.201) the copayment is that
  percentage of the rate; where CMS prints an *Adjusted Beneficiary Copayment*
  below the inpatient deductible for such a row, CMS's own figure is used (it is
  computed from the unrounded percentage).
  The unadjusted copayment is wage adjusted like the payment (419.43(a): the wage
  adjustment factor applies to "the portion of the APC payment and national
  beneficiary copayment amount attributable to labor-related costs") and then
  **capped** at the inpatient hospital deductible for the year
  (§1833(t)(8)(C)(i); 42 CFR 419.41(c)(4)): $1,632 (2024), $1,676 (2025),
  $1,736 (2026). The cap only ever lowers a copayment; it never raises one.
  Addendum B prints the deductible as the *Adjusted Beneficiary Copayment* of
  rows whose wage-adjusted copayment can reach it somewhere ("Copayments capped
  at inpatient deductible of $1,676.00."), including 17 CY2025 rows whose
  unadjusted copayment is below it (APC 5222, e.g. 33210: rate $8,275.98,
  minimum copayment $1,655.20, so $1,655.20 at wage index 1.0 and $1,676.00 only
  where 1,655.20 x (0.6 x wage index + 0.4) exceeds it). That printed figure is
  therefore never used as the copayment of a non-IRA row.
  Status indicators H, H1, L and F carry no OPPS copayment. The Part B
  deductible is not applied (these are per-service amounts, not a claim).
* **Medicare's share** = wage-adjusted payment − beneficiary copayment, both
  rounded, so the three amounts add up to the cent.
* **Multiple procedure discount** (status indicator T; Medicare Claims Processing
  Manual, Pub. 100-04, ch. 4 §10.5 / Addendum D1): on one claim the T procedure
  with the highest payment is paid in full and every other T procedure at 50%.
* **Discontinued and reduced procedures** (42 CFR 419.44(b); Pub. 100-04 ch. 4
  §20.6.4): modifier 73 or 52 on a procedure (:data:`TERMINATED_SI`) pays 50% of the
  APC payment and of the copayment, once (:func:`terminated_units`); 74 pays in full.
  Applied to claim lines by :mod:`rvucalc.claims.opps`.

Status-indicator meanings follow CMS's Addendum D1 (OPPS payment status
indicators). Rows with no separate OPPS payment keep NaN amounts and a reason
code in the ``reason`` column (``""`` where payable); the codes are registered
with :mod:`rvucalc.reasons`.

Rounding: every dollar amount returned here is rounded to cents half-up, once,
at the end (:func:`round_cents`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UnknownCodeError
from ..reasons import Reason, explain, reason
from .groups import first_full_rest_half

__all__ = [
    "LABOR_SHARE",
    "INPATIENT_DEDUCTIBLE",
    "TERMINATED_SHARE",
    "TERMINATED_SI",
    "terminated_units",
    "NOT_WAGE_ADJUSTED_SI",
    "NO_COPAY_SI",
    "STATUS_INDICATORS",
    "StatusIndicator",
    "round_cents",
    "inpatient_deductible",
    "status_reason",
    "opps_payment",
    "t_discount",
    "national_rate",
]

#: OPPS labor-related share of the payment rate (42 CFR 419.43(b); 60% since the OPPS began).
LABOR_SHARE = 0.60

#: Medicare Part A inpatient hospital deductible by calendar year (CMS's annual
#: Part A premium/deductible notices); caps the OPPS copayment per service
#: (Social Security Act §1833(t)(8)(C)(i); 42 CFR 419.41(c)(4)). Addendum B's Note column
#: states the same figure ("Copayments capped at inpatient deductible of $1,676.00.").
INPATIENT_DEDUCTIBLE: dict[int, float] = {2024: 1632.0, 2025: 1676.0, 2026: 1736.0}

#: Status indicators paid at national drug amounts, not wage adjusted.
NOT_WAGE_ADJUSTED_SI: frozenset[str] = frozenset({"G", "K", "K1"})

#: Status indicators with no OPPS beneficiary copayment (Addendum D1: H is "not
#: subject to copayment"; L and F are paid at reasonable cost).
NO_COPAY_SI: frozenset[str] = frozenset({"H", "H1", "L", "F"})

_D1 = "OPPS Addendum D1 (payment status indicators)"


@dataclass(frozen=True)
class StatusIndicator:
    """What one OPPS payment status indicator means (CMS Addendum D1)."""

    si: str
    meaning: str
    payment: str
    #: True where Addendum B's payment rate is paid as a separate OPPS payment.
    separately_paid: bool
    #: Reason given for rows with this SI when there is no separate payment.
    reason: Reason | None = None
    #: Payment may be packaged into another service on the same claim (Q1–Q3, J2).
    conditional: bool = False
    #: Subject to the multiple procedure discount (T).
    discounted: bool = False


def _r(si: str, message: str) -> Reason:
    return reason(f"OPPS_SI_{si}", message, f"{_D1}, status indicator {si}")


#: Status indicator → :class:`StatusIndicator`, from CMS's Addendum D1.
STATUS_INDICATORS: dict[str, StatusIndicator] = {s.si: s for s in [
    StatusIndicator("A", "Services paid under a fee schedule or payment system other than OPPS "
                    "(e.g. clinical laboratory fee schedule, PFS therapy, ambulance, DMEPOS "
                    "prosthetics/orthotics)", "Not paid under OPPS", False,
                    _r("A", "Paid under another Medicare fee schedule or payment system "
                       "(e.g. clinical lab fee schedule, physician fee schedule, DMEPOS), not OPPS")),
    StatusIndicator("B", "Codes not recognized by OPPS on an outpatient hospital Part B bill "
                    "type (12x, 13x)", "Not paid under OPPS; another code or bill type may apply",
                    False, _r("B", "Not recognised by OPPS on a hospital outpatient bill; an "
                              "alternate code (or another bill type) may be payable")),
    StatusIndicator("C", "Inpatient-only procedures", "Not paid under OPPS; admit and bill as "
                    "inpatient", False, _r("C", "Inpatient-only procedure: not paid under OPPS")),
    StatusIndicator("D", "Discontinued codes", "Not paid under OPPS or any other Medicare "
                    "payment system", False, _r("D", "Discontinued code: not paid by Medicare")),
    StatusIndicator("E1", "Items and services not covered by any Medicare outpatient benefit "
                    "category, statutorily excluded, or not reasonable and necessary",
                    "Not paid by Medicare on outpatient claims", False,
                    _r("E1", "Not covered by Medicare on an outpatient claim (no benefit "
                       "category, statutorily excluded, or not reasonable and necessary)")),
    StatusIndicator("E2", "Items and services for which pricing information and claims data "
                    "are not available", "Not paid by Medicare on outpatient claims", False,
                    _r("E2", "Not paid by Medicare on an outpatient claim: no pricing "
                       "information or claims data")),
    StatusIndicator("F", "Corneal tissue acquisition; certain CRNA services; hepatitis B "
                    "vaccines", "Not paid under OPPS; paid at reasonable cost", False,
                    _r("F", "Paid at reasonable cost, not at an OPPS rate")),
    StatusIndicator("G", "Pass-through drugs and biologicals", "Paid under OPPS; separate APC "
                    "payment", True),
    StatusIndicator("H", "Pass-through device categories", "Separate cost-based pass-through "
                    "payment; not subject to copayment", False,
                    _r("H", "Pass-through device: paid at the hospital's charges adjusted to "
                       "cost, no national rate")),
    StatusIndicator("H1", "Non-opioid medical devices for post-surgical pain relief (NOPAIN "
                    "Act, from CY 2025)", "Separate payment outside the APC rate; no national "
                    "rate in Addendum B", False,
                    _r("H1", "Non-opioid pain-relief device (NOPAIN): separate payment with no "
                       "national rate in Addendum B")),
    StatusIndicator("J1", "Hospital Part B services paid through a comprehensive APC",
                    "Paid under OPPS; all covered Part B services on the claim are packaged "
                    "into the comprehensive APC payment", True),
    StatusIndicator("J2", "Hospital Part B services that may be paid through a comprehensive "
                    "APC (comprehensive observation)", "Paid under OPPS; comprehensive APC "
                    "payment when the criteria are met, otherwise as the visit's APC", True,
                    conditional=True),
    StatusIndicator("K", "Non-pass-through drugs and non-implantable biologicals, including "
                    "therapeutic radiopharmaceuticals", "Paid under OPPS; separate APC payment",
                    True),
    StatusIndicator("K1", "Non-opioid drugs and biologicals for post-surgical pain relief "
                    "(NOPAIN Act, from CY 2025)", "Paid under OPPS; separate APC payment", True),
    StatusIndicator("L", "Influenza and pneumococcal pneumonia vaccines", "Not paid under "
                    "OPPS; paid at reasonable cost; no deductible or coinsurance", False,
                    _r("L", "Vaccine paid at reasonable cost, not at an OPPS rate; no "
                       "coinsurance")),
    StatusIndicator("M", "Items and services not billable to the MAC", "Not paid under OPPS",
                    False, _r("M", "Not billable to the Medicare administrative contractor "
                              "on a hospital outpatient claim")),
    StatusIndicator("N", "Items and services packaged into APC rates", "Paid under OPPS; "
                    "payment is packaged into other services, no separate APC payment", False,
                    _r("N", "Packaged: paid as part of other services on the claim, no "
                       "separate payment")),
    StatusIndicator("P", "Partial hospitalization", "Paid under OPPS; per diem APC payment",
                    False, _r("P", "Partial hospitalization: paid as a per diem, not per code")),
    StatusIndicator("Q1", "STV-packaged codes", "Packaged when billed on the same claim as a "
                    "HCPCS code with SI S, T or V; otherwise separate APC payment", True,
                    conditional=True),
    StatusIndicator("Q2", "T-packaged codes", "Packaged when billed on the same claim as a "
                    "HCPCS code with SI T; otherwise separate APC payment", True,
                    conditional=True),
    StatusIndicator("Q3", "Codes that may be paid through a composite APC", "Composite APC "
                    "payment when the composite criteria are met; otherwise separate APC "
                    "payment", True, conditional=True),
    StatusIndicator("Q4", "Conditionally packaged laboratory tests", "Packaged when billed "
                    "with a J1, J2, S, T, V, Q1, Q2 or Q3 service; otherwise paid under the "
                    "clinical laboratory fee schedule", False,
                    _r("Q4", "Laboratory test: packaged with other OPPS services on the claim, "
                       "otherwise paid under the clinical laboratory fee schedule")),
    StatusIndicator("R", "Blood and blood products", "Paid under OPPS; separate APC payment",
                    True),
    StatusIndicator("S", "Procedure or service, not discounted when multiple", "Paid under "
                    "OPPS; separate APC payment", True),
    StatusIndicator("T", "Procedure or service, multiple procedure reduction applies", "Paid "
                    "under OPPS; separate APC payment; 50% for each T procedure after the "
                    "highest-paid one", True, discounted=True),
    StatusIndicator("U", "Brachytherapy sources", "Paid under OPPS; separate APC payment", True),
    StatusIndicator("V", "Clinic or emergency department visit", "Paid under OPPS; separate "
                    "APC payment", True),
    StatusIndicator("Y", "Non-implantable durable medical equipment", "Not paid under OPPS; "
                    "paid under the DMEPOS fee schedule", False,
                    _r("Y", "Durable medical equipment: paid under the DMEPOS fee schedule, "
                       "not OPPS")),
]}

SI_UNKNOWN = reason("OPPS_SI_UNKNOWN", "Status indicator not defined in Addendum D1; no "
                    "payment is assumed", _D1)
NO_RATE = reason("OPPS_NO_RATE", "Addendum B gives this separately payable code no payment "
                 "rate", "OPPS Addendum B (Payment Rate column)")
ZERO_RATE = reason("OPPS_ZERO_RATE", "Addendum B prints this separately payable code's payment "
                   "rate as $0.00 (less than half a cent per billing unit), so no amount can be "
                   "computed from it; the true per-unit rate is not in the file",
                   "OPPS Addendum B (Payment Rate column, rounded to the cent)")
NO_WAGE_INDEX = reason("OPPS_NO_WAGE_INDEX", "No wage index for this row, so no "
                       "wage-adjusted amount", "42 CFR 419.43(c)")
T_DISCOUNTED = reason("OPPS_T_DISCOUNT", "Paid at 50%: a second or later T procedure on the "
                      "claim (multiple procedure discount)",
                      "Medicare Claims Processing Manual (Pub. 100-04) ch. 4 §10.5; "
                      "OPPS Addendum D1, status indicator T")


#: Reasons that say an amount is unknown for want of data (not that a rule refuses it): a claim
#: with such a line has no claim total (:mod:`rvucalc.claims.opps`).
MISSING_DATA = (SI_UNKNOWN.code, NO_RATE.code, ZERO_RATE.code, NO_WAGE_INDEX.code)


def round_cents(x: Any) -> Any:
    """Round dollars to cents half-up (NaN stays NaN); arrays and Series keep their shape."""
    arr = np.floor(np.asarray(x, dtype="float64") * 100 + 0.5 + 1e-9) / 100
    if isinstance(x, pd.Series):
        return pd.Series(arr, index=x.index, name=x.name)
    return arr if np.ndim(arr) else float(arr)


def inpatient_deductible(year: int) -> float:
    """The Part A inpatient hospital deductible for *year* (caps OPPS copayments)."""
    try:
        return INPATIENT_DEDUCTIBLE[int(year)]
    except KeyError:
        raise ValueError(f"no inpatient deductible known for {year}; pass deductible= "
                         f"(known years: {sorted(INPATIENT_DEDUCTIBLE)})") from None


def _deductible_from_notes(addb: pd.DataFrame) -> float | None:
    """The deductible Addendum B's Note column names ("... inpatient deductible of $1,676.00.")."""
    if "note" not in addb:
        return None
    found = addb["note"].astype(str).str.extract(r"deductible of \$([\d,]+\.?\d*)", expand=False)
    vals = found.dropna().str.replace(",", "").astype(float).unique()
    return float(vals[0]) if len(vals) == 1 else None


def status_reason(si: pd.Series, rate: pd.Series | None = None) -> pd.Series:
    """Reason code per row from its status indicator (and rate): ``""`` when payable.

    Separately payable SIs with no payment rate get ``OPPS_NO_RATE``, with a rate
    printed as $0.00 ``OPPS_ZERO_RATE``; SIs not in
    :data:`STATUS_INDICATORS` get ``OPPS_SI_UNKNOWN``.
    """
    s = si.astype(str).str.strip().str.upper()
    codes = {k: (v.reason.code if v.reason is not None else "") for k, v in STATUS_INDICATORS.items()}
    out = s.map(codes).fillna(SI_UNKNOWN.code).astype(str)
    if rate is not None:
        r = pd.Series(rate, index=si.index)
        out = out.mask((out == "") & r.isna(), NO_RATE.code)
        out = out.mask((out == "") & (r == 0), ZERO_RATE.code)  # never a silent $0.00
    return out


def _wage_series(wage_index: float | pd.Series | Sequence[float] | np.ndarray,
                 index: pd.Index) -> pd.Series:
    if isinstance(wage_index, pd.Series):
        if wage_index.index.equals(index):
            return wage_index.astype("float64")
        if len(wage_index) == len(index) and not wage_index.index.isin(index).all():
            raise ValueError("wage_index Series index does not match the Addendum B rows; "
                             "align it (or pass .to_numpy())")
        return wage_index.reindex(index).astype("float64")
    arr = np.asarray(wage_index, dtype="float64")
    if arr.ndim == 0:
        return pd.Series(float(arr), index=index)
    if len(arr) != len(index):
        raise ValueError(f"wage_index has {len(arr)} values for {len(index)} rows")
    return pd.Series(arr, index=index)


def opps_payment(
    addb: pd.DataFrame,
    wage_index: float | pd.Series | Sequence[float] | np.ndarray = 1.0,
    *,
    labor_share: float = LABOR_SHARE,
    year: int | None = None,
    deductible: float | None = None,
    wage_adjust_si: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Wage-adjusted OPPS payment, beneficiary copayment and Medicare's share.

    Parameters
    ----------
    addb : DataFrame
        Rows of :func:`rvucalc.iotools.opps.read_addendum_b` (any subset; extra
        columns are kept).
    wage_index : float or Series or array
        The hospital's IPPS wage index (Table 2), one value for all rows or one
        per row (a Series on ``addb``'s index, or an array of the same length).
    labor_share : float
        Labor-related share (0.60 under 42 CFR 419.43).
    year, deductible :
        Copayment cap: ``deductible`` if given, else the inpatient deductible of
        ``year``, else the one Addendum B's Note column states. If none is
        known a ValueError is raised.
    wage_adjust_si : iterable of str, optional
        Status indicators whose amounts are wage adjusted; default every SI
        except :data:`NOT_WAGE_ADJUSTED_SI` (G, K, K1).

    Returns
    -------
    DataFrame
        ``addb`` plus: ``wage_index`` (the row's wage index, also on rows whose
        SI is not wage adjusted), ``wage_adjusted`` (bool: the wage index was applied),
        ``payment`` (wage-adjusted payment), ``copay`` (wage-adjusted
        beneficiary copayment after the deductible cap), ``copay_capped``
        (bool), ``medicare`` (payment − copay), ``conditional`` (bool: Q1–Q3/J2
        payment may be packaged on a claim) and ``reason`` (code, ``""`` when
        payable). ``payment``, ``copay`` and ``medicare`` are rounded to cents
        half-up; they are NaN exactly where ``reason`` is non-empty.
    """
    idx = addb.index
    si = addb["status_indicator"].astype(str).str.strip().str.upper()
    rate = addb["payment_rate"].astype("float64")
    wi = _wage_series(wage_index, idx)

    if deductible is None:
        deductible = inpatient_deductible(year) if year is not None else _deductible_from_notes(addb)
    if deductible is None:
        raise ValueError("the inpatient deductible (copayment cap) is unknown: pass year= or "
                         "deductible=")

    adjust_set = (set(STATUS_INDICATORS) | set(si.unique())) - NOT_WAGE_ADJUSTED_SI \
        if wage_adjust_si is None else {s.upper() for s in wage_adjust_si}
    adjusted = si.isin(adjust_set)
    factor = (labor_share * wi + (1.0 - labor_share)).where(adjusted, 1.0)

    why = status_reason(si, rate)
    why = why.mask((why == "") & adjusted & wi.isna(), NO_WAGE_INDEX.code)
    ok = why == ""

    # Unadjusted copayment: national, else minimum (20%), else 20% of the rate.
    def col(name: str) -> pd.Series:
        return addb[name].astype("float64") if name in addb else pd.Series(np.nan, index=idx)

    nat, minimum = col("national_copay"), col("minimum_copay")
    base = np.fmax(nat, minimum).fillna(0.20 * rate)
    ira = col("ira_coinsurance_pct")
    cms_adj = col("adjusted_copay")
    has_ira = ira.notna()
    base = base.mask(has_ira, rate * ira / 100.0)
    use_cms = has_ira & cms_adj.notna() & (cms_adj < deductible - 0.005)
    base = base.mask(use_cms, cms_adj)
    # A printed deductible ("Copayments capped at inpatient deductible") is a cap, applied
    # below to the wage-adjusted copayment; it never raises the copayment (42 CFR 419.41(c)(4)).
    base = base.mask(si.isin(NO_COPAY_SI), 0.0)

    pay_raw = rate * factor
    copay_raw = base * factor
    capped = copay_raw > deductible
    copay_raw = copay_raw.clip(upper=deductible)

    payment = round_cents(pay_raw).where(ok)
    copay = round_cents(copay_raw).where(ok)
    medicare = (np.round(payment * 100) - np.round(copay * 100)) / 100

    out = addb.copy()
    out["wage_index"] = wi
    out["wage_adjusted"] = adjusted.to_numpy(dtype=bool)
    out["payment"] = payment
    out["copay"] = copay
    out["copay_capped"] = (capped & ok).to_numpy(dtype=bool)
    out["medicare"] = medicare
    cond = {k for k, v in STATUS_INDICATORS.items() if v.conditional}
    out["conditional"] = si.isin(cond).to_numpy(dtype=bool)
    out["reason"] = why.astype(str)
    out.attrs.update(addb.attrs)
    out.attrs["inpatient_deductible"] = float(deductible)
    return out


def t_discount(
    lines: pd.DataFrame,
    *,
    claim: str = "claim",
    si: str = "status_indicator",
    amount: str = "payment",
    also: Sequence[str] = ("copay", "medicare"),
    units: str | None = None,
) -> pd.DataFrame:
    """Apply the OPPS multiple procedure discount to status indicator T lines.

    Within each ``claim`` the T line with the highest ``amount`` (per unit) is
    paid at 100% and every other T line at 50%; with ``units`` the first unit
    of the top line is paid at 100% and every further unit at 50%
    (factor = (1 + 0.5 × (units − 1)) / units on that line). Ties keep the
    input order. Lines of other SIs, and T lines without an amount, are left as
    they are (factor 1.0, NaN stays NaN).

    Parameters
    ----------
    lines : DataFrame
        Claim lines, e.g. :func:`opps_payment` rows joined to a claim id.
    claim, si, amount : str
        Column names: claim id, status indicator and the amount that ranks the
        lines (usually the wage-adjusted ``payment``, per unit).
    also : sequence of str
        Further amount columns scaled by the same factor (absent ones are skipped).
    units : str, optional
        Column with the units billed on each line (amounts are per unit).

    Returns
    -------
    DataFrame
        A copy with ``t_rank`` (1 = paid in full; 0 for non-T lines),
        ``t_factor`` and, for ``amount`` and each column of ``also``, the
        discounted *line total* (per-unit amount × units × factor) rounded to
        cents half-up. The ``reason`` column (created if missing) gets
        ``OPPS_T_DISCOUNT`` on discounted lines where it was empty.
    """
    out = lines.copy()
    is_t = out[si].astype(str).str.strip().str.upper().eq("T") & out[amount].notna()
    ranked = out[amount].where(is_t)
    # rank by amount descending, ties by position
    order = pd.Series(np.arange(len(out)), index=out.index)
    tmp = pd.DataFrame({"c": out[claim], "a": ranked, "o": order})
    tmp = tmp.sort_values(["c", "a", "o"], ascending=[True, False, True], na_position="last")
    tmp["r"] = tmp.groupby("c", sort=False, dropna=False).cumcount() + 1
    rank = tmp["r"].reindex(out.index).where(is_t, 0).astype(int)
    n = out[units].astype("float64") if units is not None else pd.Series(1.0, index=out.index)
    # the discount itself: one rule for claims and tables (t_discount_factor)
    key = pd.factorize(out[claim], use_na_sentinel=False)[0].astype(np.int64)
    f, _ = t_discount_factor(key, is_t.to_numpy(bool), ranked.to_numpy(float), n.to_numpy(float),
                             order.to_numpy(np.int64))
    factor = pd.Series(f, index=out.index)
    out["t_rank"] = rank
    out["t_factor"] = factor
    for c in (amount, *also):
        if c in out:
            out[c] = round_cents(out[c].astype("float64") * n * factor)
    if "reason" not in out:
        out["reason"] = ""
    discounted = rank > 1
    out["reason"] = out["reason"].astype(str).mask(discounted & (out["reason"] == ""),
                                                    T_DISCOUNTED.code)
    return out


def national_rate(addb: pd.DataFrame, hcpcs: str) -> dict[str, Any]:
    """National (unadjusted) Addendum B record of one HCPCS code as a plain dict.

    Keys: ``hcpcs``, ``status_indicator``, ``si_meaning``, ``si_payment``,
    ``apc``, ``relative_weight``, ``payment_rate``, ``national_copay``
    (the unadjusted copayment: the larger of the national and minimum
    unadjusted copayments, i.e. the minimum where CMS prints ``.``),
    ``minimum_copay``, ``reason`` (code, ``""`` when separately payable) and
    ``reason_message``. Missing numbers are ``None`` (pydantic friendly).
    Raises :class:`rvucalc.errors.UnknownCodeError` if the code is absent.
    """
    code = re.sub(r"[^A-Z0-9]", "", str(hcpcs).upper())
    rows = addb[addb["hcpcs"] == code]
    if rows.empty:
        raise UnknownCodeError(f"HCPCS {hcpcs!r} is not in this Addendum B "
                               f"({addb.attrs.get('source', 'release')})")
    r = rows.iloc[0]
    si = str(r["status_indicator"]).strip().upper()
    info = STATUS_INDICATORS.get(si)
    why = status_reason(pd.Series([si]), pd.Series([r["payment_rate"]])).iloc[0]

    def num(v: Any) -> float | None:
        return None if pd.isna(v) else float(v)

    national = np.fmax(r.get("national_copay", np.nan), r.get("minimum_copay", np.nan))
    expl = explain(why)
    meta: dict[str, Any] = {
        "hcpcs": code,
        "status_indicator": si,
        "si_meaning": info.meaning if info else "",
        "si_payment": info.payment if info else "",
        "apc": str(r["apc"]),
        "relative_weight": num(r["relative_weight"]),
        "payment_rate": num(r["payment_rate"]),
        "national_copay": num(national),
        "minimum_copay": num(r.get("minimum_copay")),
        "reason": why,
        "reason_message": expl.message if expl else "",
    }
    return meta

def t_discount_factor(session: np.ndarray, is_t: np.ndarray, rate: np.ndarray,
                      units: np.ndarray, line: np.ndarray, n_sessions: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """OPPS multiple procedure discount for the paid T lines of each claim and date.

    Ranks the *is_t* lines of each *session* by *rate* (per unit, highest first; ties by
    *line*): the first unit of the top line is paid at 100%, every other unit and line at 50%
    (Addendum D1, T; Pub. 100-04 ch. 4 s. 10.5). Returns ``(factor, rank)``: the paid share of
    the line's units (1.0 for lines not ranked) and the rank (0 top, 1 other, -1 not ranked).
    """
    return first_full_rest_half(session, is_t, rate, units, line, 0.5, n_sessions)


# ---------------------------------------------------------------------------------------------
# Discontinued and reduced procedures: modifiers 73, 52, 74 (42 CFR 419.44(b))

#: Share of the APC payment and of the copayment paid for a procedure discontinued after the
#: patient was prepared and taken to the room but before anesthesia (modifier 73), or a reduced
#: or discontinued procedure not requiring anesthesia (modifier 52): 42 CFR 419.44(b)(1);
#: Medicare Claims Processing Manual (Pub. 100-04) ch. 4 s. 20.6.4. Modifier 74 (discontinued
#: after anesthesia or after the procedure started) is paid in full: 42 CFR 419.44(b)(2).
TERMINATED_SHARE = 0.5
#: Status indicators whose lines are procedures or services paid through their own APC, to which
#: the reduction applies. Drugs, biologicals, devices, blood products, vaccines and brachytherapy
#: sources (G, H, K, K1, H1, R, U, F, L) and per diems (P) are not procedures: a 73 or 52 there
#: changes nothing and says so (``OPPS_MOD_NOT_A_PROCEDURE``).
TERMINATED_SI = ("J1", "J2", "Q1", "Q2", "Q3", "S", "T", "V")

_R419 = "42 CFR 419.44(b); Medicare Claims Processing Manual (Pub. 100-04) ch. 4 s. 20.6.4"
MOD73 = reason("OPPS_MOD73_50PCT", "Modifier 73: procedure discontinued after the patient was "
               "prepared, before anesthesia: paid once at 50% of the APC payment and copayment",
               f"{_R419}; I/OCE discount formulas 3 (T/U) and 6 (TD/U)")
MOD52 = reason("OPPS_MOD52_50PCT", "Modifier 52: reduced or discontinued procedure not requiring "
               "anesthesia: paid once at 50% of the APC payment and copayment",
               f"{_R419}; I/OCE discount formulas 3 (T/U) and 6 (TD/U)")
MOD74 = reason("OPPS_MOD74_FULL", "Modifier 74: procedure discontinued after anesthesia or after "
               "it started: paid in full", "42 CFR 419.44(b)(2); Medicare Claims Processing "
               "Manual (Pub. 100-04) ch. 4 s. 20.6.4")
MOD_NOT_A_PROCEDURE = reason(
    "OPPS_MOD_NOT_A_PROCEDURE", "Modifier 73 or 52 on a line that is not a procedure (a drug, "
    "device, blood product, vaccine, brachytherapy source or per diem): no reduction applies",
    _R419)


def terminated_units(terminated: np.ndarray, t_rank: np.ndarray, is_t: np.ndarray,
                     share: float = TERMINATED_SHARE, discount: float = 0.5) -> np.ndarray:
    """Units paid on a terminated line (modifier 73 or 52 on a procedure of :data:`TERMINATED_SI`),
    NaN elsewhere.

    A terminated procedure is paid once, whatever its units, at *share* (50%) of the APC
    payment and copayment (42 CFR 419.44(b)(1)); the I/OCE discount formula is T/U (formula 3).
    Among the T procedures of a claim and date it is ranked by its APC payment rate like any
    other (42 CFR 419.44(a): "the procedure with the highest APC payment rate" is paid in full,
    every other at one half), so a terminated T procedure ranked below the top one is paid at
    *share* x *discount* (25%, formula 6, TD/U); ranked on top, it stays at 50% and the others
    are discounted as usual. *t_rank*: rank from :func:`t_discount_factor` (0 top, 1 other,
    -1 not ranked); *is_t*: the line is a paid T procedure.
    """
    below_top = np.asarray(is_t, dtype=bool) & (np.asarray(t_rank) > 0)
    return np.where(terminated, np.where(below_top, share * discount, share), np.nan)
