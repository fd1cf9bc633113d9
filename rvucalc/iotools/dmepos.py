"""Readers for CMS's DMEPOS fee schedule files: the DMEPOS and PEN fee schedules and the DMEPOS
rural ZIP code file.

Sources and layouts
-------------------
CMS posts the *DMEPOS Fee Schedule* each quarter
(https://www.cms.gov/medicare/payment/fee-schedules/dmepos/dmepos-fee-schedule, one page and
zip per release: ``DME26`` / ``dme26.zip`` for January 2026). The zip holds, as CSV, TXT and XLSX:

* **DMEPOS fee schedule** (``DMEPOS26_JAN``): a title block ("Durable Medical Equipment,",
  "Prosthetics, Orthotics, and Supplies", "(DMEPOS)", "January 2026 Fee Schedule"), then the
  column names ``HCPCS, Mod, Mod2, JURIS, CATG, Ceiling, Floor``, a ``<ST> (NR)`` / ``<ST> (R)``
  pair per jurisdiction (non-rural and rural fee; January 2026: 53 jurisdictions, the 50 states,
  DC, PR and VI) and ``Description``. One row per code and pricing modifiers: ``Mod`` holds NU
  (purchased, new), RR (rental), UE (purchased, used), KM/KN (facial prosthesis), AU, AV, AW,
  KF ...; ``Mod2`` KE, KU, KF, KC, QB, QF. ``JURIS``: D (DME MAC), L (A/B MAC), J (joint);
  ``CATG``: the payment category (IN inexpensive/routinely purchased, CR capped rental, OX oxygen,
  PO prosthetics and orthotics, SD surgical dressings, ...). ``Ceiling`` and ``Floor`` are the
  national limits of the fee (both 0 where the item is not priced with floors and ceilings, e.g.
  items priced by inherent reasonableness or from competitive bidding information); the title
  block marks the AK, HI, PR and VI columns "*** Non-continental areas *** (Not subject to
  ceiling and floor)", and their fees do lie outside the limits for many codes. A rural
  column of 0.00 means the item has no separate rural fee: CMS's DMEREAD says such codes "will
  only have fee schedule amounts in the non-rural (NR) columns". January 2026: 3,515 rows over
  2,106 codes.
* **PEN fee schedule** (``DMEPEN26_JAN``, parenteral and enteral nutrition): "<year> Parenteral
  and Enteral Nutrition Items and Services (PEN) Fee Schedule", "January 2026 Fee Schedule", then
  ``HCPCS, MOD, MOD2, <ST>(NR), <ST>(R) ..., Desc`` (no JURIS/CATG/ceiling/floor; 50 rows).
  :func:`read_dmepos` reads both.
* **DMEPOS rural ZIP code file** (``DME Rural ZIP Code Quarter 1 2026``; earlier
  ``DMERuralZIP``): the ZIP codes CMS classes as rural areas for the DMEPOS fee schedule
  (42 CFR 414.202), with columns ``STATE``, ``DMEPOS RURAL ZIP CODE`` and ``YEAR/QTR``
  (e.g. ``20261``). A ZIP listed is rural; a ZIP not listed is not. Read by
  :func:`read_rural_zip` (CSV, tab-delimited TXT or XLSX; header found by its cells).

Canonical columns
-----------------
:func:`read_dmepos`: ``hcpcs``, ``modifier``, ``modifier2`` (``""`` where blank),
``jurisdiction``, ``category``, ``ceiling``, ``floor`` (NaN where the file has no such column),
``description``, then ``<st>_nr`` and ``<st>_r`` (lower-case state, float dollars) for every
jurisdiction in the file's order. ``attrs``: ``source``, ``lines``, ``states`` (upper-case, in
order), ``title`` (the title block joined), ``period`` (e.g. ``January 2026``), ``notes`` (other
cells of the title block: January 2026 has "*** Non-continental areas *** (Not subject to ceiling
and floor)" above the AK, HI, PR and VI columns).

:func:`read_rural_zip`: ``zip`` (5-digit text), ``state`` (upper-case), ``year_quarter`` (text).
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

__all__ = ["DMEPOS_COLUMNS", "RURAL_ZIP_COLUMNS", "read_dmepos", "read_pen", "read_rural_zip",
           "state_columns"]

_STATE_COL = re.compile(r"^\s*([A-Za-z]{2})\s*\(\s*(NR|R)\s*\)\s*$", re.IGNORECASE)
_PERIOD = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|"
                     r"November|December)\s+((?:19|20)\d\d)\b", re.IGNORECASE)

_COLS: tuple[Col, ...] = (
    Col("hcpcs", ["HCPCS", "HCPCSCODE"]),
    Col("modifier", ["MOD", "MOD1", "MODIFIER", "MODIFIER1"], required=False),
    Col("modifier2", ["MOD2", "MODIFIER2"], required=False),
    Col("jurisdiction", ["JURIS", "JURISDICTION"], required=False),
    Col("category", ["CATG", "CATEGORY"], required=False),
    Col("ceiling", ["CEILING"], required=False),
    Col("floor", ["FLOOR"], required=False),
    Col("description", ["DESCRIPTION", "DESC"], required=False),
)

#: Fixed canonical columns of :func:`read_dmepos` (the per-state fee columns follow them).
DMEPOS_COLUMNS: tuple[str, ...] = tuple(c.name for c in _COLS)
#: Canonical columns of :func:`read_rural_zip`.
RURAL_ZIP_COLUMNS: tuple[str, ...] = ("zip", "state", "year_quarter")


def state_columns(df: pd.DataFrame) -> list[str]:
    """The jurisdictions (upper case) whose ``<st>_nr`` and ``<st>_r`` columns *df* has, in order."""
    nr = [c[:-3] for c in df.columns if re.fullmatch(r"[a-z]{2}_nr", str(c))]
    return [s.upper() for s in nr if f"{s}_r" in df.columns]


def _fee_columns(header: list[str], name: str, line: int) -> list[tuple[int, str, str]]:
    """(position, state, "nr"|"r") of every ``<ST> (NR)`` / ``<ST> (R)`` header cell, checked in pairs."""
    found: list[tuple[int, str, str]] = []
    for i, cell in enumerate(header):
        m = _STATE_COL.match(cell)
        if m:
            found.append((i, m.group(1).upper(), m.group(2).lower()))
    seen: dict[tuple[str, str], int] = {}
    for i, st, kind in found:
        if (st, kind) in seen:
            raise CMSFileError(name, f"one '{st} ({kind.upper()})' column", line=line,
                               column=header[i], found=f"columns {seen[(st, kind)] + 1} and {i + 1}")
        seen[(st, kind)] = i
    for _i, st, kind in found:
        other = "r" if kind == "nr" else "nr"
        if (st, other) not in seen:
            raise CMSFileError(name, f"a '{st} ({other.upper()})' column beside '{st} ({kind.upper()})' "
                               "(every jurisdiction has a non-rural and a rural fee)", line=line,
                               column=f"{st} ({other.upper()})", found=[h for h in header if h])
    return found


def _is_header(raw: list[str]) -> bool:
    cells = [norm(c) for c in raw]
    return ("HCPCS" in cells or "HCPCSCODE" in cells) and any(_STATE_COL.match(c) for c in raw)


def read_dmepos(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read a DMEPOS or PEN fee schedule file (CSV, TXT or XLSX) as CMS ships it.

    Returns one row per code and pricing modifiers with the canonical columns of the module
    docstring; fees as printed (not rounded), NaN where a cell is blank.

    Raises
    ------
    CMSFileError
        No header row with ``HCPCS`` and ``<ST> (NR)`` cells; a jurisdiction without both its
        NR and R columns; a data row with a malformed code or modifier, a non-numeric or negative
        fee, ceiling or floor, a floor above its ceiling, cells beyond the header; a code and
        modifiers listed twice with different values. The message names the file, the line and
        the column.
    """
    rows, starts, nm = rows_with_lines(src, name, "a DMEPOS fee schedule with a header row and data")
    hdr = next((i for i, r in enumerate(rows[:200]) if _is_header(r)), None)
    if hdr is None:
        raise CMSFileError(nm, "a DMEPOS header row with 'HCPCS' and '<ST> (NR)' cells",
                           found=f"no such row in the first {min(200, len(rows))} rows")
    header = rows[hdr]
    fees = _fee_columns(header, nm, starts[hdr])
    fee_pos = {i for i, _s, _k in fees}
    # the fixed columns are looked for among the other cells only
    masked = ["" if i in fee_pos else h for i, h in enumerate(header)]
    pos = map_columns(masked, _COLS, nm, starts[hdr])
    for i, st, kind in fees:
        pos[f"{st.lower()}_{kind}"] = i
    first_fee = f"{fees[0][1].lower()}_{fees[0][2]}"
    check_rows(rows, hdr, pos, nm, key="hcpcs", is_key=is_code, data=(first_fee,),
               what="a 5-character HCPCS code", line_of=lambda i: starts[i])
    cols = [Col(k, ["-"]) for k in pos]
    df = build_frame(rows, hdr + 1, pos, cols, nm, keep=lambda d: d["hcpcs"].astype(str).map(is_code))
    set_lines(df, starts)
    if df.empty:
        raise CMSFileError(nm, "fee schedule rows below the header", line=starts[hdr] + 1)
    lines = np.asarray(df.attrs["lines"])
    df["hcpcs"] = code5(df["hcpcs"])
    for c in ("modifier", "modifier2", "jurisdiction", "category", "description"):
        if c not in df:
            df[c] = ""
        elif c.startswith("modifier"):
            df[c] = modifier_text(df[c])
        else:
            df[c] = df[c].astype(str).str.strip()
    for c in ("modifier", "modifier2"):
        bad = first_bad(~df[c].str.fullmatch(r"([A-Z0-9]{2})?").to_numpy(dtype=bool))
        if bad is not None:
            raise CMSFileError(nm, "a two-character modifier or nothing", line=int(lines[bad]), column=c,
                               found=df[c].iloc[bad])
    df["jurisdiction"] = df["jurisdiction"].str.upper()
    df["category"] = df["category"].str.upper()
    fee_cols = [f"{st.lower()}_{kind}" for _i, st, kind in fees]
    for c in ("ceiling", "floor", *fee_cols):
        if c in df:
            df[c] = to_float(df[c], name=nm, column=c, lines=lines, money=True, negative_ok=False)
        else:
            df[c] = np.nan
    inverted = first_bad((df["floor"] > df["ceiling"]).to_numpy())
    if inverted is not None:
        raise CMSFileError(nm, "a floor not above the ceiling", line=int(lines[inverted]), column="floor",
                           found=f"floor {df['floor'].iloc[inverted]} > ceiling {df['ceiling'].iloc[inverted]}")
    order = list(DMEPOS_COLUMNS)
    for _i, st, _k in fees:
        for kind in ("nr", "r"):
            c = f"{st.lower()}_{kind}"
            if c not in order:
                order.append(c)
    attrs = dict(df.attrs)
    df = df[order].copy()
    df.attrs.update(attrs)
    df = drop_duplicates(df, ["hcpcs", "modifier", "modifier2"], nm,
                         "one row per code, Mod and Mod2")
    title = " ".join(" ".join(r[0].split()) for r in rows[:hdr] if r and r[0])
    df.attrs["title"] = title
    # cells of the title block beside the title, e.g. "*** Non-continental areas *** (Not subject
    # to ceiling and floor)" above the AK/HI/PR/VI columns
    df.attrs["notes"] = " ".join(" ".join(c.split()) for r in rows[:hdr] for c in r[1:] if c)
    m = _PERIOD.search(title)
    df.attrs["period"] = f"{m.group(1).title()} {m.group(2)}" if m else ""
    df.attrs["states"] = [st for st in dict.fromkeys(st for _i, st, _k in fees)]
    return df


#: The PEN fee schedule has the DMEPOS layout without JURIS, CATG, ceiling and floor.
read_pen = read_dmepos


_RZ_COLS: tuple[Col, ...] = (
    Col("state", ["STATE", "ST"]),
    Col("zip", lambda h: "ZIP" in h),
    Col("year_quarter", ["YEARQTR", "YEARQUARTER", "YRQTR"], required=False),
)


def read_rural_zip(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read CMS's DMEPOS rural ZIP code file (CSV, tab-delimited TXT or XLSX).

    The header is the row with a ``STATE`` cell and a cell naming a ZIP code (``DMEPOS RURAL ZIP
    CODE``); ``YEAR/QTR`` is kept when present. ZIP codes are read as 5-digit text (a spreadsheet's
    ``1001`` is ``01001``). Returns columns ``zip``, ``state``, ``year_quarter``, one row per
    ZIP and state (exact duplicates dropped).

    Raises
    ------
    CMSFileError
        No such header row; a data row whose ZIP is not 1 to 5 digits (a ZIP+4 ``12345-6789`` is
        read as its first five) or whose state is not two letters; no rows.
    """
    rows, starts, nm = rows_with_lines(src, name, "a DMEPOS rural ZIP code file with a header row and data")

    def is_header(cells: list[str]) -> bool:
        return any(c in ("STATE", "ST") for c in cells) and any("ZIP" in c for c in cells)

    hdr = next((i for i, r in enumerate(rows[:200]) if is_header([norm(c) for c in r])), None)
    if hdr is None:
        raise CMSFileError(nm, "a header row with 'STATE' and 'DMEPOS RURAL ZIP CODE' cells",
                           found=f"no such row in the first {min(200, len(rows))} rows")
    pos = map_columns(rows[hdr], _RZ_COLS, nm, starts[hdr])
    zip_rx = re.compile(r"\d{1,5}(\.0)?|\d{5}-?\d{4}")
    check_rows(rows, hdr, pos, nm, key="zip", is_key=lambda c: zip_rx.fullmatch(c) is not None,
               data=("state",), what="a ZIP code of 5 digits", line_of=lambda i: starts[i])
    df = build_frame(rows, hdr + 1, pos, list(_RZ_COLS), nm,
                     keep=lambda d: d["zip"].astype(str).str.strip().ne("") | d["state"].astype(str).str.strip().ne(""))
    set_lines(df, starts)
    lines = np.asarray(df.attrs["lines"])
    z = df["zip"].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    ok = z.str.fullmatch(r"\d{1,5}|\d{5}-?\d{4}").to_numpy(dtype=bool)
    bad = first_bad(~ok)
    if bad is not None:
        raise CMSFileError(nm, "a ZIP code of 5 digits", line=int(lines[bad]), column="zip",
                           found=df["zip"].iloc[bad])
    df["zip"] = z.str[:5].str.zfill(5).where(z.str.len() <= 5, z.str[:5])
    df["state"] = df["state"].astype(str).str.strip().str.upper()
    bad = first_bad(~df["state"].str.fullmatch(r"[A-Z]{2}").to_numpy(dtype=bool))
    if bad is not None:
        raise CMSFileError(nm, "a two-letter state", line=int(lines[bad]), column="state",
                           found=df["state"].iloc[bad])
    if "year_quarter" not in df:
        df["year_quarter"] = ""
    df["year_quarter"] = df["year_quarter"].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    if df.empty:
        raise CMSFileError(nm, "ZIP code rows below the header", line=starts[hdr] + 1)
    attrs = dict(df.attrs)
    df = df[list(RURAL_ZIP_COLUMNS)].copy()
    df.attrs.update(attrs)
    return drop_duplicates(df, ["zip", "state"], nm, "one row per ZIP code and state")
