"""HCPCS codes and modifiers as people type them: one parser for quotes and claim lines.

``"20983"``, ``"20983-50"``, ``"71046 26"``, ``"27447-50-LT"`` and ``"g0463"`` are read the same
way everywhere (``rvucalc quote``, :meth:`FeeSchedule.quote`, :func:`rvucalc.reprice`): the
five-character HCPCS code (CPT Level I or HCPCS Level II), then any two-character modifiers,
separated by a hyphen, blank, comma, colon, slash or underscore.

Modifiers fall in three groups (Medicare Claims Processing Manual, Pub. 100-04, ch.12; CMS RVU
file documentation, Attachment A):

- :data:`PRICED`: modifiers the fee-schedule calculators apply (26/TC/53 rows, 50/RT/LT,
  62, 66, 80/81/82/AS);
- :data:`INFORMATIONAL`: modifiers that tell a payer something but do not change the fee
  schedule amount (distinct service 59/XE/XS/XP/XU, E/M with a procedure 25, 57, global-period
  24/79/58, repeat 76/77/91, teaching physician GC/GE, ABN GA/GX, KX, telehealth 95/GT/GQ/FQ/FR,
  51 (the multiple-procedure rule is applied from the claim, not the modifier), locum Q5/Q6/Q6,
  CR, JW/JZ, the therapy plan-of-care modifiers GP/GO/GN);
- everything else, **not priced**: the line keeps it, and the repricer says that rvucalc does not
  apply it (reason ``MOD_NOT_PRICED``), so the amount shown is the amount without it.

This module also says which fee schedule pays a code that is not on the PFS, and what a
modifier does to a quoted amount:

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

from .arguments import zip_code
from .errors import UnknownCodeError
from .reasons import Reason, reason

#: Modifiers that rvucalc's PFS calculators apply.
PRICED = frozenset({"26", "TC", "53", "50", "LT", "RT", "62", "66", "80", "81", "82", "AS"})
#: Modifiers that do not change the fee schedule amount.
INFORMATIONAL = frozenset({
    "24", "25", "51", "57", "58", "59", "76", "77", "79", "91", "95",
    "XE", "XS", "XP", "XU", "GC", "GE", "GA", "GX", "KX", "GT", "GQ", "FQ", "FR", "Q5", "Q6", "CR",
    "JW", "JZ",
    # therapy plan of care (physical, occupational, speech-language): required on every outpatient
    # therapy line, no price effect (Pub. 100-04 ch. 5 s. 20.1; 42 CFR 410.59-410.62)
    "GP", "GO", "GN",
})

_CODE = re.compile(r"\s*([A-Za-z0-9]{5})((?:[\s\-_:,/]+[A-Za-z0-9]{2})*)\s*")
_SEP = re.compile(r"[\s\-_:,/;|]+")


def parse_code(text: object) -> tuple[str, tuple[str, ...]] | None:
    """``"20983-50"`` -> ``("20983", ("50",))``; ``None`` when *text* is not a HCPCS code.

    Codes and modifiers are upper-cased; nothing else is changed. A number is read as the
    digits a spreadsheet shows for it: 71046 and 71046.0 (a workbook's number cell, a float
    column) are code ``71046``; the text ``"71046.0"`` is not a code.
    """
    if text is None:
        return None
    if isinstance(text, float) and text.is_integer():  # numpy's float64 too
        text = int(text)
    m = _CODE.fullmatch(str(text))
    if not m:
        return None
    return m.group(1).upper(), split_modifiers(m.group(2))


def split_modifiers(text: object) -> tuple[str, ...]:
    """``"51 LT"``, ``"50,lt"``, ``"26/TC"`` -> the modifiers, upper-cased, in order.

    A token that is not two letters/digits is kept as written (upper-cased) so that it can be
    reported; numbers a spreadsheet stored as ``26.0`` are read as ``26``.
    """
    if text is None:
        return ()
    s = str(text).strip()
    if not s or s.lower() in ("nan", "none", "<na>"):
        return ()
    out = []
    for tok in _SEP.split(s.upper()):
        if not tok:
            continue
        if tok.endswith(".0") and tok[:-2].isdigit():
            tok = tok[:-2].zfill(2)
        out.append(tok)
    return tuple(out)


def not_priced(mods: tuple[str, ...]) -> tuple[str, ...]:
    """The modifiers in *mods* that rvucalc neither applies nor knows to be informational."""
    return tuple(m for m in mods if m not in PRICED and m not in INFORMATIONAL)


def split_code(code: str, modifier: str | None = None) -> tuple[str, str]:
    """``"71046-26"`` / ``"71046 26"`` / ``("71046", "26")`` -> ``("71046", "26")``: one code, at
    most one modifier (read with :func:`parse_code`); several modifiers are a claim line's business
    (:func:`rvucalc.reprice`)."""
    got = parse_code(code)
    if got is None or any(len(m) != 2 for m in got[1]):
        raise UnknownCodeError(f"{code!r} is not a HCPCS code (five letters/digits, e.g. 20983 or G0463, "
                               "optionally with a modifier: 71046-26)")
    c, mods = got
    if modifier:
        mods = (*mods, *split_modifiers(modifier))
    mods = tuple(dict.fromkeys(mods))
    if len(mods) > 1:
        raise UnknownCodeError(f"{code!r}: one modifier per quoted code ({', '.join(mods)} given); price a line "
                               "with several modifiers with rvucalc.reprice")
    return c, (mods[0] if mods else "")


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
#: not change the PFS fee schedule amount of the code's own row: :data:`INFORMATIONAL` plus
#: the anatomic ones (a single LT or RT line is priced as one side) (CMS Claims Processing
#: Manual ch.12 s.30 and s.40; NCCI modifiers 59/X{EPSU}; anatomic modifiers; telehealth
#: 95/93/GT; teaching physician GC/GE; ABN GA; KX). Payment-policy modifiers (50, 51,
#: 52, 54-56, 62, 66, 78, 80-82, AS, CT, FX/FY, CQ/CO, anesthesia AA/QK/QX/QY/QZ/AD...) are
#: not here (51 is: the multiple-procedure rule is applied from the claim): they change the amount and are applied by :func:`rvucalc.reprice` or
#: :meth:`rvucalc.FeeSchedule.anesthesia`.
NO_PRICE_EFFECT = INFORMATIONAL | frozenset({
    "27", "32", "33", "93", "96", "97", "LT", "RT", "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4",
    "F5", "F6", "F7", "F8", "F9", "TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LC", "LD",
    "LM", "RC", "RI", "CS", "FS", "FT",
})

#: Modifiers of no price effect that waive the beneficiary's cost sharing (33: preventive service;
#: CS: cost sharing waived by statute): claim repricing does not apply the waiver, so a line that
#: carries one keeps the ``MOD_NOT_PRICED`` note; every other modifier of :data:`NO_PRICE_EFFECT`
#: is priced with no note (:data:`QUIET`).
WAIVES_COST_SHARING = frozenset({"33", "CS"})
#: Modifiers a claim line carries with no note at all: no price effect, no cost-sharing waiver.
QUIET = NO_PRICE_EFFECT - WAIVES_COST_SHARING

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


#: A ZIP code as five digits (:func:`rvucalc.arguments.zip_code`: one definition).
normalise_zip = zip_code


__all__ = ["normalise_zip", "INFORMATIONAL", "MODIFIER_NOTE", "NOT_IN_RELEASE", "NO_PRICE_EFFECT", "OWN_ROW", "POLICY_MODIFIER",
           "PRICED", "QUIET", "REASONS", "WAIVES_COST_SHARING", "FeeScheduleOf", "fee_schedule_of",
           "modifier_effect", "not_on_pfs_reason", "not_priced", "parse_code", "split_code",
           "split_modifiers"]
