"""Reader for CMS's anesthesia base units by CPT code (``YYYY Anesthesia Base Units by CPT Code``).

Source: CMS, Physician Fee Schedule "Anesthesiologists Center" page, file
"Anesthesia Base Units by CPT Code" (a zip holding one .xlsx, older years a
.csv): a few title lines, then a header row with the code column (``CPT Code``)
and the base units column (``Base Unit(s)``), one row per anesthesia code
00100-01999. CMS communicates base units to the MACs "by means of the HCPCS
file released annually" (Claims Processing Manual ch.12 s.50); this file is
the public copy. The header is found by its content, not by its line.
"""

from __future__ import annotations

import pandas as pd

from ..errors import CMSFileError
from ._common import (
    Col,
    Source,
    build_frame,
    drop_duplicates,
    find_header,
    is_hcpcs,
    load_rows,
    map_columns,
)

COLUMNS: tuple[Col, ...] = (
    Col("hcpcs", lambda h: h in ("CPT", "CPTCODE", "CODE", "HCPCS", "HCPCSCODE", "ANESTHESIACODE")),
    Col("base_units", lambda h: h.startswith("BASEUNIT") or h in ("BASE", "UNITS", "BASEVALUE"), "float"),
)


def read_anes_base(src: Source, name: str | None = None, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read base units: ``hcpcs`` (5-character text) and ``base_units`` (float, not negative).

    Rows whose code cell is not HCPCS-shaped (titles, notes, blank lines) are
    skipped; a HCPCS-shaped row without a number raises :class:`CMSFileError`
    naming the file, line and column; two different values for one code too.
    """
    rows, nm = load_rows(src, name, sheet=sheet)
    hdr = find_header(rows, lambda c: any(x.startswith("BASEUNIT") or x == "BASE" for x in c)
                      and any(x in ("CPT", "CPTCODE", "CODE", "HCPCS", "HCPCSCODE", "ANESTHESIACODE") for x in c),
                      nm, "a header row with a CPT code column and a 'Base Unit' column")
    pos = map_columns(rows[hdr], COLUMNS, nm, hdr + 1)
    df = build_frame(rows, hdr + 1, pos, COLUMNS, nm,
                     keep=lambda d: is_hcpcs(d["hcpcs"]) | d["hcpcs"].astype(str).str.strip().str.fullmatch(r"\d{3,4}"))
    df["hcpcs"] = df["hcpcs"].str.upper().str.zfill(5)
    lines = df.attrs["lines"]
    miss = df["base_units"].isna() | (df["base_units"] < 0)
    if miss.any():
        i = int(miss.to_numpy().argmax())
        raise CMSFileError(nm, "a base unit count (a number, not negative)", line=int(lines[i]),
                           column="base_units", found=rows[int(lines[i]) - 1][pos["base_units"]]
                           if len(rows[int(lines[i]) - 1]) > pos["base_units"] else "")
    df = drop_duplicates(df, ["hcpcs"], nm, "one row per code")
    out = df[["hcpcs", "base_units"]].reset_index(drop=True)
    out.attrs["source"] = nm
    return out


__all__ = ["read_anes_base"]
