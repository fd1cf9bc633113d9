"""Small steps shared by the CLFS, ASP and DMEPOS readers: HCPCS codes and modifiers as text.

CMS's workbooks store purely numeric CPT codes (``36415``, ``90371``) as numbers, and a
spreadsheet that passed through other hands can drop their leading zeros (``00100`` -> ``100``).
Every code is therefore read as 5-character text: digits are zero-padded to five, letters
upper-cased, white space (including no-break spaces) removed; anything else is kept as
written, so a damaged code stays invalid and is reported rather than turned into another code.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd

from ..errors import CMSFileError
from ._common import (
    Lines,
    Source,
    check_quotes_closed,
    decode,
    read_bytes,
    sniff_delimiter,
    source_name,
    xlsx_rows,
)

_JUNK = r"[\s\u00a0\ufeff]"
_CODE = re.compile(r"[A-Z0-9]{5}")


def code5(s: pd.Series) -> pd.Series:
    """HCPCS codes as 5-character upper-case text (``36415.0`` -> ``36415``, ``100`` -> ``00100``)."""
    out = s.astype(str).str.upper().str.replace(_JUNK, "", regex=True)
    out = out.str.replace(r"^(\d{1,5})\.0+$", r"\1", regex=True)
    return out.where(~out.str.fullmatch(r"\d{1,4}"), out.str.zfill(5))


def is_code(cell: str) -> bool:
    """Whether one raw cell is a HCPCS code once read as :func:`code5` reads it."""
    c = re.sub(_JUNK, "", str(cell).upper())
    c = re.sub(r"^(\d{1,5})\.0+$", r"\1", c)
    return _CODE.fullmatch(c) is not None or re.fullmatch(r"\d{1,4}", c) is not None


def modifier_text(s: pd.Series) -> pd.Series:
    """Modifier cells as upper-case text, ``""`` where blank (``nan``/``None`` from a workbook too)."""
    out = s.astype(str).str.upper().str.replace(_JUNK, "", regex=True)
    return out.where(~out.isin(["NAN", "NONE", "<NA>"]), "")


def rows_with_lines(src: Source, name: str | None, what: str,
                    sheet: str | int | None = None) -> tuple[list[list[str]], list[int], str]:
    """Rows of stripped cells of a CSV/TXT or XLSX file, the 1-based line each row starts on, and
    the name to report.

    A quoted CSV cell may hold a line break (CMS's notes and descriptors do), so a record number
    is not a line number: lines are counted as a text editor counts them. XLSX rows are numbered
    as spreadsheet rows. The format is recognised from the bytes (an XLSX starts with ``PK``).
    """
    nm = source_name(src, name)
    data = read_bytes(src, nm)
    if not data.strip():
        raise CMSFileError(nm, what, found="an empty file")
    if data[:2] == b"PK":
        rows = xlsx_rows(data, nm, sheet)
        return rows, list(range(1, len(rows) + 1)), nm
    text, _ = decode(data, nm)
    delim = sniff_delimiter(text)
    check_quotes_closed(text, delim, nm)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[list[str]] = []
    starts: list[int] = []
    prev = 0
    try:
        for rec in reader:
            rows.append([c.strip() for c in rec])
            starts.append(prev + 1)
            prev = reader.line_num
    except csv.Error as exc:
        raise CMSFileError(nm, "well-formed delimited text", line=prev + 1, found=str(exc)) from exc
    return rows, starts, nm


def set_lines(df: pd.DataFrame, starts: list[int]) -> pd.DataFrame:
    """Replace the record-based ``attrs['lines']`` that :func:`~._common.build_frame` sets by the
    physical lines in *starts* (``starts[i]`` = line of record ``i``)."""
    rec = np.asarray(df.attrs["lines"], dtype=np.int64) - 1
    df.attrs["lines"] = Lines(np.asarray(starts, dtype=np.int64)[rec] if len(rec) else rec)
    return df


def first_bad(mask: np.ndarray | pd.Series) -> int | None:
    """Position of the first True in *mask*, or None."""
    m = np.asarray(mask, dtype=bool)
    return int(np.flatnonzero(m)[0]) if m.any() else None


__all__ = ["code5", "first_bad", "is_code", "modifier_text", "rows_with_lines", "set_lines"]
