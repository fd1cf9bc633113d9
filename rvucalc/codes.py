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
  CR, JW/JZ);
- everything else, **not priced**: the line keeps it, and the repricer says that rvucalc does not
  apply it (reason ``MOD_NOT_PRICED``), so the amount shown is the amount without it.
"""

from __future__ import annotations

import re

#: Modifiers that rvucalc's PFS calculators apply.
PRICED = frozenset({"26", "TC", "53", "50", "LT", "RT", "62", "66", "80", "81", "82", "AS"})
#: Modifiers that do not change the fee schedule amount.
INFORMATIONAL = frozenset({
    "24", "25", "51", "57", "58", "59", "76", "77", "79", "91", "95",
    "XE", "XS", "XP", "XU", "GC", "GE", "GA", "GX", "KX", "GT", "GQ", "FQ", "FR", "Q5", "Q6", "CR",
    "JW", "JZ",
})

_CODE = re.compile(r"\s*([A-Za-z0-9]{5})((?:[\s\-_:,/]+[A-Za-z0-9]{2})*)\s*")
_SEP = re.compile(r"[\s\-_:,/;|]+")


def parse_code(text: object) -> tuple[str, tuple[str, ...]] | None:
    """``"20983-50"`` -> ``("20983", ("50",))``; ``None`` when *text* is not a HCPCS code.

    Codes and modifiers are upper-cased; nothing else is changed.
    """
    if text is None:
        return None
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
