"""Facility claims (OPPS hospital outpatient, ASC): prepared code tables and the claim stages.

The stages of :mod:`rvucalc.claims` for the facility systems, over normalised arrays (one
element per claim line):

- **prepared tables** (:func:`prepare_opps`, :func:`prepare_asc`): one array per field, indexed
  by code, built once per release from Addendum B / Addenda AA+BB with the per-code rules of
  :mod:`rvucalc.calc.opps` and :mod:`rvucalc.calc.asc` (rates, copayment bases, which codes
  are paid, wage adjusted, excluded from C-APC packaging...);
- **lookup + line + claim rules + money** (:func:`price_opps`, :func:`price_asc`): the claim
  rules of :mod:`rvucalc.calc.opps_claims` and :mod:`rvucalc.calc.asc_claims`, then one
  rounding step (:func:`rvucalc.calc.money.line_cents`).

Money: every line amount (payment, beneficiary share, Medicare's share) is rounded to cents
half up once; the claim total is the sum of its rounded line payments, so the lines always add
up to the claim total exactly. That is how CMS's pricers and remittance advice work: each
service line carries its own paid amount and the claim payment is their sum (ASC X12 835
balancing, CLP04 = sum of SVC03), rather than a claim total rounded on its own that lines
would have to be forced to match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..calc import asc as asc_calc
from ..calc import asc_claims as AR
from ..calc import opps as opps_calc
from ..calc import opps_claims as OR
from ..calc.money import claim_cents, line_cents
from ..reasons import reason

__all__ = [
    "LINE_STATUS", "OPPS_COLUMNS", "ASC_COLUMNS", "OppsTable", "AscTable", "prepare_opps",
    "prepare_asc", "price_opps", "price_asc", "ReasonSet",
]

#: Outcome of a line: paid as billed, paid at a reduced share, packaged (no separate payment,
#: 0.00), or not paid (no amount, with the reason).
LINE_STATUS = ("paid", "discounted", "packaged", "not paid")
PAID, DISCOUNTED, PACKAGED, NOT_PAID = range(4)

OPPS_NOT_LISTED = reason("OPPS_CODE_NOT_IN_ADDENDUM_B", "HCPCS code not in this OPPS Addendum B, "
                         "so it has no OPPS status indicator or rate", "OPPS Addendum B")
ASC_NOT_LISTED = asc_calc.NOT_COVERED
OPPS_MODIFIER_NOT_APPLIED = reason(
    "OPPS_DISCONTINUED_MODIFIER_NOT_APPLIED",
    "Modifier 73, 52 or 74 (discontinued or reduced procedure) is not applied to OPPS lines by "
    "rvucalc yet: the amount is the full APC payment", "Medicare Claims Processing Manual ch. 4 "
    "s. 20.6.4")
LINE_REFUSED = reason("FACILITY_LINE_NOT_PRICED", "The line could not be read (see its other "
                      "reasons), so no facility amount is computed", "claim line input")

#: Columns :func:`price_opps` returns, in order.
OPPS_COLUMNS = ("status_indicator", "apc", "line_status", "paid_units", "discount_factor",
                "wage_index", "facility_payment", "beneficiary_copay", "medicare_payment",
                "claim_total", "reason")
#: Columns :func:`price_asc` returns, in order.
ASC_COLUMNS = ("payment_indicator", "line_status", "paid_units", "discount_factor", "wage_index",
               "facility_payment", "beneficiary_copay", "medicare_payment", "claim_total",
               "reason")


class ReasonSet:
    """Reason codes per line as bits of a uint64, turned into ``"A|B"`` text once at the end."""

    def __init__(self, n: int) -> None:
        self.bits = np.zeros(n, dtype=np.uint64)
        self.codes: list[str] = []

    def add(self, code: str, mask: np.ndarray) -> None:
        if not mask.any():
            return
        self.bits[mask] |= self._bit(code)

    def _bit(self, code: str) -> np.uint64:
        if code not in self.codes:
            if len(self.codes) >= 64:
                raise RuntimeError("more than 64 distinct reason codes in one chunk")
            self.codes.append(code)
        return np.uint64(1) << np.uint64(self.codes.index(code))

    def add_ids(self, ids: np.ndarray, labels: list[str], mask: np.ndarray) -> None:
        """Add each masked line's own code: *ids* index *labels* (-1 or ``""``: none)."""
        present = np.unique(ids[mask])
        lut = np.zeros(len(labels) + 1, dtype=np.uint64)  # last: the -1 sentinel
        for k in present:  # distinct codes, not lines
            if k >= 0 and labels[k]:
                lut[k] = self._bit(labels[k])
        self.bits |= np.where(mask, lut[ids], np.uint64(0))

    def categorical(self) -> pd.Categorical:
        inv, uniq = pd.factorize(self.bits)
        text = ["|".join(c for j, c in enumerate(self.codes) if int(u) >> j & 1) for u in uniq]
        cats = list(dict.fromkeys(text))
        remap = np.array([cats.index(t) for t in text], dtype=np.int64)
        return pd.Categorical.from_codes(remap[inv] if len(inv) else inv,
                                         categories=pd.Index(cats or [""], dtype=object))


def _cat(codes: np.ndarray, labels: tuple[str, ...] | list[str]) -> pd.Categorical:
    """Categorical from integer codes; -1 becomes ""."""
    labs = list(dict.fromkeys([*labels, ""]))
    where = {c: i for i, c in enumerate(labs)}
    remap = np.array([where[c] for c in labels] + [where[""]], dtype=np.int64)
    c = np.asarray(codes, dtype=np.int64)
    return pd.Categorical.from_codes(remap[np.where(c >= 0, c, len(labels))],
                                     categories=pd.Index(labs, dtype=object))


def _dollars(cents: np.ndarray, ok: np.ndarray) -> np.ndarray:
    return np.where(ok, cents / 100.0, np.nan)


# ---------------------------------------------------------------------------------------------
# OPPS


def _ids(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer ids of text values and their labels (``""`` gets an id too)."""
    k, uniq = pd.factorize(pd.Series(values, dtype=object))
    return k.astype(np.int32), [str(u) for u in uniq]


def _sentinel(arr: np.ndarray, fill: object) -> np.ndarray:
    """*arr* with one more element, *fill*, at the end: what code -1 (not listed) reads."""
    return np.append(arr, np.array([fill], dtype=arr.dtype))


@dataclass
class OppsTable:
    """Addendum B prepared for claim pricing: one array per field, indexed by code.

    Every per-code array has one element more than :attr:`hcpcs`: the last is what a code
    not in the table (index -1) reads.
    """

    release: str
    year: int
    deductible: float
    hcpcs: pd.Index
    si: np.ndarray  # int16 position in opps_claims.SI_CODES, -1 unknown
    apc: np.ndarray  # int32 id into apc_labels
    apc_labels: list[str]
    rate: np.ndarray  # national payment rate per unit
    copay: np.ndarray  # national unadjusted copayment per unit, before the deductible cap
    wage_adjusted: np.ndarray  # bool
    reason: np.ndarray  # int32 id into reason_labels ("" when the code has its own payment)
    reason_labels: list[str]
    exclusion: np.ndarray  # int8: index into opps_claims.CAPC_EXCLUSIONS, -1 none
    extra: dict[str, object] = field(default_factory=dict)


def prepare_opps(addb: pd.DataFrame, *, year: int, deductible: float | None = None,
                 release: str = "") -> OppsTable:
    """Prepare Addendum B (:func:`rvucalc.iotools.opps.read_addendum_b`) for claim pricing.

    The payment rate, the unadjusted copayment and the reason a code has no OPPS payment are
    those of :func:`rvucalc.calc.opps.opps_payment` at wage index 1 (the copayment taken
    before the inpatient-deductible cap, which is applied per claim line). *deductible*:
    default the inpatient deductible of *year*.
    """
    b = addb.drop_duplicates("hcpcs").reset_index(drop=True)
    ded = float(deductible) if deductible is not None else opps_calc.inpatient_deductible(year)
    capped = opps_calc.opps_payment(b, 1.0, year=year, deductible=ded)
    uncapped = opps_calc.opps_payment(b, 1.0, year=year, deductible=float("inf"))
    copay = np.where(capped["copay_capped"].to_numpy(bool), uncapped["copay"].to_numpy(float),
                     capped["copay"].to_numpy(float))
    si_text = b["status_indicator"].astype(str).str.strip().str.upper()
    k, uniq = pd.factorize(si_text)
    si = OR.si_index(list(uniq))[k] if len(uniq) else np.zeros(0, dtype=np.int16)
    apc_text = b["apc"].fillna("").astype(str).str.strip()
    apc_num = pd.to_numeric(apc_text, errors="coerce").fillna(-1).astype(np.int64).to_numpy()
    hc = b["hcpcs"].astype(str)
    nat = b["national_copay"].to_numpy(float)
    mini = b["minimum_copay"].to_numpy(float)
    rate = b["payment_rate"].to_numpy(float)
    preventive = (np.nan_to_num(nat, nan=-1.0) == 0.0) & (mini == 0.0) & (rate > 0)
    excl = OR.capc_exclusion(si, apc_num, (hc == "C9399").to_numpy(bool), preventive)
    apc_id, apc_labels = _ids(apc_text.to_numpy(dtype=object))
    rid, rlabels = _ids(capped["reason"].astype(str).to_numpy(dtype=object))
    rid = np.where(np.array(rlabels + [""], dtype=object)[rid] == "", -1, rid).astype(np.int32)
    return OppsTable(release=release, year=int(year), deductible=ded,
                     hcpcs=pd.Index(hc.to_numpy(dtype=object)), si=_sentinel(si, -1),
                     apc=_sentinel(apc_id, -1), apc_labels=apc_labels,
                     rate=_sentinel(rate, np.nan), copay=_sentinel(copay, np.nan),
                     wage_adjusted=_sentinel(capped["wage_adjusted"].to_numpy(bool), False),
                     reason=_sentinel(rid, -1), reason_labels=rlabels,
                     exclusion=_sentinel(excl, -1),
                     extra={"source": addb.attrs.get("source", "")})


def code_index(table_hcpcs: pd.Index, hcpcs: pd.Series | np.ndarray) -> np.ndarray:
    """Row of each line's HCPCS code in a prepared table (-1 when absent); works on the
    distinct codes only."""
    codes, uniq = pd.factorize(pd.Series(np.asarray(hcpcs, dtype=object), dtype=object),
                               use_na_sentinel=True)
    norm = pd.Series(uniq, dtype=object).astype(str).str.strip().str.upper().to_numpy(dtype=object)
    at = np.append(table_hcpcs.get_indexer(norm), -1).astype(np.int64)
    return at[codes]


def price_opps(table: OppsTable, *, claim: np.ndarray, session: np.ndarray, line: np.ndarray,
               code: np.ndarray, units: np.ndarray, wage_index: np.ndarray,
               modifiers: dict[str, np.ndarray] | None = None,
               refused: np.ndarray | None = None) -> dict[str, object]:
    """Price OPPS claim lines (hospital outpatient, bill type 13x) with the claim rules.

    *claim*: dense claim keys ``0..C-1`` (the scope of packaging and J1, Addendum D1 "same
    claim"); *session*: dense claim x date keys (the scope of the T discount); *line*: input
    line numbers (ties); *code*: row in *table* (:func:`code_index`); *units* (> 0);
    *wage_index*: the hospital's wage index per line; *refused*: lines already refused by
    normalisation (no amount); *modifiers*: boolean arrays by modifier (``"73"``, ``"52"``,
    ``"74"`` are flagged, not applied). Returns :data:`OPPS_COLUMNS` as arrays.
    """
    n = len(code)
    claim = np.asarray(claim, dtype=np.int64)
    n_claims = int(claim.max()) + 1 if n else 0
    units = np.asarray(units, dtype=float)
    wi = np.asarray(wage_index, dtype=float)
    refused = np.zeros(n, dtype=bool) if refused is None else np.asarray(refused, dtype=bool)
    rs = ReasonSet(n)
    known = code >= 0
    rs.add(OPPS_NOT_LISTED.code, ~known & ~refused)
    rs.add(LINE_REFUSED.code, refused)
    si = np.where(refused, -1, table.si[code]).astype(np.int16)
    rate = table.rate[code]
    copay_u = table.copay[code]
    wadj = table.wage_adjusted[code]
    rid = table.reason[code]
    excl = table.exclusion[code]
    rs.add_ids(rid, table.reason_labels, known & ~refused)
    own = known & ~refused & (rid < 0)
    no_wi = own & wadj & np.isnan(wi)
    rs.add(opps_calc.NO_WAGE_INDEX.code, no_wi)
    payable = own & ~no_wi

    on_j1, primary, secondary, j1_pack, complexity = OR.comprehensive(
        claim, si, payable, rate, units, excl, n_claims, line)
    rs.add(OR.J1_SECONDARY.code, secondary)
    rs.add(OR.J1_PACKAGED.code, j1_pack & ~secondary & (si != OR.SI_CODES.index("N")))
    rs.add(OR.J1_COMPLEXITY.code, complexity)
    rs.add(OR.J1_ONCE.code, primary & (units > 1))
    excluded_paid = on_j1 & payable & ~primary & ~secondary & (excl >= 0)
    for k, c in enumerate(OR.CAPC_EXCLUSIONS.values()):  # nine categories
        rs.add(c, excluded_paid & (excl == k))
    q1, q2, q4 = OR.conditional_packaging(claim, si, payable, n_claims)
    q1, q2, q4 = q1 & ~on_j1, q2 & ~on_j1, q4 & ~on_j1
    rs.add(OR.Q1_PACKAGED.code, q1)
    rs.add(OR.Q2_PACKAGED.code, q2)
    rs.add(OR.Q4_PACKAGED.code, q4)
    packaged = secondary | j1_pack | q1 | q2 | q4 | (known & (si == OR.SI_CODES.index("N")))
    paid = payable & ~packaged
    rs.add(OR.Q3_NOT_ASSESSED.code, paid & (si == OR.SI_CODES.index("Q3")))
    rs.add(OR.J2_NOT_ASSESSED.code, paid & (si == OR.SI_CODES.index("J2")))

    is_t = paid & (si == OR.SI_CODES.index("T"))
    t_factor, _ = OR.t_discount_factor(np.asarray(session, dtype=np.int64), is_t, rate, units,
                                       np.asarray(line, dtype=np.int64))
    rs.add(opps_calc.T_DISCOUNTED.code, is_t & (t_factor < 1))
    paid_units = np.where(primary, 1.0, units * t_factor)
    paid_units = np.where(paid, paid_units, 0.0)
    wf = OR.wage_factor(wi, wadj)
    pay_raw = np.where(paid, rate * wf * paid_units, np.where(packaged, 0.0, np.nan))
    cop_raw, capped = OR.copay_capped(copay_u * wf * paid_units, table.deductible)
    cop_raw = np.where(paid, cop_raw, np.where(packaged, 0.0, np.nan))
    rs.add(OR.COPAY_CAPPED.code, paid & capped)
    if modifiers:
        disc = np.zeros(n, dtype=bool)
        for k in ("73", "52", "74"):
            if k in modifiers:
                disc |= np.asarray(modifiers[k], dtype=bool)
        rs.add(OPPS_MODIFIER_NOT_APPLIED.code, paid & disc)

    pay_c, ok = line_cents(pay_raw)
    cop_c, _ = line_cents(cop_raw)
    total = claim_cents(claim, pay_c, n_claims)[claim] if n else pay_c
    status = np.where(paid, np.where(is_t & (t_factor < 1), DISCOUNTED, PAID),
                      np.where(packaged, PACKAGED, NOT_PAID))
    si_lab = list(OR.SI_CODES)
    return {
        "status_indicator": _cat(si, si_lab),
        "apc": _cat(table.apc[code], table.apc_labels),
        "line_status": _cat(status, LINE_STATUS),
        "paid_units": np.where(ok, paid_units, np.nan),
        "discount_factor": np.where(ok & paid, paid_units / units, np.where(ok, 0.0, np.nan)),
        "wage_index": wi,
        "facility_payment": _dollars(pay_c, ok),
        "beneficiary_copay": _dollars(cop_c, ok),
        "medicare_payment": _dollars(pay_c - cop_c, ok),
        "claim_total": total / 100.0,
        "reason": rs.categorical(),
    }


# ---------------------------------------------------------------------------------------------
# ASC


@dataclass
class AscTable:
    """ASC Addenda AA (+ BB) prepared for claim pricing: one array per field, by code, each
    with a last element for codes not listed (as :class:`OppsTable`)."""

    release: str
    year: int
    hcpcs: pd.Index
    pi: np.ndarray  # int32 id into pi_labels
    pi_labels: list[str]
    rate: np.ndarray  # national rate per unit
    wage_adjusted: np.ndarray
    reason: np.ndarray  # int32 id into reason_labels, -1 when separately paid
    reason_labels: list[str]
    surgical: np.ndarray  # bool: on Addendum AA
    subject_mpd: np.ndarray  # bool: subject to multiple procedure discounting
    preventive: np.ndarray  # bool
    ira_copay: np.ndarray  # float: IRA-adjusted copayment (BB drugs), NaN none
    device_offset: np.ndarray | None = None  # per code, when CMS's Addendum FF is at hand
    extra: dict[str, object] = field(default_factory=dict)


def prepare_asc(aa: pd.DataFrame, bb: pd.DataFrame | None = None, *, year: int,
                release: str = "", device_offset: pd.Series | None = None) -> AscTable:
    """Prepare Addenda AA and BB (:mod:`rvucalc.iotools.asc`) for claim pricing.

    Rates, wage adjustment, coinsurance basis and reasons are those of
    :func:`rvucalc.calc.asc.asc_payment` at wage index 1. *device_offset*: device offset per
    HCPCS (CMS final-rule Addendum FF) when at hand; without it device credits (FB/FC) and
    modifier 73 on device-intensive procedures are not priced.
    """
    parts = [aa.assign(_surgical=True)]
    if bb is not None:
        parts.append(bb.assign(_surgical=False))
    both = pd.concat(parts, ignore_index=True).drop_duplicates("hcpcs").reset_index(drop=True)
    p = asc_calc.asc_payment(both, 1.0)
    hc = both["hcpcs"].astype(str)
    mpd = both["multiple_procedure_discount"].fillna(False).astype(bool).to_numpy() \
        if "multiple_procedure_discount" in both else np.zeros(len(both), dtype=bool)
    ira = np.where(p["coinsurance_basis"].to_numpy(dtype=object) == "ira_copayment",
                   pd.to_numeric(both.get("copayment"), errors="coerce"), np.nan) \
        if "copayment" in both else np.full(len(both), np.nan)
    off = None
    if device_offset is not None:
        off = _sentinel(pd.Series(device_offset, dtype=float).reindex(hc.to_numpy())
                        .to_numpy(float), np.nan)
    pi_id, pi_labels = _ids(p["payment_indicator"].astype(str).str.strip().str.upper()
                            .to_numpy(dtype=object))
    rid, rlabels = _ids(p["reason"].astype(str).to_numpy(dtype=object))
    rid = np.where(np.array(rlabels + [""], dtype=object)[rid] == "", -1, rid).astype(np.int32)
    return AscTable(release=release, year=int(year), hcpcs=pd.Index(hc.to_numpy(dtype=object)),
                    pi=_sentinel(pi_id, -1), pi_labels=pi_labels,
                    rate=_sentinel(p["national_rate"].to_numpy(float), np.nan),
                    wage_adjusted=_sentinel(p["wage_adjusted"].to_numpy(bool), False),
                    reason=_sentinel(rid, -1), reason_labels=rlabels,
                    surgical=_sentinel(both["_surgical"].to_numpy(bool), False),
                    subject_mpd=_sentinel(mpd, False),
                    preventive=_sentinel(both["preventive"].fillna(False).astype(bool)
                                         .to_numpy(), False),
                    ira_copay=_sentinel(np.asarray(ira, dtype=float), np.nan), device_offset=off,
                    extra={"source": aa.attrs.get("source", "")})


def price_asc(table: AscTable, *, claim: np.ndarray, session: np.ndarray, line: np.ndarray,
              code: np.ndarray, units: np.ndarray, wage_index: np.ndarray,
              modifiers: dict[str, np.ndarray] | None = None,
              refused: np.ndarray | None = None) -> dict[str, object]:
    """Price ASC claim lines with the claim rules.

    Arguments as :func:`price_opps`; *wage_index*: the ASC's CBSA wage index per line;
    *modifiers*: boolean arrays for ``"73"``, ``"52"``, ``"74"``, ``"FB"``, ``"FC"`` (absent
    keys: none). Returns :data:`ASC_COLUMNS` as arrays.
    """
    n = len(code)
    claim = np.asarray(claim, dtype=np.int64)
    n_claims = int(claim.max()) + 1 if n else 0
    units = np.asarray(units, dtype=float)
    wi = np.asarray(wage_index, dtype=float)
    refused = np.zeros(n, dtype=bool) if refused is None else np.asarray(refused, dtype=bool)
    mods = modifiers or {}
    m = {k: np.asarray(mods.get(k, np.zeros(n, dtype=bool)), dtype=bool)
         for k in ("73", "52", "74", "FB", "FC")}
    rs = ReasonSet(n)
    known = code >= 0
    rs.add(ASC_NOT_LISTED.code, ~known & ~refused)
    rs.add(LINE_REFUSED.code, refused)
    pi = table.pi[code]
    rate = table.rate[code]
    wadj = table.wage_adjusted[code]
    rid = table.reason[code]
    surgical = table.surgical[code]
    subject = table.subject_mpd[code]
    prev = table.preventive[code]
    ira = table.ira_copay[code]
    rs.add_ids(rid, table.reason_labels, known & ~refused)
    own = known & ~refused & (rid < 0)
    no_wi = own & wadj & np.isnan(wi)
    rs.add(asc_calc.NO_WAGE_INDEX.code, no_wi)
    priced = own & ~no_wi

    def pi_is(label: str) -> np.ndarray:
        k = table.pi_labels.index(label) if label in table.pi_labels else -2
        return pi == k

    packaged = known & ~refused & pi_is("N1")

    alone = AR.ancillary_without_procedure(claim, priced & ~surgical, priced & surgical, n_claims)
    rs.add(AR.ANCILLARY_ALONE.code, alone)
    device = pi_is("J8")
    mod_f, need73 = AR.modifier_factor(m["73"], m["52"], m["74"], device)
    off = table.device_offset[code] if table.device_offset is not None else None
    credit, need_credit, credit_na = AR.device_credit(m["FB"], m["FC"], device, off)
    need_off = priced & (need73 | need_credit) & (np.isnan(off) if off is not None else True)
    rs.add(AR.DEVICE_OFFSET_MISSING.code, need_off)
    paid = priced & ~alone & ~need_off
    rs.add(AR.DEVICE_CREDIT_NA.code, paid & credit_na)
    rs.add(AR.MOD73.code, paid & m["73"])
    rs.add(AR.MOD52.code, paid & m["52"] & ~m["73"])
    rs.add(AR.MOD74.code, paid & m["74"] & ~m["73"] & ~m["52"])
    wf = AR.wage_factor(wi, wadj)
    rs.add(AR.J8_WAGE.code, paid & device & (wi != 1.0))
    base = np.where(m["73"] & device, rate - np.nan_to_num(off if off is not None else 0.0), rate)
    unit_amt = (base - credit) * wf * mod_f
    mpd_f, _ = AR.multiple_procedure_factor(np.asarray(session, dtype=np.int64), paid & subject,
                                            unit_amt, units, np.asarray(line, dtype=np.int64))
    rs.add(asc_calc.MULT_PROC_50.code, paid & subject & (mpd_f < 1))
    paid_units = np.where(paid, units * mpd_f, 0.0)
    pay_raw = np.where(paid, unit_amt * paid_units, np.where(packaged, 0.0, np.nan))
    coins_raw = np.where(prev, 0.0, np.where(np.isnan(ira), asc_calc.COINSURANCE_RATE * pay_raw,
                                             ira * paid_units))
    coins_raw = np.where(paid, np.minimum(coins_raw, pay_raw), np.where(packaged, 0.0, np.nan))
    rs.add(asc_calc.PREVENTIVE.code, paid & prev)
    rs.add(asc_calc.IRA_COPAY.code, paid & ~prev & ~np.isnan(ira))

    pay_c, ok = line_cents(pay_raw)
    coi_c, _ = line_cents(coins_raw)
    total = claim_cents(claim, pay_c, n_claims)[claim] if n else pay_c
    reduced = paid & ((mpd_f < 1) | (mod_f < 1) | (credit > 0))
    status = np.where(paid, np.where(reduced, DISCOUNTED, PAID),
                      np.where(packaged, PACKAGED, NOT_PAID))
    return {
        "payment_indicator": _cat(np.where(refused, -1, pi), table.pi_labels),
        "line_status": _cat(status, LINE_STATUS),
        "paid_units": np.where(ok, paid_units, np.nan),
        "discount_factor": np.where(ok & paid, mpd_f * mod_f, np.where(ok, 0.0, np.nan)),
        "wage_index": wi,
        "facility_payment": _dollars(pay_c, ok),
        "beneficiary_copay": _dollars(coi_c, ok),
        "medicare_payment": _dollars(pay_c - coi_c, ok),
        "claim_total": total / 100.0,
        "reason": rs.categorical(),
    }
