"""Reader for the locality/county crosswalk (``yyLOCCO.csv``).

Source: CMS, RVUyyX zip, member ``yyLOCCO`` ("Counties included in yyyy
localities"). The state appears only on the first row of each state and is
filled down here; blank ``,,,,`` rows separate records; MAC and locality may be
unpadded numbers (``2102``, ``0``), padded here to ``02102`` / ``00``.
"""

from __future__ import annotations

import pandas as pd

from ._common import Col, Source, read_locality_table

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
    df, _, _, _, _ = read_locality_table(
        src, name, COLUMNS, sheet=sheet, mac_digits="3,5",
        is_header=lambda c: "COUNTIES" in c and any("CONTRACTOR" in x for x in c),
        header_what="a header row with 'Contractor', 'Locality Number' and 'Counties'",
        data=("locality", "counties"))
    df["state"] = df["state"].replace("", pd.NA).ffill().fillna("")
    return df[["locality_id", "mac", "locality", "state", "area_name", "counties"]]
