"""Hospital outpatient (OPPS) claim rules: packaging, comprehensive APCs, T discounting.

Each rule is a small pure function over whole arrays (one element per claim line). Lines are
grouped by integer keys built by the caller: ``claim`` (one value per claim) for the rules
CMS applies to the whole claim, ``session`` (claim x date of service) for the multiple
procedure discount. Group work is one-pass group maxima and sums over dense integer keys
(:mod:`rvucalc.calc.groups`: ``ufunc.at``, :func:`numpy.bincount`); nothing sorts or loops
over lines. Nothing here rounds: amounts are rounded
once by :mod:`rvucalc.calc.money` (see :func:`rvucalc.calc.money.line_cents`).

Status indicators (SI) are the integer positions of :data:`SI_CODES` (``-1``: not in
Addendum D1). The per-code amounts (national rate, unadjusted copayment, wage adjustment,
the reason a code has no OPPS payment) come from :func:`rvucalc.calc.opps.opps_payment`, so
the copayment rules live in one place.

Rules and where they come from
------------------------------
* **Status N** (OPPS Addendum D1: items and services packaged into APC rates, payment
  packaged into payment for other services): never paid separately.
* **J1, comprehensive APCs** (Addendum D1, J1: paid under OPPS, all covered Part B services
  on the claim packaged with the primary J1 service for the claim, with listed exceptions;
  42 CFR 419.2(b); Medicare Claims Processing Manual, Pub. 100-04, ch. 4 s. 10.2.3):

  - the primary J1 service is the highest-ranked J1 line on the claim. CMS ranks J1 codes by
    the geometric mean cost of their comprehensive APC (Addendum J); an APC's relative weight
    is that cost scaled, so ranking by the APC payment rate gives the same order, and J1 codes
    tied at one rate are in one APC and pay the same. Ties go to the first line;
  - the C-APC is one payment for the claim: the primary line is paid once, whatever its units;
  - every other service on the claim is packaged except CMS's C-APC payment policy
    exclusions (CY 2025 OPPS/ASC final rule, CMS-1809-FC, section II.A.2.b, and the
    "C-APC exclusions" list of the final rule's Addendum J): SI F, G, H, L, U; the non-opioid
    pain-relief products of CAA 2023 s. 4135 (SI K1, H1); services assigned to a New
    Technology APC; unclassified drugs billed with HCPCS C9399; preventive services
    (42 CFR 410.2); ambulance, mammography and therapy services, which are SI A in Addendum B
    and so are never paid under OPPS here (they keep reason ``OPPS_SI_A``). Self-administered
    drugs and "certain Part B inpatient services" cannot be told from Addendum B or a claim
    line and are not detected;
  - two or more J1 services (or J1 units) on one claim may earn a higher C-APC through the
    complexity adjustment (Addendum J). That table is not at hand, so the claim is paid at the
    primary's own C-APC and its primary line says ``OPPS_J1_COMPLEXITY_NOT_ASSESSED``: an
    adjusted APC is never guessed.
* **Conditional packaging** (Addendum D1; from CY 2018 on a claim basis, not per date of
  service: CY 2018 OPPS/ASC final rule, 82 FR 52356, section II.A.3): Q1 (STV-packaged
  codes) are packaged when billed on the same claim as a code with SI S, T or V (a J2 visit
  not paid as a comprehensive APC counts as a visit); Q2 (T-packaged codes) on the same claim
  as an SI T code; Q4 laboratory tests on the same claim as a code with published SI J1, J2,
  S, T, V, Q1, Q2 or Q3, and are otherwise paid under the clinical laboratory fee schedule
  (no OPPS amount). In other circumstances Q1 and Q2 are paid through their own APC.
* **Q3** (codes that may be paid through a composite APC): the composite criteria are not
  assessed here, so Q3 lines are paid through their own APC and say
  ``OPPS_Q3_COMPOSITE_NOT_ASSESSED``.
* **J2** (comprehensive observation) without a J1 on the claim: the observation criteria are
  not assessed; the line is paid through its own APC and says ``OPPS_J2_NOT_ASSESSED``.
* **Multiple procedure discount** (Addendum D1, T: "multiple procedure reduction applies";
  Pub. 100-04 ch. 4 s. 10.5; 42 CFR 419.44(a)): within a claim and date of service, the paid
  T procedure with the highest payment rate is paid in full and every other T procedure at
  50%; units beyond the first of the top procedure are each a further procedure at 50%.
* **Discontinued and reduced procedures** (42 CFR 419.44(b); Pub. 100-04 ch. 4 s. 20.6.4):
  a procedure (SI of :data:`rvucalc.calc.opps.TERMINATED_SI`) with modifier 73 (discontinued
  after the patient was prepared and taken to the room, before anesthesia) or 52 (reduced or
  discontinued, no anesthesia planned) is paid once at 50% of its APC payment and copayment
  ("50 percent of the full program and the beneficiary coinsurance amounts"); 74 (after
  anesthesia or after the procedure started) is paid in full. How such a line ranks: among
  the T procedures of a claim and date it ranks by its APC payment rate, as 419.44(a) ranks
  them, not by its reduced amount; ranked on top it is paid at 50% and the others at 50% as
  usual, ranked below it is paid at 25% (I/OCE discount formulas 3, T/U, and 6, TD/U). In a
  comprehensive claim the primary J1 service is still the highest-ranked J1 line by its APC
  rate; when that line carries 73 or 52 the claim's one comprehensive APC payment (and its
  copayment) is 50%; a 73 on a packaged line changes nothing. On a line that is not a
  procedure (drug, device, blood product...) 73 and 52 change nothing and say so.
* **Wage adjustment** (42 CFR 419.43(a)-(c)): ``rate x (0.60 x wage index + 0.40)`` for the
  SIs :func:`rvucalc.calc.opps.opps_payment` wage adjusts; the copayment gets the same factor.
* **Copayment** (42 CFR 419.41(c)(4)(i)): the line's wage-adjusted copayment, scaled like its
  payment (units, discount), capped at the inpatient hospital deductible per line.
* **Claim total**: the sum of the lines' payments when every line has an amount or a stated
  zero (packaged; not paid by a rule: its status indicator, a code not in Addendum B); a claim
  with a line whose amount is unknown for want of data (no Addendum B for the date, a line that
  could not be read, no wage index, no rate in the file) has no total (NaN).

The stages over normalised line arrays: :func:`prepare_opps` (Addendum B as one array per
field, built once per release), :func:`opps_lookup`, :func:`opps_rules` (the rules above) and
:func:`price_opps` (lookup + rules + money); the release choice and wage index per line are
the facility systems' shared stages (:mod:`rvucalc.claims.facility`).


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

from ..calc import opps as opps_calc
from ..calc.groups import any_in_group, sum_in_group, top_in_group
from ..calc.opps import LABOR_SHARE, STATUS_INDICATORS, t_discount_factor
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
    "CAPC_EXCLUSIONS", "SI_CODES", "si_index", "wage_factor", "capc_exclusion", "comprehensive",
    "conditional_packaging", "t_discount_factor", "copay_capped",
]

#: Status indicators in a fixed order (Addendum D1); a line's SI is its position here.
SI_CODES: tuple[str, ...] = tuple(sorted(STATUS_INDICATORS))
_SI = {s: i for i, s in enumerate(SI_CODES)}


def si_index(codes: list[str] | tuple[str, ...]) -> np.ndarray:
    """Positions in :data:`SI_CODES` of *codes* (``-1`` for an SI not in Addendum D1)."""
    return np.array([_SI.get(str(c).strip().upper(), -1) for c in codes], dtype=np.int16)


def _mask(si: np.ndarray, codes: tuple[str, ...]) -> np.ndarray:
    """Lines whose SI is one of *codes* (a lookup table; SI -1 hits the False sentinel)."""
    lut = np.zeros(len(SI_CODES) + 1, dtype=bool)
    lut[[_SI[c] for c in codes]] = True
    return lut[si]


_D1 = "OPPS Addendum D1 (CY 2025)"
_CAPC = ("CY 2025 OPPS/ASC final rule (CMS-1809-FC) s. II.A.2.b and its Addendum J, C-APC "
         "payment policy exclusions; OPPS Addendum D1, J1")

J1_PACKAGED = reason("OPPS_J1_PACKAGED", "Packaged into the comprehensive APC of the claim's "
                     "primary J1 service (no separate payment)", f"{_D1}, J1; 42 CFR 419.2(b); "
                     "Medicare Claims Processing Manual ch. 4 s. 10.2.3")
J1_SECONDARY = reason("OPPS_J1_SECONDARY", "A J1 service ranked below the claim's primary J1 "
                      "service: packaged into the primary's comprehensive APC",
                      f"{_D1}, J1; OPPS final rule Addendum J (J1 ranking)")
J1_ONCE = reason("OPPS_J1_ONCE_PER_CLAIM", "Comprehensive APC paid once for the claim: units "
                 "beyond the first are not paid again", f"{_D1}, J1 (one payment per claim)")
J1_COMPLEXITY = reason(
    "OPPS_J1_COMPLEXITY_NOT_ASSESSED",
    "Two or more J1 services (or J1 units) on the claim: CMS may pay a higher comprehensive APC "
    "through the complexity adjustment, but its table (Addendum J) is not at hand; paid at the "
    "primary J1 service's own APC",
    "OPPS final rule Addendum J (complexity adjustments); Medicare Claims Processing Manual ch. 4 "
    "s. 10.2.3")
Q1_PACKAGED = reason("OPPS_Q1_PACKAGED", "Q1 service packaged: an S, T or V service is on the "
                     "same claim", f"{_D1}, Q1 (same claim, from CY 2018: 82 FR 52356)")
Q2_PACKAGED = reason("OPPS_Q2_PACKAGED", "Q2 service packaged: a T service is on the same claim",
                     f"{_D1}, Q2 (same claim, from CY 2018: 82 FR 52356)")
Q4_PACKAGED = reason("OPPS_Q4_PACKAGED", "Q4 laboratory test packaged: a J1, J2, S, T, V, Q1, Q2 "
                     "or Q3 service is on the same claim", f"{_D1}, Q4")
Q3_NOT_ASSESSED = reason("OPPS_Q3_COMPOSITE_NOT_ASSESSED", "Q3 service paid through its own APC; "
                         "the composite APC criteria are not assessed", f"{_D1}, Q3")
J2_NOT_ASSESSED = reason("OPPS_J2_NOT_ASSESSED", "J2 service paid through its own APC; the "
                         "comprehensive observation criteria are not assessed", f"{_D1}, J2")
COPAY_CAPPED = reason("OPPS_COPAY_CAPPED", "Copayment capped at the inpatient hospital "
                      "deductible for the line", "42 CFR 419.41(c)(4)(i)")


def _excl(key: str, message: str) -> tuple[str, str]:
    r = reason(f"OPPS_CAPC_EXCLUDED_{key}", f"Not packaged into the comprehensive APC: {message}; "
               "paid separately", _CAPC)
    return key, r.code


#: C-APC payment policy exclusions detectable from Addendum B: key -> reason code.
CAPC_EXCLUSIONS: dict[str, str] = dict([
    _excl("F", "status F (corneal tissue, certain CRNA services, hepatitis B vaccines)"),
    _excl("G", "pass-through drug or biological (status G)"),
    _excl("H", "pass-through device (status H)"),
    _excl("L", "influenza or pneumococcal vaccine (status L)"),
    _excl("U", "brachytherapy source (status U)"),
    _excl("NOPAIN", "non-opioid pain-relief product (CAA 2023 s. 4135; status K1 or H1)"),
    _excl("NEWTECH", "service assigned to a New Technology APC"),
    _excl("C9399", "unclassified drug billed with HCPCS C9399"),
    _excl("PREVENTIVE", "preventive service (42 CFR 410.2; coinsurance waived in Addendum B)"),
])
_EXCL_KEYS = tuple(CAPC_EXCLUSIONS)


def is_new_technology_apc(apc: np.ndarray) -> np.ndarray:
    """New Technology APCs: 1491-1599 and 1901-1908 (OPPS Addendum A, CY 2025)."""
    a = np.asarray(apc, dtype=np.int64)
    return ((a >= 1491) & (a <= 1599)) | ((a >= 1901) & (a <= 1908))


def capc_exclusion(si: np.ndarray, apc: np.ndarray, is_c9399: np.ndarray,
                   preventive: np.ndarray) -> np.ndarray:
    """Which C-APC exclusion applies to each code: index into :data:`CAPC_EXCLUSIONS` or -1.

    *apc*: APC number (-1 none); *preventive*: Addendum B prints $0.00 for both the national
    and the minimum unadjusted copayment (the coinsurance is waived, SSA 1833(t)(8) and
    ACA s. 4104). The first matching category wins, in the order of :data:`CAPC_EXCLUSIONS`.
    """
    out = np.full(len(si), -1, dtype=np.int8)
    tests = [
        _mask(si, ("F",)), _mask(si, ("G",)), _mask(si, ("H",)), _mask(si, ("L",)),
        _mask(si, ("U",)), _mask(si, ("K1", "H1")), is_new_technology_apc(apc), is_c9399,
        preventive & ~_mask(si, ("G", "K", "K1", "H", "H1")),
    ]
    for k in range(len(tests) - 1, -1, -1):  # nine categories, not lines
        out[tests[k]] = k
    return out


def wage_factor(wage_index: np.ndarray, wage_adjusted: np.ndarray,
                labor_share: float = LABOR_SHARE) -> np.ndarray:
    """``labor_share x wage index + (1 - labor_share)`` where wage adjusted, else 1
    (42 CFR 419.43(a)-(c); labor share 60%)."""
    wi = np.asarray(wage_index, dtype=float)
    return np.where(wage_adjusted, labor_share * wi + (1.0 - labor_share), 1.0)


def comprehensive(claim: np.ndarray, si: np.ndarray, payable: np.ndarray, rate: np.ndarray,
                  units: np.ndarray, exclusion: np.ndarray, n_claims: int, line: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The comprehensive APC rule (SI J1) on whole claims.

    *claim*: dense claim keys ``0..n_claims-1``; *payable*: the line has an OPPS payment of
    its own (an SI paid under OPPS, a rate, a wage index); *rate*: national rate per unit
    (ranks the J1 lines; ties to the lower *line* number); *exclusion*: :func:`capc_exclusion`
    of the line's code.

    Returns ``(on_j1_claim, primary, secondary, packaged, complexity)``, boolean per line:
    the claim has a payable J1 line; the line is the claim's primary J1 service; a lower
    ranked J1 line (packaged); another line packaged into the C-APC (payable or SI N/Q4 lines
    that no exclusion applies to; lines with an SI not paid under OPPS keep their own reason);
    the primary line of a claim with two or more J1 units (complexity adjustment not
    assessed).
    """
    j1 = payable & _mask(si, ("J1",))
    on_j1 = any_in_group(claim, j1, n_claims)
    primary = top_in_group(claim, j1, rate, line, n_claims)
    secondary = j1 & ~primary
    j1_units = sum_in_group(claim, np.where(j1, units, 0.0), n_claims)
    complexity = primary & (j1_units > 1)
    packable = (payable | _mask(si, ("N", "Q4"))) & ~j1
    packaged = on_j1 & packable & (exclusion < 0)
    return on_j1, primary, secondary, packaged, complexity


def conditional_packaging(claim: np.ndarray, si: np.ndarray, payable: np.ndarray,
                          n_claims: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Q1, Q2 and Q4 lines packaged by the other services on the same claim (Addendum D1).

    Returns ``(q1_packaged, q2_packaged, q4_packaged)``. The services that trigger packaging
    are lines billed with the published SIs D1 names (Q1: S, T, V, and J2 paid as a visit;
    Q2: T; Q4: J1, J2, S, T, V, Q1, Q2, Q3), whether or not they are themselves paid.
    """
    billed = si >= 0
    stv = any_in_group(claim, billed & _mask(si, ("S", "T", "V", "J2")), n_claims)
    t = any_in_group(claim, billed & _mask(si, ("T",)), n_claims)
    q4_trig = any_in_group(claim, billed & _mask(si, ("J1", "J2", "S", "T", "V", "Q1", "Q2", "Q3")),
                         n_claims)
    q1 = payable & _mask(si, ("Q1",)) & stv
    q2 = payable & _mask(si, ("Q2",)) & t
    q4 = _mask(si, ("Q4",)) & q4_trig
    return q1, q2, q4




def copay_capped(copay_raw: np.ndarray, deductible: float) -> tuple[np.ndarray, np.ndarray]:
    """The line's copayment capped at the inpatient deductible (42 CFR 419.41(c)(4)(i)).

    Returns ``(copay, capped)``; NaN stays NaN.
    """
    capped = copay_raw > deductible
    return np.where(capped, deductible, copay_raw), capped


# ---------------------------------------------------------------------------------------------
# The stages

OPPS_NOT_LISTED = reason("OPPS_CODE_NOT_IN_ADDENDUM_B", "HCPCS code not in this OPPS Addendum B, "
                         "so it has no OPPS status indicator or rate", "OPPS Addendum B")

#: Reasons OPPS lines carry that never by themselves leave a line unpaid: the line is paid (in
#: part, or packaged at 0.00) and the reason says how (:data:`rvucalc.claims.tally.FACILITY_INFORMATIONAL`).
INFORMATIONAL_REASONS: tuple[str, ...] = (
    str(getattr(opps_calc.STATUS_INDICATORS["N"].reason, "code", "")), J1_PACKAGED.code, J1_SECONDARY.code,
    J1_ONCE.code, J1_COMPLEXITY.code, Q1_PACKAGED.code, Q2_PACKAGED.code, Q4_PACKAGED.code,
    Q3_NOT_ASSESSED.code, J2_NOT_ASSESSED.code, COPAY_CAPPED.code, *CAPC_EXCLUSIONS.values(),
    opps_calc.T_DISCOUNTED.code, opps_calc.MOD73.code, opps_calc.MOD52.code, opps_calc.MOD74.code,
    opps_calc.MOD_NOT_A_PROCEDURE.code)

#: Columns :func:`price_opps` returns, in order.
OPPS_COLUMNS = ("status_indicator", "apc", "line_status", "payable", "paid_units", "discount_factor",
                "facility_wage_index", "facility_payment", "beneficiary_copay", "medicare_payment",
                "claim_total", "reason")


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
    si: np.ndarray  # int16 position in SI_CODES, -1 unknown
    apc: np.ndarray  # int32 id into apc_labels
    apc_labels: list[str]
    rate: np.ndarray  # national payment rate per unit
    copay: np.ndarray  # national unadjusted copayment per unit, before the deductible cap
    wage_adjusted: np.ndarray  # bool
    reason: np.ndarray  # int32 id into reason_labels ("" when the code has its own payment)
    reason_labels: list[str]
    exclusion: np.ndarray  # int8: index into CAPC_EXCLUSIONS, -1 none
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
    si = si_index(list(uniq))[k] if len(uniq) else np.zeros(0, dtype=np.int16)
    apc_text = b["apc"].fillna("").astype(str).str.strip()
    apc_num = pd.to_numeric(apc_text, errors="coerce").fillna(-1).astype(np.int64).to_numpy()
    hc = b["hcpcs"].astype(str)
    nat = b["national_copay"].to_numpy(float)
    mini = b["minimum_copay"].to_numpy(float)
    rate = b["payment_rate"].to_numpy(float)
    preventive = (np.nan_to_num(nat, nan=-1.0) == 0.0) & (mini == 0.0) & (rate > 0)
    excl = capc_exclusion(si, apc_num, (hc == "C9399").to_numpy(bool), preventive)
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



def opps_rules(L: OppsLines, *, claim: np.ndarray, session: np.ndarray, line: np.ndarray,
               units: np.ndarray, wage_index: np.ndarray, rb: ReasonBits,
               modifiers: dict[str, np.ndarray] | None = None,
               refused: np.ndarray | None = None,
               denied: np.ndarray | None = None) -> dict[str, object]:
    """Line rules, claim rules and money for OPPS lines (the rules above).

    *claim*: dense claim keys ``0..C-1`` (the scope of packaging and J1, Addendum D1 "same
    claim"); *session*: dense claim x date keys (the scope of the T discount); *line*: input
    line numbers (ties); *units* (> 0); *wage_index*: the hospital's wage index per line;
    *refused*: lines that cannot be priced (bad input, no release, denied by an edit); *denied*:
    those of them an edit denied (:mod:`rvucalc.claims.edits`: no amount, a stated 0.00 in the
    claim total, never ``FACILITY_LINE_NOT_PRICED``); *modifiers*: boolean
    arrays by modifier (``"73"``, ``"52"``: the discontinued-procedure 50%; ``"74"``: in full,
    noted). Returns
    :data:`OPPS_COLUMNS` as arrays (``reason`` from *rb*).
    """
    n, claim, session, line, n_claims, n_sessions, units, wi, refused = _rule_inputs(
        claim, session, line, units, wage_index, refused)
    # a line an edit denied is a stated outcome (no amount, 0.00 in the claim total), not unread
    unread = refused & ~(np.zeros(n, dtype=bool) if denied is None else np.asarray(denied, bool))
    rb.add(LINE_REFUSED.code, unread)
    known = L.known & ~refused
    si = np.where(refused, -1, L.si).astype(np.int16)
    rate = L.rate
    own = known & L.own_payment
    no_wi = own & L.wage_adjusted & np.isnan(wi)
    rb.add(opps_calc.NO_WAGE_INDEX.code, no_wi)
    payable = own & ~no_wi

    on_j1, primary, secondary, j1_pack, complexity = comprehensive(
        claim, si, payable, rate, units, L.exclusion, n_claims, line)
    is_n = si == SI_CODES.index("N")
    rb.add(J1_SECONDARY.code, secondary)
    rb.add(J1_PACKAGED.code, j1_pack & ~secondary & ~is_n)
    rb.add(J1_COMPLEXITY.code, complexity)
    rb.add(J1_ONCE.code, primary & (units > 1))
    excluded_paid = on_j1 & payable & ~primary & ~secondary & (L.exclusion >= 0)
    for k, c in enumerate(CAPC_EXCLUSIONS.values()):  # nine categories
        rb.add(c, excluded_paid & (L.exclusion == k))
    q1, q2, q4 = conditional_packaging(claim, si, payable, n_claims)
    q1, q2, q4 = q1 & ~on_j1, q2 & ~on_j1, q4 & ~on_j1
    rb.add(Q1_PACKAGED.code, q1)
    rb.add(Q2_PACKAGED.code, q2)
    rb.add(Q4_PACKAGED.code, q4)
    packaged = secondary | j1_pack | q1 | q2 | q4 | (known & is_n)
    paid = payable & ~packaged
    rb.add(Q3_NOT_ASSESSED.code, paid & (si == SI_CODES.index("Q3")))
    rb.add(J2_NOT_ASSESSED.code, paid & (si == SI_CODES.index("J2")))

    is_t = paid & (si == SI_CODES.index("T"))
    t_factor, t_rank = t_discount_factor(session, is_t, rate, units, line, n_sessions)
    rb.add(opps_calc.T_DISCOUNTED.code, is_t & (t_factor < 1))
    paid_units = np.where(paid, np.where(primary, 1.0, units * t_factor), 0.0)
    # modifiers 73 and 52 (42 CFR 419.44(b)): a procedure paid once at 50%, ranked by its APC rate
    mods = modifiers or {}
    m73, m52, m74 = (np.asarray(mods.get(k, np.zeros(n, dtype=bool)), dtype=bool)
                     for k in ("73", "52", "74"))
    procedure = _mask(si, opps_calc.TERMINATED_SI)
    term = paid & (m73 | m52) & procedure
    paid_units = np.where(term, opps_calc.terminated_units(term, t_rank, is_t), paid_units)
    rb.add(opps_calc.MOD73.code, term & m73)
    rb.add(opps_calc.MOD52.code, term & m52 & ~m73)
    rb.add(opps_calc.MOD74.code, paid & procedure & m74 & ~m73 & ~m52)
    rb.add(opps_calc.MOD_NOT_A_PROCEDURE.code, paid & (m73 | m52) & ~procedure)
    wf = wage_factor(wi, L.wage_adjusted)
    pay_raw = np.where(paid, rate * wf * paid_units, np.where(packaged, 0.0, np.nan))
    cop_raw, capped = copay_capped(L.copay * wf * paid_units, L.deductible)
    cop_raw = np.where(paid, cop_raw, np.where(packaged, 0.0, np.nan))
    rb.add(COPAY_CAPPED.code, paid & capped)
    # lines whose amount is unknown for want of data: the claim then has no total
    unknown = np.isnan(pay_raw) & (unread | no_wi | rb.any_of(opps_calc.MISSING_DATA))

    return {
        "status_indicator": _cat(si, list(SI_CODES)),
        "apc": _cat(np.where(refused, -1, L.apc), L.apc_labels),
        **_money(claim, n_claims, pay_raw, cop_raw, paid=paid, packaged=packaged,
                 reduced=(is_t & (t_factor < 1)) | term, paid_units=paid_units,
                 factor=paid_units / units, wage_index=wi, rb=rb, unknown=unknown),
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


