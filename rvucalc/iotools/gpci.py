"""Reader for the GPCI file (``GPCIyyyy.csv``; Addendum E of the PFS final rule).

Source: CMS, RVUyyX zip, member ``GPCIyyyy`` ("Addendum E. Final CY yyyy
Geographic Practice Cost Indices (GPCIs) by State and Medicare Locality").
A title row and a blank row precede the header; footnotes follow the data.
Two variants exist: 7 columns (one work GPCI, with the 1.0 floor) and 8
columns (CY2026 January: work GPCI without and with the 1.0 floor). Locality
names carry footnote asterisks (``ALASKA*``), which are removed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import CMSFileError
from ._common import (
    Col,
    Source,
    drop_duplicates,
    read_locality_table,
)


def _has(word: str):
    return lambda h: word in h


COLUMNS: tuple[Col, ...] = (
    Col("mac", lambda h: h.startswith("MEDICAREADMINISTRATIVECONTRACTOR") or h in ("MAC", "CONTRACTOR", "CARRIER")),
    Col("state", ["STATE"]),
    Col("locality", ["LOCALITYNUMBER", "LOCALITY"]),
    Col("locality_name", ["LOCALITYNAME"]),
    Col("work_gpci_no_floor", lambda h: "PWGPCI" in h and "WITHOUT" in h, "float", required=False),
    Col("work_gpci", lambda h: ("PWGPCI" in h or "WORKGPCI" in h) and "WITHOUT" not in h, "float"),
    Col("pe_gpci", _has("PEGPCI"), "float"),
    Col("mp_gpci", _has("MPGPCI"), "float"),
)


def read_gpci(src: Source, name: str | None = None, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a GPCI file into one row per locality.

    Returns columns ``mac`` (5-digit text), ``locality`` (2-digit text),
    ``locality_id`` (``"01182-18"``), ``state``, ``locality_name``,
    ``work_gpci`` (with the 1.0 floor where CMS applies it),
    ``work_gpci_no_floor`` (equal to ``work_gpci`` where the file has only one
    work column), ``pe_gpci``, ``mp_gpci`` and ``has_floor_variants``.
    """
    df, _, _, _, nm = read_locality_table(
        src, name, COLUMNS, sheet=sheet, is_header=lambda c: "STATE" in c and any("GPCI" in x for x in c),
        header_what="a header row with 'Locality' and 'GPCI' columns (Addendum E layout)",
        data=("work_gpci", "pe_gpci", "mp_gpci"))
    for c in ("work_gpci", "pe_gpci", "mp_gpci", "work_gpci_no_floor"):
        blank = df[c].isna().to_numpy() if c in df else np.zeros(len(df), dtype=bool)
        if blank.any():  # every locality has every GPCI (Addendum E)
            i = int(np.flatnonzero(blank)[0])
            raise CMSFileError(nm, "a GPCI value", line=int(df.attrs["lines"][i]), column=c, found="")
    df["locality_name"] = df["locality_name"].str.rstrip("*").str.strip()
    df["has_floor_variants"] = "work_gpci_no_floor" in df
    if "work_gpci_no_floor" not in df:
        df["work_gpci_no_floor"] = df["work_gpci"]
    df = drop_duplicates(df, ["locality_id"], nm, "one row per MAC and locality")
    return df[["locality_id", "mac", "locality", "state", "locality_name", "work_gpci",
               "work_gpci_no_floor", "pe_gpci", "mp_gpci", "has_floor_variants"]]
