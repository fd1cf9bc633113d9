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
  50% (Pub. 100-04 ch. 14 s. 40.10; CY 2017 OPPS/ASC final rule); the device offset (final-rule
  Addendum FF) is not at hand, so such a line gets ``ASC_DEVICE_OFFSET_NOT_AT_HAND`` and no
  amount, never a guessed one.
* **Device credits** FB (device furnished at no cost or with full credit) and FC (partial
  credit of 50% or more) (42 CFR 416.179; Pub. 100-04 ch. 14 s. 40.8): the payment of a
  device-intensive procedure is reduced by the device offset (FB) or half of it (FC). Without
  the offset data the line gets ``ASC_DEVICE_OFFSET_NOT_AT_HAND`` and no amount. Where the
  offset is at hand, only the service portion of a J8 rate is wage adjusted (as
  :func:`rvucalc.calc.asc.asc_payment` does with a ``device_portion``); without it the whole
  rate is, and amounts away from wage index 1 say ``ASC_J8_WAGE_WHOLE_RATE``.
* **Multiple procedure discount** (42 CFR 416.172; Pub. 100-04 ch. 14 s. 40.5): among the
  lines of a claim and date whose code is "subject to multiple procedure discounting"
  (Addendum AA), the one with the highest payment (after the modifier reduction) is paid in
  full and every other at 50%; units beyond the first are each a further procedure at 50%.
* **Beneficiary coinsurance** (42 CFR 416.172): 20% of the line's payment; none for the
  preventive services marked ``**`` (SSA 1833(a)(1)(T)); the Inflation Reduction Act
  copayment of Addendum BB drugs where given. Medicare pays the rest.
"""

from __future__ import annotations

import numpy as np

from ..reasons import reason
from .asc import ASC_LABOR_SHARE
from .asc import J8_WAGE as J8_DEVICE_WAGE
from .groups import any_in_group, first_full_rest_half

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
