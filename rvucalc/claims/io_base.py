"""What the claims file readers and writers share: the error of a file that cannot be read, a
file's kind by its suffix, and a cell's value as a spreadsheet shows it. Below
:mod:`rvucalc.claims.io`, :mod:`rvucalc.claims.fits` and :mod:`rvucalc.claims.workbook_in`, which
all use them (so none of those imports another in a circle)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import RvucalcError


class ClaimsFileError(RvucalcError):
    """A claims file cannot be read (not found, not CSV/Parquet/Excel, not UTF-8, bad CSV)."""


def _kind(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in (".parquet", ".pq"):
        return "parquet"
    if ext in (".xlsx", ".xlsm"):
        return "xlsx"
    return "csv"


def cell_text(value: object) -> str | None:
    """A cell's value as the text a spreadsheet shows for it (``None`` for a missing value).

    For columns that mix kinds of values (see the module docstring). Text is kept as it is;
    whole numbers without a decimal point (71046 -> ``71046``, 1.0 -> ``1``); other numbers with
    the 15 significant digits a spreadsheet keeps, in plain notation (0.1 + 0.2 -> ``0.3``,
    1e-05 -> ``0.00001``); a date at midnight as ``2026-08-03``, with a time of day as
    ``2026-08-03 14:30:00``; a time as ``14:30:00``; true/false as ``TRUE``/``FALSE``.
    """
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        text = format(Decimal(format(v, ".15g")), "f")
        return "0" if text in ("-0", "0") else text
    if isinstance(value, dt.datetime):  # pd.Timestamp too
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)
