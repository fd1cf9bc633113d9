"""Reader for CMS's ZIP code to carrier locality file (ZIP5).

Source: CMS, "Zip Code to Carrier Locality File", quarterly zip with
``ZIP5_<MON><YYYY>.txt`` (fixed width, no header, 80-character records) and
its layout ``ZIP5lyout.txt``; CMS also publishes the same records as an XLSX
with a header row (``STATE, ZIP CODE, CARRIER, LOCALITY, ...``).

Fixed-width layout (1-based, from ``ZIP5lyout.txt``): State 1-2, ZIP 3-7,
Carrier 8-12, Pricing Locality 13-14, Rural Indicator 15 (blank/R/B), Lab CB
Locality 16-17, Rural Indicator2 18, Plus Four Flag 21, Part B Payment
Indicator 23, Year/Quarter 76-80.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import CMSFileError
from ._common import (
    Col,
    Lines,
    Source,
    build_frame,
    check_rows,
    drop_duplicates,
    find_header,
    load_rows,
    map_columns,
    read_bytes,
    source_name,
    zpad,
)

FIXED_WIDTH: dict[str, tuple[int, int]] = {
    "state": (1, 2), "zip": (3, 7), "mac": (8, 12), "locality": (13, 14),
    "rural_ind": (15, 15), "lab_cb_locality": (16, 17), "rural_ind2": (18, 18),
    "plus4_flag": (21, 21), "part_b_drug_ind": (23, 23), "year_qtr": (76, 80),
}

COLUMNS: tuple[Col, ...] = (
    Col("state", ["STATE"]),
    Col("zip", ["ZIPCODE", "ZIP"]),
    Col("mac", ["CARRIER", "MAC"]),
    Col("locality", ["LOCALITY", "PRICINGLOCALITY"]),
    Col("rural_ind", ["RURALIND", "RURALINDICATOR"], required=False),
    Col("lab_cb_locality", ["LABCBLOCALITY"], required=False),
    Col("rural_ind2", ["RURALIND2", "RURALINDICATOR2"], required=False),
    Col("plus4_flag", ["PLUS4FLAG", "PLUSFOURFLAG"], required=False),
    Col("part_b_drug_ind", ["PARTBDRUGINDICATOR", "PARTBPAYMENTINDICATOR"], required=False),
    Col("year_qtr", ["YEARQTR", "YEARQUARTER"], required=False),
)

#: Length of a fixed-width record (``ZIP5lyout.txt``).
RECORD_LENGTH = 80

OUT = ["zip", "state", "mac", "locality", "locality_id", "rural_ind", "lab_cb_locality",
       "rural_ind2", "plus4_flag", "part_b_drug_ind", "year_qtr"]


def read_zip5(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read a ZIP5 file (fixed-width TXT or XLSX) into one row per ZIP code.

    Columns: ``zip`` (5-digit text), ``state``, ``mac`` (5-digit), ``locality``
    (2-digit), ``locality_id`` (``"01182-18"``), ``rural_ind``, ... ,
    ``year_qtr`` (``"20254"``).
    """
    nm = source_name(src, name)
    data = read_bytes(src, nm)
    if data[:2] == b"PK":
        rows, nm = load_rows(data, nm)
        hdr = find_header(rows, lambda c: "ZIPCODE" in c or ("ZIP" in c and "CARRIER" in c), nm,
                          "a header row with 'ZIP CODE' and 'CARRIER'")
        pos = map_columns(rows[hdr], COLUMNS, nm, hdr + 1)
        check_rows(rows, hdr, pos, nm, key="zip", is_key=lambda c: re.fullmatch(r"\d{3,5}", c) is not None,
                   data=("mac", "locality"), what="a ZIP code (5 digits)")
        df = build_frame(rows, hdr + 1, pos, COLUMNS, nm,
                         keep=lambda d: d["zip"].astype(str).str.strip().str.fullmatch(r"\d{3,5}"))
        for c in FIXED_WIDTH:
            if c not in df:
                df[c] = ""
        df["zip"] = zpad(df["zip"], 5)
    else:
        text = data.decode("latin-1")
        recs = [ln for ln in text.splitlines()]
        keep = np.array([bool(r.strip()) for r in recs])
        lines = np.flatnonzero(keep) + 1
        s = pd.Series([r for r, k in zip(recs, keep) if k], dtype=object)
        if s.empty:
            raise CMSFileError(nm, "ZIP5 records", found="an empty file")
        df = pd.DataFrame({c: s.str.slice(a - 1, b).str.strip() for c, (a, b) in FIXED_WIDTH.items()})
        bad = ~df["zip"].str.fullmatch(r"\d{5}") | ~df["mac"].str.fullmatch(r"\d{5}")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise CMSFileError(nm, "a ZIP5 record (ZIP in positions 3-7, carrier in 8-12)",
                               line=int(lines[i]), found=s.iloc[i][:20])
        # ZIP5lyout.txt: 80-character records ending with the year/quarter (76-80);
        # a shorter one was cut (a truncated download or copy).
        short = (s.str.len() < RECORD_LENGTH).to_numpy()
        if short.any():
            i = int(np.flatnonzero(short)[0])
            raise CMSFileError(nm, f"a {RECORD_LENGTH}-character ZIP5 record (year/quarter in positions 76-80)",
                               line=int(lines[i]), column="year_qtr", found=f"{len(s.iloc[i])} characters")
        df.attrs["lines"] = Lines(lines)
    df["mac"] = zpad(df["mac"], 5)
    df["locality"] = zpad(df["locality"], 2)
    df["locality_id"] = df["mac"] + "-" + df["locality"]
    df = drop_duplicates(df, ["zip"], nm, "one row per ZIP code")
    out = df[OUT].reset_index(drop=True)
    out.attrs["source"] = nm
    return out
