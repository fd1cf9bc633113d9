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
from typing import Any

import numpy as np
import pandas as pd

from ..calc import asc as asc_calc
from ..calc import asc_claims as AR
from ..calc import opps as opps_calc
from ..calc import opps_claims as OR
from ..calc.money import claim_cents, line_cents
from ..reasons import reason
from .lines import ReasonBits

__all__ = [
    "LINE_STATUS", "OPPS_COLUMNS", "ASC_COLUMNS", "OppsTable", "AscTable", "prepare_opps",
    "prepare_asc", "price_opps", "price_asc", "opps_lookup", "opps_rules", "asc_lookup",
    "asc_rules",
]

#: Outcome of a line: paid as billed, paid at a reduced share, packaged (no separate payment,
#: 0.00), or not paid (no amount, with the reason). ``payable`` is True for the first three.
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
OPPS_COLUMNS = ("status_indicator", "apc", "line_status", "payable", "paid_units", "discount_factor",
                "facility_wage_index", "facility_payment", "beneficiary_copay", "medicare_payment",
                "claim_total", "reason")
#: Columns :func:`price_asc` returns, in order.
ASC_COLUMNS = ("payment_indicator", "line_status", "payable", "paid_units", "discount_factor",
               "facility_wage_index",
               "facility_payment", "beneficiary_copay", "medicare_payment", "claim_total",
               "reason")


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


@dataclass
class OppsLines:
    """Per-line lookups from the prepared Addendum B tables (the lookup stage's output)."""

    known: np.ndarray  # the code is in the line's Addendum B
    si: np.ndarray  # int16, -1 none
    apc: np.ndarray  # int64 id into apc_labels, -1 none
    apc_labels: list[str]
    rate: np.ndarray
    copay: np.ndarray
    wage_adjusted: np.ndarray
    own_payment: np.ndarray  # the code has an OPPS payment of its own (no SI/rate reason)
    exclusion: np.ndarray
    deductible: np.ndarray  # the inpatient deductible of the line's release year


def opps_lines(n: int) -> OppsLines:
    """Empty per-line lookups (every line: code not listed)."""
    return OppsLines(known=np.zeros(n, dtype=bool), si=np.full(n, -1, dtype=np.int16),
                     apc=np.full(n, -1, dtype=np.int64), apc_labels=[], rate=np.full(n, np.nan),
                     copay=np.full(n, np.nan), wage_adjusted=np.zeros(n, dtype=bool),
                     own_payment=np.zeros(n, dtype=bool), exclusion=np.full(n, -1, dtype=np.int8),
                     deductible=np.full(n, np.nan))


def _add_ids(rb: ReasonBits, ids: np.ndarray, labels: list[str], idx: np.ndarray) -> None:
    """Add, for each line of *idx*, the reason code ``labels[id]`` (id -1: none)."""
    present = np.unique(ids)
    lut = np.zeros(len(labels) + 1, dtype=np.uint64)  # last: the -1 sentinel
    for k in present:  # distinct codes, not lines
        if k >= 0 and labels[k]:
            lut[k] = rb.bit(labels[k])
    rb.bits[idx] |= lut[ids]


def _relabel(labels: list[str], table_labels: list[str] | tuple[str, ...], ids: np.ndarray) -> np.ndarray:
    """*ids* into *table_labels* as ids into *labels*, after appending *table_labels* to it
    (lines of several releases share one label list; -1 stays -1)."""
    off = len(labels)
    labels.extend(table_labels)
    return np.where(ids >= 0, ids + off, -1)


def opps_lookup(out: OppsLines, table: OppsTable, code: np.ndarray, idx: np.ndarray,
                rb: ReasonBits) -> None:
    """Lookup stage: fill *out* at lines *idx* from *table* (*code*: row per line of *idx*)."""
    known = code >= 0
    out.known[idx] = known
    out.si[idx] = table.si[code]
    out.apc[idx] = _relabel(out.apc_labels, table.apc_labels, table.apc[code])
    out.rate[idx] = table.rate[code]
    out.copay[idx] = table.copay[code]
    out.wage_adjusted[idx] = table.wage_adjusted[code]
    rid = table.reason[code]
    out.own_payment[idx] = known & (rid < 0)
    out.exclusion[idx] = table.exclusion[code]
    out.deductible[idx] = table.deductible
    _add_ids(rb, rid, table.reason_labels, idx)
    rb.add(OPPS_NOT_LISTED.code, ~known, idx)


def _rule_inputs(claim: np.ndarray, session: np.ndarray, line: np.ndarray, units: np.ndarray,
                 wage_index: np.ndarray, refused: np.ndarray | None) -> tuple[Any, ...]:
    """The claim rules' common inputs as typed arrays: ``(n, claim, session, line, n_claims,
    n_sessions, units, wage_index, refused)``."""
    n = len(claim)
    claim = np.asarray(claim, dtype=np.int64)
    session = np.asarray(session, dtype=np.int64)
    n_claims = int(claim.max()) + 1 if n else 0
    n_sessions = int(session.max()) + 1 if n else 0
    return (n, claim, session, np.asarray(line, dtype=np.int64), n_claims, n_sessions,
            np.asarray(units, dtype=float), np.asarray(wage_index, dtype=float),
            np.zeros(n, dtype=bool) if refused is None else np.asarray(refused, dtype=bool))


def opps_rules(L: OppsLines, *, claim: np.ndarray, session: np.ndarray, line: np.ndarray,
               units: np.ndarray, wage_index: np.ndarray, rb: ReasonBits,
               modifiers: dict[str, np.ndarray] | None = None,
               refused: np.ndarray | None = None) -> dict[str, object]:
    """Line rules, claim rules and money for OPPS lines (:mod:`rvucalc.calc.opps_claims`).

    *claim*: dense claim keys ``0..C-1`` (the scope of packaging and J1, Addendum D1 "same
    claim"); *session*: dense claim x date keys (the scope of the T discount); *line*: input
    line numbers (ties); *units* (> 0); *wage_index*: the hospital's wage index per line;
    *refused*: lines that cannot be priced (bad input, no release); *modifiers*: boolean
    arrays by modifier (``"73"``, ``"52"``, ``"74"`` are flagged, not applied). Returns
    :data:`OPPS_COLUMNS` as arrays (``reason`` from *rb*).
    """
    n, claim, session, line, n_claims, n_sessions, units, wi, refused = _rule_inputs(
        claim, session, line, units, wage_index, refused)
    rb.add(LINE_REFUSED.code, refused)
    known = L.known & ~refused
    si = np.where(refused, -1, L.si).astype(np.int16)
    rate = L.rate
    own = known & L.own_payment
    no_wi = own & L.wage_adjusted & np.isnan(wi)
    rb.add(opps_calc.NO_WAGE_INDEX.code, no_wi)
    payable = own & ~no_wi

    on_j1, primary, secondary, j1_pack, complexity = OR.comprehensive(
        claim, si, payable, rate, units, L.exclusion, n_claims, line)
    is_n = si == OR.SI_CODES.index("N")
    rb.add(OR.J1_SECONDARY.code, secondary)
    rb.add(OR.J1_PACKAGED.code, j1_pack & ~secondary & ~is_n)
    rb.add(OR.J1_COMPLEXITY.code, complexity)
    rb.add(OR.J1_ONCE.code, primary & (units > 1))
    excluded_paid = on_j1 & payable & ~primary & ~secondary & (L.exclusion >= 0)
    for k, c in enumerate(OR.CAPC_EXCLUSIONS.values()):  # nine categories
        rb.add(c, excluded_paid & (L.exclusion == k))
    q1, q2, q4 = OR.conditional_packaging(claim, si, payable, n_claims)
    q1, q2, q4 = q1 & ~on_j1, q2 & ~on_j1, q4 & ~on_j1
    rb.add(OR.Q1_PACKAGED.code, q1)
    rb.add(OR.Q2_PACKAGED.code, q2)
    rb.add(OR.Q4_PACKAGED.code, q4)
    packaged = secondary | j1_pack | q1 | q2 | q4 | (known & is_n)
    paid = payable & ~packaged
    rb.add(OR.Q3_NOT_ASSESSED.code, paid & (si == OR.SI_CODES.index("Q3")))
    rb.add(OR.J2_NOT_ASSESSED.code, paid & (si == OR.SI_CODES.index("J2")))

    is_t = paid & (si == OR.SI_CODES.index("T"))
    t_factor, _ = OR.t_discount_factor(session, is_t, rate, units, line, n_sessions)
    rb.add(opps_calc.T_DISCOUNTED.code, is_t & (t_factor < 1))
    paid_units = np.where(paid, np.where(primary, 1.0, units * t_factor), 0.0)
    wf = OR.wage_factor(wi, L.wage_adjusted)
    pay_raw = np.where(paid, rate * wf * paid_units, np.where(packaged, 0.0, np.nan))
    cop_raw, capped = OR.copay_capped(L.copay * wf * paid_units, L.deductible)
    cop_raw = np.where(paid, cop_raw, np.where(packaged, 0.0, np.nan))
    rb.add(OR.COPAY_CAPPED.code, paid & capped)
    if modifiers:
        disc = np.zeros(n, dtype=bool)
        for k in ("73", "52", "74"):
            if k in modifiers:
                disc |= np.asarray(modifiers[k], dtype=bool)
        rb.add(OPPS_MODIFIER_NOT_APPLIED.code, paid & disc)

    return {
        "status_indicator": _cat(si, list(OR.SI_CODES)),
        "apc": _cat(np.where(refused, -1, L.apc), L.apc_labels),
        **_money(claim, n_claims, pay_raw, cop_raw, paid=paid, packaged=packaged,
                 reduced=is_t & (t_factor < 1), paid_units=paid_units, factor=paid_units / units,
                 wage_index=wi, rb=rb),
    }


def _money(claim: np.ndarray, n_claims: int, pay_raw: np.ndarray, copay_raw: np.ndarray, *,
           paid: np.ndarray, packaged: np.ndarray, reduced: np.ndarray, paid_units: np.ndarray,
           factor: np.ndarray, wage_index: np.ndarray, rb: ReasonBits) -> dict[str, object]:
    """The money stage shared by OPPS and ASC lines: each line rounded to cents once
    (:func:`rvucalc.calc.money.line_cents`), the claim total the sum of its lines' cents, the
    beneficiary's copayment/coinsurance and Medicare's payment (the payment less it)."""
    pay_c, ok = line_cents(pay_raw)
    cop_c, _ = line_cents(copay_raw)
    total = claim_cents(claim, pay_c, n_claims)[claim] if len(claim) else pay_c
    status = np.where(paid, np.where(paid & reduced, DISCOUNTED, PAID),
                      np.where(packaged, PACKAGED, NOT_PAID))
    return {
        "line_status": _cat(status, LINE_STATUS),
        "payable": ok,
        "paid_units": np.where(ok, paid_units, np.nan),
        "discount_factor": np.where(ok & paid, factor, np.where(ok, 0.0, np.nan)),
        "facility_wage_index": wage_index,
        "facility_payment": _dollars(pay_c, ok),
        "beneficiary_copay": _dollars(cop_c, ok),
        "medicare_payment": _dollars(pay_c - cop_c, ok),
        "claim_total": total / 100.0,
        "reason": rb.categorical(),
    }


def price_opps(table: OppsTable, *, claim: np.ndarray, session: np.ndarray, line: np.ndarray,
               code: np.ndarray, units: np.ndarray, wage_index: np.ndarray,
               modifiers: dict[str, np.ndarray] | None = None,
               refused: np.ndarray | None = None) -> dict[str, object]:
    """Lookup + rules + money for lines of one Addendum B (*code*: :func:`code_index`).

    See :func:`opps_rules` for the arguments; returns :data:`OPPS_COLUMNS` as arrays.
    """
    n = len(code)
    rb = ReasonBits(n)
    L = opps_lines(n)
    opps_lookup(L, table, np.asarray(code, dtype=np.int64), np.arange(n), rb)
    return opps_rules(L, claim=claim, session=session, line=line, units=units,
                      wage_index=wage_index, rb=rb, modifiers=modifiers, refused=refused)


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


@dataclass
class AscLines:
    """Per-line lookups from the prepared Addenda AA/BB (the lookup stage's output)."""

    known: np.ndarray
    pi: np.ndarray  # int64 id into pi_labels, -1 none
    pi_labels: list[str]
    rate: np.ndarray
    wage_adjusted: np.ndarray
    own_payment: np.ndarray  # separately paid indicator with a rate
    surgical: np.ndarray
    subject_mpd: np.ndarray
    preventive: np.ndarray
    ira_copay: np.ndarray
    device_offset: np.ndarray  # NaN where not at hand


def asc_lines(n: int) -> AscLines:
    """Empty per-line lookups (every line: code not listed)."""
    return AscLines(known=np.zeros(n, dtype=bool), pi=np.full(n, -1, dtype=np.int64), pi_labels=[],
                    rate=np.full(n, np.nan), wage_adjusted=np.zeros(n, dtype=bool),
                    own_payment=np.zeros(n, dtype=bool), surgical=np.zeros(n, dtype=bool),
                    subject_mpd=np.zeros(n, dtype=bool), preventive=np.zeros(n, dtype=bool),
                    ira_copay=np.full(n, np.nan), device_offset=np.full(n, np.nan))


def asc_lookup(out: AscLines, table: AscTable, code: np.ndarray, idx: np.ndarray,
               rb: ReasonBits) -> None:
    """Lookup stage: fill *out* at lines *idx* from *table* (*code*: row per line of *idx*)."""
    known = code >= 0
    out.known[idx] = known
    out.pi[idx] = _relabel(out.pi_labels, table.pi_labels, table.pi[code])
    out.rate[idx] = table.rate[code]
    out.wage_adjusted[idx] = table.wage_adjusted[code]
    rid = table.reason[code]
    out.own_payment[idx] = known & (rid < 0)
    out.surgical[idx] = table.surgical[code]
    out.subject_mpd[idx] = table.subject_mpd[code]
    out.preventive[idx] = table.preventive[code]
    out.ira_copay[idx] = table.ira_copay[code]
    if table.device_offset is not None:
        out.device_offset[idx] = table.device_offset[code]
    _add_ids(rb, rid, table.reason_labels, idx)
    rb.add(ASC_NOT_LISTED.code, ~known, idx)


def asc_rules(L: AscLines, *, claim: np.ndarray, session: np.ndarray, line: np.ndarray,
              units: np.ndarray, wage_index: np.ndarray, rb: ReasonBits,
              modifiers: dict[str, np.ndarray] | None = None,
              refused: np.ndarray | None = None) -> dict[str, object]:
    """Line rules, claim rules and money for ASC lines (:mod:`rvucalc.calc.asc_claims`).

    Arguments as :func:`opps_rules`; *wage_index*: the ASC's CBSA wage index per line;
    *modifiers*: boolean arrays for ``"73"``, ``"52"``, ``"74"``, ``"FB"``, ``"FC"`` (absent
    keys: none). Returns :data:`ASC_COLUMNS` as arrays.
    """
    n, claim, session, line, n_claims, n_sessions, units, wi, refused = _rule_inputs(
        claim, session, line, units, wage_index, refused)
    mods = modifiers or {}
    m = {k: np.asarray(mods.get(k, np.zeros(n, dtype=bool)), dtype=bool)
         for k in ("73", "52", "74", "FB", "FC")}
    rb.add(LINE_REFUSED.code, refused)
    known = L.known & ~refused
    own = known & L.own_payment
    no_wi = own & L.wage_adjusted & np.isnan(wi)
    rb.add(asc_calc.NO_WAGE_INDEX.code, no_wi)
    priced = own & ~no_wi
    labels = np.array(L.pi_labels + [""], dtype=object)
    pi_text = labels[L.pi]
    packaged = known & (pi_text == "N1")
    device = pi_text == "J8"

    alone = AR.ancillary_without_procedure(claim, priced & ~L.surgical, priced & L.surgical,
                                           n_claims)
    rb.add(AR.ANCILLARY_ALONE.code, alone)
    mod_f, need73 = AR.modifier_factor(m["73"], m["52"], m["74"], device)
    off = L.device_offset
    credit, need_credit, credit_na = AR.device_credit(m["FB"], m["FC"], device, off)
    need_off = priced & (need73 | need_credit) & np.isnan(off)
    rb.add(AR.DEVICE_OFFSET_MISSING.code, need_off)
    paid = priced & ~alone & ~need_off
    rb.add(AR.DEVICE_CREDIT_NA.code, paid & credit_na)
    rb.add(AR.MOD73.code, paid & m["73"])
    rb.add(AR.MOD52.code, paid & m["52"] & ~m["73"])
    rb.add(AR.MOD74.code, paid & m["74"] & ~m["73"] & ~m["52"])
    wf = AR.wage_factor(wi, L.wage_adjusted)
    rb.add(AR.J8_WAGE.code, paid & device & np.isnan(off) & (wi != 1.0))
    # J8 with its device offset at hand: the device portion is not wage adjusted (as
    # rvucalc.calc.asc.asc_payment), less the FB/FC credit, and removed under modifier 73
    dev = np.where(device, np.nan_to_num(off), 0.0)
    dev_paid = np.where(m["73"], 0.0, dev - np.nan_to_num(credit))
    unit_amt = (dev_paid + (L.rate - dev) * wf) * mod_f
    mpd_f, _ = AR.multiple_procedure_factor(session, paid & L.subject_mpd, unit_amt, units, line,
                                            n_sessions)
    rb.add(asc_calc.MULT_PROC_50.code, paid & L.subject_mpd & (mpd_f < 1))
    paid_units = np.where(paid, units * mpd_f, 0.0)
    pay_raw = np.where(paid, unit_amt * paid_units, np.where(packaged, 0.0, np.nan))
    prev, ira = L.preventive, L.ira_copay
    coins_raw = np.where(prev, 0.0, np.where(np.isnan(ira), asc_calc.COINSURANCE_RATE * pay_raw,
                                             ira * paid_units))
    coins_raw = np.where(paid, np.minimum(coins_raw, pay_raw), np.where(packaged, 0.0, np.nan))
    rb.add(asc_calc.PREVENTIVE.code, paid & prev)
    rb.add(asc_calc.IRA_COPAY.code, paid & ~prev & ~np.isnan(ira))

    return {
        "payment_indicator": _cat(np.where(refused, -1, L.pi), L.pi_labels),
        **_money(claim, n_claims, pay_raw, coins_raw, paid=paid, packaged=packaged,
                 reduced=(mpd_f < 1) | (mod_f < 1) | (credit > 0), paid_units=paid_units,
                 factor=mpd_f * mod_f, wage_index=wi, rb=rb),
    }


def price_asc(table: AscTable, *, claim: np.ndarray, session: np.ndarray, line: np.ndarray,
              code: np.ndarray, units: np.ndarray, wage_index: np.ndarray,
              modifiers: dict[str, np.ndarray] | None = None,
              refused: np.ndarray | None = None) -> dict[str, object]:
    """Lookup + rules + money for lines of one ASC release (*code*: :func:`code_index`).

    See :func:`asc_rules`; returns :data:`ASC_COLUMNS` as arrays.
    """
    n = len(code)
    rb = ReasonBits(n)
    L = asc_lines(n)
    asc_lookup(L, table, np.asarray(code, dtype=np.int64), np.arange(n), rb)
    return asc_rules(L, claim=claim, session=session, line=line, units=units,
                     wage_index=wage_index, rb=rb, modifiers=modifiers, refused=refused)
