"""Reader for CMS's quarterly ASP pricing file ("Payment Allowance Limits for Medicare Part B Drugs").

Source and layout
-----------------
CMS posts the Part B drug payment limits each quarter on its *ASP Pricing Files* page
(https://www.cms.gov/medicare/payment/part-b-drugs/asp-pricing-files); each zip holds the
payment limit file as an XLSX workbook and a "Section 508 version" CSV (from 2026 named
"Medicare Part B Payment Limit File"). The CSV (cp1252, CRLF) opens with preamble records: the
title, ``Effective <Month d, yyyy> through <Month d, yyyy>``, "Note 1: Payment allowance limits
subject to the ASP methodology are based on <n>Q<yy> ASP data.", a coverage note; then the
column names (January 2024 to January 2026 alike):

``HCPCS Code, Short Description, HCPCS Code Dosage, Payment Limit, Co-insurance Percentage,
Vaccine AWP%, Vaccine Limit, Blood AWP%, Blood limit, Clotting Factor, Notes``

some quarters with one or two unnamed empty columns after Notes. The payment limit is per
billing unit of the HCPCS code's dosage (``1 MG``, ``10 MG``, ``1 SQ CM`` ...): 106% of the
average sales price or the statutory alternative (42 CFR 414.904), three decimals. The
co-insurance percentage is ``20.000`` unless the Inflation Reduction Act's rebate lowers it
(``17.585`` for J0897 in January 2026, note "Inflation-adjusted coinsurance"), ``0.000`` for
the vaccines Part B covers without coinsurance. A few codes have ``N/A`` as payment limit, the
note saying the Medicare contractor determines the payment (A9606 radium-223, priced on AWP;
J0739/J0750 HIV PrEP in October 2024). Codes are 5-character text (``90371`` stays text).

Canonical columns
-----------------
``hcpcs``, ``description`` (short description as printed), ``dosage`` (the HCPCS code dosage,
text), ``payment_limit`` (float dollars per billing unit, NaN where the file says ``N/A``),
``coinsurance_pct`` (float percent, ``20.0``), ``vaccine_awp_pct``, ``vaccine_limit``,
``blood_awp_pct``, ``blood_limit``, ``clotting_factor`` (floats, NaN where blank), ``notes``
(text, line breaks kept). ``attrs``: ``source``, ``lines``, ``effective_from`` and
``effective_through`` (ISO dates from the preamble, ``""`` if absent), ``asp_data`` (e.g.
``3Q25``), ``title``.
"""

from __future__ import annotations

import re
from datetime import datetime

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
from ._fees import code5, first_bad, is_code, rows_with_lines, set_lines

__all__ = ["ASP_COLUMNS", "read_asp"]

_COLS: tuple[Col, ...] = (
    Col("hcpcs", ["HCPCSCODE", "HCPCS"]),
    Col("description", ["SHORTDESCRIPTION", "SHORTDESCRIPTOR", "DESCRIPTION"], required=False),
    Col("dosage", ["HCPCSCODEDOSAGE", "DOSAGE"]),
    Col("payment_limit", ["PAYMENTLIMIT", "PAYMENTALLOWANCELIMIT"]),
    Col("coinsurance_pct", ["COINSURANCEPERCENTAGE", "COINSURANCE"]),
    Col("vaccine_awp_pct", ["VACCINEAWP"], required=False),
    Col("vaccine_limit", ["VACCINELIMIT"], required=False),
    Col("blood_awp_pct", ["BLOODAWP"], required=False),
    Col("blood_limit", ["BLOODLIMIT"], required=False),
    Col("clotting_factor", ["CLOTTINGFACTOR"], required=False),
    Col("notes", ["NOTES", "NOTE"], required=False),
)

#: Canonical columns of :func:`read_asp`, in order.
ASP_COLUMNS: tuple[str, ...] = tuple(c.name for c in _COLS)
_FLOATS = ("vaccine_awp_pct", "vaccine_limit", "blood_awp_pct", "blood_limit", "clotting_factor")
_NOT_PRICED = {"N/A", "NA", "N.A."}
_EFFECTIVE = re.compile(r"EFFECTIVE\s+([A-Z]+\.?\s+\d{1,2},\s*\d{4})\s+THROUGH\s+([A-Z]+\.?\s+\d{1,2},\s*\d{4})",
                        re.IGNORECASE)
_ASP_DATA = re.compile(r"BASED\s+ON\s+(\d)Q(\d\d)\s+ASP\s+DATA", re.IGNORECASE)


def _is_header(cells: list[str]) -> bool:
    return "HCPCSCODE" in cells and "PAYMENTLIMIT" in cells


def _iso(text: str) -> str:
    t = re.sub(r"\s+", " ", text.replace(".", "")).strip()
    for fmt in ("%B %d, %Y", "%b %d, %Y", "%B %d,%Y"):
        try:
            return datetime.strptime(t, fmt).date().isoformat()
        except ValueError:
            continue
    return ""


def read_asp(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read an ASP payment limit file (the Section 508 CSV or the XLSX) as CMS ships it.

    Returns one row per HCPCS code with the canonical columns of the module docstring; amounts
    are the file's, not rounded.

    Raises
    ------
    CMSFileError
        No header row with ``HCPCS Code`` and ``Payment Limit``; a data row with a malformed
        code; a payment limit that is neither a number nor ``N/A``; a missing, non-numeric,
        negative or over-100 co-insurance percentage; a code listed twice with different values.
        The message names the file, the line and the column.
    """
    rows, starts, nm = rows_with_lines(src, name, "an ASP payment limit file with a header row and data")
    hdr = next((i for i, r in enumerate(rows[:200]) if _is_header([norm(c) for c in r])), None)
    if hdr is None:
        raise CMSFileError(nm, "an ASP header row with 'HCPCS Code' and 'Payment Limit' cells",
                           found=f"no such row in the first {min(200, len(rows))} rows")
    pos = map_columns(rows[hdr], _COLS, nm, starts[hdr])
    check_rows(rows, hdr, pos, nm, key="hcpcs", is_key=is_code,
               data=("payment_limit", "coinsurance_pct"), what="a 5-character HCPCS code",
               line_of=lambda i: starts[i])
    text_cols = [Col(c.name, c.match) for c in _COLS]  # typed below, with this file's rules
    df = build_frame(rows, hdr + 1, pos, text_cols, nm,
                     keep=lambda d: d["hcpcs"].astype(str).map(is_code))
    set_lines(df, starts)
    if df.empty:
        raise CMSFileError(nm, "drug rows below the header", line=starts[hdr] + 1)
    lines = np.asarray(df.attrs["lines"])
    df["hcpcs"] = code5(df["hcpcs"])

    limit = df["payment_limit"].astype(str).str.strip()
    na = limit.str.upper().isin(_NOT_PRICED).to_numpy()
    df["payment_limit"] = to_float(limit.where(~na, ""), name=nm, column="payment_limit", lines=lines,
                                   money=True, negative_ok=False)
    blank = first_bad(df["payment_limit"].isna().to_numpy() & ~na)
    if blank is not None:
        raise CMSFileError(nm, "a payment limit (a number, or N/A)", line=int(lines[blank]),
                           column="payment_limit", found="")
    df["coinsurance_pct"] = to_float(df["coinsurance_pct"], name=nm, column="coinsurance_pct", lines=lines,
                                     money=True, blank_ok=False, negative_ok=False)
    over = first_bad((df["coinsurance_pct"] > 100).to_numpy())
    if over is not None:
        raise CMSFileError(nm, "a co-insurance percentage from 0 to 100", line=int(lines[over]),
                           column="coinsurance_pct", found=df["coinsurance_pct"].iloc[over])
    for c in _FLOATS:
        if c in df:
            df[c] = to_float(df[c], name=nm, column=c, lines=lines, money=True, negative_ok=False)
        else:
            df[c] = np.nan
    for c in ("description", "notes"):
        if c not in df:
            df[c] = ""
    df["dosage"] = df["dosage"].astype(str).str.strip()
    attrs = dict(df.attrs)
    df = df[list(ASP_COLUMNS)].copy()
    df.attrs.update(attrs)
    df = drop_duplicates(df, ["hcpcs"], nm, "one row per HCPCS code")
    pre = " ".join(c for r in rows[:hdr] for c in r if c)
    m = _EFFECTIVE.search(pre)
    df.attrs["effective_from"] = _iso(m.group(1)) if m else ""
    df.attrs["effective_through"] = _iso(m.group(2)) if m else ""
    m = _ASP_DATA.search(pre)
    df.attrs["asp_data"] = f"{m.group(1)}Q{m.group(2)}" if m else ""
    df.attrs["title"] = next((c for r in rows[:hdr] for c in r if c), "")
    return df
