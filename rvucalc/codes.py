"""HCPCS codes and modifiers: parsing, which fee schedule a code belongs to, and
which modifiers change the physician fee schedule amount.

* :func:`split_code` reads ``"71046-26"``, ``"71046 26"`` or ``("71046", "26")``.
* :func:`fee_schedule_of` says which Medicare fee schedule pays a code that is
  not on the physician fee schedule (PFS), so a user who asks for ``0001U`` or
  ``J9271`` is told where it is priced instead of being offered near PFS codes.
* :func:`modifier_effect` says what a modifier does to the PFS amount.

Sources. The code ranges are those of the HCPCS code set: Level I (CPT, AMA)
sections and Level II sections as CMS describes them ("HCPCS - General
Information" and the HCPCS Level II quarterly update's code-set structure:
A ambulance and medical/surgical supplies, B enteral/parenteral therapy,
C OPPS-only codes, D dental, E durable medical equipment, G professional
services (temporary), H state Medicaid behavioural health, J drugs
administered other than orally, K DME (temporary, DME MACs), L orthotics and
prosthetics, M other medical services, P pathology and laboratory, Q temporary
codes, R diagnostic radiology transport, S private payers (not valid for
Medicare), T state Medicaid agencies (not valid for Medicare), U coronavirus
laboratory tests, V vision, hearing and speech-language). Laboratory tests
(CPT 80047-89398, PLA codes ``####U``, and venipuncture 36415) are paid under
the Clinical Laboratory Fee Schedule (SSA s.1833(h), 42 CFR 414 subpart G);
Part B drugs under the ASP drug pricing files (SSA s.1847A); DMEPOS items
under the DMEPOS fee schedule (42 CFR 414 subpart D); ambulance services under
the ambulance fee schedule (42 CFR 414 subpart H).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UnknownCodeError
from .reasons import Reason, reason

_CODE = re.compile(r"([A-Z0-9]{5})(?:[\s\-_:]+([A-Z0-9]{2}))?")


def split_code(code: str, modifier: str | None = None) -> tuple[str, str]:
    """``"71046-26"`` / ``"71046 26"`` / ``("71046", "26")`` -> ``("71046", "26")``."""
    c = str(code).strip().upper()
    m = _CODE.fullmatch(c)
    if not m:
        raise UnknownCodeError(f"{code!r} is not a HCPCS code (five letters/digits, e.g. 20983 or G0463)")
    mod = (modifier or m.group(2) or "").strip().upper()
    return m.group(1), mod


@dataclass(frozen=True)
class FeeScheduleOf:
    """Which fee schedule pays a code that is not on the PFS, and what to do about it."""

    key: str  # clfs | asp | dmepos | ambulance | opps | anesthesia | not_medicare | measure | unknown
    name: str
    hint: str
    reason: Reason


_RULE = "HCPCS code-set structure (CMS HCPCS Level II sections; AMA CPT sections)"

_KINDS: dict[str, tuple[str, str, str]] = {
    # key: (fee schedule name, hint, reason message)
    "clfs": ("Clinical Laboratory Fee Schedule (CLFS)",
             "a laboratory test, paid under the Clinical Laboratory Fee Schedule, not the PFS",
             "laboratory test: paid under the Clinical Laboratory Fee Schedule, not the physician fee schedule"),
    "asp": ("ASP drug pricing file",
            "a drug or biological, paid from CMS's quarterly ASP drug pricing file, not the PFS",
            "drug or biological: paid from CMS's ASP drug pricing file, not the physician fee schedule"),
    "dmepos": ("DMEPOS fee schedule",
               "durable medical equipment, prosthetics, orthotics or supplies, paid under the DMEPOS fee "
               "schedule, not the PFS",
               "DME, prosthetic, orthotic or supply: paid under the DMEPOS fee schedule, not the physician "
               "fee schedule"),
    "ambulance": ("Ambulance fee schedule", "an ambulance service, paid under the ambulance fee schedule",
                  "ambulance service: paid under the ambulance fee schedule, not the physician fee schedule"),
    "opps": ("OPPS (hospital outpatient only)",
             "a hospital outpatient (OPPS) code, billed by hospitals, not on the PFS; see `rvucalc sites` / "
             "fs.opps",
             "hospital outpatient (OPPS) code: not on the physician fee schedule"),
    "not_medicare": ("not valid for Medicare",
                     "a code for private payers or state Medicaid (HCPCS S, T and H codes), not valid for "
                     "Medicare",
                     "private payer or Medicaid code: not valid for Medicare"),
    "measure": ("no payment (performance measure)",
                "a CPT Category II performance-measurement code, reported for quality programmes with no "
                "payment",
                "performance-measurement code: reported with no payment"),
    "dental": ("dental (CDT)", "a dental (CDT) code; Medicare Part B covers dental services only in "
               "narrow cases, not under these codes on the PFS",
               "dental code: not on the physician fee schedule"),
}

REASONS: dict[str, Reason] = {
    k: reason(f"NOT_PFS_{k.upper()}", msg, _RULE) for k, (_n, _h, msg) in _KINDS.items()
}
NOT_IN_RELEASE = reason("PFS_CODE_ABSENT", "the code is not in this PFS release's PPRRVU file",
                        "CMS PFS Relative Value File (PPRRVU): the codes the fee schedule prices")


def fee_schedule_of(code: str) -> FeeScheduleOf | None:
    """The fee schedule that pays *code* when it is not on the PFS, or ``None`` when the
    code's form says nothing (it may simply be new, deleted or mistyped).

    One function, one place: every "not on the PFS" hint comes from here.
    """
    c = str(code).strip().upper()[:5]
    if len(c) != 5:
        return None
    first, last = c[0], c[-1]
    key: str | None = None
    if c[:4].isdigit() and last == "U":
        key = "clfs"  # Proprietary Laboratory Analyses (PLA) codes
    elif c[:4].isdigit() and last == "F":
        key = "measure"
    elif c.isdigit():
        n = int(c)
        if 80047 <= n <= 89398 or n in (36415, 36416):
            key = "clfs"
    elif first in "EKL" or first == "B" or (first == "A" and "A4000" <= c <= "A8999") \
            or (first == "V" and c < "V5000"):
        key = "dmepos"
    elif first == "A" and c < "A1000":
        key = "ambulance"
    elif first == "J" or (first == "Q" and ("Q5100" <= c <= "Q5199" or "Q4100" <= c <= "Q4399")):
        key = "asp"
    elif first == "P" or first == "U":
        key = "clfs"
    elif first == "C":
        key = "opps"
    elif first in "STH":
        key = "not_medicare"
    elif first == "D":
        key = "dental"
    if key is None:
        return None
    name, hint, _ = _KINDS[key]
    return FeeScheduleOf(key, name, hint, REASONS[key])


def not_on_pfs_reason(code: str) -> Reason:
    """The reason a code absent from the PPRRVU file has no PFS amount."""
    fs = fee_schedule_of(code)
    return fs.reason if fs is not None else NOT_IN_RELEASE


# -- modifiers ---------------------------------------------------------------

#: Modifiers with their own PPRRVU rows (RVU file documentation: PC/TC indicator; 53).
OWN_ROW = frozenset({"26", "TC", "53"})

#: Modifiers that say something about the service (where, why, which side, who) but do
#: not change the PFS fee schedule amount of the code's own row (CMS Claims Processing
#: Manual ch.12 s.30 and s.40; NCCI modifiers 59/X{EPSU}; anatomic modifiers; telehealth
#: 95/93/GT; teaching physician GC/GE; ABN GA; KX). Payment-policy modifiers (50, 51,
#: 52, 54-56, 62, 66, 78, 80-82, AS, CT, FX/FY, CQ/CO, anesthesia AA/QK/QX/QY/QZ/AD...) are
#: not here: they change the amount and are applied by :func:`rvucalc.reprice` or
#: :meth:`rvucalc.FeeSchedule.anesthesia`.
NO_PRICE_EFFECT = frozenset({
    "24", "25", "27", "32", "33", "57", "59", "76", "77", "79", "91", "93", "95", "96", "97",
    "XE", "XP", "XS", "XU", "LT", "RT", "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5",
    "F6", "F7", "F8", "F9", "TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LC", "LD",
    "LM", "RC", "RI", "GC", "GE", "GT", "GA", "KX", "Q5", "Q6", "CR", "CS", "FS", "FT", "GQ",
})

MODIFIER_NOTE = reason(
    "MOD_NO_PRICE_EFFECT",
    "the modifier does not change the fee schedule amount; priced from the code's own row",
    "CMS Claims Processing Manual ch.12 s.30/s.40 (informational, anatomic, NCCI and telehealth modifiers)")


POLICY_MODIFIER = reason(
    "MOD_CHANGES_PAYMENT",
    "the modifier changes the payment under CMS's payment-policy rules; price the line with rvucalc.reprice",
    "CMS Claims Processing Manual ch.12 s.40 (payment-policy modifiers)")


def modifier_effect(mod: str) -> str:
    """``"row"`` (own PPRRVU row), ``"none"`` (no price effect), or ``"policy"`` (changes the amount)."""
    m = mod.strip().upper()
    if not m or m in OWN_ROW:
        return "row"
    if m in NO_PRICE_EFFECT:
        return "none"
    return "policy"


__all__ = ["MODIFIER_NOTE", "POLICY_MODIFIER", "NOT_IN_RELEASE", "NO_PRICE_EFFECT", "OWN_ROW", "REASONS", "FeeScheduleOf",
           "fee_schedule_of", "modifier_effect", "not_on_pfs_reason", "split_code"]
