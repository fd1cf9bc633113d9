"""Readers for the hospital outpatient (OPPS) files: Addendum A, Addendum B and
the IPPS Table 2 hospital wage index that OPPS uses.

Sources and layouts
-------------------
* **Addendum B** ("OPPS Payment by HCPCS Code"), posted each quarter on CMS's
  *Hospital Outpatient PPS – Quarterly Addenda Updates* page as a zip holding an
  XLSX workbook and a "508 Version" CSV. The CSV opens with about five preamble
  rows (title, AMA/ADA copyright, coverage disclaimer, coinsurance notes); the
  column-name row starts with ``HCPCS Code``. Columns (CY2024–CY2026):
  ``HCPCS Code, Short Descriptor, SI, APC, Relative Weight, Payment Rate,
  National Unadjusted Copayment, Minimum Unadjusted Copayment, IRA Coinsurance
  percentage, Adjusted Beneficiary Copayment, Drug and Device Pass-Through
  Expiration during Calendar Year, Note, * Indicates a Change``. CMS's header
  cells carry stray spaces (``" SI"``, ``"APC "``, ``" Minimum Unadjusted
  Copayment"``), money is text (``$7,413.38``, quoted when it has a comma; some
  drug rates have three decimals), a lone ``.``, a blank or a single space
  means "no value", percentages look like ``20%``. The files are cp1252 /
  Latin-1 (CMS has shipped HCPCS cells with a trailing 0xFF byte); copies
  re-saved by others are UTF-8 with no-break spaces or U+FFFD in the code cell.
* **Addendum A** ("OPPS APCs"), same page and zip layout, one row per APC:
  ``APC, Group Title, SI, Relative Weight, Payment Rate, National Unadjusted
  Copayment, Minimum Unadjusted Copayment`` followed, in recent years, by the
  same IRA / adjusted copayment / pass-through / note / change columns as B.
* **IPPS Table 2** ("Case-Mix Index and Wage Index Table by CCN"), published with
  each IPPS final rule (zip ``fy20XX-ipps-fr-tables-2-3-4a-4b.zip``): a
  tab-delimited text file with a title line, then a header whose cells carry
  footnote digits (``3,6 FY 2026 Wage Index With Cap``). The hospital's payment
  wage index (reclassification, floors, out-migration and the 5% cap applied) is
  the ``FY <year> Wage Index With Cap`` column (FY2024: ``... With Quartile and
  Cap``); FY2026 adds a ``FY 2026 Transition for the Discontinuation of the Low
  Wage Index Hospital Policy`` column that replaces it where filled. OPPS pays
  on this IPPS wage index (42 CFR 419.43(c)(1)).

Every reader returns canonical column names (see each function), keeps the
1-based source line of every row in ``df.attrs['lines']`` and raises
:class:`rvucalc.errors.CMSFileError` naming file, line and column on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import CMSFileError
from ._common import (
    Col,
    Lines,
    Source,
    build_frame,
    check_rows,
    find_header,
    load_rows,
    map_columns,
    norm,
    zpad,
)

__all__ = [
    "ADDENDUM_B_COLUMNS",
    "ADDENDUM_A_COLUMNS",
    "TABLE2_COLUMNS",
    "read_addendum_b",
    "read_addendum_a",
    "read_ipps_table2",
    "clean_hcpcs",
]


def _starts(prefix: str) -> Callable[[str], bool]:
    return lambda h: h.startswith(prefix)


# Columns shared by Addendum A and B after the APC/HCPCS-specific ones.
_MONEY_COLS: list[tuple[Col, str]] = [
    (Col("relative_weight", ["RELATIVEWEIGHT"], "float"), "Relative Weight"),
    (Col("payment_rate", ["PAYMENTRATE"], "money"), "Payment Rate"),
    (Col("national_copay", ["NATIONALUNADJUSTEDCOPAYMENT"], "money"),
     "National Unadjusted Copayment"),
    (Col("minimum_copay", ["MINIMUMUNADJUSTEDCOPAYMENT"], "money"),
     "Minimum Unadjusted Copayment"),
    (Col("ira_coinsurance_pct", _starts("IRACOINSURANCE"), "money", required=False),
     "IRA Coinsurance percentage"),
    (Col("adjusted_copay", ["ADJUSTEDBENEFICIARYCOPAYMENT"], "money", required=False),
     "Adjusted Beneficiary Copayment"),
    (Col("pass_through_expiration", _starts("DRUGANDDEVICEPASSTHROUGH"), required=False),
     "Drug and Device Pass-Through Expiration during Calendar Year"),
    (Col("note", _starts("NOTE"), required=False), "Note"),
    (Col("changed", _starts("INDICATESACHANGE"), required=False), "* Indicates a Change"),
]

_ADDB: list[tuple[Col, str]] = [
    (Col("hcpcs", ["HCPCSCODE", "HCPCS"]), "HCPCS Code"),
    (Col("description", ["SHORTDESCRIPTOR", "SHORTDESCRIPTION"], required=False),
     "Short Descriptor"),
    (Col("status_indicator", ["SI", "STATUSINDICATOR", "PAYMENTSTATUSINDICATOR"]), "SI"),
    (Col("apc", ["APC"]), "APC"),
    *_MONEY_COLS,
]

_ADDA: list[tuple[Col, str]] = [
    (Col("apc", ["APC"]), "APC"),
    (Col("group_title", ["GROUPTITLE"], required=False), "Group Title"),
    (Col("status_indicator", ["SI", "STATUSINDICATOR", "PAYMENTSTATUSINDICATOR"]), "SI"),
    *_MONEY_COLS,
]

#: Canonical columns of :func:`read_addendum_b`, in order (all always present).
ADDENDUM_B_COLUMNS: tuple[str, ...] = tuple(c.name for c, _ in _ADDB)
#: Canonical columns of :func:`read_addendum_a`, in order (all always present).
ADDENDUM_A_COLUMNS: tuple[str, ...] = tuple(c.name for c, _ in _ADDA)
#: Canonical columns of :func:`read_ipps_table2`, in order.
TABLE2_COLUMNS: tuple[str, ...] = (
    "ccn", "cbsa", "geographic_cbsa", "wage_index", "wage_index_with_cap",
    "wage_index_transition", "out_migration_adjustment",
)

_FLOAT_OPTIONAL = {"ira_coinsurance_pct", "adjusted_copay"}


def clean_hcpcs(s: pd.Series) -> pd.Series:
    """Upper-case a HCPCS column and drop every character that is not A–Z or 0–9.

    Removes trailing spaces (``"0393U "``), no-break spaces, U+FFFD replacement
    characters and stray 0xFF bytes (decoded as ``ÿ``) that CMS's files and
    copies of them carry in the code cell; nothing else. Purely numeric codes of 1–4 digits
    (a spreadsheet dropped the leading zeros of e.g. ``00100``) are padded to 5.
    """
    out = s.astype(str).str.upper().str.replace(_HCPCS_JUNK, "", regex=True)
    return out.where(~out.str.fullmatch(r"\d{1,4}"), out.str.zfill(5))


#: What :func:`clean_hcpcs` removes: white space (incl. no-break), U+FFFD and a
#: 0xFF byte decoded as "ÿ" (upper case "Ÿ"). Any other character is kept, so
#: a damaged code ("0010%") stays invalid and is reported, not turned into a
#: different valid code.
_HCPCS_JUNK = r"[\s\u00a0\ufffd\u00ff\u0178]"


def _map(header: Sequence[str], spec: list[tuple[Col, str]], name: str, line: int) -> dict[str, int]:
    """:func:`map_columns`, re-raising a missing column with CMS's column name."""
    cols = [c for c, _ in spec]
    try:
        return map_columns(header, cols, name, line)
    except CMSFileError as exc:
        label = next((lab for c, lab in spec if repr(c.name) in exc.expected), None)
        raise CMSFileError(name, f"a column {label!r}" if label else exc.expected,
                           line=line, column=label, found=exc.found) from None


def _finish(df: pd.DataFrame, spec: list[tuple[Col, str]]) -> pd.DataFrame:
    """Add absent optional columns, type the flag columns, order the columns."""
    for col, _ in spec:
        if col.name in df:
            continue
        if col.kind in ("float", "money") or col.name in _FLOAT_OPTIONAL:
            df[col.name] = np.nan
        else:
            df[col.name] = ""
    df["changed"] = df["changed"].astype(str).str.strip().ne("").astype(bool)
    ira = df["ira_coinsurance_pct"].astype("float64")
    if ira.notna().any() and ira.max() <= 1.0:
        # an XLSX percent cell arrives as a fraction (0.19648 for 19.648%)
        df["ira_coinsurance_pct"] = ira * 100.0
    df["status_indicator"] = df["status_indicator"].astype(str).str.strip().str.upper()
    df["apc"] = zpad(df["apc"], 4)
    lines = np.asarray(df.attrs.get("lines", ()), dtype=np.int64)
    for col, rx, what in (("status_indicator", r"[A-Z][A-Z0-9]?", "a status indicator such as 'J1' or 'N'"),
                          ("apc", r"(\d{4})?", "an APC number (up to 4 digits) or nothing")):
        bad = ~df[col].str.fullmatch(rx).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CMSFileError(df.attrs.get("source", "<input>"), what,
                               line=int(lines[i]) if len(lines) == len(df) else None,
                               column=col, found=df[col].iloc[i])
    attrs = dict(df.attrs)
    out = df[[c.name for c, _ in spec]].copy()
    out.attrs.update(attrs)
    return out


def _dedupe(df: pd.DataFrame, key: str, name: str) -> pd.DataFrame:
    """Drop exact duplicate rows of *key*; raise on conflicting ones (both lines named)."""
    lines = np.asarray(df.attrs["lines"])
    dup_key = df[key].duplicated(keep=False)
    if not dup_key.any():
        return df
    exact = df.duplicated(keep="first")
    keep = ~exact.to_numpy()
    rest = df[keep]
    rest_lines = lines[keep]
    conflict = rest[key].duplicated(keep=False).to_numpy()
    if conflict.any():
        idx = np.flatnonzero(conflict)
        code = rest[key].iloc[idx[0]]
        same = idx[rest[key].iloc[idx].to_numpy() == code]
        l1, l2 = int(rest_lines[same[0]]), int(rest_lines[same[1]])
        raise CMSFileError(name, f"one row per {key} (rows that repeat a code must be identical)",
                           line=l2, column=key,
                           found=f"{code} on lines {l1} and {l2} with different values")
    attrs = dict(df.attrs)
    out = rest.reset_index(drop=True)
    out.attrs.update(attrs)
    out.attrs["lines"] = Lines(rest_lines)
    return out


def _keep_and_check(key: str, is_key: Callable[[pd.Series], pd.Series],
                    others: Sequence[str]) -> Callable[[pd.DataFrame], pd.Series]:
    """A ``keep`` for :func:`build_frame`: rows with a valid key, or with data.

    Blank rows and footnote rows (text only in the key column, nothing in the
    payment columns) are dropped; a row that has a status indicator or a rate
    but a malformed key is kept so that :func:`_require_keys` can report it.
    """

    def keep(d: pd.DataFrame) -> pd.Series:
        ok = is_key(d[key])
        data = pd.Series(False, index=d.index)
        for c in others:
            if c in d:
                data |= d[c].astype(str).str.strip().ne("")
        return ok | data

    return keep


def _require_keys(df: pd.DataFrame, key: str, is_key: Callable[[pd.Series], pd.Series],
                  name: str, what: str) -> None:
    """Raise naming the first kept row whose key cell is not a valid key."""
    bad = ~is_key(df[key]).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CMSFileError(name, what, line=int(df.attrs["lines"][i]), column=key,
                           found=df[key].iloc[i])


def _is_hcpcs_cell(s: pd.Series) -> pd.Series:
    return clean_hcpcs(s).str.fullmatch(r"[A-Z0-9]{5}").fillna(False).astype(bool)


def _hcpcs_text(cell: str) -> bool:
    """One cell's version of :func:`_is_hcpcs_cell` (for row checks before typing)."""
    c = re.sub(_HCPCS_JUNK, "", cell.upper())
    return re.fullmatch(r"[A-Z0-9]{5}|\d{1,4}", c) is not None


def _is_apc_cell(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip().str.fullmatch(r"\d{1,4}(\.0)?").fillna(False).astype(bool)


def read_addendum_b(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read OPPS Addendum B (CSV or XLSX, with or without CMS's preamble rows).

    Parameters
    ----------
    src : path, binary file object or bytes
        The Addendum B file as CMS ships it (the "508 Version" CSV or the XLSX).
    name : str, optional
        Name to use in error messages.

    Returns
    -------
    pandas.DataFrame
        One row per HCPCS code with columns ``hcpcs`` (upper case, cleaned, see
        :func:`clean_hcpcs`), ``description`` (the file's short descriptor, kept
        as given), ``status_indicator`` (SI), ``apc`` (text, 4 digits zero-padded,
        ``""`` when none), ``relative_weight``, ``payment_rate``,
        ``national_copay`` (national unadjusted copayment; NaN where CMS shows
        ``.``), ``minimum_copay`` (minimum unadjusted copayment),
        ``ira_coinsurance_pct`` (percent, e.g. ``19.648``; an XLSX whose
        percentages arrive as fractions is scaled to percent), ``adjusted_copay``
        (CMS's adjusted beneficiary copayment), ``pass_through_expiration``,
        ``note`` (text) and ``changed`` (bool, CMS's "* Indicates a Change").
        Optional columns absent from the file are NaN / ``""`` / False. Money is
        float dollars as printed (no rounding). ``attrs['lines']`` holds each
        row's 1-based source line.

    Raises
    ------
    CMSFileError
        No ``HCPCS Code`` header, a required column missing, a non-numeric
        money cell, a data row without a valid code, or two rows for one code
        with different values (exact duplicates are dropped).
    """
    rows, nm = load_rows(src, name)
    h = find_header(rows, lambda cells: "HCPCSCODE" in cells, nm,
                    "a header row with a 'HCPCS Code' cell")
    pos = _map(rows[h], _ADDB, nm, h + 1)
    cols = [c for c, _ in _ADDB]
    check_rows(rows, h, pos, nm, key="hcpcs", is_key=_hcpcs_text, what="a 5-character HCPCS code",
               data=("status_indicator", "apc", "payment_rate"))

    df = build_frame(
        rows, h + 1, pos, cols, nm,
        keep=_keep_and_check("hcpcs", _is_hcpcs_cell, ["status_indicator", "apc", "payment_rate"]),
    )
    _require_keys(df, "hcpcs", _is_hcpcs_cell, nm, "a 5-character HCPCS code")
    raw = df["hcpcs"].astype(str)
    df["hcpcs"] = clean_hcpcs(raw)
    changed = (raw.str.strip().str.upper() != df["hcpcs"]).to_numpy()
    df.attrs["hcpcs_cleaned"] = [
        (int(ln), r) for ln, r in zip(np.asarray(df.attrs["lines"])[changed], raw[changed], strict=True)
    ]
    df = _finish(df, _ADDB)
    return _dedupe(df, "hcpcs", nm)


def read_addendum_a(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read OPPS Addendum A (APC-level rates), CSV or XLSX, preamble or not.

    The header row is the one holding both an ``APC`` and a ``Group Title``
    cell. Returns one row per APC with columns ``apc`` (4-digit text),
    ``group_title``, ``status_indicator``, ``relative_weight``,
    ``payment_rate``, ``national_copay``, ``minimum_copay``,
    ``ira_coinsurance_pct``, ``adjusted_copay``, ``pass_through_expiration``,
    ``note``, ``changed`` (the last six NaN / ``""`` / False when the file has
    no such column). Money parsing and errors as :func:`read_addendum_b`.
    """
    rows, nm = load_rows(src, name)
    h = find_header(rows, lambda cells: "APC" in cells and "GROUPTITLE" in cells, nm,
                    "a header row with 'APC' and 'Group Title' cells")
    pos = _map(rows[h], _ADDA, nm, h + 1)
    cols = [c for c, _ in _ADDA]
    check_rows(rows, h, pos, nm, key="apc", is_key=lambda c: re.fullmatch(r"\d{1,4}(\.0)?", c) is not None,
               what="an APC number (up to 4 digits)", data=("status_indicator", "payment_rate"))

    df = build_frame(rows, h + 1, pos, cols, nm,
                     keep=_keep_and_check("apc", _is_apc_cell, ["status_indicator", "payment_rate"]))
    _require_keys(df, "apc", _is_apc_cell, nm, "an APC number (up to 4 digits)")
    df = _finish(df, _ADDA)
    return _dedupe(df, "apc", nm)


_FY_WITH_CAP = re.compile(r"^\d*FY(\d{4})WAGEINDEXWITH(?:QUARTILEAND)?CAP$")
_FY_PLAIN = re.compile(r"^\d*FY(\d{4})WAGEINDEX$")
_FY_TRANSITION = re.compile(r"^\d*FY(\d{4})TRANSITIONFORTHEDISCONTINUATION")


def _pick_fy(header: Sequence[str], rx: re.Pattern[str]) -> int | None:
    """Position of the header cell matching *rx* with the highest fiscal year."""
    best: tuple[int, int] | None = None
    for i, h in enumerate(header):
        m = rx.match(norm(h))
        if m and (best is None or int(m.group(1)) > best[0]):
            best = (int(m.group(1)), i)
    return None if best is None else best[1]


def read_ipps_table2(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read IPPS Table 2 (case-mix and wage index by CCN) for the OPPS wage index.

    The header is the row whose first labelled cell is ``CCN`` or ``Provider
    Number`` (footnote digits allowed). Columns are matched by text:

    * ``FY <year> Wage Index With Cap`` (or ``With Quartile and Cap``) → the
      payment wage index; if the table has neither, the latest ``FY <year> Wage
      Index`` column is used instead.
    * ``FY <year> Transition for the Discontinuation ...`` (FY2026) → where a
      hospital has a value there it replaces the with-cap value.
    * ``... Wage Index Payment CBSA`` (reclassified CBSA) and ``Geographic CBSA``.
    * ``Out-Migration Adjustment`` is returned as its own column and **not**
      added: Table 2's footnote describes the with-cap column as the wage index
      with all applicable adjustments.

    Returns columns ``ccn`` (6-character text), ``cbsa`` (payment CBSA: the
    reclassified one where present, else geographic; ``""`` if the table has
    neither), ``geographic_cbsa``, ``wage_index`` (what OPPS applies),
    ``wage_index_with_cap``, ``wage_index_transition`` and
    ``out_migration_adjustment`` (NaN when absent). ``attrs['wage_index_column']``
    names the header used.
    """
    rows, nm = load_rows(src, name)

    def is_header(cells: list[str]) -> bool:
        return any(re.fullmatch(r"\d*(CCN|PROVIDERNUMBER|PROVIDERCCN)", c) for c in cells)

    h = find_header(rows, is_header, nm, "a header row with a 'CCN' or 'Provider Number' cell")
    header = rows[h]
    normed = [norm(c) for c in header]
    ccn_at = next(i for i, c in enumerate(normed)
                  if re.fullmatch(r"\d*(CCN|PROVIDERNUMBER|PROVIDERCCN)", c))
    wi_at = _pick_fy(header, _FY_WITH_CAP)
    if wi_at is None:
        wi_at = _pick_fy(header, _FY_PLAIN)
    if wi_at is None:
        raise CMSFileError(nm, "a column 'FY <year> Wage Index With Cap' (or 'FY <year> Wage Index')",
                           line=h + 1, column="FY <year> Wage Index With Cap",
                           found=[c for c in header if c])
    pos: dict[str, int] = {"ccn": ccn_at, "wage_index_with_cap": wi_at}
    tr_at = _pick_fy(header, _FY_TRANSITION)
    if tr_at is not None:
        pos["wage_index_transition"] = tr_at
    for canon, test in (
        ("payment_cbsa", lambda c: c.endswith("WAGEINDEXPAYMENTCBSA")),
        ("geographic_cbsa", lambda c: re.fullmatch(r"\d*GEOGRAPHICCBSA", c) is not None),
        ("plain_cbsa", lambda c: re.fullmatch(r"\d*CBSA", c) is not None),
        ("out_migration_adjustment", lambda c: re.fullmatch(r"\d*OUTMIGRATIONADJUSTMENT", c) is not None),
    ):
        at = next((i for i, c in enumerate(normed) if test(c) and i not in pos.values()), None)
        if at is not None:
            pos[canon] = at
    cols = [
        Col("ccn", ["-"]),
        Col("wage_index_with_cap", ["-"], "float"),
        Col("wage_index_transition", ["-"], "float", required=False),
        Col("out_migration_adjustment", ["-"], "float", required=False),
        Col("payment_cbsa", ["-"], required=False),
        Col("geographic_cbsa", ["-"], required=False),
        Col("plain_cbsa", ["-"], required=False),
    ]
    ccn_rx = r"[0-9A-Z]{1,6}"

    def keep(d: pd.DataFrame) -> pd.Series:
        s = d["ccn"].astype(str).str.strip().str.upper()
        return s.str.fullmatch(ccn_rx) & s.str.contains(r"\d", regex=True)

    df = build_frame(rows, h + 1, pos, cols, nm, keep=keep)
    for opt in ("wage_index_transition", "out_migration_adjustment"):
        if opt not in df:
            df[opt] = np.nan
    ccn = df["ccn"].astype(str).str.strip().str.upper().str.replace(r"\.0$", "", regex=True)
    df["ccn"] = ccn.str.zfill(6)
    geo = zpad(df["geographic_cbsa"], 5) if "geographic_cbsa" in df else pd.Series("", index=df.index)
    if "plain_cbsa" in df:
        geo = geo.where(geo != "", zpad(df["plain_cbsa"], 5))
    pay = zpad(df["payment_cbsa"], 5) if "payment_cbsa" in df else pd.Series("", index=df.index)
    df["geographic_cbsa"] = geo.astype(str)
    df["cbsa"] = pay.where(pay != "", geo).astype(str)
    df["wage_index"] = df["wage_index_transition"].where(
        df["wage_index_transition"].notna(), df["wage_index_with_cap"])
    attrs = dict(df.attrs)
    out = df[list(TABLE2_COLUMNS)].copy()
    out.attrs.update(attrs)
    out.attrs["wage_index_column"] = header[wi_at].strip()
    return _dedupe(out, "ccn", nm)
