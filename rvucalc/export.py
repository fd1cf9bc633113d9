"""Writing result tables to files (CSV, parquet, Excel) safely.

Text cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, tab or carriage return) are written with a leading
apostrophe-free quote character so they stay text.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of *df* whose text cells cannot be read as spreadsheet formulas (prefixed with ``'``)."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col) or isinstance(col.dtype, pd.CategoricalDtype):
            s = col.astype(object)
            txt = s.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
            if txt.any():
                out[c] = s.where(~txt, "'" + s.astype(str))
    return out


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write *df* by file extension: .csv, .parquet or .xlsx."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext == ".parquet":
        df.to_parquet(p, index=False)
    elif ext in (".xlsx", ".xlsm"):
        neutralise(df).to_excel(p, index=False)
    else:
        neutralise(df).to_csv(p, index=False)
    return p
