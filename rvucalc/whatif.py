"""What-if conversion factors: ``--cf 34.0`` (dollars per RVU) or ``--cf 98.8%`` (of the year's own CF).

A PFS amount is RVUs x GPCIs x the conversion factor (42 CFR 414.20); CMS sets the CF each
year in the final rule and states it to four decimals ($33.4009 for CY2026 non-QP). An
analyst pricing next year before its files exist takes this year's RVUs at a projected CF:

* in dollars, ``34.0``: every release priced uses that CF;
* as a percent of the release's own CF, ``98.8%``: each release uses its own CF x 0.988,
  rounded to four decimals as CMS states a CF. The same ``98.8%`` means the same thing in
  every year, so it carries across a ``diff`` of two years or claim lines of several years.

:func:`parse_cf` reads either form (text, a number, or a :class:`WhatIfCF`) and refuses
anything that is not a positive, finite number with :class:`ConversionFactorError`, one
sentence saying what was given and what is expected. Only the PFS CF is meant: facility
payments (OPPS, ASC) have conversion factors of their own, which a PFS what-if does not move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import arguments
from .errors import ArgumentTypeError, InvalidArgumentError
from .reasons import Reason, reason

#: How a what-if CF is said in the conversion factor's kind (``fs.conversion_factor_kind``).
WHAT_IF = "what-if (user)"


#: The note an amount priced at a what-if CF carries (``fs.quote(...).notes``; its words say the CF).
WHAT_IF_CF = reason("WHAT_IF_CF", "priced at a what-if conversion factor given by the user, not the release's own",
                    "42 CFR 414.20: PFS amount = RVUs x GPCIs x the CF set in the year's final rule")


def what_if_note(cf: float, kind: str) -> Reason | None:
    """The :data:`WHAT_IF_CF` note with the CF in its words, when *kind* is a what-if (else None)."""
    if not str(kind).startswith(WHAT_IF):
        return None
    return Reason(code=WHAT_IF_CF.code, message=f"priced at a what-if CF ${float(cf):.4f} ({kind}), not the "
                  "release's own", rule=WHAT_IF_CF.rule)


class ConversionFactorError(InvalidArgumentError):
    """A what-if conversion factor that is not a positive, finite dollar amount or percent."""


class ConversionFactorTypeError(ConversionFactorError, ArgumentTypeError):
    """A what-if conversion factor of a type that is no number (``True``, a list ...)."""


#: What a what-if CF must be, said in every refusal.
EXPECTED = ("a positive finite number of dollars per RVU (e.g. 34.0) or a positive percent of the year's own "
            "conversion factor (e.g. 98.8%)")


@dataclass(frozen=True)
class WhatIfCF:
    """A what-if PFS conversion factor: *dollars* per RVU, or *percent* of the release's own CF."""

    dollars: float | None = None
    percent: float | None = None

    def __post_init__(self) -> None:
        if (self.dollars is None) == (self.percent is None):
            raise ConversionFactorError("a what-if conversion factor is either dollars or a percent, not both")

    @property
    def relative(self) -> bool:
        """True for a percent of the release's own CF (the same meaning in every year)."""
        return self.percent is not None

    def value(self, own: float) -> float:
        """The CF in dollars for a release whose own CF is *own* (four decimals, as CMS states a CF)."""
        if self.dollars is not None:
            return self.dollars
        assert self.percent is not None
        return round(float(own) * self.percent / 100.0, 4)

    def kind(self, own: float, own_kind: str = "") -> str:
        """``what-if (user)`` or ``what-if (user): 98.8% of $33.4009, from the PPRRVU file``."""
        if self.dollars is not None:
            return WHAT_IF
        of = f", {own_kind}" if own_kind else ""
        return f"{WHAT_IF}: {self.percent:g}% of ${float(own):.4f}{of}"

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else f"${self.dollars:.4f}"


def parse_cf(given: str | float | int | WhatIfCF | None, name: str = "conversion_factor") -> WhatIfCF | None:
    """``"34.0"``, ``34``, ``"$34.0"`` -> dollars; ``"98.8%"`` -> percent of the release's own CF.

    ``None`` stays ``None`` (no what-if). Zero, negative, infinite, NaN and unreadable values
    raise :class:`ConversionFactorError` (an :class:`~rvucalc.errors.InvalidArgumentError`;
    :class:`ConversionFactorTypeError`, also a ``TypeError``, for ``True`` or a list), naming
    *name* as :mod:`rvucalc.arguments` does: ``conversion_factor=-1 is not above zero: ...``.
    """
    if given is None or isinstance(given, WhatIfCF):
        return given
    pct = False
    raw: Any = given
    if isinstance(given, str):
        text = given.strip().replace(",", "")
        pct = text.endswith("%")
        raw = text[:-1].strip() if pct else text.removeprefix("$").strip()
    try:
        num = arguments.positive_number(raw, name, EXPECTED)
    except InvalidArgumentError as exc:
        said = str(exc).replace(f"{name}={raw!r}", f"{name}={given!r}", 1)
        raise (ConversionFactorTypeError if isinstance(exc, TypeError) else ConversionFactorError)(said) from None
    return WhatIfCF(percent=num) if pct else WhatIfCF(dollars=num)


def resolve_cf(given: str | float | int | WhatIfCF | None, own: float, own_kind: str = ""
               ) -> tuple[float, str] | None:
    """``(dollars, kind)`` of a what-if for a release whose CF is *own*; ``None`` without a what-if."""
    w = parse_cf(given)
    if w is None:
        return None
    return w.value(own), w.kind(own, own_kind)


__all__ = ["WHAT_IF", "WHAT_IF_CF", "ConversionFactorError", "what_if_note", "WhatIfCF", "parse_cf", "resolve_cf"]
