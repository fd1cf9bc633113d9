"""Reader for CMS's Clinical Laboratory Fee Schedule (CLFS) public use file.

Source and layout
-----------------
CMS posts the CLFS each quarter on its *Clinical Laboratory Fee Schedule Files* page
(https://www.cms.gov/medicare/payment/fee-schedules/clinical-laboratory-fee-schedule-clfs/files),
one zip per quarter named ``YYCLABQn`` (``26CLABQ1`` = January 2026), holding the public use
file ``CLFS <year> Q<n>V<version>`` as CSV/XLSX. Record layout (CY2026 Q1):

``YEAR, HCPCS, MOD, EFF_DATE, INDICATOR, RATE, SHORTDESC, LONGDESC, EXTENDEDLONGDESC``

after a few preamble rows (title "<year> Clinical Diagnostic Laboratory Fee Schedule", the AMA
CPT copyright line, notices). One row per code and modifier: a code with a CLIA-waived ``QW``
row also has its row without a modifier (CY2026 Q1: 2,162 rows over 2,038 codes, 124 ``QW``
rows, rates of the two rows equal). ``RATE`` is the national limitation amount in dollars
(42 CFR 414.507); rows whose ``INDICATOR`` is ``L`` carry a rate of 0 (CY2026 Q1: 32 codes,
new tests priced by the Medicare contractors). ``EFF_DATE`` is ``YYYYMMDD``. Numeric CPT codes
are numbers in CMS's workbook (``36415``): they are read as 5-character text.

The long and extended descriptors are AMA CPT text: they are not kept (only the short
descriptor, as the user's file has it).

Canonical columns
-----------------
``hcpcs`` (5-character text), ``modifier`` (``""`` or e.g. ``QW``), ``year`` (text),
``effective`` (``YYYYMMDD`` text as in the file), ``indicator`` (upper-case text), ``rate``
(float dollars as printed, not rounded), ``description`` (short descriptor). ``attrs``:
``source`` (file name), ``lines`` (1-based line or spreadsheet row of each record),
``title`` (the first preamble cell).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import CMSFileError
from ._common import (
    Col,
    Source,
    build_frame,
    check_rows,
    drop_duplicates,
    map_columns,
    norm,
    to_float,
)
from ._fees import code5, first_bad, is_code, modifier_text, rows_with_lines, set_lines

__all__ = ["CLFS_COLUMNS", "read_clfs"]

_COLS: tuple[Col, ...] = (
    Col("hcpcs", ["HCPCS", "HCPCSCODE"]),
    Col("modifier", ["MOD", "MODIFIER"], required=False),
    Col("year", ["YEAR"], required=False),
    Col("effective", ["EFFDATE", "EFFECTIVEDATE"], required=False),
    Col("indicator", ["INDICATOR"], required=False),
    Col("rate", ["RATE", "PAYMENTRATE", "NATIONALLIMITATIONAMOUNT"], "money"),
    Col("description", ["SHORTDESC", "SHORTDESCRIPTION", "SHORTDESCRIPTOR"], required=False),
)

#: Canonical columns of :func:`read_clfs`, in order.
CLFS_COLUMNS: tuple[str, ...] = tuple(c.name for c in _COLS)


def _is_header(cells: list[str]) -> bool:
    return ("HCPCS" in cells or "HCPCSCODE" in cells) and any(
        c in ("RATE", "PAYMENTRATE", "NATIONALLIMITATIONAMOUNT") for c in cells)


def read_clfs(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read a CLFS public use file (CSV, tab-delimited TXT or XLSX) as CMS ships it.

    Parameters
    ----------
    src : path, bytes or binary file object
    name : str, optional
        Name to show in error messages.

    Returns
    -------
    pandas.DataFrame
        One row per code and modifier with the canonical columns of the module docstring.

    Raises
    ------
    CMSFileError
        No header row with ``HCPCS`` and ``RATE`` cells; a data row with a malformed code, a
        missing, non-numeric or negative rate, cells beyond the header; a code and modifier
        listed twice with different values (exact duplicates are dropped). The message names
        the file, the line and the column.
    """
    rows, starts, nm = rows_with_lines(src, name, "a CLFS file with a header row and data")
    hdr = next((i for i, r in enumerate(rows[:200]) if _is_header([norm(c) for c in r])), None)
    if hdr is None:
        raise CMSFileError(nm, "a CLFS header row with 'HCPCS' and 'RATE' cells",
                           found=f"no such row in the first {min(200, len(rows))} rows")
    pos = map_columns(rows[hdr], _COLS, nm, starts[hdr])
    check_rows(rows, hdr, pos, nm, key="hcpcs", is_key=is_code, data=("rate",),
               what="a 5-character HCPCS code", line_of=lambda i: starts[i])

    def keep(d: pd.DataFrame) -> pd.Series:
        return d["hcpcs"].astype(str).map(is_code) | d["rate"].astype(str).str.strip().ne("")

    df = build_frame(rows, hdr + 1, pos, [c for c in _COLS if c.name != "rate"], nm, keep=keep)
    set_lines(df, starts)
    lines = np.asarray(df.attrs["lines"])
    bad = first_bad(~df["hcpcs"].map(is_code).to_numpy(dtype=bool))
    if bad is not None:
        raise CMSFileError(nm, "a 5-character HCPCS code", line=int(lines[bad]), column="hcpcs",
                           found=df["hcpcs"].iloc[bad])
    if df.empty:
        raise CMSFileError(nm, "CLFS rows below the header", line=starts[hdr] + 1)
    df["rate"] = to_float(df["rate"], name=nm, column="rate", lines=lines, money=True,
                          blank_ok=False, negative_ok=False)
    df["hcpcs"] = code5(df["hcpcs"])
    for c in ("modifier", "year", "effective", "indicator", "description"):
        if c not in df:
            df[c] = ""
    df["modifier"] = modifier_text(df["modifier"])
    df["indicator"] = df["indicator"].astype(str).str.strip().str.upper()
    df["year"] = df["year"].astype(str).str.strip()
    df["effective"] = df["effective"].astype(str).str.strip()
    bad = first_bad(~df["modifier"].str.fullmatch(r"([A-Z0-9]{2})?").to_numpy(dtype=bool))
    if bad is not None:
        raise CMSFileError(nm, "a two-character modifier or nothing", line=int(lines[bad]),
                           column="modifier", found=df["modifier"].iloc[bad])
    attrs = dict(df.attrs)
    df = df[list(CLFS_COLUMNS)].copy()
    df.attrs.update(attrs)
    df = drop_duplicates(df, ["hcpcs", "modifier"], nm, "one row per code and modifier")
    title = next((c for r in rows[:hdr] for c in r if c), "")
    df.attrs["title"] = re.sub(r"\s+", " ", title).strip()
    return df
