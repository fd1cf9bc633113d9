"""Reader for the OPPS imaging cap file (``OPPSCAP_*.csv``) in the RVU zip.

Source: CMS, RVUyyX zip, member ``OPPSCAP``: "payment amounts after the
application of the OPPS based payment caps, except for carrier priced codes.
For carrier price codes, the field only contains the OPPS based payment caps."
Columns HCPCS, MOD, PROCSTAT, CARRIER, LOCALITY, FACILITY PRICE,
NON-FACILTY PRICE (CMS's spelling).
"""

from __future__ import annotations

import re

import pandas as pd

from ..errors import CMSFileError
from ._common import (
    Col,
    Source,
    build_frame,
    check_rows,
    drop_duplicates,
    find_header,
    is_hcpcs,
    load_rows,
    map_columns,
    zpad,
)

COLUMNS: tuple[Col, ...] = (
    Col("hcpcs", ["HCPCS"]),
    Col("modifier", ["MOD", "MODIFIER"]),
    Col("status", ["PROCSTAT", "STATUS"]),
    Col("mac", ["CARRIER", "MAC"]),
    Col("locality", ["LOCALITY"]),
    Col("facility_price", ["FACILITYPRICE"], "money"),
    Col("nonfacility_price", ["NONFACILTYPRICE", "NONFACILITYPRICE"], "money"),
)


def read_oppscap(src: Source, name: str | None = None, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read OPPSCAP: one row per HCPCS + modifier + carrier/locality with CMS's capped prices."""
    rows, nm = load_rows(src, name, sheet=sheet)
    hdr = find_header(rows, lambda c: "HCPCS" in c and "PROCSTAT" in c, nm,
                      "a header row with 'HCPCS' and 'PROCSTAT'")
    pos = map_columns(rows[hdr], COLUMNS, nm, hdr + 1)
    check_rows(rows, hdr, pos, nm, key="hcpcs",
               is_key=lambda c: re.fullmatch(r"[A-Z0-9]{5}", c.upper()) is not None,
               data=("facility_price", "nonfacility_price"), what="a 5-character HCPCS code")
    df = build_frame(rows, hdr + 1, pos, COLUMNS, nm, keep=lambda d: is_hcpcs(d["hcpcs"]))
    if df.empty:
        raise CMSFileError(nm, "rows below the header", line=hdr + 2)
    df["mac"] = zpad(df["mac"], 5)
    df["locality"] = zpad(df["locality"], 2)
    df["locality_id"] = df["mac"] + "-" + df["locality"]
    df = drop_duplicates(df, ["hcpcs", "modifier", "locality_id"], nm,
                         "one row per HCPCS, modifier, carrier and locality")
    return df[["hcpcs", "modifier", "status", "mac", "locality", "locality_id",
               "facility_price", "nonfacility_price"]]
