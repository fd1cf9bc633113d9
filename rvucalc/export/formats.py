"""Number formats for result columns, and text that a spreadsheet would run as a formula.

Percentages: rvucalc's frames hold ``*_pct`` columns in percent points
(``4.33`` means 4.33 %, as printed in the terminal and written to CSV). A
workbook stores a percentage as a fraction (``0.0433``) under a percent format
(:data:`PERCENT_FORMAT`), so a formula on the cell gives the right answer;
:func:`is_percent_points` names those columns and :func:`to_fraction` converts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Excel number formats used in workbooks (tests compare against these).
CURRENCY_FORMAT = '"$"#,##0.00;[Red]-"$"#,##0.00'
CF_FORMAT = '"$"#,##0.0000'
PERCENT_FORMAT = "0.00%"  # the cell holds a fraction: 0.0433 shows as 4.33%
RVU_FORMAT = "0.00"
GPCI_FORMAT = "0.000"
INDEX_FORMAT = "0.0000"
COUNT_FORMAT = "#,##0"
UNITS_FORMAT = "#,##0.0##"  # counts with fractions (paid units 0.5, 1.5): a count, never dollars
MEAN_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

_MONEY_EXACT = {
    "amount", "nonfacility", "facility", "site_difference", "payment", "allowed", "paid", "charge",
    "professional", "technical", "total", "difference", "copay", "copayment", "coinsurance",
    "deductible", "price", "rate", "opps_cap", "limiting_charge", "facility_fee", "beneficiary",
    "medicare", "outlier", "reimbursement", "billed", "charges", "sequestration", "beneficiary_share",
}
_MONEY_RE = re.compile(
    r"(^|_)(amount|payment|paid|allowed|charges?|rate|fee|cost|copay(ment)?|coinsurance|deductible|"
    r"price|difference|usd|dollars|reimbursement|outlier|billed|professional|facility_fee|"
    r"nonfacility|facility|total_payment|opps_cap|share|total|medicare|beneficiary)$"
    r"|(^|_)minus_")  # hopd_minus_office, minus_hopd: a difference of two amounts
_RVU_RE = re.compile(r"(rvu|^pe_(non)?facility$|^total_(non)?facility$|^opps_pe_(non)?facility$|^opps_mp$)")
_SUFFIX_RE = re.compile(r"_(old|new|diff|change|delta|\d{4})$")
# counts, tested before money: ``lines_paid`` counts lines, it is not an amount paid
_COUNT_RE = re.compile(r"^(n|count|codes|rows|units|lines|claims)$|^n_|(^|_)(lines|claims)(_|$)"
                       r"|_(count|units|codes|rows)$")

#: Kinds of column a producer declares in ``attrs["rvucalc.kinds"]`` (``{column: kind}``),
#: and the number format of each (``None``: General). ``units`` is a count that may hold
#: fractions (0.5 of a discounted line): :data:`COUNT_FORMAT`, or :data:`UNITS_FORMAT` when
#: a value is not whole.
KIND_FORMATS: dict[str, str | None] = {
    "money": CURRENCY_FORMAT, "count": COUNT_FORMAT, "units": COUNT_FORMAT,
    "percent_points": PERCENT_FORMAT, "conversion_factor": CF_FORMAT, "rvu": RVU_FORMAT,
    "gpci": GPCI_FORMAT, "index": INDEX_FORMAT, "factor": None, "number": None, "text": None,
}
#: The count formats (whole counts, counts with fractions).
COUNT_FORMATS = (COUNT_FORMAT, UNITS_FORMAT)


def is_formula_like(value: object) -> bool:
    """True for text a spreadsheet would treat as a formula (``=``, ``+``, ``-``, ``@``, tab, CR)."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of *df* whose text cells cannot be read as spreadsheet formulas (prefixed with ``'``).

    Used for CSV output. Categorical columns are fixed through their
    categories (cheap on millions of rows); column names are fixed too.
    """
    out = df.copy()
    out.columns = [("'" + c) if is_formula_like(c) else c for c in out.columns]
    for c in out.columns:
        col = out[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = col.cat.categories
            if cats.dtype == object or pd.api.types.is_string_dtype(cats):
                bad = [is_formula_like(v) for v in cats]
                if any(bad):
                    new = [("'" + v) if b else v for v, b in zip(cats, bad)]
                    if len(set(new)) == len(new):
                        out[c] = col.cat.rename_categories(new)
                    else:  # a fixed value collides with an existing one: give up the categories
                        s = col.astype(object)
                        out[c] = s.map(lambda v: ("'" + v) if is_formula_like(v) else v)
        elif col.dtype == object or pd.api.types.is_string_dtype(col):
            s = col.astype(object)
            txt = s.map(is_formula_like).astype(bool)
            if txt.any():
                out[c] = s.where(~txt, "'" + s.astype(str))
    return out


def is_percent_points(name: object) -> bool:
    """True for a column rvucalc fills with percent points (``*_pct``, ``*_percent``, ``pct_change``)."""
    n = str(name).lower()
    return n.endswith(("_pct", "pct_change", "_percent")) or n in ("pct", "percent")


def to_fraction(s: pd.Series) -> pd.Series:
    """Percent points as fractions (``4.33`` -> ``0.0433``), float noise of the division removed."""
    a = s.to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(np.round(a / 100.0, 10), index=s.index, name=s.name)


def column_format(name: str, dtype: Any) -> str | None:
    """Excel number format for a column, guessed from its canonical name; None for General.

    Money (``amount``, ``nonfacility``, ``*_payment``, ``*_old``/``*_new``/``*_diff``
    of those, ...) gets :data:`CURRENCY_FORMAT`; ``*_pct`` gets
    :data:`PERCENT_FORMAT` (written as fractions, see :func:`to_fraction`);
    conversion factors :data:`CF_FORMAT`; RVUs :data:`RVU_FORMAT`; GPCIs
    :data:`GPCI_FORMAT`; counts :data:`COUNT_FORMAT`.
    """
    if not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
        return None
    n = str(name).lower()
    if is_percent_points(n):
        return PERCENT_FORMAT
    base = _SUFFIX_RE.sub("", n)
    if "conversion_factor" in base or base in ("cf", "anes_cf"):
        return CF_FORMAT
    if "gpci" in base:
        return GPCI_FORMAT
    if "wage_index" in base or base.endswith("_index"):
        return INDEX_FORMAT
    if _RVU_RE.search(base):
        return RVU_FORMAT
    if _COUNT_RE.search(base):
        return COUNT_FORMAT
    if base in _MONEY_EXACT or _MONEY_RE.search(base):
        return CURRENCY_FORMAT
    return None


def kind_format(kind: str, values: Any = None) -> str | None:
    """Number format for a declared column *kind* (:data:`KIND_FORMATS`).

    A count (``count``/``units``) whose *values* are not all whole numbers gets
    :data:`UNITS_FORMAT`, so 0.5 shows as 0.5, not 1.
    """
    try:
        fmt = KIND_FORMATS[kind]
    except KeyError:
        raise ValueError(f"unknown column kind {kind!r}; one of {', '.join(KIND_FORMATS)}") from None
    return count_or_units(values) if fmt == COUNT_FORMAT and values is not None else fmt


def count_or_units(values: Any) -> str:
    """The one rule for counts: :data:`COUNT_FORMAT` when every value is a whole number, else
    :data:`UNITS_FORMAT` (0.5 units shows as 0.5, not 1)."""
    return COUNT_FORMAT if _whole(values) else UNITS_FORMAT


def _whole(values: Any) -> bool:
    try:
        a = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        return True
    a = a[np.isfinite(a)]
    return bool(np.all(a == np.round(a)))


def declare_kinds(df: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """Record in ``df.attrs["rvucalc.kinds"]`` what *df*'s columns hold (in place; returns *df*).

    Producers that know their columns say so (``{"claim_total": "money", "lines": "count"}``)
    instead of leaving the workbook to guess from the names; only columns present are kept.
    """
    known = {str(c): k for c, k in kinds.items() if c in df.columns}
    for k in known.values():
        kind_format(k)  # an unknown kind fails here, where it is declared
    old = df.attrs.get("rvucalc.kinds") or {}
    df.attrs["rvucalc.kinds"] = {**old, **known}
    return df


__all__ = [
    "COUNT_FORMATS", "KIND_FORMATS", "UNITS_FORMAT", "declare_kinds", "kind_format",
    "CF_FORMAT", "COUNT_FORMAT", "CURRENCY_FORMAT", "DATETIME_FORMAT", "DATE_FORMAT", "FORMULA_START",
    "GPCI_FORMAT", "INDEX_FORMAT", "MEAN_FORMAT", "PERCENT_FORMAT", "RVU_FORMAT", "column_format",
    "is_formula_like", "is_percent_points", "neutralise", "to_fraction",
]
