"""ASC claim rules: payment indicators on a claim, discontinued procedures, device credits,
the multiple procedure discount.

Each rule is a small pure function over whole arrays (one element per claim line), grouped by
integer keys the caller builds (``claim``, and ``session`` = claim x date of service for the
multiple procedure discount). Nothing here rounds: amounts are rounded once by
:func:`rvucalc.calc.money.line_cents`. The per-code amounts (national rate, wage adjustment,
coinsurance basis, the reason a code has no ASC payment) come from
:func:`rvucalc.calc.asc.asc_payment`, so those rules live in one place.

Rules and where they come from
------------------------------
* **Payment indicators** (CMS ASC Addendum DD1; see
  :data:`rvucalc.calc.asc.PAYMENT_INDICATORS`): separately paid indicators keep their rate;
  N1 is packaged ("Packaged service/item; no separate payment made"); every other indicator
  has its own reason and no amount.
* **Covered ancillary services** (Addendum BB) are paid only when provided integral to a
  covered surgical procedure (42 CFR 416.164(b), 416.166(a); Medicare Claims Processing
  Manual, Pub. 100-04, ch. 14 s. 10.2): an ancillary line on a claim with no paid surgical
  procedure (Addendum AA) gets ``ASC_ANCILLARY_WITHOUT_PROCEDURE`` and no amount.
* **Wage adjustment** (42 CFR 416.172; Pub. 100-04 ch. 14 s. 40.2): ``rate x (0.50 x wage
  index + 0.50)`` for the indicators :func:`rvucalc.calc.asc.asc_payment` wage adjusts, by the
  wage index of the ASC's CBSA (or county).
* **Discontinued and reduced procedures** (Pub. 100-04 ch. 14 s. 40.4; 42 CFR 416.172):
  modifier 73 (discontinued after the patient is prepared and taken to the room, before
  anesthesia) 50%; modifier 52 (reduced or discontinued procedure not requiring anesthesia)
  50%; modifier 74 (discontinued after anesthesia or after the procedure started) 100%. For
  a device-intensive procedure (J8) with modifier 73 the device portion is removed before the
  50% (Pub. 100-04 ch. 14 s. 40.10; CY 2017 OPPS/ASC final rule), with the device portion of
  the quarter's Addendum FF (:func:`rvucalc.loading.device_portions`); where that file is not
  at hand such a line gets ``ASC_DEVICE_OFFSET_NOT_AT_HAND`` and no amount, never a guessed one.
* **Device credits** FB (device furnished at no cost or with full credit) and FC (partial
  credit of 50% or more) (42 CFR 416.179; Pub. 100-04 ch. 14 s. 40.8): the payment of a
  device-intensive procedure is reduced by the device offset (FB) or half of it (FC). Without
  the offset data the line gets ``ASC_DEVICE_OFFSET_NOT_AT_HAND`` and no amount. Where the
  offset is at hand, only the service portion of a J8 rate is wage adjusted (the device
  portion is paid at its OPPS-based amount: 42 CFR 416.171-416.172; as
  :func:`rvucalc.calc.asc.asc_payment` does with a ``device_portion``); without it the whole
  rate is, and amounts away from wage index 1 say ``ASC_J8_WAGE_WHOLE_RATE``.
* **Multiple procedure discount** (42 CFR 416.172; Pub. 100-04 ch. 14 s. 40.5): among the
  lines of a claim and date whose code is "subject to multiple procedure discounting"
  (Addendum AA), the one with the highest payment (after the modifier reduction) is paid in
  full and every other at 50%; units beyond the first are each a further procedure at 50%.
* **Beneficiary coinsurance** (42 CFR 416.172): 20% of the line's payment; none for the
  preventive services marked ``**`` (SSA 1833(a)(1)(T)); the Inflation Reduction Act
  copayment of Addendum BB drugs where given. Medicare pays the rest.

The stages over normalised line arrays: :func:`prepare_asc` (Addenda AA + BB as one array per
field, built once per release), :func:`asc_lookup`, :func:`asc_rules` (the rules above) and
:func:`price_asc`; the release choice and wage index per line are the facility systems' shared
stages (:mod:`rvucalc.claims.facility`).


Money: each line amount is rounded to cents half up once, and the claim total is the sum of
its lines, as in :mod:`rvucalc.claims.opps` (no total when a line's amount is unknown for want
of data: no release, no wage index, no rate or device portion in the files).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..calc import asc as asc_calc
from ..calc.asc import ASC_LABOR_SHARE, multiple_procedure_factor
from ..calc.asc import J8_WAGE as J8_DEVICE_WAGE
from ..calc.groups import any_in_group
from ..reasons import reason
from .lines import (
    LINE_REFUSED,
    ReasonBits,
    _add_ids,
    _cat,
    _ids,
    _money,
    _relabel,
    _rule_inputs,
    _sentinel,
)

__all__ = [
    "MODIFIER_FACTORS", "wage_factor", "ancillary_without_procedure", "modifier_factor",
    "device_credit", "multiple_procedure_factor",
]

_CH14 = "Medicare Claims Processing Manual (Pub. 100-04) ch. 14"

ANCILLARY_ALONE = reason(
    "ASC_ANCILLARY_WITHOUT_PROCEDURE",
    "Covered ancillary service (Addendum BB) with no paid surgical procedure on the claim: an "
    "ASC is paid for it only when it is integral to a covered surgical procedure",
    f"42 CFR 416.164(b), 416.166(a); {_CH14} s. 10.2")
MOD73 = reason("ASC_MOD73_50PCT", "Modifier 73: discontinued before anesthesia, paid at 50%",
               f"{_CH14} s. 40.4")
MOD52 = reason("ASC_MOD52_50PCT", "Modifier 52: reduced or discontinued procedure without "
               "anesthesia, paid at 50%", f"{_CH14} s. 40.4")
MOD74 = reason("ASC_MOD74_FULL", "Modifier 74: discontinued after anesthesia or after the "
               "procedure started, paid in full", f"{_CH14} s. 40.4")
DEVICE_OFFSET_MISSING = reason(
    "ASC_DEVICE_OFFSET_NOT_AT_HAND",
    "The device offset of this device-intensive procedure (final-rule Addendum FF) is needed "
    "(device credit FB/FC, or modifier 73) but not at hand, so no amount is computed",
    f"42 CFR 416.179; {_CH14} s. 40.8 and 40.10")
DEVICE_CREDIT_NA = reason(
    "ASC_DEVICE_CREDIT_NOT_DEVICE_INTENSIVE",
    "FB/FC device credit on a procedure that is not device-intensive (J8): no offset applies",
    f"42 CFR 416.179; {_CH14} s. 40.8")
J8_WAGE = J8_DEVICE_WAGE  # one reason for J8 amounts away from wage index 1 (rvucalc.calc.asc)

#: Reasons ASC lines carry that never by themselves leave a line unpaid: the line is paid (in
#: part, approximately, or packaged at 0.00 under N1) and the reason says how
#: (:data:`rvucalc.claims.tally.FACILITY_INFORMATIONAL`).
INFORMATIONAL_REASONS: tuple[str, ...] = (
    asc_calc.PAYMENT_INDICATORS["N1"].reason, MOD73.code, MOD52.code, MOD74.code,
    DEVICE_CREDIT_NA.code, J8_WAGE.code, asc_calc.MULT_PROC_50.code, asc_calc.PREVENTIVE.code,
    asc_calc.IRA_COPAY.code)

#: Payment share by discontinued/reduced-procedure modifier (Pub. 100-04 ch. 14 s. 40.4).
MODIFIER_FACTORS: dict[str, float] = {"73": 0.5, "52": 0.5, "74": 1.0}


def wage_factor(wage_index: np.ndarray, wage_adjusted: np.ndarray,
                labor_share: float = ASC_LABOR_SHARE) -> np.ndarray:
    """``labor_share x wage index + (1 - labor_share)`` where wage adjusted, else 1
    (42 CFR 416.172; labor share 50%)."""
    wi = np.asarray(wage_index, dtype=float)
    return np.where(wage_adjusted, labor_share * wi + (1.0 - labor_share), 1.0)


def ancillary_without_procedure(claim: np.ndarray, ancillary: np.ndarray,
                                surgical_paid: np.ndarray, n_claims: int) -> np.ndarray:
    """Ancillary (Addendum BB) lines on a claim with no paid surgical (Addendum AA) line."""
    return ancillary & ~any_in_group(claim, surgical_paid, n_claims)


def modifier_factor(m73: np.ndarray, m52: np.ndarray, m74: np.ndarray,
                    device_intensive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Payment share for modifiers 73, 52, 74 and whether the device offset is needed.

    73 or 52: 50%; 74: 100% (Pub. 100-04 ch. 14 s. 40.4). A line with 73 and 74 is taken as
    73 (the lower). Returns ``(factor, needs_offset)``: *needs_offset* marks device-intensive
    lines with 73, whose device portion must come off first (s. 40.10).
    """
    factor = np.where(m73 | m52, 0.5, 1.0)
    return factor, m73 & device_intensive


def device_credit(fb: np.ndarray, fc: np.ndarray, device_intensive: np.ndarray,
                  offset: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Device credit per unit: the offset (FB) or half of it (FC) on device-intensive lines.

    *offset*: the device offset amount per code (NaN where unknown), or ``None`` when no
    device-offset data is at hand. Returns ``(credit, needs_offset, not_applicable)``; the
    credit is 0 where none applies and NaN where the offset is needed but unknown.
    """
    n = len(fb)
    want = (fb | fc) & device_intensive
    share = np.where(fb, 1.0, np.where(fc, 0.5, 0.0))
    off = np.full(n, np.nan) if offset is None else np.asarray(offset, dtype=float)
    credit = np.where(want, share * off, 0.0)
    return credit, want & np.isnan(off), (fb | fc) & ~device_intensive


# ---------------------------------------------------------------------------------------------
# The stages

ASC_NOT_LISTED = asc_calc.NOT_COVERED

#: Columns :func:`price_asc` returns, in order.
ASC_COLUMNS = ("payment_indicator", "line_status", "payable", "paid_units", "discount_factor",
               "facility_wage_index",
               "facility_payment", "beneficiary_copay", "medicare_payment", "claim_total",
               "reason")



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
              refused: np.ndarray | None = None,
              denied: np.ndarray | None = None) -> dict[str, object]:
    """Line rules, claim rules and money for ASC lines (the rules above).

    Arguments as :func:`opps_rules`; *wage_index*: the ASC's CBSA wage index per line;
    *modifiers*: boolean arrays for ``"73"``, ``"52"``, ``"74"``, ``"FB"``, ``"FC"`` (absent
    keys: none). Returns :data:`ASC_COLUMNS` as arrays.
    """
    n, claim, session, line, n_claims, n_sessions, units, wi, refused = _rule_inputs(
        claim, session, line, units, wage_index, refused)
    mods = modifiers or {}
    m = {k: np.asarray(mods.get(k, np.zeros(n, dtype=bool)), dtype=bool)
         for k in ("73", "52", "74", "FB", "FC")}
    # a line an edit denied is a stated outcome (no amount, 0.00 in the claim total), not unread
    unread = refused & ~(np.zeros(n, dtype=bool) if denied is None else np.asarray(denied, bool))
    rb.add(LINE_REFUSED.code, unread)
    known = L.known & ~refused
    own = known & L.own_payment
    no_wi = own & L.wage_adjusted & np.isnan(wi)
    rb.add(asc_calc.NO_WAGE_INDEX.code, no_wi)
    priced = own & ~no_wi
    labels = np.array(L.pi_labels + [""], dtype=object)
    pi_text = labels[L.pi]
    packaged = known & (pi_text == "N1")
    device = pi_text == "J8"

    alone = ancillary_without_procedure(claim, priced & ~L.surgical, priced & L.surgical,
                                           n_claims)
    rb.add(ANCILLARY_ALONE.code, alone)
    mod_f, need73 = modifier_factor(m["73"], m["52"], m["74"], device)
    off = L.device_offset
    credit, need_credit, credit_na = device_credit(m["FB"], m["FC"], device, off)
    need_off = priced & (need73 | need_credit) & np.isnan(off)
    rb.add(DEVICE_OFFSET_MISSING.code, need_off)
    paid = priced & ~alone & ~need_off
    rb.add(DEVICE_CREDIT_NA.code, paid & credit_na)
    rb.add(MOD73.code, paid & m["73"])
    rb.add(MOD52.code, paid & m["52"] & ~m["73"])
    rb.add(MOD74.code, paid & m["74"] & ~m["73"] & ~m["52"])
    wf = wage_factor(wi, L.wage_adjusted)
    rb.add(J8_WAGE.code, paid & device & np.isnan(off) & (wi != 1.0))
    # J8 with its device offset at hand: the device portion is not wage adjusted (as
    # rvucalc.calc.asc.asc_payment), less the FB/FC credit, and removed under modifier 73
    dev = np.where(device, np.nan_to_num(off), 0.0)
    dev_paid = np.where(m["73"], 0.0, dev - np.nan_to_num(credit))
    unit_amt = (dev_paid + (L.rate - dev) * wf) * mod_f
    mpd_f, _ = multiple_procedure_factor(session, paid & L.subject_mpd, unit_amt, units, line,
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
    # lines whose amount is unknown for want of data: the claim then has no total
    unknown = np.isnan(pay_raw) & (unread | no_wi | need_off | rb.any_of(asc_calc.MISSING_DATA))

    return {
        "payment_indicator": _cat(np.where(refused, -1, L.pi), L.pi_labels),
        **_money(claim, n_claims, pay_raw, coins_raw, paid=paid, packaged=packaged,
                 reduced=(mpd_f < 1) | (mod_f < 1) | (credit > 0), paid_units=paid_units,
                 factor=mpd_f * mod_f, wage_index=wi, rb=rb, unknown=unknown),
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
