"""Spreadsheet error values in the cells a line is priced from.

A workbook's error cell (``#N/A``, ``#REF!``, ``#VALUE!``...) is read as its error text
(:mod:`rvucalc.claims.workbook_in`), and a CSV saved from a spreadsheet holds the same text.
It is not an empty cell: an empty ``charge`` means "no charge given" and an empty ``zip`` lets
the ``locality`` column decide, but an error means the value is unknown. So a line whose
priced cell holds an error value is refused with :data:`ERROR_CELL` (its other reasons, such
as ``REPRICE_BAD_CHARGE``, are kept), whatever the column; the cell itself is written back as
its text. The columns are those the line's payment system reads (:data:`PRICED_COLUMNS`); an
error in another column is only carried through. ``claim_id`` is not among them: an id that
is missing or an error value makes the line a claim of its own (``CLAIM_ID_MISSING``).

Vectorised: a text column read from a CSV (Arrow strings) is first scanned for the byte
``#`` (a few milliseconds per million cells); other columns are checked on their distinct
values.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..reasons import reason
from .lines import arrow_text
from .workbook_in import ERROR_VALUES

ERROR_CELL = reason(
    "REPRICE_ERROR_CELL", "a cell the line is priced from holds a spreadsheet error (#N/A, #REF!, "
    "#VALUE!, #DIV/0!...) instead of a value: the line is not priced (an error is not an empty cell); "
    "the cell comes back as its error text", "claim line input (spreadsheet error values)")

#: Columns each payment system prices a line from (an error value there refuses the line).
PRICED_COLUMNS: dict[str, tuple[str, ...]] = {
    "pfs": ("hcpcs", "modifiers", "units", "pos", "zip", "locality", "date_of_service", "charge",
            "participating"),
    "hopd": ("hcpcs", "modifiers", "units", "date_of_service", "wage_index", "ccn", "cbsa", "county_fips"),
    "asc": ("hcpcs", "modifiers", "units", "date_of_service", "wage_index", "cbsa", "county_fips"),
}

_ERRORS = frozenset(ERROR_VALUES)
_HASH = ord("#")


def is_error_value(v: object) -> bool:
    """Whether the cell value *v* is a spreadsheet error value (blanks around it and case ignored)."""
    return isinstance(v, str) and v.strip().upper() in _ERRORS


def _distinct(values: pd.Series) -> np.ndarray:
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    flag = np.array([is_error_value(v) for v in uniq] + [False], dtype=bool)  # distinct values
    return flag[codes]


def _arrow(arr: object, n: int) -> np.ndarray | None:
    """Per line for Arrow strings; ``None`` when no cell holds a ``#`` (the usual case)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    assert isinstance(arr, pa.ChunkedArray)
    for chunk in arr.chunks:
        data = chunk.buffers()[2]  # every string's bytes (a slice may see a few more: only a second look)
        if data is not None and data.size and bool((np.frombuffer(data, dtype=np.uint8) == _HASH).any()):
            break
    else:
        return None
    text = pc.utf8_upper(pc.utf8_trim_whitespace(arr))
    hit = pc.is_in(text, value_set=pa.array(sorted(_ERRORS), type=text.type))
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)


def error_cells(chunk: pd.DataFrame, columns: Iterable[str]) -> np.ndarray:
    """Per line of *chunk*: whether any of its *columns* (those present) holds an error value."""
    n = len(chunk)
    out = np.zeros(n, dtype=bool)
    for name in columns:
        if name not in chunk.columns:
            continue
        values = chunk[name]
        if not isinstance(values, pd.Series):  # a name given twice: require() speaks of it
            continue
        dtype = values.dtype
        if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype) or \
                pd.api.types.is_datetime64_any_dtype(dtype):
            continue
        arr = arrow_text(values)
        hit = _arrow(arr, n) if arr is not None else _distinct(values)
        if hit is not None:
            out |= hit
    return out


__all__ = ["ERROR_CELL", "PRICED_COLUMNS", "error_cells", "is_error_value"]
