"""Physician fee schedule payment rules, vectorised over whole tables.

Source: CMS, *National Physician Fee Schedule Relative Value File, CY 2026*
(RVU26A documentation), section "The formula for 2026 physician fee schedule
payment amount":

    Non-Facility Pricing Amount = [(Work RVU × Work GPCI)
        + (Non-Facility PE RVU × PE GPCI) + (MP RVU × MP GPCI)] × CF
    Facility Pricing Amount     = [(Work RVU × Work GPCI)
        + (Facility PE RVU × PE GPCI) + (MP RVU × MP GPCI)] × CF

and the OPPS imaging cap (Deficit Reduction Act of 2005, section 5102(b)):

    OPPS Payment Amount = [(Work RVU × Work GPCI) + (OPPS PE RVU × PE GPCI)
        + (OPPS MP RVU × MP GPCI)] × CF

where the payment is the lower of the two. For a global (no modifier) row of
a PC/TC code, the work RVU in the OPPS amount is that of the code's -26 row;
this reproduces every amount in CMS's OPPSCAP file, including the caps that
CMS lists for carrier-priced globals whose own work RVU is blank.

Amounts are rounded to cents, half up, once, at the end; everything before
is unrounded. Non-participating amount = 95% of the fee schedule amount and
limiting charge = 1.0925 × the fee schedule amount (115% of 95%), both from
the rounded fee schedule amount, rounded again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..reasons import Reason, reason
from .money import round_cents

SETTINGS = ("nonfacility", "facility")

#: Status codes whose RVUs are used for Medicare payment (RVU file, Status Code).
PAYABLE_STATUS = frozenset("ART")

_RULE = "CMS RVU file documentation, Attachment A (status code)"
STATUS_REASONS: dict[str, Reason] = {
    "B": reason("PFS_STATUS_B", "bundled: payment is included in another service's payment", _RULE + " B"),
    "C": reason("PFS_STATUS_C", "carrier-priced: the MAC sets the payment case by case", _RULE + " C"),
    "D": reason("PFS_STATUS_D", "deleted code", _RULE + " D"),
    "E": reason("PFS_STATUS_E", "excluded from the fee schedule by regulation", _RULE + " E"),
    "F": reason("PFS_STATUS_F", "deleted/discontinued code", _RULE + " F"),
    "G": reason("PFS_STATUS_G", "not valid for Medicare: another code is used", _RULE + " G"),
    "H": reason("PFS_STATUS_H", "deleted modifier: this component is no longer priced", _RULE + " H"),
    "I": reason("PFS_STATUS_I", "not valid for Medicare: another code is used", _RULE + " I"),
    "J": reason("PFS_STATUS_J", "anesthesia service: paid by base and time units, not RVUs", _RULE + " J"),
    "M": reason("PFS_STATUS_M", "measurement code: for reporting only", _RULE + " M"),
    "N": reason("PFS_STATUS_N", "non-covered service", _RULE + " N"),
    "P": reason("PFS_STATUS_P", "bundled/excluded: no separate fee schedule payment", _RULE + " P"),
    "X": reason("PFS_STATUS_X", "statutory exclusion: not a physician service under the fee schedule", _RULE + " X"),
}
STATUS_OTHER = reason("PFS_STATUS_OTHER", "status code not payable under the fee schedule", _RULE)
NA_REASONS: dict[str, Reason] = {
    "nonfacility": reason("PFS_NA_NONFACILITY",
                          "no non-facility (office) amount: CMS marks this service NA in that setting",
                          "CMS RVU file documentation, Non-Facility NA Indicator"),
    "facility": reason("PFS_NA_FACILITY",
                       "no facility amount: CMS marks this service NA in that setting",
                       "CMS RVU file documentation, Facility NA Indicator"),
}
NO_RVU = reason("PFS_NO_RVU", "no amount: an RVU this setting needs is blank in the file",
                "CMS RVU file documentation, payment amount formula")
#: Status R (restricted coverage) with no RVUs: "if no RVUs are shown, the service is carrier
#: priced" (RVU file documentation, Attachment A, status code R). CMS prints 0.00 for them.
STATUS_R_CARRIER = reason(
    "PFS_STATUS_R_CARRIER",
    "carrier-priced: restricted-coverage service (status R) with no RVUs in the file, so the MAC "
    "sets the payment case by case",
    _RULE + " R: restricted coverage; if no RVUs are shown, the service is carrier priced")
#: A payable status (A, T) whose RVUs for a setting are all zero: the same CMS sentence applies.
NO_RVUS_SHOWN = reason(
    "PFS_NO_RVUS_SHOWN",
    "carrier-priced: the file shows no RVUs for this service in this setting, so there is no fee "
    "schedule amount (the MAC sets the payment)",
    "CMS RVU file documentation: if no RVUs are shown, the service is carrier priced")
NOT_USED_FOR_MEDICARE = reason(
    "PFS_NOT_USED_FOR_MEDICARE",
    "the file shows RVUs for this code but flags them as not used for Medicare payment",
    "CMS RVU file documentation, 'Not used for Medicare payment' indicator")
OPPS_CAP = reason("PFS_OPPS_CAP", "paid at the OPPS-based cap, lower than the fee schedule amount",
                  "Deficit Reduction Act of 2005 s.5102(b); CMS RVU file documentation, OPPS payment amount")

NONPAR_FACTOR = 0.95
LIMITING_FACTOR = 1.0925


def status_reason_codes(status: pd.Series) -> np.ndarray:
    """Reason code per row for the status alone ("" where payable)."""
    codes, uniques = pd.factorize(status.astype(str).to_numpy(dtype=object))
    table = np.array(["" if u in PAYABLE_STATUS else STATUS_REASONS.get(u, STATUS_OTHER).code
                      for u in uniques] + [STATUS_OTHER.code], dtype=object)
    return table[codes]  # code -1 (missing status) takes the last entry


def _no_rvus(rvus: pd.DataFrame, setting: str) -> np.ndarray:
    """True where work, the setting's PE and MP RVUs are all zero or blank ("no RVUs shown")."""
    cols = ("work_rvu", f"pe_{setting}", "mp_rvu")
    vals = np.stack([rvus[c].to_numpy(dtype=float) for c in cols])
    return np.all(np.nan_to_num(vals, nan=0.0) == 0.0, axis=0)


def reason_codes(rvus: pd.DataFrame, setting: str, status_codes: np.ndarray | None = None) -> np.ndarray:
    """Reason code per row of *rvus* for *setting*.

    In order: the status (not A, R or T); a payable row flagged "not used for
    Medicare payment"; a payable row with no RVUs for the setting (work, PE and
    MP all 0 or blank: carrier priced, RVU file documentation; status R gets
    ``PFS_STATUS_R_CARRIER``, A and T ``PFS_NO_RVUS_SHOWN``); then the NA
    indicator of the setting.
    """
    out = (status_reason_codes(rvus["status"]) if status_codes is None else status_codes).copy()
    if "not_used_for_medicare" in rvus:
        flag = rvus["not_used_for_medicare"].fillna("").astype(str).str.strip().to_numpy() != ""
        out[flag & (out == "")] = NOT_USED_FOR_MEDICARE.code
    none = _no_rvus(rvus, setting) & (out == "")
    is_r = rvus["status"].astype(str).to_numpy() == "R"
    out[none & is_r] = STATUS_R_CARRIER.code
    out[none & ~is_r] = NO_RVUS_SHOWN.code
    na_col = "na_nonfacility" if setting == "nonfacility" else "na_facility"
    na = (rvus[na_col].astype(str).to_numpy() == "NA") & (out == "")
    out[na] = NA_REASONS[setting].code
    return out


#: Reasons beyond status and NA that leave a row with no amount (claim repricing refuses them).
EXTRA_REFUSING: tuple[Reason, ...] = (STATUS_R_CARRIER, NO_RVUS_SHOWN, NOT_USED_FOR_MEDICARE, NO_RVU)

#: Reason codes that leave a row with no fee schedule amount (the status codes, NA
#: settings, no RVUs / carrier priced, not used for Medicare, blank RVUs).
NO_AMOUNT_CODES: frozenset[str] = frozenset(
    {r.code for r in STATUS_REASONS.values()} | {STATUS_OTHER.code}
    | {r.code for r in NA_REASONS.values()}
    | {STATUS_R_CARRIER.code, NO_RVUS_SHOWN.code, NOT_USED_FOR_MEDICARE.code, NO_RVU.code})


def cap_work_rvu(rvus: pd.DataFrame) -> np.ndarray:
    """Work RVU used in the OPPS cap: a global row borrows its -26 row's work RVU."""
    work = rvus["work_rvu"].to_numpy(dtype=float).copy()
    pc = rvus.loc[rvus["modifier"] == "26", ["hcpcs", "work_rvu"]].drop_duplicates("hcpcs")
    pc_work = rvus["hcpcs"].map(pc.set_index("hcpcs")["work_rvu"]).to_numpy(dtype=float)
    glob = (rvus["modifier"] == "").to_numpy() & ~np.isnan(pc_work)
    work[glob] = pc_work[glob]
    return work


@dataclass
class PriceMatrix:
    """Amounts for every RVU row × locality, one 2-D array per setting.

    ``amount[setting]`` is rounded to cents with NaN where there is no amount
    (see ``reason[setting]``, one code per RVU row). ``capped[setting]`` is
    True where the OPPS cap set the amount. ``opps_cap[setting]`` is
    ``(rows, caps)``: the positions of the RVU rows that carry OPPS amounts and
    their rounded OPPS-based caps per locality, kept also for carrier-priced
    codes, whose carrier price may not exceed the cap.
    """

    rvus: pd.DataFrame
    locality_ids: np.ndarray
    conversion_factor: float
    amount: dict[str, np.ndarray]
    reason: dict[str, np.ndarray]
    capped: dict[str, np.ndarray]
    opps_cap: dict[str, tuple[np.ndarray, np.ndarray]]

    def cap_for(self, setting: str) -> np.ndarray:
        """The OPPS-based caps as a full (rows × localities) array, NaN where none."""
        rows, caps = self.opps_cap[setting]
        full = np.full(self.amount[setting].shape, np.nan)
        full[rows] = caps
        return full


def gpci_arrays(gpci: pd.DataFrame | None, *, work_floor: bool = True) -> tuple[np.ndarray, ...]:
    """(locality ids, work, PE, MP GPCI arrays); ``None`` gives the national column (all 1)."""
    if gpci is None:
        one = np.ones(1)
        return np.array(["national"], dtype=object), one, one, one
    if not work_floor and "has_floor_variants" in gpci and not bool(gpci["has_floor_variants"].all()):
        # a 7-column GPCI file has only the floored work GPCI; never return the opposite of what
        # was asked (rvucalc.facade supplies the no-floor column from a file of the same year)
        raise ValueError("work_floor=False but this GPCI table has only the work GPCI with the 1.0 "
                         "floor (a 7-column Addendum E file); give a GPCI file with the "
                         "'without 1.0 Floor' column")
    wcol = "work_gpci" if work_floor else "work_gpci_no_floor"
    return (gpci["locality_id"].to_numpy(dtype=object), gpci[wcol].to_numpy(dtype=float),
            gpci["pe_gpci"].to_numpy(dtype=float), gpci["mp_gpci"].to_numpy(dtype=float))


def price_matrix(
    rvus: pd.DataFrame,
    gpci: pd.DataFrame | None,
    conversion_factor: float,
    *,
    work_floor: bool = True,
    opps_cap: bool = True,
    settings: tuple[str, ...] = SETTINGS,
    mask_unpayable: bool = True,
) -> PriceMatrix:
    """Price every row of *rvus* in every locality of *gpci* (``None``: national).

    One broadcast per setting; the work and MP terms are shared between the
    settings. All amounts are rounded to cents once, at the end. With
    ``mask_unpayable=False`` the formula's value is kept where the reason
    says no amount is paid (CMS's own OPPSCAP and payment files list amounts
    for NA settings; rvucalc's results do not, by default).
    """
    loc_ids, wg, peg, mpg = gpci_arrays(gpci, work_floor=work_floor)
    cf = float(conversion_factor)
    w = rvus["work_rvu"].to_numpy(dtype=float)
    mp = rvus["mp_rvu"].to_numpy(dtype=float)
    base = np.multiply.outer(w, wg)
    base += np.multiply.outer(mp, mpg)
    amount: dict[str, np.ndarray] = {}
    reasons: dict[str, np.ndarray] = {}
    capped: dict[str, np.ndarray] = {}
    caps: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    cap_w = cap_work_rvu(rvus) if opps_cap else w
    st_codes = status_reason_codes(rvus["status"])
    for setting in settings:
        pe = rvus[f"pe_{setting}"].to_numpy(dtype=float)
        a = np.multiply.outer(pe, peg)
        a += base
        a *= cf
        rows = np.empty(0, dtype=np.int64)
        cap = np.empty((0, a.shape[1]))
        was_capped = np.zeros(a.shape, dtype=bool)
        if opps_cap:
            ope = rvus[f"opps_pe_{setting}"].to_numpy(dtype=float)
            omp = rvus["opps_mp"].to_numpy(dtype=float)
            rows = np.flatnonzero((ope > 0) | (omp > 0))
            if rows.size:
                cap = (np.multiply.outer(cap_w[rows], wg) + np.multiply.outer(ope[rows], peg)
                       + np.multiply.outer(omp[rows], mpg)) * cf
                sub = a[rows]
                lower = cap < sub
                was_capped[rows] = lower
                a[rows] = np.where(lower, cap, sub)
                cap = round_cents(cap)
        round_cents(a, out=a)
        codes = reason_codes(rvus, setting, st_codes)
        # a payable row whose formula has a blank input gets a reason, never a silent NaN
        blank = (codes == "") & np.isnan(a).all(axis=1)
        codes[blank] = NO_RVU.code
        if mask_unpayable:
            unpaid = codes != ""
            a[unpaid] = np.nan
            was_capped[unpaid] = False
        amount[setting], reasons[setting], capped[setting], caps[setting] = a, codes, was_capped, (rows, cap)
    return PriceMatrix(rvus, loc_ids, cf, amount, reasons, capped, caps)


def nonpar(amount: np.ndarray) -> np.ndarray:
    """Non-participating amount: 95% of the (rounded) fee schedule amount, rounded."""
    return round_cents(np.asarray(amount, dtype=float) * NONPAR_FACTOR)


def limiting_charge(amount: np.ndarray) -> np.ndarray:
    """Limiting charge: 1.0925 × the (rounded) fee schedule amount, rounded."""
    return round_cents(np.asarray(amount, dtype=float) * LIMITING_FACTOR)


def with_other_schedule(hcpcs: pd.Series | np.ndarray, status: pd.Series | np.ndarray,
                        reasons: np.ndarray) -> np.ndarray:
    """Reason codes per RVU row (*reasons*, one setting) with the fee schedule that pays the code
    appended where the row's status is one the PFS does not pay (not A, R or T; not anesthesia J)
    and the code's form names another schedule: 36415 (status X) ``PFS_STATUS_X|NOT_PFS_CLFS``,
    J1100 (status E) ``PFS_STATUS_E|NOT_PFS_ASP``; G0463 (status X, a G code) stays
    ``PFS_STATUS_X``. This is the reason claim repricing gives such a line
    (:mod:`rvucalc.claims.pfs`), so ``quote``, ``schedule``, ``compare``, ``price_volumes`` and
    ``reprice`` say the same (:func:`rvucalc.codes.fee_schedule_of`). One call per distinct code.
    """
    from ..codes import fee_schedule_of

    out = np.asarray(reasons, dtype=object)
    st = np.asarray(status, dtype=object).astype(str)
    noted = ~np.isin(st, list(PAYABLE_STATUS)) & (st != "J") & (out != "")
    if not noted.any():
        return out
    out = out.copy()
    hc = np.asarray(hcpcs, dtype=object)
    codes, uniq = pd.factorize(hc[noted])
    other = np.array([getattr(getattr(fee_schedule_of(str(c)), "reason", None), "code", "")
                      for c in uniq], dtype=object)  # distinct codes, not rows
    extra = other[codes]
    out[np.flatnonzero(noted)] = np.where(extra != "", out[noted] + "|" + extra, out[noted])
    return out


def _cat(values: np.ndarray | pd.Series, idx: np.ndarray) -> pd.Categorical:
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return pd.Categorical.from_codes(codes[idx], categories=pd.Index(uniques, dtype=object))


def to_long(pm: PriceMatrix, *, extra: tuple[str, ...] = ("status", "global_days")) -> pd.DataFrame:
    """One row per RVU row × locality × setting (categorical keys: cheap on 4 M rows).

    Columns: hcpcs, modifier, locality_id, setting, amount (rounded; NaN with
    a reason), nonpar_amount, limiting_charge, opps_capped, reason, and *extra*.
    """
    n, k = len(pm.rvus), len(pm.locality_ids)
    settings = list(pm.amount)
    m = len(settings)
    code_idx = np.tile(np.repeat(np.arange(n), k), m)
    loc_idx = np.tile(np.arange(k), n * m)
    amt = np.concatenate([pm.amount[s].ravel() for s in settings])
    reasons = np.concatenate([with_other_schedule(pm.rvus["hcpcs"], pm.rvus["status"], pm.reason[s])
                              for s in settings])
    d = {
        "hcpcs": _cat(pm.rvus["hcpcs"], code_idx),
        "modifier": _cat(pm.rvus["modifier"], code_idx),
        "locality_id": pd.Categorical.from_codes(loc_idx, categories=pd.Index(pm.locality_ids.astype(str))),
        "setting": pd.Categorical.from_codes(np.repeat(np.arange(m), n * k), categories=settings),
        "amount": amt,
        "nonpar_amount": nonpar(amt),
        "limiting_charge": limiting_charge(amt),
        "opps_capped": np.concatenate([pm.capped[s].ravel() for s in settings]),
        "reason": _cat(reasons, np.repeat(np.arange(n * m).reshape(m, n), k, axis=1).ravel()),
    }
    for c in extra:
        d[c] = _cat(pm.rvus[c], code_idx)
    return pd.DataFrame(d)
