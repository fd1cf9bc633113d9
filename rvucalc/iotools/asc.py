"""Readers for the CMS ASC payment addenda AA and BB.

CMS publishes the ambulatory surgical center (ASC) payment rates each quarter
as "ASC Approved HCPCS Code and Payment Rates" (Medicare Claims Processing
Manual, Pub. 100-04, Chapter 14, section 30.1; 42 CFR 416.171):

* **Addendum AA** -- ASC covered surgical procedures (42 CFR 416.166), with
  "Subject to Multiple Procedure Discounting" (Y/N), the quarter's payment
  indicator, payment weight and national payment rate;
* **Addendum BB** -- covered ancillary services integral to a surgical
  procedure (42 CFR 416.164(b)), with the drug/device pass-through expiration
  flag, payment indicator, weight, rate and, since 2023, the Inflation
  Reduction Act adjusted copayment for drugs whose coinsurance is below 20%.

Layout as CMS ships it (every quarter from January 2024 to April 2026 checked):
a title cell (sometimes with a line break inside the quoted cell), the AMA
copyright line, a blank row, then the column names; the data; then NOTE rows.
The second column has no name: it holds CMS's asterisk markers (``*`` in AA:
temporary office-based designation; ``**``: preventive service whose
coinsurance and deductible are waived, ACA sections 4104/10406; ``***`` in BB:
non-opioid alternative, CAA 2023 section 4135). Quarter-named columns
("January 2026  Payment Weight  ") carry irregular spaces. Files come as CSV
(cp1252, or UTF-8 with a BOM) or as tab-delimited ``.txt``; some carry single
0xFF/0xA0 bytes where CMS has a no-break space.

Canonical columns (both addenda unless noted):

``hcpcs`` (str, upper case), ``marker`` (``""``, ``*``, ``**`` or ``***``),
``preventive`` (bool: marker ``**``), ``description`` (CMS short descriptor,
kept as the user's file has it), ``multiple_procedure_discount`` (bool, AA),
``pass_through_expiration`` (str, BB: ``*`` where pass-through status expires
during the year), ``payment_indicator`` (str, upper case), ``relative_weight``
(float, NaN where blank), ``payment_rate`` (float dollars, NaN where blank),
``copayment`` (float, where the file has the IRA-adjusted copayment column,
NaN where blank); any other named column (e.g. a comment indicator) is kept as
text under its snake_case name without the month/year prefix.

``df.attrs``: ``source`` (file name), ``lines`` (1-based physical line of each
row), ``addendum`` (``"AA"``/``"BB"``), ``quarter`` (``"2026-01"``, from the
column names), ``title`` (the title cell, line break collapsed).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import CMSFileError
from ._common import (
    Col,
    Lines,
    Source,
    check_quotes_closed,
    check_rows,
    decode,
    map_columns,
    norm,
    read_bytes,
    sniff_delimiter,
    source_name,
    to_float,
    xlsx_rows,
)

__all__ = ["read_addendum_aa", "read_addendum_bb", "AA_COLUMNS", "BB_COLUMNS"]

_MONTHS = {
    "JANUARY": 1, "FEBRUARY": 2, "MARCH": 3, "APRIL": 4, "MAY": 5, "JUNE": 6,
    "JULY": 7, "AUGUST": 8, "SEPTEMBER": 9, "OCTOBER": 10, "NOVEMBER": 11, "DECEMBER": 12,
}
_PERIOD_RE = re.compile(
    r"^\s*(?:(?P<month>" + "|".join(_MONTHS) + r")\s+(?P<year>(?:19|20)\d\d)|CY\s*(?P<cy>(?:19|20)\d\d))\b",
    re.IGNORECASE,
)
_PI_RE = re.compile(r"[A-Z][0-9]")

_HCPCS = Col("hcpcs", ["HCPCSCODE", "HCPCS", "CPTHCPCS", "CPTHCPCSCODE"])
_DESC = Col("description", ["SHORTDESCRIPTOR", "SHORTDESCRIPTION", "DESCRIPTION"], required=False)
_MPD = Col("multiple_procedure_discount", lambda h: "MULTIPLEPROCEDURE" in h)
_PTE = Col("pass_through_expiration", lambda h: "PASSTHROUGHEXPIRATION" in h, required=False)
_PI = Col("payment_indicator", lambda h: h.endswith("PAYMENTINDICATOR"))
_WEIGHT = Col("relative_weight", lambda h: h.endswith("WEIGHT"), kind="float")
_RATE = Col("payment_rate", lambda h: h.endswith("PAYMENTRATE"), kind="money")
_COPAY = Col("copayment", lambda h: "COPAYMENT" in h, kind="money", required=False)
_COMMENT = Col("comment_indicator", lambda h: h.endswith("COMMENTINDICATOR"), required=False)

#: Columns looked for in Addendum AA, in output order.
AA_COLUMNS: tuple[Col, ...] = (_HCPCS, _DESC, _MPD, _PI, _WEIGHT, _RATE, _COPAY, _COMMENT)
#: Columns looked for in Addendum BB, in output order.
BB_COLUMNS: tuple[Col, ...] = (_HCPCS, _DESC, _PTE, _PI, _WEIGHT, _RATE, _COPAY, _COMMENT)


def read_addendum_aa(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read ASC Addendum AA (covered surgical procedures) as CMS ships it.

    Parameters
    ----------
    src : path, bytes or binary file object
        The CSV, tab-delimited TXT or XLSX file of one quarter.
    name : str, optional
        Name to show in error messages (defaults to the path).

    Returns
    -------
    pandas.DataFrame
        One row per HCPCS code with the canonical columns listed in the module
        docstring (``multiple_procedure_discount`` as bool). Exact duplicate
        rows are dropped; amounts are not rounded (the file's cents are kept).

    Raises
    ------
    CMSFileError
        When the header is missing, a data row is malformed (bad HCPCS,
        payment indicator, Y/N flag or number) or the same HCPCS appears twice
        with different values; the message names the file, line and column.
    """
    return _read_addendum(src, name, "AA", AA_COLUMNS)


def read_addendum_bb(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read ASC Addendum BB (covered ancillary services) as CMS ships it.

    Same contract as :func:`read_addendum_aa`; BB has no multiple procedure
    flag but has ``pass_through_expiration`` and, where the file has the
    "IRA-22 Adjusted Copayment" column, ``copayment`` (float, NaN where blank;
    Inflation Reduction Act section 11101, BB NOTE 1).
    """
    return _read_addendum(src, name, "BB", BB_COLUMNS)


# ---------------------------------------------------------------------------


def _rows_with_lines(src: Source, name: str | None) -> tuple[list[list[str]], list[int], str]:
    """Rows of stripped cells, the 1-based physical line each row starts on, and the name.

    CMS's title cell can hold a line break, so a CSV record number is not a
    line number; the lines are counted the way a text editor counts them.
    XLSX rows are numbered as spreadsheet rows.
    """
    nm = source_name(src, name)
    data = read_bytes(src, nm)
    if not data.strip():
        raise CMSFileError(nm, "a CMS ASC addendum with a header row and data", found="an empty file")
    if data[:2] == b"PK":
        rows = xlsx_rows(data, nm)
        return rows, list(range(1, len(rows) + 1)), nm
    text, _ = decode(data, nm)
    check_quotes_closed(text, sniff_delimiter(text), nm)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
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


def pad_trimmed(rows: list[list[str]], hi: int, key: int) -> list[list[str]]:
    """*rows* with the data rows of a spreadsheet export that trimmed empty trailing cells
    padded back to the header's width; any other file as it is.

    CMS's CSV writes every field of every row, so a row ending in empty cells (an N1 row has no
    weight or rate) is common. A copy re-saved by a spreadsheet tool (the mirror's July 2026 BB)
    drops those trailing empty cells: then no data row ends in an empty cell, some rows are as
    wide as the header (their last cell is filled) and others shorter. Only such a file is
    padded; in a file with full rows a short row stays short, and is refused as cut short
    (``check_rows``).
    """
    width = len(rows[hi])
    data = [i for i in range(hi + 1, len(rows))
            if len(rows[i]) > key and re.fullmatch(r"[A-Z0-9]{5}", rows[i][key].upper())]
    lengths = {len(rows[i]) for i in data}
    if not data or min(lengths) >= width or max(lengths) < width:
        return rows
    if any(not rows[i][-1] for i in data):  # full rows end in empty cells: nothing was trimmed
        return rows
    out = list(rows)
    for i in data:
        if len(out[i]) < width:
            out[i] = out[i] + [""] * (width - len(out[i]))
    return out


def _snake(header: str) -> str:
    h = _PERIOD_RE.sub("", header)
    h = re.sub(r"[^0-9a-zA-Z]+", "_", h).strip("_").lower()
    return h or "column"


def _is_header(cells: list[str]) -> bool:
    return bool(cells) and cells[0].startswith("HCPCS") and any(
        c.endswith("PAYMENTINDICATOR") for c in cells
    )


def _period(header: Sequence[str], positions: dict[str, int], name: str, line: int) -> str | None:
    """The quarter named in the quarter-named columns, e.g. ``"2026-01"``.

    All quarter-named columns must name the same month and year.
    """
    found: dict[str, str] = {}
    for col in ("payment_indicator", "relative_weight", "payment_rate", "copayment"):
        if col not in positions:
            continue
        m = _PERIOD_RE.match(header[positions[col]])
        if not m:
            continue
        if m.group("month"):
            found[col] = f"{m.group('year')}-{_MONTHS[m.group('month').upper()]:02d}"
        else:
            found[col] = m.group("cy")
    if len(set(found.values())) > 1:
        raise CMSFileError(name, "quarter-named columns naming one quarter", line=line,
                           column="payment_rate", found=found)
    return next(iter(found.values()), None)


def _read_addendum(src: Source, name: str | None, addendum: str, cols: Sequence[Col]) -> pd.DataFrame:
    rows, starts, nm = _rows_with_lines(src, name)
    hi = next((i for i, r in enumerate(rows[:200]) if _is_header([norm(c) for c in r])), None)
    if hi is None:
        raise CMSFileError(nm, f"an Addendum {addendum} header row starting 'HCPCS Code' with a "
                           "'... Payment Indicator' column", found="no such row in the first "
                           f"{min(200, len(rows))} rows")
    header = rows[hi]
    hline = starts[hi]
    positions = map_columns(header, cols, nm, hline)
    rows = pad_trimmed(rows, hi, positions["hcpcs"])
    check_rows(rows, hi, positions, nm, key="hcpcs",
               is_key=lambda c: re.fullmatch(r"[A-Z0-9]{5}", c.upper()) is not None,
               data=("payment_indicator",), what="a 5-character HCPCS code", line_of=lambda i: starts[i])
    quarter = _period(header, positions, nm, hline)

    # The unnamed column right after HCPCS holds CMS's asterisk markers.
    hpos = positions["hcpcs"]
    marker_pos = hpos + 1 if hpos + 1 < len(header) and not header[hpos + 1] else None
    used = set(positions.values()) | ({marker_pos} if marker_pos is not None else set())
    extras: dict[str, int] = {}
    for i, h in enumerate(header):
        if i in used or not h:
            continue
        key = _snake(h)
        while key in extras or key in positions:
            key += "_"
        extras[key] = i

    body = rows[hi + 1:]
    lines = np.asarray(starts[hi + 1:], dtype=int)
    def cell(r: list[str], p: int) -> str:
        return r[p] if p < len(r) else ""

    first = pd.Series([cell(r, hpos) for r in body], dtype=object).astype(str)
    code = first.str.strip().str.upper()
    is_code = code.str.fullmatch(r"[A-Z0-9]{5}").fillna(False).to_numpy(dtype=bool)
    pi_pos = positions["payment_indicator"]
    pi_cells = pd.Series([cell(r, pi_pos) for r in body], dtype=object).astype(str)
    # A row that is not a code but fills the indicator column is a malformed data row
    # (NOTE rows and blank separators leave it empty).
    bad_code = (~is_code) & pi_cells.str.strip().ne("").to_numpy(dtype=bool)
    if bad_code.any():
        i = int(np.flatnonzero(bad_code)[0])
        raise CMSFileError(nm, "a 5-character HCPCS code", line=int(lines[i]), column="hcpcs",
                           found=first.iloc[i])
    keep = np.flatnonzero(is_code)
    data_rows = [body[i] for i in keep]
    lines = lines[keep]
    need = max(positions.values()) + 1
    short = [j for j, r in enumerate(data_rows) if len(r) < need]
    if short:
        j = short[0]
        raise CMSFileError(nm, f"at least {need} fields", line=int(lines[j]),
                           found=f"{len(data_rows[j])} fields")

    raw: dict[str, list[str]] = {c: [cell(r, p) for r in data_rows] for c, p in positions.items()}
    df = pd.DataFrame(raw, dtype=object)
    df["marker"] = [cell(r, marker_pos).strip() for r in data_rows] if marker_pos is not None else ""
    for k, p in extras.items():
        df[k] = [cell(r, p) for r in data_rows]
    df = df.astype(str)
    df["hcpcs"] = df["hcpcs"].str.strip().str.upper()
    df["payment_indicator"] = df["payment_indicator"].str.strip().str.upper()

    df, lines = _drop_duplicates(df, lines, nm)

    bad_pi = ~df["payment_indicator"].str.fullmatch(_PI_RE.pattern).fillna(False)
    if bad_pi.any():
        i = int(np.flatnonzero(bad_pi.to_numpy())[0])
        raise CMSFileError(nm, "a two-character payment indicator such as 'A2' or 'N1'",
                           line=int(lines[i]), column="payment_indicator",
                           found=df["payment_indicator"].iloc[i])
    bad_marker = ~df["marker"].isin(["", "*", "**", "***"])
    if bad_marker.any():
        i = int(np.flatnonzero(bad_marker.to_numpy())[0])
        raise CMSFileError(nm, "an asterisk marker ('', '*', '**' or '***')", line=int(lines[i]),
                           column="marker", found=df["marker"].iloc[i])

    if "multiple_procedure_discount" in df:
        yn = df["multiple_procedure_discount"].str.strip().str.upper()
        bad = ~yn.isin(["Y", "N"])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise CMSFileError(nm, "Y or N", line=int(lines[i]),
                               column="multiple_procedure_discount",
                               found=df["multiple_procedure_discount"].iloc[i])
        df["multiple_procedure_discount"] = yn.eq("Y").astype(bool)

    w = df["relative_weight"].str.strip()
    w = w.where(~w.isin([".", "-"]), "")
    df["relative_weight"] = to_float(w, name=nm, column="relative_weight", lines=lines, negative_ok=False)
    df["payment_rate"] = to_float(df["payment_rate"], name=nm, column="payment_rate",
                                  lines=lines, money=True, negative_ok=False)
    if "copayment" in df:
        df["copayment"] = to_float(df["copayment"], name=nm, column="copayment",
                                   lines=lines, money=True, negative_ok=False)
    for c in ("description", "pass_through_expiration", "comment_indicator", *extras):
        if c in df:
            df[c] = df[c].str.strip()
    df["preventive"] = df["marker"].eq("**").astype(bool)

    order = ["hcpcs", "marker", "preventive"] + [
        c.name for c in cols if c.name in df and c.name != "hcpcs"
    ] + list(extras)
    df = df[order].reset_index(drop=True)
    df.attrs["source"] = nm
    df.attrs["lines"] = Lines(lines)
    df.attrs["addendum"] = addendum
    df.attrs["quarter"] = quarter
    title = next((c for r in rows[:hi] for c in r if c), "")
    df.attrs["title"] = " ".join(title.split())
    return df


def _drop_duplicates(df: pd.DataFrame, lines: np.ndarray, name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Drop exact duplicate rows; raise on a HCPCS listed twice with different values."""
    dup_code = df["hcpcs"].duplicated(keep=False).to_numpy()
    if not dup_code.any():
        return df, lines
    exact = df.duplicated(keep="first").to_numpy()
    remaining = df[~exact]
    rem_lines = lines[~exact]
    clash = remaining["hcpcs"].duplicated(keep=False).to_numpy()
    if clash.any():
        idx = np.flatnonzero(clash)
        code = remaining["hcpcs"].iloc[idx[0]]
        same = idx[remaining["hcpcs"].iloc[idx].to_numpy() == code]
        a, b = int(same[0]), int(same[1])
        diff = [c for c in remaining.columns if remaining[c].iloc[a] != remaining[c].iloc[b]]
        raise CMSFileError(
            name,
            f"one row per HCPCS code (or exact duplicates); {code} is on lines "
            f"{int(rem_lines[a])} and {int(rem_lines[b])} with different values",
            line=int(rem_lines[b]), column=diff[0] if diff else None,
            found=remaining[diff[0]].iloc[b] if diff else None,
        )
    return remaining.reset_index(drop=True), rem_lines
