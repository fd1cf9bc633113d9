"""ASC payment: national rate, wage adjustment, coinsurance, multiple procedures.

Pure vectorised functions over the tables of :mod:`rvucalc.iotools.asc`.

Rules and where they come from:

* National rate. Addenda AA/BB give each code's national payment rate, used as
  CMS shipped it. For the indicators whose rate derives from the ASC conversion
  factor (relative weight x CF, 42 CFR 416.171), a what-if conversion factor
  scales the file's rate by CF / the release's own CF. The file's rate, not
  weight x CF, is the base: CMS's rate is not always weight x CF (e.g. 0973T
  and 0981T in July 2025: $214.39 and $12,304.24 against weights 1.0843 and
  31.7872), so passing the release's own CF gives back exactly the file's rates.
* Conversion factor: the annual OPPS/ASC final rule; a reduced factor applies
  to ASCs that fail the ASC Quality Reporting (ASCQR) program (42 CFR
  416.160(a)(1), 416.171: 2.0 percentage points off the update).
* Wage adjustment: 42 CFR 416.172 and Medicare Claims Processing Manual
  (Pub. 100-04) ch. 14 section 40.2 -- the labor-related share of the rate
  (50%) is multiplied by the ASC's CBSA wage index:
  ``rate x (0.50 x wage index + 0.50)``.
* Coinsurance: Medicare pays 80% and the beneficiary 20% (42 CFR 416.172), except preventive services marked ``**`` in the addenda, whose
  coinsurance and deductible are waived (Social Security Act 1833(a)(1)(T),
  ACA sections 4104 and 10406; Addendum AA NOTE 3 / BB NOTE 2), and BB drugs
  with an Inflation Reduction Act adjusted copayment (IRA section 11101; BB
  NOTE 1), whose coinsurance is that copayment.
* Multiple procedures: 42 CFR 416.172 and Pub. 100-04 ch. 14 section 40.5 --
  when more than one procedure flagged "subject to multiple procedure
  discounting" is done in one session, the highest-paid is paid in full and
  each other at 50%.

Payment indicators are those of CMS Addendum DD1 (CY 2024-2026).

Device-intensive procedures (J8). CMS splits a device-intensive procedure's ASC rate
into a device portion and a service portion (42 CFR 416.171-416.172; the device portion
of each code is published in the final rule's Addendum FF, "Device Offset Amount /
Device Portion", read by :mod:`rvucalc.iotools.asc_final_rule`; CY 2026 OPPS/ASC final
rule, CMS-1834-FC, device-intensive procedures; CY 2008 ASC final rule, 72 FR 42470).
The device portion is paid at its OPPS-based amount: it is not multiplied by the ASC
conversion factor and not wage adjusted; the service portion is the rest of the rate,
set by the ASC conversion factor and wage adjusted at the 50% labor share. 42 CFR
416.179 (and Pub. 100-04 ch. 14 s. 40.8, s. 40.10) take the same device portion off for
devices furnished without cost or with credit (FB/FC) and before the 50% of a
discontinued procedure (73). So:

* where the device portion is given (a ``device_portion`` column: national dollars
  per code, from Addendum FF; ``fs.asc`` adds it to its Addendum AA when the quarter's FF
  is at hand), ``payment = device + (rate - device) x (0.50 x wage index + 0.50)``, and a
  what-if CF scales the service portion only: ``device + (rate - device) x CF / release
  CF``. 20983 CY2026: device $3,411.79 (49.60%) of $5,274.34;
* otherwise the whole rate is wage adjusted (and scaled by a what-if CF), and every J8
  amount that the split would change -- away from wage index 1.0, or with a what-if CF
  other than the release's own -- carries ``ASC_J8_WAGE_WHOLE_RATE`` in the
  ``approximate`` column: an approximation, not presented as exact. At wage index 1.0
  and the release's CF the split changes nothing (20983: $5,274.34 either way).

Other limits: K2 drugs and H2 brachytherapy sources are paid at their national
OPPS-based rate without wage adjustment; S2 (skin substitutes, new in CY 2026) is
treated like the other weight-based rates. These choices are not yet checked
against a CMS document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..reasons import reason
from .groups import first_full_rest_half

__all__ = [
    "ASC_LABOR_SHARE",
    "COINSURANCE_RATE",
    "PAYMENT_INDICATORS",
    "PaymentIndicator",
    "ConversionFactor",
    "asc_conversion_factor",
    "asc_payment",
    "asc_price_codes",
    "multiple_procedure_discount",
]

#: Labor-related share of the ASC rate (42 CFR 416.172; CY 2008 ASC final rule).
ASC_LABOR_SHARE = 0.50
#: Beneficiary coinsurance share (42 CFR 416.172).
COINSURANCE_RATE = 0.20

_DD1 = "CMS ASC Addendum DD1, payment indicator"

NOT_COVERED = reason(
    "ASC_NOT_COVERED",
    "Not on the ASC covered procedures or ancillary services list (Addendum AA/BB) for this "
    "quarter, so an ASC is not paid for it",
    "42 CFR 416.164, 416.166; ASC Addenda AA and BB",
)
NO_RATE = reason(
    "ASC_NO_RATE",
    "The payment indicator is a paid one but the addendum gives no payment rate for this code",
    "ASC Addenda AA/BB payment rate column",
)
ZERO_RATE = reason(
    "ASC_ZERO_RATE",
    "The addendum prints this paid code's rate as $0.00 (less than half a cent per billing unit), "
    "so no amount can be computed from it",
    "ASC Addenda AA/BB payment rate column (rounded to the cent)",
)
PI_UNKNOWN = reason(
    "ASC_PI_UNKNOWN",
    "Payment indicator not defined in ASC Addendum DD1; no amount is computed",
    "CMS ASC Addendum DD1",
)
NO_WAGE_INDEX = reason(
    "ASC_NO_WAGE_INDEX",
    "No wage index for this ASC's area, so the wage-adjusted amount cannot be computed",
    "42 CFR 416.172",
)
MULT_PROC_50 = reason(
    "ASC_MULT_PROC_50",
    "Paid at 50%: a second or later procedure subject to multiple procedure discounting in the "
    "same session",
    "42 CFR 416.172; Medicare Claims Processing Manual ch. 14 section 40.5",
)
PREVENTIVE = reason(
    "ASC_PREVENTIVE",
    "Preventive service (marked ** in the addendum): no beneficiary coinsurance or deductible",
    "Social Security Act 1833(a)(1)(T) and (b)(1); ACA sections 4104 and 10406",
)
J8_WAGE = reason(
    "ASC_J8_WAGE_WHOLE_RATE",
    "Approximate: device-intensive procedure (J8) away from wage index 1.0 or at a what-if "
    "conversion factor, with the whole rate wage adjusted and scaled because the quarter's "
    "device portion (Addendum FF) is not at hand; CMS adjusts only the service portion",
    "42 CFR 416.171-416.172, 416.179; Medicare Claims Processing Manual ch. 14 s. 40.2, 40.8, "
    "40.10; ASC final rule Addendum FF (device offsets)",
)
IRA_COPAY = reason(
    "ASC_IRA_COPAYMENT",
    "Drug coinsurance limited to the Inflation Reduction Act adjusted copayment in Addendum BB",
    "Inflation Reduction Act of 2022 section 11101; ASC Addendum BB NOTE 1",
)

#: Reasons that say an amount is unknown for want of data (not that a rule refuses it): a claim
#: with such a line has no claim total (:mod:`rvucalc.claims.asc`).
MISSING_DATA = (PI_UNKNOWN.code, NO_RATE.code, ZERO_RATE.code, NO_WAGE_INDEX.code)


@dataclass(frozen=True)
class PaymentIndicator:
    """One ASC payment indicator (Addendum DD1).

    *paid*: the addendum gives a national rate that is paid separately.
    *cf_based*: that rate is relative weight x ASC conversion factor.
    *wage_adjusted*: the rate gets the 50% labor-share wage adjustment.
    *reason*: the reason code when there is no separate national amount.
    """

    code: str
    meaning: str
    paid: bool
    cf_based: bool = False
    wage_adjusted: bool = False
    reason: str = ""


def _no_pay(code: str, meaning: str, message: str) -> PaymentIndicator:
    r = reason(f"ASC_PI_{code}", message, f"{_DD1} {code}")
    return PaymentIndicator(code, meaning, paid=False, reason=r.code)


#: Payment indicator -> meaning and how it is paid (CMS ASC Addendum DD1, CY 2024-2026).
PAYMENT_INDICATORS: dict[str, PaymentIndicator] = {
    pi.code: pi
    for pi in [
        PaymentIndicator("A2", "Surgical procedure on ASC list in CY 2007; payment based on OPPS "
                         "relative payment weight", True, True, True),
        _no_pay("B5", "Alternative code may be available; no payment made",
                "No payment: CMS pays an alternative code for this item or service"),
        _no_pay("D1", "Ancillary dental service/item; no separate payment made",
                "Packaged: ancillary dental service or item, no separate ASC payment"),
        PaymentIndicator("D2", "Non office-based dental procedure added in CY 2024 or later; "
                         "payment based on OPPS relative payment weight", True, True, True),
        _no_pay("D5", "Deleted/discontinued code; no payment made",
                "No payment: the code is deleted or discontinued"),
        _no_pay("F4", "Corneal tissue acquisition, hepatitis B vaccine; paid at reasonable cost",
                "No national rate: paid at reasonable cost by the Medicare contractor"),
        PaymentIndicator("G2", "Non office-based surgical procedure added in CY 2008 or later; "
                         "payment based on OPPS relative payment weight", True, True, True),
        PaymentIndicator("H2", "Brachytherapy source paid separately when provided integral to a "
                         "surgical procedure on ASC list; payment based on OPPS rate", True),
        _no_pay("J7", "OPPS pass-through device paid separately when provided integral to a "
                "surgical procedure on ASC list; payment contractor-priced",
                "No national rate: pass-through device priced by the Medicare contractor"),
        PaymentIndicator("J8", "Device-intensive procedure; paid at adjusted rate",
                         True, True, True),
        PaymentIndicator("K2", "Drugs, biologicals and radiopharmaceuticals paid separately when "
                         "provided integral to a surgical procedure on ASC list; payment based on "
                         "OPPS rate", True),
        _no_pay("K5", "Items, codes, and services for which pricing information and claims data "
                "are not available; no payment made",
                "No payment: CMS has no pricing information or claims data for this item yet"),
        _no_pay("K7", "Unclassified drugs and biologicals; payment contractor-priced",
                "No national rate: unclassified drug priced by the Medicare contractor"),
        _no_pay("L1", "Influenza vaccine; pneumococcal vaccine; packaged item/service, no "
                "separate payment made",
                "No separate ASC payment: influenza or pneumococcal vaccine"),
        _no_pay("L6", "Special payment; New Technology Intraocular Lens (NTIOL) or qualifying "
                "non-opioid devices",
                "No national rate in the addendum: NTIOL or non-opioid device special payment"),
        _no_pay("N1", "Packaged service/item; no separate payment made",
                "Packaged: no separate ASC payment; its cost is in the procedure's rate"),
        PaymentIndicator("P2", "Office-based surgical procedure added to ASC list in CY 2008 or "
                         "later with MPFS nonfacility PE RVUs; payment based on OPPS relative "
                         "payment weight", True, True, True),
        PaymentIndicator("P3", "Office-based surgical procedure added to ASC list in CY 2008 or "
                         "later with MPFS nonfacility PE RVUs; payment based on MPFS nonfacility "
                         "PE RVUs", True, False, True),
        PaymentIndicator("R2", "Office-based surgical procedure added to ASC list in CY 2008 or "
                         "later without MPFS nonfacility PE RVUs; payment based on OPPS relative "
                         "payment weight", True, True, True),
        PaymentIndicator("S2", "Skin substitute product paid separately when provided integral "
                         "to a surgical procedure on ASC list (new in CY 2026; rate = weight x "
                         "ASC CF in the addenda)", True, True, True),
        PaymentIndicator("Z2", "Radiology or diagnostic service paid separately when provided "
                         "integral to a surgical procedure on ASC list; payment based on OPPS "
                         "relative payment weight", True, True, True),
        PaymentIndicator("Z3", "Radiology or diagnostic service paid separately when provided "
                         "integral to a surgical procedure on ASC list; payment based on MPFS "
                         "nonfacility PE RVUs", True, False, True),
    ]
}


@dataclass(frozen=True)
class ConversionFactor:
    """An ASC conversion factor with the rule it comes from."""

    year: int
    quality_reporting: bool
    value: float
    source: str

    def __float__(self) -> float:
        return self.value


_CF: dict[int, tuple[float, float, str]] = {
    2024: (53.514, 52.476, "CY 2024 OPPS/ASC final rule with comment period (CMS-1786-FC, "
           "published November 22, 2023)"),
    2025: (54.895, 53.828, "CY 2025 OPPS/ASC final rule with comment period (CMS-1809-FC)"),
    2026: (56.322, 55.224, "CY 2026 OPPS/ASC final rule with comment period (CMS-1834-FC, "
           "90 FR 53448, November 25, 2025)"),
}


def asc_conversion_factor(year: int, quality_reporting: bool = True) -> ConversionFactor:
    """The ASC conversion factor for calendar year *year*.

    Parameters
    ----------
    year : int
        Calendar year (2024-2026 known).
    quality_reporting : bool
        ``False`` for an ASC that failed the ASCQR program requirements, which
        gets the factor with a 2.0 percentage point lower update
        (42 CFR 416.160(a)(1), 416.171).

    Raises
    ------
    KeyError
        For a year not in the table.
    """
    if year not in _CF:
        raise KeyError(f"no ASC conversion factor known for CY {year}; known: {sorted(_CF)}")
    full, reduced, src = _CF[year]
    value = full if quality_reporting else reduced
    who = "ASCs meeting" if quality_reporting else "ASCs not meeting"
    return ConversionFactor(year, quality_reporting, value,
                            f"{src}: ${value:.3f} for {who} ASCQR requirements")


def _cents(x: ArrayLike) -> np.ndarray:
    """Round to cents half-up (NaN stays NaN)."""
    a = np.asarray(x, dtype="float64")
    return np.floor(a * 100.0 + 0.5 + 1e-9) / 100.0


def _per_row(value: float | ArrayLike | str, df: pd.DataFrame, what: str) -> np.ndarray:
    if isinstance(value, str):
        return pd.to_numeric(df[value], errors="coerce").to_numpy(dtype="float64")
    arr = np.asarray(value, dtype="float64")
    if arr.ndim == 0:
        return np.full(len(df), float(arr))
    if arr.shape != (len(df),):
        raise ValueError(f"{what}: expected a scalar or {len(df)} values, got shape {arr.shape}")
    return arr


def _release_cf(aa: pd.DataFrame, given: float | None) -> float:
    """The CF behind the file's rates: *given*, else that of the addendum's year."""
    if given is not None:
        return float(given)
    quarter = str(aa.attrs.get("quarter") or "")
    if quarter[:4].isdigit() and int(quarter[:4]) in _CF:
        return asc_conversion_factor(int(quarter[:4])).value
    raise ValueError("a what-if ASC conversion factor needs the release's own CF to scale the "
                     "file's rates: pass release_conversion_factor= (or an addendum read by "
                     "rvucalc.iotools.asc, whose quarter names the year)")


def asc_payment(
    aa: pd.DataFrame,
    wage_index: float | ArrayLike | str,
    *,
    conversion_factor: float | None = None,
    release_conversion_factor: float | None = None,
    labor_share: float = ASC_LABOR_SHARE,
) -> pd.DataFrame:
    """Price ASC addendum rows: national rate, wage-adjusted payment, Medicare and beneficiary shares.

    Parameters
    ----------
    aa : DataFrame
        Rows of :func:`rvucalc.iotools.asc.read_addendum_aa` or ``read_addendum_bb``
        (or both concatenated): needs ``payment_indicator``, ``payment_rate``,
        ``relative_weight``; uses ``preventive`` and ``copayment`` when present.
    wage_index : float, array-like or column name
        The ASC's CBSA wage index: one value, one value per row (by position),
        or the name of a column of *aa*.
    conversion_factor : float, optional
        A what-if ASC conversion factor. ``None`` (default) uses the file's
        rates. When given, rows whose indicator is CF-based (A2, D2, G2, J8,
        P2, R2, S2, Z2) get the file's rate x conversion_factor /
        release_conversion_factor, rounded to cents; other rates (K2 and H2
        OPPS-based, P3 and Z3 MPFS-based) stay as in the file.
    release_conversion_factor : float, optional
        The ASC conversion factor the file's rates were computed with; default
        that of the addendum's year (``aa.attrs["quarter"]``, see
        :func:`asc_conversion_factor`). A what-if CF with neither raises
        ValueError rather than guess.
    labor_share : float
        Labor-related share, 0.50 for ASCs (42 CFR 416.172).

    Returns
    -------
    DataFrame
        A copy of *aa* plus: ``pi_meaning``; ``national_rate`` (cents);
        ``wage_index``; ``wage_adjusted`` (bool: whether the indicator's rate
        is wage adjusted; K2 drugs and H2 brachytherapy sources are paid at the
        national OPPS-based rate); ``payment`` = national rate x
        (labor_share x wage index + 1 - labor_share) for wage-adjusted rows,
        rounded to cents half-up; ``coinsurance`` (20% of the unrounded
        payment, rounded; 0 for ``**`` preventive services; the IRA-adjusted
        copayment where BB gives one); ``medicare_payment`` = payment -
        coinsurance (so the two add up to the cent); ``coinsurance_basis``
        (``"20pct"``, ``"preventive"``, ``"ira_copayment"`` or ``""``) and
        ``reason`` (``""`` when paid; otherwise a reason code, with NaN
        amounts -- never a silent 0) and ``approximate`` (``""``, or
        ``ASC_J8_WAGE_WHOLE_RATE`` on a J8 amount away from wage index 1.0
        whose device portion is not given: the amount is an approximation).
        A ``device_portion`` column (national dollars per J8 code) makes the
        J8 wage adjustment and what-if CF apply to the service portion only.
    """
    out = aa.copy()
    pi = out["payment_indicator"].astype(str).str.strip().str.upper()
    known = pi.isin(list(PAYMENT_INDICATORS))
    info = pd.DataFrame(
        [(p.code, p.meaning, p.paid, p.cf_based, p.wage_adjusted, p.reason)
         for p in PAYMENT_INDICATORS.values()],
        columns=["pi", "meaning", "paid", "cf_based", "wage_adjusted", "reason"],
    ).set_index("pi")
    look = info.reindex(pi.to_numpy())
    paid = look["paid"].fillna(False).to_numpy(dtype=bool)
    cf_based = look["cf_based"].fillna(False).to_numpy(dtype=bool)
    wage_adj = look["wage_adjusted"].fillna(False).to_numpy(dtype=bool)

    rate = pd.to_numeric(out["payment_rate"], errors="coerce").to_numpy(dtype="float64")
    is_j8 = (pi == "J8").to_numpy()
    device = (pd.to_numeric(out["device_portion"], errors="coerce").to_numpy(dtype="float64")
              if "device_portion" in out else np.full(len(out), np.nan))
    device = np.where(is_j8, device, np.nan)
    dev0 = np.nan_to_num(device, nan=0.0)
    scale = 1.0
    if conversion_factor is not None:
        rel_cf = _release_cf(aa, release_conversion_factor)
        scale = float(conversion_factor) / rel_cf
        if scale != 1.0:  # the device portion (OPPS-based) is not scaled by the ASC CF
            rate = np.where(cf_based, _cents(dev0 + (rate - dev0) * scale), rate)
    wi = _per_row(wage_index, out, "wage_index")

    reason_col = np.where(known.to_numpy(), look["reason"].fillna("").to_numpy(dtype=object),
                          PI_UNKNOWN.code).astype(object)
    no_rate = paid & (np.isnan(rate) | (rate == 0))  # never a silent $0.00
    reason_col = np.where(no_rate, np.where(np.isnan(rate), NO_RATE.code, ZERO_RATE.code), reason_col)
    no_wi = paid & ~no_rate & wage_adj & np.isnan(wi)
    reason_col = np.where(no_wi, NO_WAGE_INDEX.code, reason_col)
    payable = paid & ~no_rate & ~no_wi

    factor = np.where(wage_adj, labor_share * wi + (1.0 - labor_share), 1.0)
    # J8 with a known device portion: only the service portion is wage adjusted
    raw = np.where(payable, dev0 + (rate - dev0) * factor, np.nan)
    payment = _cents(raw)
    # without the device portion, a J8 amount is exact only at wage index 1.0 and the release's CF
    approx = np.where(payable & is_j8 & np.isnan(device) & wage_adj & ((wi != 1.0) | (scale != 1.0)),
                      J8_WAGE.code, "")

    preventive = (out["preventive"].fillna(False).astype(bool).to_numpy() if "preventive" in out
                  else np.zeros(len(out), dtype=bool))
    copay = (pd.to_numeric(out["copayment"], errors="coerce").to_numpy(dtype="float64")
             if "copayment" in out else np.full(len(out), np.nan))
    use_copay = ~preventive & ~np.isnan(copay)
    coins = np.where(preventive, 0.0, np.where(use_copay, _cents(copay), _cents(raw * COINSURANCE_RATE)))
    coins = np.where(payable, coins, np.nan)
    basis = np.where(~payable, "", np.where(preventive, "preventive",
                                            np.where(use_copay, "ira_copayment", "20pct")))

    out["pi_meaning"] = look["meaning"].fillna("").to_numpy(dtype=object)
    out["national_rate"] = np.where(paid, rate, np.nan)
    out["wage_index"] = wi
    out["wage_adjusted"] = wage_adj
    out["payment"] = payment
    out["coinsurance"] = coins
    out["medicare_payment"] = np.round(payment - coins, 2)
    out["coinsurance_basis"] = basis.astype(object)
    out["reason"] = reason_col.astype(object)
    out["approximate"] = approx.astype(object)
    out.attrs["conversion_factor"] = conversion_factor
    out.attrs["labor_share"] = labor_share
    return out


def asc_price_codes(
    codes: Sequence[str] | pd.Series,
    addenda: pd.DataFrame,
    wage_index: float | ArrayLike,
    *,
    conversion_factor: float | None = None,
    release_conversion_factor: float | None = None,
    labor_share: float = ASC_LABOR_SHARE,
) -> pd.DataFrame:
    """Price HCPCS *codes*, in their order, against an AA and/or BB table.

    *wage_index* is one value or one per code. Codes not in *addenda* come
    back with reason ``ASC_NOT_COVERED`` and NaN amounts; the other columns
    are those of :func:`asc_payment`.
    """
    if conversion_factor is not None:
        release_conversion_factor = _release_cf(addenda, release_conversion_factor)
    want = pd.DataFrame({"hcpcs": pd.Series(list(codes), dtype=object).astype(str)
                         .str.strip().str.upper()})
    merged = want.merge(addenda.drop_duplicates("hcpcs"), on="hcpcs", how="left", indicator=True)
    covered = merged.pop("_merge").eq("both").to_numpy()
    out = asc_payment(merged, wage_index, conversion_factor=conversion_factor,
                      release_conversion_factor=release_conversion_factor, labor_share=labor_share)
    out["reason"] = np.where(covered, out["reason"], NOT_COVERED.code).astype(object)
    # missing text is "" (a code not on the addenda has no indicator, description ...), never
    # NA/NaN, which a terminal table, CSV or workbook would show as "<NA>" or "nan"
    for c in out.columns:
        if isinstance(out[c].dtype, pd.StringDtype):
            out[c] = out[c].fillna("")
    return out


def multiple_procedure_discount(
    lines: pd.DataFrame,
    *,
    claim: str = "claim_id",
    amount: str = "payment",
    flag: str = "multiple_procedure_discount",
    units: str | None = None,
) -> pd.DataFrame:
    """Apply the ASC multiple procedure discount to claim lines.

    Among the lines of one claim whose *flag* is true (Addendum AA "Subject to
    Multiple Procedure Discounting" = Y), the line with the highest *amount*
    is paid in full and every other at 50% (42 CFR 416.172); ties keep the
    order of the lines. With *units*, the first unit of the top line is paid
    in full and every further unit at 50%. Unflagged lines, and lines with no
    amount, are not discounted.

    Returns a copy with ``mpd_rank`` (1 = paid in full, NA when not ranked),
    ``discount_factor``, ``discounted_payment`` (rounded to cents half-up) and,
    when *lines* has ``coinsurance``, ``discounted_coinsurance`` and
    ``discounted_medicare_payment`` (adding up to the discounted payment).
    Discounted lines whose ``reason`` is empty get ``ASC_MULT_PROC_50``.
    """
    out = lines.copy()
    amt = pd.to_numeric(out[amount], errors="coerce")
    flagged = out[flag].fillna(False).astype(bool) & amt.notna()
    ranked = amt.where(flagged).groupby(out[claim], sort=False).rank(method="first", ascending=False)
    u = (pd.to_numeric(out[units], errors="coerce").fillna(1.0) if units
         else pd.Series(1.0, index=out.index))
    # the discount itself: one rule for claims and tables (multiple_procedure_factor)
    key = pd.factorize(out[claim], use_na_sentinel=False)[0].astype(np.int64)
    ranked_ok = (flagged & out[claim].notna()).to_numpy(bool)  # groupby drops a missing claim id
    f, _ = multiple_procedure_factor(key, ranked_ok, amt.to_numpy(float),
                                     u.to_numpy(float), np.arange(len(out), dtype=np.int64))
    mult = f * u.to_numpy(float)
    out["mpd_rank"] = ranked.astype("Int64")
    out["discount_factor"] = mult / u.to_numpy()
    out["discounted_payment"] = _cents(amt.to_numpy() * mult)
    if "coinsurance" in out:
        c = _cents(pd.to_numeric(out["coinsurance"], errors="coerce").to_numpy() * mult)
        out["discounted_coinsurance"] = c
        out["discounted_medicare_payment"] = np.round(out["discounted_payment"].to_numpy() - c, 2)
    if "reason" in out:
        cut = ranked.gt(1).to_numpy() & out["reason"].fillna("").eq("").to_numpy()
        out["reason"] = np.where(cut, MULT_PROC_50.code, out["reason"].fillna("")).astype(object)
    else:
        out["reason"] = np.where(ranked.gt(1), MULT_PROC_50.code, "").astype(object)
    return out

def multiple_procedure_factor(session: np.ndarray, subject: np.ndarray, amount: np.ndarray,
                              units: np.ndarray, line: np.ndarray, n_sessions: int | None = None
                              ) -> tuple[np.ndarray, np.ndarray]:
    """ASC multiple procedure discount (42 CFR 416.172; Pub. 100-04 ch. 14 s. 40.5).

    Among the *subject* lines of each *session*, ranked by *amount* per unit (highest first,
    ties to the lower *line*), the first unit of the top line is paid in full and every other
    unit and line at 50%. Returns ``(factor, rank)`` as
    :func:`rvucalc.calc.groups.first_full_rest_half`.
    """
    return first_full_rest_half(session, subject, amount, units, line, 0.5, n_sessions)
