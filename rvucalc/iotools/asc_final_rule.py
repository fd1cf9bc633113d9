"""Readers for the ASC final-rule addenda EE (excluded procedures) and FF (device offsets).

CMS publishes with each CY OPPS/ASC final rule, and in the quarterly ASC addenda zip beside AA
and BB (from CY 2026 on), two more tables (CY 2026 OPPS/ASC final rule with comment period,
CMS-1834-FC, 90 FR 53448; 42 CFR 416.166, 416.171):

* **Addendum EE** -- "Surgical Procedures to be Excluded from Payment in ASCs": the surgical
  codes that are not covered in an ASC (42 CFR 416.166(c)). Columns: HCPCS Code, Short
  Descriptor.
* **Addendum FF** -- "ASC Device Offset Percentages": per code, the payment indicator, the OPPS
  APC and its device offset percentage, the OPPS payment rate, and the ASC device offset
  percentage and amount ("Device Offset Amount / Device Portion"). For a device-intensive
  procedure (payment indicator J8) the device portion is the part of the ASC rate that pays for
  the device: it is paid at its OPPS-based amount, and only the rest (the service portion) is
  paid by the ASC conversion factor and wage adjusted (42 CFR 416.171(b)(2) and 416.172(c):
  the device portion of a device-intensive procedure is not multiplied by the ASC/OPPS scaler
  and not wage adjusted; CY 2026 OPPS/ASC final rule s. XIII.D, device-intensive procedures).
  FF's "OPPS Payment Rate" is not Addendum B's rate for comprehensive (J1) codes and is kept
  only as shipped.

Layout as CMS ships it (checked on the January, April and July 2026 files): a title cell
(with a line break inside the quoted cell), the AMA copyright line, a blank row, then the column
names ("January 2026 Device Offset Percentage" ...), the data, and no footer. Money is written
``"$3,411.79"`` and percentages ``49.60%``; a copy re-saved from CMS's workbook (the July 2026
file of the mirror: UTF-8 with a BOM) has bare numbers (``3411.79``) and fractions
(``0.496``). Both read the same.

Canonical columns of FF: ``hcpcs``, ``marker``, ``description``, ``payment_indicator``,
``apc`` (text, ``""`` where none), ``apc_device_offset_pct`` (fraction, NaN where blank),
``opps_payment_rate`` (dollars), ``device_offset_pct`` (fraction) and ``device_portion``
(national dollars). Of EE: ``hcpcs``, ``description``. ``df.attrs``: ``source``, ``lines``,
``addendum`` (``"EE"``/``"FF"``), ``quarter`` (``"2026-07"``, from FF's column names; EE names
none) and ``title``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import CMSFileError
from ._common import Col, Lines, Source, check_rows, map_columns, norm, to_float
from .asc import _MONTHS, _PERIOD_RE, _rows_with_lines, pad_trimmed

__all__ = ["read_addendum_ee", "read_addendum_ff", "FF_COLUMNS"]

_HCPCS = Col("hcpcs", ["HCPCSCODE", "HCPCS", "CPTHCPCS", "CPTHCPCSCODE"])
_DESC = Col("description", ["SHORTDESCRIPTOR", "SHORTDESCRIPTION", "DESCRIPTION"], required=False)

#: Columns of Addendum FF, in output order (matched on the header without the month and year).
FF_COLUMNS: tuple[Col, ...] = (
    _HCPCS, _DESC,
    Col("payment_indicator", lambda h: h.endswith("PAYMENTINDICATOR")),
    Col("apc", lambda h: h.endswith("APC")),
    Col("apc_device_offset_pct", lambda h: h.endswith("APCDEVICEOFFSETPERCENTAGE")),
    Col("opps_payment_rate", lambda h: h.endswith("OPPSPAYMENTRATE")),
    Col("device_offset_pct", lambda h: h.endswith("DEVICEOFFSETPERCENTAGE")
        and not h.endswith("APCDEVICEOFFSETPERCENTAGE")),
    Col("device_portion", lambda h: "DEVICEOFFSETAMOUNT" in h or h.endswith("DEVICEPORTION")),
)
_NUMBERS = ("apc_device_offset_pct", "opps_payment_rate", "device_offset_pct", "device_portion")
_PCT = ("apc_device_offset_pct", "device_offset_pct")


def _is_code(cell: str) -> bool:
    return re.fullmatch(r"[A-Z0-9]{5}", cell.strip().upper()) is not None


def _frame(src: Source, name: str | None, addendum: str, cols: tuple[Col, ...]
           ) -> tuple[pd.DataFrame, np.ndarray, str, list[str], int]:
    """The data rows of an EE/FF file as text columns, their lines, the name, header and its line."""
    rows, starts, nm = _rows_with_lines(src, name)
    hi = next((i for i, r in enumerate(rows[:200]) if r and norm(r[0]).startswith("HCPCS")), None)
    if hi is None:
        raise CMSFileError(nm, f"an Addendum {addendum} header row starting 'HCPCS Code'",
                           found=f"no such row in the first {min(200, len(rows))} rows")
    header = rows[hi]
    positions = map_columns(header, cols, nm, starts[hi])
    rows = pad_trimmed(rows, hi, positions["hcpcs"])
    data = tuple(c for c in ("payment_indicator",) if c in positions)
    check_rows(rows, hi, positions, nm, key="hcpcs", is_key=_is_code, data=data,
               what="a 5-character HCPCS code", line_of=lambda i: starts[i])
    keep = [i for i in range(hi + 1, len(rows))
            if len(rows[i]) > positions["hcpcs"] and _is_code(rows[i][positions["hcpcs"]])]
    lines = np.asarray([starts[i] for i in keep], dtype=int)
    cols = dict(positions)
    hpos = positions["hcpcs"]
    if hpos + 1 < len(header) and not header[hpos + 1].strip() and hpos + 1 not in cols.values():
        cols["marker"] = hpos + 1  # the unnamed column of CMS's asterisk markers
    df = pd.DataFrame({c: [rows[i][p].strip() if p < len(rows[i]) else "" for i in keep]
                       for c, p in cols.items()}, dtype=object)
    df["hcpcs"] = df["hcpcs"].str.upper()
    dup = df["hcpcs"].duplicated(keep=False).to_numpy()
    if dup.any():
        clash = df[dup & ~df.duplicated(keep="first").to_numpy()]
        if clash["hcpcs"].duplicated().any():
            j = int(np.flatnonzero(dup)[-1])
            raise CMSFileError(nm, f"one row per HCPCS code; {df['hcpcs'].iloc[j]} is listed twice "
                               "with different values", line=int(lines[j]), column="hcpcs",
                               found=df["hcpcs"].iloc[j])
        first = ~df.duplicated(keep="first").to_numpy()
        df, lines = df[first].reset_index(drop=True), lines[first]
    title = " ".join(next((c for r in rows[:hi] for c in r if c), "").split())
    return df, lines, nm, [title, *header], starts[hi]


def _attrs(df: pd.DataFrame, nm: str, lines: np.ndarray, addendum: str, quarter: str | None,
           title: str) -> pd.DataFrame:
    df.attrs["source"] = nm
    df.attrs["lines"] = Lines(lines)
    df.attrs["addendum"] = addendum
    df.attrs["quarter"] = quarter
    df.attrs["title"] = title
    return df


def read_addendum_ee(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read ASC Addendum EE (surgical procedures excluded from ASC payment) as CMS ships it.

    Returns one row per HCPCS code: ``hcpcs``, ``description``. Raises :class:`CMSFileError`
    naming the file, line and column when the header is missing or a row is malformed.
    """
    df, lines, nm, head, _ = _frame(src, name, "EE", (_HCPCS, _DESC))
    if "description" not in df:
        df["description"] = ""
    return _attrs(df[["hcpcs", "description"]].reset_index(drop=True), nm, lines, "EE", None,
                  head[0])


def read_addendum_ff(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read ASC Addendum FF (device offset percentages and device portions) as CMS ships it.

    Returns one row per HCPCS code with the columns of the module docstring; percentages as
    fractions (``49.60%`` and ``0.496`` both give 0.496), dollars as floats, blanks NaN.
    Raises :class:`CMSFileError` naming the file, line and column when the header is missing,
    a row is cut short, a number is not a number or negative, a percentage is above 100%, the
    quarter-named columns name two quarters, or a code is listed twice with different values.
    """
    df, lines, nm, head, hline = _frame(src, name, "FF", FF_COLUMNS)
    header = head[1:]
    found = {m.group("year") + "-" + f"{_MONTHS[m.group('month').upper()]:02d}"
             for h in header if (m := _PERIOD_RE.match(h)) and m.group("month")}
    if len(found) > 1:
        raise CMSFileError(nm, "quarter-named columns naming one quarter", line=hline,
                           found=sorted(found))
    df["payment_indicator"] = df["payment_indicator"].str.upper()
    bad = ~df["payment_indicator"].str.fullmatch(r"[A-Z][0-9]").fillna(False).to_numpy(bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CMSFileError(nm, "a two-character payment indicator such as 'J8' or 'N1'",
                           line=int(lines[i]), column="payment_indicator",
                           found=df["payment_indicator"].iloc[i])
    for c in _NUMBERS:
        text = df[c].astype(str)
        pct = text.str.strip().str.endswith("%").to_numpy(bool)
        v = to_float(text.str.replace("%", "", regex=False), name=nm, column=c, lines=lines,
                     money=True, negative_ok=False)
        if c in _PCT:
            v = pd.Series(np.where(pct, np.round(v / 100.0, 10), v), index=v.index)
            over = (v > 1.0).to_numpy(bool)
            if over.any():
                i = int(np.flatnonzero(over)[0])
                raise CMSFileError(nm, "a percentage of at most 100%", line=int(lines[i]),
                                   column=c, found=df[c].iloc[i])
        df[c] = v.astype("float64")
    if "marker" not in df:
        df["marker"] = ""
    order = ["hcpcs", "marker", "description", "payment_indicator", "apc", *_NUMBERS]
    if "description" not in df:
        df["description"] = ""
    return _attrs(df[order].reset_index(drop=True), nm, lines, "FF", found.pop() if found else None,
                  head[0])
