"""Reader for the locality/county crosswalk (``yyLOCCO.csv``).

Source: CMS, RVUyyX zip, member ``yyLOCCO`` ("Counties included in yyyy
localities"). The state appears only on the first row of each state and is
filled down here; blank ``,,,,`` rows separate records; MAC and locality may be
unpadded numbers (``2102``, ``0``), padded here to ``02102`` / ``00``.
"""

from __future__ import annotations

import re

import pandas as pd

from ..errors import CMSFileError
from ._common import Col, Source, build_frame, check_rows, find_header, load_rows, map_columns, zpad

COLUMNS: tuple[Col, ...] = (
    Col("mac", lambda h: "CONTRACTOR" in h or h in ("MAC", "CARRIER")),
    Col("locality", ["LOCALITYNUMBER", "LOCALITY"]),
    Col("state", ["STATE"]),
    Col("area_name", ["FEESCHEDULEAREA", "LOCALITYNAME"]),
    Col("counties", ["COUNTIES"]),
)


def read_locco(src: Source, name: str | None = None, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read the locality→county list: one row per locality.

    Columns ``locality_id`` (``"01182-18"``), ``mac``, ``locality``,
    ``state`` (full name, filled down), ``area_name``, ``counties``.
    """
    rows, nm = load_rows(src, name, sheet=sheet)
    hdr = find_header(rows, lambda c: "COUNTIES" in c and any("CONTRACTOR" in x for x in c),
                      nm, "a header row with 'Contractor', 'Locality Number' and 'Counties'")
    pos = map_columns(rows[hdr], COLUMNS, nm, hdr + 1)
    check_rows(rows, hdr, pos, nm, key="mac", is_key=lambda c: re.fullmatch(r"\d{3,5}", c) is not None,
               data=("locality", "counties"), what="a MAC number (3-5 digits)")
    df = build_frame(rows, hdr + 1, pos, COLUMNS, nm,
                     keep=lambda d: d["mac"].astype(str).str.strip().str.fullmatch(r"\d{3,5}"))
    if df.empty:
        raise CMSFileError(nm, "locality rows below the header", line=hdr + 2)
    df["state"] = df["state"].replace("", pd.NA).ffill().fillna("")
    df["mac"] = zpad(df["mac"], 5)
    df["locality"] = zpad(df["locality"], 2)
    df.insert(0, "locality_id", df["mac"] + "-" + df["locality"])
    return df[["locality_id", "mac", "locality", "state", "area_name", "counties"]]
