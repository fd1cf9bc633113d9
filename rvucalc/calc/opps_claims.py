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
* **Wage adjustment** (42 CFR 419.43(a)-(c)): ``rate x (0.60 x wage index + 0.40)`` for the
  SIs :func:`rvucalc.calc.opps.opps_payment` wage adjusts; the copayment gets the same factor.
* **Copayment** (42 CFR 419.41(c)(4)(i)): the line's wage-adjusted copayment, scaled like its
  payment (units, discount), capped at the inpatient hospital deductible per line.
"""

from __future__ import annotations

import numpy as np

from ..reasons import reason
from .groups import any_in_group, first_full_rest_half, sum_in_group, top_in_group
from .opps import LABOR_SHARE, STATUS_INDICATORS

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


def copay_capped(copay_raw: np.ndarray, deductible: float) -> tuple[np.ndarray, np.ndarray]:
    """The line's copayment capped at the inpatient deductible (42 CFR 419.41(c)(4)(i)).

    Returns ``(copay, capped)``; NaN stays NaN.
    """
    capped = copay_raw > deductible
    return np.where(capped, deductible, copay_raw), capped
