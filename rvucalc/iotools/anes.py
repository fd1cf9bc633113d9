"""Reader for the anesthesia conversion factors (``ANESyyyy.csv``).

Source: CMS, RVUyyX zip, member ``ANESyyyy``. One row per locality with the
locality-adjusted anesthesia CF; CY2026 has two CF columns (qualifying APM
participants and non-qualifying), CY2025 one. Cells carry trailing spaces.
"""

from __future__ import annotations

import re

import pandas as pd

from ._common import (
    Col,
    Source,
    drop_duplicates,
    read_locality_table,
)

COLUMNS: tuple[Col, ...] = (
    Col("mac", ["CONTRACTOR", "MAC", "CARRIER"]),
    Col("locality", ["LOCALITY", "LOCALITYNUMBER"]),
    Col("locality_name", ["LOCALITYNAME"]),
    Col("anes_cf_qp", lambda h: "ANESCF" in h and h.startswith("QUALIFYING"), "float", required=False),
    Col("anes_cf", lambda h: "ANESCF" in h and not h.startswith("QUALIFYING"), "float"),
)


def read_anes(src: Source, name: str | None = None, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read anesthesia CFs: ``locality_id``, ``mac``, ``locality``, ``locality_name``,
    ``anes_cf`` (non-QP, or the only CF) and ``anes_cf_qp`` (NaN where absent).

    ``df.attrs['national_cf']`` (and ``national_cf_qp``) hold the national
    anesthesia CFs printed in the header text.
    """
    df, rows, hdr, pos, nm = read_locality_table(
        src, name, COLUMNS, sheet=sheet, is_header=lambda c: any("ANESCF" in x for x in c),
        header_what="a header row with an 'Anes CF' column", data=("anes_cf", "anes_cf_qp"))
    df["locality_name"] = df["locality_name"].str.rstrip("*").str.strip()
    if "anes_cf_qp" not in df:
        df["anes_cf_qp"] = float("nan")
    df = drop_duplicates(df, ["locality_id"], nm, "one row per contractor and locality")
    out = df[["locality_id", "mac", "locality", "locality_name", "anes_cf", "anes_cf_qp"]].copy()
    for key, idx in (("national_cf", pos["anes_cf"]), ("national_cf_qp", pos.get("anes_cf_qp"))):
        if idx is None:
            continue
        m = re.search(r"of\s+([\d.]+)", rows[hdr][idx])
        if m:
            out.attrs[key] = float(m.group(1))
    return out
