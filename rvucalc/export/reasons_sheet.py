"""The *Reasons* sheet of a workbook: every reason code its sheets hold, in words, with the CMS rule.

A reader of a workbook sees codes such as ``PFS_STATUS_B`` or ``OPPS_SI_N|EDIT_NCCI_PTP`` in the
``reason`` columns; the Reasons sheet says, for each code that appears anywhere in the workbook,
what it means (:class:`rvucalc.reasons.Reason` ``message``) and the CMS rule it comes from
(``rule``), and where it appears (sheet, column, rows).

Reason columns are told by their names: ``reason``, ``reasons``, ``<x>_reason``, ``<x> reason``
(a contract's), ``<x>_reason_old``/``_new`` (a release diff) and ``not_priced_reason``
(``CODE 3, CODE 1``). A cell may hold several codes joined by ``"|"``. Codes are read without
regard to case (``pfs_status_b`` is ``PFS_STATUS_B``). A code rvucalc does not know (a user's own
column named ``reason``, a file written by another version) is listed as such, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

_REASON_COLUMN = re.compile(r"(^|[_ ])reasons?([_ ](old|new))?$", re.IGNORECASE)
_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

UNKNOWN = "not a reason code this version of rvucalc gives (see rvucalc.reasons.REGISTRY)"


def is_reason_column(name: Any) -> bool:
    """True for a column that holds reason codes (see the module docstring)."""
    return isinstance(name, str) and bool(_REASON_COLUMN.search(name.strip()))


def codes_in_cell(text: str, known: Mapping[str, Any]) -> list[str]:
    """The reason codes in one cell, upper-cased, in order, each once.

    ``"PFS_STATUS_X|NOT_PFS_CLFS"`` gives both; ``"NOT_PRICED 3, PFS_STATUS_B 1"`` (a count
    per code) gives the known codes among its words; a single word that is no known code is
    kept (listed as unknown)."""
    out: dict[str, None] = {}
    for piece in str(text).split("|"):
        p = piece.strip()
        if not p:
            continue
        if _TOKEN.match(p):
            out.setdefault(p.upper())
            continue
        for w in _WORD.findall(p):
            if w.upper() in known:
                out.setdefault(w.upper())
    return list(out)


def codes_of_frame(df: pd.DataFrame, known: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """``{code: {column: rows}}``: the rows of each reason column that hold each code.

    Counted over the distinct cell values (``value_counts``), not row by row."""
    found: dict[str, dict[str, int]] = {}
    for j, c in enumerate(df.columns):  # by position: a name given twice is two columns
        if not is_reason_column(c):
            continue
        s = df.iloc[:, j]
        if isinstance(s.dtype, pd.CategoricalDtype):
            counts = s.value_counts(dropna=True)
            counts = counts[counts > 0]
        else:
            counts = s.astype(object).value_counts(dropna=True)
        for value, n in counts.items():
            if not isinstance(value, str) or not value.strip():
                continue
            for code in codes_in_cell(value, known):
                per = found.setdefault(code, {})
                per[str(c)] = per.get(str(c), 0) + int(n)
    return found


def reasons_table(frames: Iterable[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """One row per reason code found in *frames* (``(sheet name, frame)`` pairs): ``code``,
    ``words``, ``CMS rule`` and ``appears in`` (``sheet: column (rows)``), sorted by code."""
    from ..reasons import REGISTRY

    where: dict[str, list[str]] = {}
    for sheet, df in frames:
        for code, per in codes_of_frame(df, REGISTRY).items():
            where.setdefault(code, []).extend(
                f"{sheet}: {col} ({n:,} row{'s' if n != 1 else ''})" for col, n in per.items())
    rows = []
    for code in sorted(where):
        r = REGISTRY.get(code)
        rows.append({"code": code, "words": r.message if r else UNKNOWN, "CMS rule": r.rule if r else "",
                     "appears in": "; ".join(where[code])})
    return pd.DataFrame(rows, columns=["code", "words", "CMS rule", "appears in"])


__all__ = ["UNKNOWN", "codes_in_cell", "codes_of_frame", "is_reason_column", "reasons_table"]
