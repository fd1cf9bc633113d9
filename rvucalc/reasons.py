"""Structured reasons: why an amount is what it is, or why there is none.

A :class:`Reason` carries a short stable ``code`` (for filtering in pandas),
plain words for a person, and the CMS rule it comes from. Calculators put the
``code`` in a ``reason`` column of their DataFrames (empty string where the
amount is payable as is) and :func:`explain` turns a code back into a Reason.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Reason(BaseModel):
    """Why an amount is absent or adjusted."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    rule: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message} ({self.rule})"


REGISTRY: dict[str, Reason] = {}


def reason(code: str, message: str, rule: str) -> Reason:
    """Create and register a reason (modules call this at import time)."""
    r = Reason(code=code, message=message, rule=rule)
    existing = REGISTRY.get(code)
    if existing is not None and existing != r:
        raise ValueError(f"reason code {code!r} registered twice with different text")
    REGISTRY[code] = r
    return r


def explain(code: str) -> Reason | None:
    """The :class:`Reason` for *code*, or ``None`` for an empty code (``""``, None or NaN).

    A cell of several codes (``"PFS_STATUS_X|NOT_PFS_CLFS"``) gives one Reason whose code is
    that cell and whose words and rules are those of each code, joined with ``"; "``.

    Raises :class:`rvucalc.errors.UnknownReasonError` (a ``KeyError``) naming the code
    and near known codes when *code* is not a reason rvucalc gives.
    """
    if code is None or code != code or not str(code):
        return None
    if "|" in str(code):  # a cell of several codes, e.g. "PFS_STATUS_X|NOT_PFS_CLFS": one Reason
        parts = [r for r in (explain(c) for c in str(code).split("|")) if r is not None]
        if len(parts) == 1:
            return parts[0]
        if parts:
            return Reason(code="|".join(r.code for r in parts),
                          message="; ".join(r.message for r in parts),
                          rule="; ".join(r.rule for r in parts))
        return None
    try:
        return REGISTRY[str(code)]
    except KeyError:
        import difflib

        from .errors import UnknownReasonError

        near = difflib.get_close_matches(str(code).upper(), list(REGISTRY), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise UnknownReasonError(f"{code!r} is not a reason code rvucalc gives ({len(REGISTRY)} known, "
                                 f"listed in rvucalc.reasons.REGISTRY){hint}") from None
