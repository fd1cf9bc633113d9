"""Readers and lookups for CMS wage index tables (ASC by CBSA; FY Tables A/B and
the county crosswalk).

What the values are
-------------------
All tables read here hold the **pre-floor, pre-reclassified** hospital wage
index by labour market area: a 5-digit CBSA (or metropolitan division) code for
urban areas and a 2-digit SSA state code for each statewide rural area.

* **ASC** adjusts the labour-related share (50%) of its payment rate with
  exactly this index for the calendar year (42 CFR 416.172; Medicare Claims
  Processing Manual ch. 14 §40.2). These values are fine for ASC pricing.
* **OPPS** instead uses each *hospital's own* IPPS wage index, after geographic
  reclassification, the rural floor and the 5% cap on decreases (42 CFR
  419.43(c); FY IPPS Table 2 / the OPSF). Using a CBSA value from these tables
  for OPPS is only an approximation, too low wherever a floor or a
  reclassification applies. Every lookup result therefore carries
  ``approximate_for_opps=True`` and, when asked for ``setting="opps"``, the
  reason code ``WI_APPROX_OPPS``.
* The CMS FY files (SNF PPS wage index, ``fy2026_wage_index_*.zip``) are
  **uncapped**: CMS's file note says the 5% limit on decreases is applied per
  provider, so the value paid may be higher (reason ``WI_UNCAPPED``). The ASC
  tables already include the cap: for CY2026 each ASC value is the FY value or
  95% of the CY2025 value, whichever is higher.

Readers
-------
:func:`read_asc_wage_index` (``CBSA``, ``CBSA Name``, ``WI24``/``WI25``/``WI26``
in any order, tab or comma), :func:`read_wage_index_table_a` (urban),
:func:`read_wage_index_table_b` (rural), :func:`read_wage_index_county` (FIPS
county → CBSA crosswalk) and :func:`read_wage_index_tables` (A and B together).
Each accepts the CSV, CMS's XLSX (sheets *Table A*, *Table B*, *County-level
crosswalk*) or the zip CMS ships (members found by name pattern).

Lookups
-------
:class:`WageIndex` and :func:`wage_index_for` return a :class:`WageIndexResult`
(value, CBSA, the file and line it came from, and reason codes when the value
is approximate, ambiguous or missing); :meth:`WageIndex.lookup_many` does the
same for whole columns at once.
"""

from __future__ import annotations

import difflib
import io
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import CMSFileError, UnknownLocalityError
from ..reasons import explain, reason
from ._common import (
    Col,
    Lines,
    Source,
    build_frame,
    find_header,
    load_rows,
    map_columns,
    read_bytes,
    source_name,
    text_rows,
    to_float,
)

__all__ = [
    "ASC_COLUMNS",
    "COUNTY_COLUMNS",
    "STATE_RURAL_CODE",
    "TABLE_A_COLUMNS",
    "TABLE_B_COLUMNS",
    "WageIndex",
    "WageIndexResult",
    "read_asc_wage_index",
    "read_wage_index_county",
    "read_wage_index_table_a",
    "read_wage_index_table_b",
    "read_wage_index_tables",
    "wage_index_for",
]

# --------------------------------------------------------------------------- reasons

WI_NO_RURAL_AREA = reason(
    "WI_NO_RURAL_AREA",
    "No rural area: every county in this state is urban, so CMS publishes no statewide "
    "rural wage index (New Jersey 31, Rhode Island 41); use the county's urban CBSA",
    "FY 2026 wage index Table B note 1 and file note ('Rural areas without wage data have "
    "been removed - NJ and RI'); 42 CFR 412.64(h)",
)
WI_MISSING = reason(
    "WI_MISSING",
    "The table lists this area but gives no wage index value for it",
    "CMS wage index table as shipped (blank or dashed value)",
)
WI_AMBIGUOUS = reason(
    "WI_AMBIGUOUS",
    "The code appears more than once with different wage index values (county-specific "
    "capped values whose counties the file does not name), so no single value applies",
    "CY 2025 ASC wage index; 5% cap on wage index decreases, 42 CFR 412.64(h)(7)",
)
WI_UNKNOWN_CBSA = reason(
    "WI_UNKNOWN_CBSA",
    "The CBSA or statewide rural code is not in this wage index table",
    "CMS wage index tables (CBSA labour market areas, OMB delineations used by CMS)",
)
WI_UNKNOWN_COUNTY = reason(
    "WI_UNKNOWN_COUNTY",
    "The county FIPS code is not in CMS's county-to-CBSA crosswalk",
    "CMS FY 2026 wage index county-level crosswalk",
)
WI_COUNTY_VALUE_POSSIBLE = reason(
    "WI_COUNTY_VALUE_POSSIBLE",
    "The table also has a county-specific (capped) value for a county of this name under a "
    "50xxx pseudo-code; the file names no state, so the CBSA value is returned and the "
    "amount CMS pays may be higher",
    "CY 2026 ASC wage index; 5% cap on wage index decreases, 42 CFR 412.64(h)(7)",
)
WI_UNCAPPED = reason(
    "WI_UNCAPPED",
    "Value before the 5% cap on decreases, which CMS applies per provider; the wage index "
    "actually used may be higher",
    "CMS FY 2026 wage index file note; 42 CFR 412.64(h)(7)",
)
WI_APPROX_OPPS = reason(
    "WI_APPROX_OPPS",
    "Approximate for OPPS: pre-floor, pre-reclassified CBSA wage index; OPPS uses each "
    "hospital's own IPPS wage index after reclassification, rural floor and cap",
    "42 CFR 419.43(c); FY IPPS final rule Table 2 / Outpatient Provider Specific File",
)

# Reasons that mean "there is no usable value"; they take precedence.
_HARD = ("WI_NO_RURAL_AREA", "WI_MISSING", "WI_AMBIGUOUS", "WI_UNKNOWN_CBSA",
         "WI_UNKNOWN_COUNTY")
#: Notes on a value that is used (it is approximate, uncapped, or a county value may exist):
#: never the reason a facility amount is missing.
SOFT = (WI_APPROX_OPPS.code, WI_UNCAPPED.code, WI_COUNTY_VALUE_POSSIBLE.code)

#: USPS state/territory abbreviation → CMS statewide rural code (SSA state code).
#: DC (09) has no rural area and is listed so that a lookup says so.
STATE_RURAL_CODE: dict[str, str] = {
    "AL": "01", "AK": "02", "AZ": "03", "AR": "04", "CA": "05", "CO": "06", "CT": "07",
    "DE": "08", "DC": "09", "FL": "10", "GA": "11", "HI": "12", "ID": "13", "IL": "14",
    "IN": "15", "IA": "16", "KS": "17", "KY": "18", "LA": "19", "ME": "20", "MD": "21",
    "MA": "22", "MI": "23", "MN": "24", "MS": "25", "MO": "26", "MT": "27", "NE": "28",
    "NV": "29", "NH": "30", "NJ": "31", "NM": "32", "NY": "33", "NC": "34", "ND": "35",
    "OH": "36", "OK": "37", "OR": "38", "PA": "39", "PR": "40", "RI": "41", "SC": "42",
    "SD": "43", "TN": "44", "TX": "45", "UT": "46", "VT": "47", "VI": "48", "VA": "49",
    "WA": "50", "WV": "51", "WI": "52", "WY": "53", "GU": "65",
}

ASC_COLUMNS = ["cbsa", "cbsa_name", "wage_index", "year", "duplicate", "reason", "line"]
TABLE_A_COLUMNS = ["cbsa", "cbsa_name", "counties", "wage_index", "footnote", "year",
                   "area", "reason", "line"]
TABLE_B_COLUMNS = ["cbsa", "cbsa_name", "wage_index", "footnote", "year", "area", "reason",
                   "line"]
COUNTY_COLUMNS = ["fips", "county_name", "state", "cbsa", "urban_rural", "cbsa_name",
                  "wage_index", "year", "reason", "line"]

_CODE_RE = r"\d{1,2}|\d{5}"
_DASHES = re.compile(r"^-{2,}$")
_NAME_NOTE = re.compile(r"^(.*[A-Za-z.)])\s*(\d{1,2})$")

# --------------------------------------------------------------------------- bytes → rows


def _decode_text(data: bytes, name: str) -> str:
    """Decode a wage index text file.

    UTF-8 (with or without BOM) first. Otherwise the single-byte code page under
    which most non-ASCII characters are Latin letters wins: cp1252/Latin-1 for
    CMS's CSVs (``Mayag\\xfcez``), DOS cp850 for the third-party ASC copies
    (``Mayag\\x81ez``, ``Bayam\\xa2n``). Ties go to cp1252.
    """
    if b"\x00" in data[:4096]:
        raise CMSFileError(name, "a text file (CSV or tab-delimited)", found="binary data")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best: tuple[int, str] | None = None
    for enc in ("cp1252", "cp850", "latin-1"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        score = sum(1 if ("\u00c0" <= c <= "\u00ff" and c not in "\u00d7\u00f7") else -1
                    for c in text if ord(c) > 127)
        if best is None or score > best[0]:
            best = (score, text)
    assert best is not None  # latin-1 cannot fail
    return best[1]


def _sheet_names(data: bytes, name: str) -> list[str]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise CMSFileError(name, "an Excel .xlsx workbook", found=type(exc).__name__) from exc
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _pick_sheet(data: bytes, name: str, pattern: str) -> str:
    names = _sheet_names(data, name)
    for s in names:
        if re.search(pattern, s, re.IGNORECASE):
            return s
    raise CMSFileError(name, f"a worksheet matching {pattern!r}", found=names)


def _rows(
    src: Source,
    name: str | None,
    *,
    member_pattern: str,
    sheet_pattern: str,
    member: str | None = None,
    sheet: str | int | None = None,
) -> tuple[list[list[str]], str]:
    """Rows of a wage index table given as text, XLSX, or CMS's zip of both."""
    nm = source_name(src, name)
    data = read_bytes(src, nm)
    if not data.strip():
        raise CMSFileError(nm, "a CMS file with a header row and data", found="an empty file")
    if data[:2] != b"PK":
        return text_rows(_decode_text(data, nm)), nm
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise CMSFileError(nm, "a zip or .xlsx file", found="a damaged zip container") from exc
    with zf:
        members = [m for m in zf.namelist() if not m.endswith("/")]
        if "[Content_Types].xml" in members:  # an XLSX workbook itself
            chosen_sheet = sheet if sheet is not None else _pick_sheet(data, nm, sheet_pattern)
            return load_rows(data, nm, sheet=chosen_sheet)
        if member is not None:
            if member not in members:
                raise CMSFileError(nm, f"a zip member named {member!r}", found=members)
            chosen = member
        else:
            text_members = [m for m in members
                            if re.search(member_pattern, m.rsplit("/", 1)[-1], re.IGNORECASE)
                            and m.lower().endswith((".csv", ".txt"))]
            xlsx_members = [m for m in members if m.lower().endswith(".xlsx")]
            if text_members:
                chosen = text_members[0]
            elif xlsx_members:
                chosen = xlsx_members[0]
            else:
                raise CMSFileError(nm, f"a zip member matching {member_pattern!r} or an .xlsx",
                                   found=members)
        inner = zf.read(chosen)
    inner_name = f"{nm}!{chosen.rsplit('/', 1)[-1]}"
    return _rows(inner, inner_name, member_pattern=member_pattern, sheet_pattern=sheet_pattern,
                 sheet=sheet)


# --------------------------------------------------------------------------- helpers


def _year_from(texts: Sequence[str], pattern: str) -> int | None:
    for t in texts:
        m = re.search(pattern, t, re.IGNORECASE)
        if m:
            y = int(m.group(1))
            return y + 2000 if y < 100 else y
    return None


def _values(df: pd.DataFrame, col: str, name: str) -> tuple[pd.Series, pd.Series]:
    """Float wage index values and a mask of cells CMS left blank or dashed.

    Values are rounded to 4 decimals, the precision CMS publishes (XLSX cells
    carry binary noise such as ``0.9225000000000001``).
    """
    s = df[col].astype(str).str.strip()
    dashed = s.str.match(_DASHES)
    vals = to_float(s.where(~dashed, ""), name=name, column=col, lines=df.attrs["lines"])
    return vals.round(4), dashed | vals.isna()


def _check_codes(codes: pd.Series, pattern: str, lines: np.ndarray, name: str, column: str,
                 expected: str) -> None:
    bad = ~codes.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CMSFileError(name, expected, line=int(lines[i]), column=column,
                           found=codes.iloc[i])


def _pad_cbsa(codes: pd.Series) -> pd.Series:
    """Statewide rural codes to 2 digits (``5`` → ``05``); CBSAs to 5."""
    return codes.where(codes.str.len() > 2, codes.str.zfill(2)).where(
        codes.str.len() <= 2, codes.str.zfill(5))


def _split_note(names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``New Jersey1`` → (``New Jersey``, ``1``); names without a digit unchanged."""
    parts = names.str.extract(_NAME_NOTE)
    has = parts[0].notna()
    clean = names.where(~has, parts[0]).str.strip()
    note = parts[1].where(has, "").astype(str)
    return clean, note


def _no_value_reason(codes: pd.Series, missing: pd.Series) -> pd.Series:
    r = pd.Series("", index=codes.index, dtype=object)
    r[missing & (codes.str.len() == 2)] = WI_NO_RURAL_AREA.code
    r[missing & (codes.str.len() != 2)] = WI_MISSING.code
    return r


def _finish(df: pd.DataFrame, columns: list[str], name: str, **attrs: object) -> pd.DataFrame:
    lines = df.attrs.get("lines")
    lines = None if lines is None else np.asarray(lines)
    out = df[columns].reset_index(drop=True)
    for c in columns:
        if c in ("wage_index",):
            out[c] = out[c].astype("float64")
        elif c in ("line",):
            out[c] = out[c].astype("int64")
        elif c == "year":
            out[c] = out[c].astype("Int64")
        elif c == "duplicate":
            out[c] = out[c].astype(bool)
        else:
            out[c] = out[c].astype(object).astype(str)
    out.attrs["source"] = name
    out.attrs["lines"] = Lines(lines if lines is not None else [])
    out.attrs["approximate_for_opps"] = True
    out.attrs.update(attrs)
    return out


# --------------------------------------------------------------------------- ASC


def read_asc_wage_index(
    src: Source,
    name: str | None = None,
    *,
    year: int | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read an ASC wage index table by CBSA (CY2024 ``CBSA, WI24, CBSA Name``;
    CY2025 ``CBSA, CBSA Name, WI25``; CY2026 ``CBSA,CBSA Name,WI26``).

    Tab or comma delimited, any column order (headers found by content), UTF-8,
    cp1252/Latin-1 or DOS cp850 bytes (see :func:`_decode_text`), or an XLSX.

    Returns one row per file row, nothing dropped, with columns
    :data:`ASC_COLUMNS`:

    ``cbsa`` (text: 5 digits, or the 2-digit statewide rural code zero-padded),
    ``cbsa_name``, ``wage_index`` (float, 4 decimals; ``0.0000`` or blank → NaN),
    ``year`` (CY from the ``WIyy`` header, or *year*), ``duplicate`` (the code
    occurs on more than one row), ``reason`` and ``line`` (1-based source line).

    ``reason`` is ``WI_NO_RURAL_AREA`` for a rural code without a value (NJ 31,
    RI 41), ``WI_MISSING`` for any other code without one, ``WI_AMBIGUOUS`` on
    every row of a code that occurs with *different* values (27 codes in the
    CY2025 copy: county-level capped values whose counties were dropped), else
    ``""``. CY2026 pseudo-codes ``50001``–``50030`` (county-level capped values,
    named after a county only) are kept as they are.

    These are ASC values: pre-floor, pre-reclassified, capped (5% limit on
    decreases) for CY2025 on. For OPPS they are only an approximation
    (``attrs['approximate_for_opps']``).
    """
    rows, nm = _rows(src, name, member_pattern=r"wage", sheet_pattern=r"wage|wi|asc",
                     sheet=sheet)

    def wi_match(h: str) -> bool:
        return bool(re.fullmatch(r"WI\d{2}|(?:CY\d{2,4})?WAGEINDEX.*", h))

    hdr = find_header(rows, lambda c: "CBSA" in c and any(wi_match(h) for h in c), nm,
                      "a header with 'CBSA' and a wage index column ('WI26', 'Wage Index')")
    cols = [
        Col("cbsa", ["CBSA", "CBSACODE"]),
        Col("cbsa_name", ["CBSANAME", "NAME", "AREANAME", "URBANAREA"], required=False),
        Col("wage_index", wi_match),
    ]
    pos = map_columns(rows[hdr], cols, nm, hdr + 1)
    df = build_frame(rows, hdr + 1, pos, cols, nm,
                     keep=lambda d: (d.astype(str).apply(lambda s: s.str.strip()) != "").any(
                         axis=1))
    if "cbsa_name" not in df:
        df["cbsa_name"] = ""
    lines = np.asarray(df.attrs["lines"])
    _check_codes(df["cbsa"], _CODE_RE, lines, nm, "cbsa",
                 "a CBSA code (5 digits) or a statewide rural code (1-2 digits)")
    df["cbsa"] = _pad_cbsa(df["cbsa"])
    vals, missing = _values(df, "wage_index", nm)
    zero = vals.eq(0.0)
    missing = missing | zero
    df["wage_index"] = vals.where(~missing)
    if year is None:
        header_cell = rows[hdr][pos["wage_index"]]
        year = _year_from([header_cell], r"(?:WI|CY)\s*(\d{2,4})")
    df["year"] = year if year is not None else pd.NA
    df["duplicate"] = df["cbsa"].duplicated(keep=False)
    nvals = df.groupby("cbsa")["wage_index"].transform(lambda s: s.nunique(dropna=False))
    ambiguous = df["duplicate"] & (nvals > 1)
    r = _no_value_reason(df["cbsa"], missing)
    r[ambiguous & (r == "")] = WI_AMBIGUOUS.code
    df["reason"] = r
    df["line"] = lines
    return _finish(df, ASC_COLUMNS, nm, system="asc", uncapped=False)


# --------------------------------------------------------------------------- FY tables


def _is_note(cells: pd.DataFrame, first: str) -> pd.Series:
    """Footnote rows: text (with letters) in the first column, the rest blank."""
    others = [c for c in cells.columns if c != first]
    rest_blank = (cells[others] == "").all(axis=1) if others else True
    return cells[first].str.contains(r"[A-Za-z]{3}") & rest_blank


def read_wage_index_table_a(
    src: Source,
    name: str | None = None,
    *,
    member: str | None = None,
    sheet: str | int | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """Read CMS's Table A, wage index for urban areas by CBSA (FY2026 layout
    ``CBSA Code, Urban Area, Constituent Counties, Wage Index 1``).

    The value is on the first row of each CBSA; continuation rows list the
    other constituent counties with a blank code and are folded into
    ``counties`` (``"; "``-joined, in file order). Blank separator rows and the
    footnote rows at the end are dropped; any other row raises
    :class:`CMSFileError` with its line.

    *src* may be the CSV, CMS's XLSX (sheet matching ``Table A`` unless *sheet*
    is given) or CMS's zip (member matching ``TableA``, else the XLSX inside;
    or *member*). Columns: :data:`TABLE_A_COLUMNS`: ``cbsa`` (5 digits),
    ``cbsa_name`` (footnote digit removed, e.g. ``Hinesville, GA2``),
    ``counties``, ``wage_index`` (float; dashes/blank → NaN, reason
    ``WI_MISSING``), ``footnote`` (the digit removed from the name: ``2`` = no
    hospitals in the area), ``year`` (FY from the file name or *year*),
    ``area`` (``"urban"``), ``reason``, ``line`` (the CBSA's first row).

    Values are pre-floor, pre-reclassified and **uncapped** (file note: the 5%
    cap on decreases is applied per provider).
    """
    rows, nm = _rows(src, name, member_pattern=r"table\s*_?a\b|tablea", sheet_pattern=r"table\s*a\b",
                     member=member, sheet=sheet)
    hdr = find_header(rows, lambda c: ("CBSACODE" in c or "CBSA" in c)
                      and any(h.startswith("WAGEINDEX") for h in c)
                      and any(h.startswith("CONSTITUENTCOUNT") for h in c), nm,
                      "a header with 'CBSA Code', 'Constituent Counties' and 'Wage Index'")
    cols = [
        Col("cbsa", ["CBSACODE", "CBSA"]),
        Col("cbsa_name", ["URBANAREA", "CBSANAME", "AREANAME"]),
        Col("county", lambda h: h.startswith("CONSTITUENTCOUNT")),
        Col("wage_index", lambda h: h.startswith("WAGEINDEX")),
    ]
    pos = map_columns(rows[hdr], cols, nm, hdr + 1)
    df = build_frame(rows, hdr + 1, pos, cols, nm)
    lines = np.asarray(df.attrs["lines"])
    cells = df[["cbsa", "cbsa_name", "county", "wage_index"]]
    blank = (cells == "").all(axis=1)
    is_code = df["cbsa"].str.fullmatch(r"\d{4,5}")
    is_cont = (df["cbsa"] == "") & (df["cbsa_name"] == "") & (df["county"] != "") & (
        df["wage_index"] == "")
    is_note = _is_note(cells, "cbsa") & ~is_code
    bad = ~(blank | is_code | is_cont | is_note)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CMSFileError(nm, "a CBSA row (5-digit code), a county continuation row, a blank "
                           "row or a footnote", line=int(lines[i]), column="cbsa",
                           found=list(cells.iloc[i]))
    group = is_code.cumsum()
    orphan = is_cont & (group == 0)
    if orphan.any():
        i = int(np.flatnonzero(orphan.to_numpy())[0])
        raise CMSFileError(nm, "a CBSA row before its continuation rows", line=int(lines[i]),
                           column="cbsa", found="")
    member_rows = df[is_code | is_cont]
    counties = member_rows.groupby(group[is_code | is_cont])["county"].agg(
        lambda s: "; ".join(x for x in s if x))
    out = _area_rows(df, is_code, lines, width=5, area="urban", missing_reason=WI_MISSING.code,
                     nm=nm, header=rows[hdr], year=year)
    out["counties"] = counties.reindex(group[is_code]).to_numpy()
    return _finish(out, TABLE_A_COLUMNS, nm, system="wage_index", uncapped=True)


def _area_rows(df: pd.DataFrame, is_code: pd.Series, lines: np.ndarray, *, width: int, area: str,
               missing_reason: str, nm: str, header: Sequence[str], year: int | None) -> pd.DataFrame:
    """The code rows of a CMS Table A or B, typed: padded code, name and footnote, value, year."""
    out = df[is_code].copy()
    out.attrs = dict(df.attrs)
    out.attrs["lines"] = Lines(lines[is_code.to_numpy()])
    out["cbsa"] = out["cbsa"].str.zfill(width)
    out["cbsa_name"], out["footnote"] = _split_note(out["cbsa_name"])
    vals, missing = _values(out, "wage_index", nm)
    out["wage_index"] = vals.where(~missing)
    out["reason"] = np.where(missing, missing_reason, "")
    out["area"] = area
    if year is None:
        year = _year_from([nm, *header], r"FY\s*-?(\d{4})")
    out["year"] = year if year is not None else pd.NA
    out["line"] = np.asarray(out.attrs["lines"])
    return out


def read_wage_index_table_b(
    src: Source,
    name: str | None = None,
    *,
    member: str | None = None,
    sheet: str | int | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """Read CMS's Table B, wage index for statewide rural areas (FY2026 layout
    ``State Code, Nonurban Area, Wage Index``).

    *src*: the CSV, the XLSX (sheet matching ``Table B``) or CMS's zip
    (member matching ``TableB``). Columns :data:`TABLE_B_COLUMNS`: ``cbsa``
    (2-digit SSA state code, zero-padded), ``cbsa_name`` (footnote digit
    removed: ``New Jersey1`` → ``New Jersey``), ``wage_index`` (``-----`` or
    blank → NaN with reason ``WI_NO_RURAL_AREA``: NJ and RI have no rural
    area), ``footnote`` (``1`` = all counties in the state are urban; CMS still
    gives Puerto Rico a value, kept as shipped), ``year``, ``area``
    (``"rural"``), ``reason``, ``line``. Values are uncapped (see Table A).
    """
    rows, nm = _rows(src, name, member_pattern=r"table\s*_?b\b|tableb", sheet_pattern=r"table\s*b\b",
                     member=member, sheet=sheet)
    hdr = find_header(rows, lambda c: any(h in ("STATECODE", "STATE") for h in c)
                      and any(h.startswith("WAGEINDEX") for h in c), nm,
                      "a header with 'State Code', 'Nonurban Area' and 'Wage Index'")
    cols = [
        Col("cbsa", ["STATECODE", "STATE"]),
        Col("cbsa_name", ["NONURBANAREA", "RURALAREA", "AREANAME", "STATENAME"]),
        Col("wage_index", lambda h: h.startswith("WAGEINDEX")),
    ]
    pos = map_columns(rows[hdr], cols, nm, hdr + 1)
    df = build_frame(rows, hdr + 1, pos, cols, nm)
    lines = np.asarray(df.attrs["lines"])
    cells = df[["cbsa", "cbsa_name", "wage_index"]]
    blank = (cells == "").all(axis=1)
    is_code = df["cbsa"].str.fullmatch(r"\d{1,2}")
    is_note = _is_note(cells, "cbsa") & ~is_code
    bad = ~(blank | is_code | is_note)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CMSFileError(nm, "a rural area row (1-2 digit state code), a blank row or a "
                           "footnote", line=int(lines[i]), column="cbsa",
                           found=df["cbsa"].iloc[i])
    out = _area_rows(df, is_code, lines, width=2, area="rural", missing_reason=WI_NO_RURAL_AREA.code,
                     nm=nm, header=rows[hdr], year=year)
    return _finish(out, TABLE_B_COLUMNS, nm, system="wage_index", uncapped=True)


def read_wage_index_tables(
    src: Source,
    name: str | None = None,
    *,
    year: int | None = None,
) -> pd.DataFrame:
    """Tables A and B of a CMS FY wage index release as one CBSA table.

    *src* must hold both (CMS's zip or XLSX). Columns: those of
    :data:`TABLE_B_COLUMNS` plus ``counties`` and ``source`` (the member each
    row came from, for provenance).
    """
    nm = source_name(src, name)
    data = read_bytes(src, nm)
    a = read_wage_index_table_a(data, nm, year=year)
    b = read_wage_index_table_b(data, nm, year=year)
    a["source"] = a.attrs["source"]
    b["source"] = b.attrs["source"]
    b["counties"] = ""
    cols = ["cbsa", "cbsa_name", "counties", "wage_index", "footnote", "year", "area",
            "reason", "line", "source"]
    a.attrs = {}
    b.attrs = {}  # attrs hold per-frame line arrays that concat cannot compare
    out = pd.concat([a[cols], b[cols]], ignore_index=True)
    out.attrs.update(source=nm, approximate_for_opps=True, system="wage_index", uncapped=True)
    return out


def read_wage_index_county(
    src: Source,
    name: str | None = None,
    *,
    member: str | None = None,
    sheet: str | int | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """Read CMS's county-level crosswalk: FIPS county → CBSA with its wage index.

    FY2026 layout: ``FIPS Code, County Name (or County Equivalent), State, FY
    2026 CBSA, FY 2026 Urban/Rural, FY 2026 CBSA Name, FY 26 Wage Index (New
    CBSA)``. *src*: the CSV, the XLSX (sheet matching ``County``) or CMS's zip
    (member matching ``County``).

    Columns :data:`COUNTY_COLUMNS`: ``fips`` (5-digit text), ``county_name``,
    ``state`` (USPS), ``cbsa`` (5-digit urban CBSA or 2-digit statewide rural
    code), ``urban_rural`` (``"urban"``/``"rural"``), ``cbsa_name``,
    ``wage_index`` (float, pre-floor, pre-reclassified, uncapped), ``year``
    (FY from the header), ``reason`` and ``line``. Rural counties map to their
    state's 2-digit rural code.
    """
    rows, nm = _rows(src, name, member_pattern=r"county", sheet_pattern=r"county",
                     member=member, sheet=sheet)
    hdr = find_header(rows, lambda c: any(h.startswith("FIPS") for h in c)
                      and any(h.endswith("CBSA") for h in c), nm,
                      "a header with 'FIPS Code' and a CBSA column")
    cols = [
        Col("fips", lambda h: h.startswith("FIPS")),
        Col("county_name", lambda h: h.startswith("COUNTYNAME") or h == "COUNTY"),
        Col("state", ["STATE", "ST", "STATECODE"]),
        Col("cbsa", lambda h: h.endswith("CBSA") or h.endswith("CBSACODE")),
        Col("urban_rural", lambda h: "URBANRURAL" in h),
        Col("cbsa_name", lambda h: "CBSANAME" in h, required=False),
        Col("wage_index", lambda h: "WAGEINDEX" in h),
    ]
    pos = map_columns(rows[hdr], cols, nm, hdr + 1)
    df = build_frame(rows, hdr + 1, pos, cols, nm,
                     keep=lambda d: d["fips"].astype(str).str.strip() != "")
    if "cbsa_name" not in df:
        df["cbsa_name"] = ""
    lines = np.asarray(df.attrs["lines"])
    _check_codes(df["fips"], r"\d{4,5}", lines, nm, "fips", "a county FIPS code (5 digits)")
    df["fips"] = df["fips"].str.zfill(5)
    _check_codes(df["cbsa"], r"\d{1,2}|\d{4,5}", lines, nm, "cbsa",
                 "a CBSA code (5 digits) or a statewide rural code (2 digits)")
    df["cbsa"] = _pad_cbsa(df["cbsa"])
    ur = df["urban_rural"].str.strip().str.lower()
    _check_codes(ur, r"urban|rural", lines, nm, "urban_rural", "'Urban' or 'Rural'")
    df["urban_rural"] = ur
    vals, missing = _values(df, "wage_index", nm)
    df["wage_index"] = vals.where(~missing)
    df["reason"] = _no_value_reason(df["cbsa"], missing)
    if year is None:
        year = _year_from(rows[hdr] + [nm], r"FY\s*-?(\d{4})")
    df["year"] = year if year is not None else pd.NA
    df["line"] = lines
    return _finish(df, COUNTY_COLUMNS, nm, system="wage_index", uncapped=True)


# --------------------------------------------------------------------------- lookups


@dataclass(frozen=True)
class WageIndexResult:
    """One wage index lookup: the value, where it came from, and why it may not apply.

    ``value`` is NaN when no single value applies (``reason`` says why).
    ``reason`` is the most important code (``""`` when the value applies as it
    is); ``reasons`` lists every code that applies. ``candidates`` (with
    ``candidate_lines``) lists the values of an ambiguous code or the
    county-specific values a county might get instead. ``approximate_for_opps``
    is always True for these tables: see the module docstring.
    """

    value: float
    cbsa: str
    cbsa_name: str
    file: str
    line: int | None
    reason: str = ""
    reasons: tuple[str, ...] = ()
    message: str = ""
    candidates: tuple[float, ...] = ()
    candidate_lines: tuple[int, ...] = ()
    county_fips: str = ""
    county_line: int | None = None
    year: int | None = None
    approximate_for_opps: bool = True
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when there is a single value (it may still be approximate)."""
        return not math.isnan(self.value)


def _norm_code(code: object) -> str:
    s = str(code).strip()
    s = re.sub(r"\.0$", "", s)
    if re.fullmatch(r"\d{1,2}", s):
        return s.zfill(2)
    return s


def _county_key(name: str) -> str:
    return re.sub(r"[^A-Z]", "", re.sub(r"\s+(COUNTY|PARISH|BOROUGH)$", "", name.upper().strip()))


def _same_county(a: str, b: str) -> bool:
    """County-name keys equal, or (names of 6+ letters) one letter apart.

    The CY2026 ASC copy spells Kalawao (HI) ``Kalwao``; a one-letter slip
    must still flag the county.
    """
    if a == b:
        return True
    if min(len(a), len(b)) < 6 or a[0] != b[0]:
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.9


class WageIndex:
    """Wage index lookup over one CBSA-level table (and optionally a county crosswalk).

    *table* is a frame from :func:`read_asc_wage_index`,
    :func:`read_wage_index_tables`, :func:`read_wage_index_table_a` or
    :func:`read_wage_index_table_b` (columns ``cbsa``, ``wage_index``,
    ``reason``, ``line``; optional ``cbsa_name``, ``year``, ``source``).
    *counties* is a frame from :func:`read_wage_index_county`, used to map a
    FIPS county to its CBSA (rural counties to their 2-digit state code).

    The values are pre-floor, pre-reclassified: right for ASC, an approximation
    for OPPS (``setting="opps"`` adds ``WI_APPROX_OPPS``).
    """

    def __init__(self, table: pd.DataFrame, counties: pd.DataFrame | None = None, *,
                 uncapped: bool | None = None) -> None:
        missing = {"cbsa", "wage_index"} - set(table.columns)
        if missing:
            raise ValueError(f"wage index table lacks columns {sorted(missing)}")
        t = table.copy()
        t["cbsa"] = t["cbsa"].astype(str)
        for c, default in (("cbsa_name", ""), ("reason", ""), ("line", -1)):
            if c not in t:
                t[c] = default
        if "source" not in t:
            t["source"] = str(table.attrs.get("source", ""))
        if "year" not in t:
            t["year"] = pd.NA
        self.table = t
        self.counties = counties
        self.uncapped = bool(table.attrs.get("uncapped", False)) if uncapped is None else uncapped
        self.source = str(table.attrs.get("source", ""))
        # distinct values per code (>1 means ambiguous)
        self._nvals = t.groupby("cbsa", sort=False)["wage_index"].nunique(dropna=False)
        # county-specific pseudo-codes (50xxx named "X County")
        pseudo = t[t["cbsa"].str.fullmatch(r"5\d{4}") & t["cbsa_name"].str.contains(
            r"\b(?:County|Parish)\b", case=False, regex=True)]
        self._pseudo = pseudo.assign(_key=pseudo["cbsa_name"].map(_county_key))

    @classmethod
    def from_cms_fy(cls, src: Source, name: str | None = None) -> WageIndex:
        """Tables A+B and the county crosswalk from CMS's FY zip (or XLSX)."""
        nm = source_name(src, name)
        data = read_bytes(src, nm)
        return cls(read_wage_index_tables(data, nm), read_wage_index_county(data, nm),
                   uncapped=True)

    # ----------------------------------------------------------------- scalar

    def lookup(
        self,
        cbsa: str | int | None = None,
        county_fips: str | int | None = None,
        state: str | None = None,
        *,
        setting: str = "asc",
        strict: bool = False,
    ) -> WageIndexResult:
        """Wage index for exactly one of a CBSA code, a county FIPS code or a
        state (its statewide rural area: USPS ``"ND"`` or SSA code ``"35"``).

        Never guesses: an ambiguous code gives NaN with ``WI_AMBIGUOUS`` and the
        candidate values; an unknown one ``WI_UNKNOWN_CBSA``/``WI_UNKNOWN_COUNTY``
        (or :class:`UnknownLocalityError` with *strict*). *setting* ``"opps"``
        adds ``WI_APPROX_OPPS``.
        """
        given = [x is not None for x in (cbsa, county_fips, state)]
        if sum(given) != 1:
            raise ValueError("give exactly one of cbsa=, county_fips= or state=")
        if setting not in ("asc", "opps", "other"):
            raise ValueError(f"setting must be 'asc', 'opps' or 'other', not {setting!r}")
        fips = ""
        county_line: int | None = None
        notes: list[str] = []
        extra: list[str] = []
        candidates: tuple[float, ...] = ()
        cand_lines: tuple[int, ...] = ()
        if state is not None:
            st = str(state).strip().upper()
            code = STATE_RURAL_CODE.get(st, st if re.fullmatch(r"\d{1,2}", st) else "")
            if not code:
                raise UnknownLocalityError(f"unknown state {state!r}: give a USPS abbreviation "
                                           "or a 2-digit SSA state code")
            code = code.zfill(2)
        elif county_fips is not None:
            if self.counties is None:
                raise ValueError("a county lookup needs counties= (read_wage_index_county)")
            fips = _norm_code(county_fips).zfill(5)
            hit = self.counties[self.counties["fips"] == fips]
            if hit.empty:
                res = self._result(float("nan"), "", "", None, [WI_UNKNOWN_COUNTY.code],
                                   f"county {fips} is not in the crosswalk "
                                   f"{self.counties.attrs.get('source', '')}", setting,
                                   county_fips=fips)
                return self._maybe_raise(res, strict)
            row = hit.iloc[0]
            code = str(row["cbsa"])
            county_line = int(row["line"])
            notes.append(f"county {fips} {row['county_name']}, {row['state']} → {code} "
                         f"({row['urban_rural']}) per {self.counties.attrs.get('source', '')} "
                         f"line {county_line}")
            key = _county_key(str(row["county_name"]))
            pseudo = self._pseudo[self._pseudo["_key"].map(lambda k: _same_county(k, key))]
            if not pseudo.empty:
                extra.append(WI_COUNTY_VALUE_POSSIBLE.code)
                candidates = tuple(float(v) for v in pseudo["wage_index"])
                cand_lines = tuple(int(v) for v in pseudo["line"])
                notes.append("county-specific pseudo-codes with this county name: "
                             + ", ".join(f"{c}={v:.4f}" for c, v in
                                         zip(pseudo["cbsa"], pseudo["wage_index"], strict=True)))
        else:
            code = _norm_code(cbsa)
        rows = self.table[self.table["cbsa"] == code]
        if rows.empty:
            msg = f"{code} is not in {self.source}"
            if fips:
                msg += " (the county crosswalk and the table may use different delineations)"
            res = self._result(float("nan"), code, "", None, [WI_UNKNOWN_CBSA.code], msg,
                               setting, county_fips=fips, county_line=county_line, notes=notes)
            return self._maybe_raise(res, strict)
        first = rows.iloc[0]
        name = str(first["cbsa_name"])
        if rows["wage_index"].nunique(dropna=False) > 1:
            vals = tuple(float(v) for v in rows["wage_index"])
            res = self._result(
                float("nan"), code, name, None, [WI_AMBIGUOUS.code],
                f"{code} has {len(rows)} rows with values "
                + ", ".join(f"{v:.4f}" for v in vals) + f" in {self.source}",
                setting, candidates=vals, candidate_lines=tuple(int(v) for v in rows["line"]),
                county_fips=fips, county_line=county_line, notes=notes, source=first["source"],
                year=first["year"])
            return self._maybe_raise(res, strict)
        value = float(first["wage_index"])
        codes = [str(first["reason"])] if str(first["reason"]) else []
        codes += extra
        res = self._result(value, code, name, int(first["line"]), codes, "", setting,
                           candidates=candidates, candidate_lines=cand_lines, county_fips=fips,
                           county_line=county_line, notes=notes, source=first["source"],
                           year=first["year"])
        return self._maybe_raise(res, strict)

    def _result(self, value: float, code: str, name: str, line: int | None, codes: list[str],
                message: str, setting: str, *, candidates: tuple[float, ...] = (),
                candidate_lines: tuple[int, ...] = (), county_fips: str = "",
                county_line: int | None = None, notes: Sequence[str] = (),
                source: object = None, year: object = None) -> WageIndexResult:
        all_codes = list(dict.fromkeys(codes))
        if setting == "opps":
            all_codes.append(WI_APPROX_OPPS.code)
        if self.uncapped and not math.isnan(value):
            all_codes.append(WI_UNCAPPED.code)
        hard = [c for c in all_codes if c in _HARD]
        primary = hard[0] if hard else (all_codes[0] if all_codes else "")
        if not message and primary:
            message = explain(primary).message  # type: ignore[union-attr]
        yr = None if year is None or pd.isna(year) else int(year)  # type: ignore[arg-type]
        return WageIndexResult(
            value=value, cbsa=code, cbsa_name=name,
            file=str(source) if source is not None else self.source, line=line,
            reason=primary, reasons=tuple(all_codes), message=message,
            candidates=candidates, candidate_lines=candidate_lines, county_fips=county_fips,
            county_line=county_line, year=yr, notes=tuple(notes))

    @staticmethod
    def _maybe_raise(res: WageIndexResult, strict: bool) -> WageIndexResult:
        if strict and not res.ok:
            raise UnknownLocalityError(f"{res.reason}: {res.message}")
        return res

    # ----------------------------------------------------------------- vectorised

    def lookup_many(
        self,
        cbsa: Sequence[object] | pd.Series | None = None,
        county_fips: Sequence[object] | pd.Series | None = None,
        *,
        setting: str = "asc",
    ) -> pd.DataFrame:
        """Vectorised lookup of many CBSA codes or many county FIPS codes.

        Returns one row per input, in input order, with columns ``key`` (the
        input, normalised), ``cbsa``, ``cbsa_name``, ``wage_index`` (NaN when no
        single value applies), ``reason`` (most important code, ``""`` when the
        value applies as is), ``source``, ``line`` (-1 when none) and
        ``approximate_for_opps``. Ambiguous codes give NaN and ``WI_AMBIGUOUS``;
        use :meth:`lookup` for their candidate values.
        """
        if (cbsa is None) == (county_fips is None):
            raise ValueError("give exactly one of cbsa= or county_fips=")
        if county_fips is not None:
            if self.counties is None:
                raise ValueError("a county lookup needs counties= (read_wage_index_county)")
            keys = pd.Series(list(county_fips), dtype=object).astype(str).str.strip()
            keys = keys.str.replace(r"\.0$", "", regex=True).str.zfill(5)
            cmap = self.counties.drop_duplicates("fips").set_index("fips")["cbsa"]
            codes = keys.map(cmap)
            no_county = codes.isna()
            codes = codes.fillna("")
            cname = self.counties.drop_duplicates("fips").set_index("fips")["county_name"]
            county_keys = keys.map(cname).fillna("").astype(str).map(_county_key)
            pkeys = list(self._pseudo["_key"])
            flagged = {k for k in county_keys.unique()
                       if any(_same_county(k, p) for p in pkeys)}
            county_value = county_keys.isin(flagged) & ~no_county
        else:
            keys = pd.Series(list(cbsa), dtype=object).map(_norm_code)  # type: ignore[arg-type]
            codes = keys
            no_county = pd.Series(False, index=keys.index)
            county_value = pd.Series(False, index=keys.index)
        first = self.table.drop_duplicates("cbsa").set_index("cbsa")
        n_vals = self._nvals
        out = pd.DataFrame({"key": keys.to_numpy(), "cbsa": codes.to_numpy()})
        out["cbsa_name"] = codes.map(first["cbsa_name"]).fillna("").to_numpy()
        out["wage_index"] = codes.map(first["wage_index"]).astype("float64").to_numpy()
        out["source"] = codes.map(first["source"]).fillna("").to_numpy()
        out["line"] = codes.map(first["line"]).fillna(-1).astype("int64").to_numpy()
        base = codes.map(first["reason"])
        known = base.notna().to_numpy()
        ambiguous = (codes.map(n_vals).fillna(0) > 1).to_numpy()
        r = np.where(known, base.fillna("").to_numpy(dtype=object), WI_UNKNOWN_CBSA.code)
        r = np.where(no_county.to_numpy(), WI_UNKNOWN_COUNTY.code, r)
        r = np.where(ambiguous & (r == ""), WI_AMBIGUOUS.code, r)
        out.loc[ambiguous, ["wage_index"]] = np.nan
        out.loc[ambiguous, "line"] = -1
        has_value = out["wage_index"].notna().to_numpy()
        soft = [(setting == "opps", WI_APPROX_OPPS.code)]
        soft.append((county_value.to_numpy(), WI_COUNTY_VALUE_POSSIBLE.code))
        soft.append((self.uncapped, WI_UNCAPPED.code))
        for cond, code in soft:  # in order of importance; a few codes, not rows
            r = np.where((r == "") & has_value & cond, code, r)
        out["reason"] = r.astype(str)
        out["approximate_for_opps"] = True
        return out


def wage_index_for(
    cbsa: str | int | None = None,
    county_fips: str | int | None = None,
    state: str | None = None,
    *,
    table: pd.DataFrame,
    counties: pd.DataFrame | None = None,
    setting: str = "asc",
    strict: bool = False,
) -> WageIndexResult:
    """One wage index lookup: ``WageIndex(table, counties).lookup(...)``.

    Examples: ``wage_index_for("31084", table=asc26)``;
    ``wage_index_for(county_fips="06037", table=asc26, counties=county)``;
    ``wage_index_for(state="ND", table=asc26)`` (the statewide rural area).
    See :meth:`WageIndex.lookup`.
    """
    return WageIndex(table, counties).lookup(cbsa, county_fips, state, setting=setting,
                                             strict=strict)
