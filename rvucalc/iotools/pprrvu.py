"""Reader for the PFS relative value file (PPRRVU) in CMS's RVUyyX zip.

Source document: CMS, *National Physician Fee Schedule Relative Value File,
Calendar Year 2026* (the RVU26A record layout shipped as ``RVU26A.docx`` in
``RVU26A.zip``). CMS ships the same table three ways in that zip:

* ``PPRRVU26_*.csv`` - comma separated, a preamble (title, AMA/ADA notices,
  release date), then a header of several stacked rows whose cells read
  top-to-bottom ("WORK" over "RVU"), then one row per HCPCS + modifier;
* ``PPRRVU26_*.txt`` - fixed width, 200-character records after ``HDR``
  records, positions as in the record layout (see :data:`FIXED_WIDTH`);
* ``PPRRVU26_*.xlsx`` - the CSV's rows in a worksheet.

Columns are mapped by header text, never by position: the CY2025 file has 31
columns and CY2026 adds ``PRIC IND`` (32). Codes and indicators stay text
(``"000"``, ``"XXX"``, ``"09"``); RVUs and OPPS-cap amounts are floats.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import CMSFileError
from ._common import (
    Col,
    Lines,
    Source,
    build_frame,
    check_rows,
    is_hcpcs,
    load_rows,
    map_columns,
    norm,
    read_bytes,
    source_name,
)

#: Canonical column -> accepted normalised header texts (see ``_common.norm``).
COLUMNS: tuple[Col, ...] = (
    Col("hcpcs", ["HCPCS", "HCPCSCODE"]),
    Col("modifier", ["MOD", "MODIFIER"]),
    Col("description", ["DESCRIPTION"], required=False),
    Col("status", ["STATUSCODE", "STATUS"]),
    Col("not_used_for_medicare", ["NOTUSEDFORMEDICAREPAYMENT"], required=False),
    Col("work_rvu", ["WORKRVU", "WORKRVUS"], "float"),
    Col("pe_nonfacility", ["NONFACPERVU", "NONFACILITYPERVU", "FULLYIMPLEMENTEDNONFACILITYPERVU"], "float"),
    Col("na_nonfacility", ["NONFACNAINDICATOR", "NONFACILITYNAINDICATOR"]),
    Col("pe_facility", ["FACILITYPERVU", "FULLYIMPLEMENTEDFACILITYPERVU"], "float"),
    Col("na_facility", ["FACILITYNAINDICATOR"]),
    Col("mp_rvu", ["MPRVU", "MALPRACTICERVU"], "float"),
    Col("total_nonfacility", ["NONFACILITYTOTAL", "TOTALNONFACILITYRVUS"], "float"),
    Col("total_facility", ["FACILITYTOTAL", "TOTALFACILITYRVUS"], "float"),
    Col("pctc", ["PCTCIND", "PCTCINDICATOR"]),
    Col("global_days", ["GLOBDAYS", "GLOBALSURGERY", "GLOBALDAYS"]),
    Col("preop", ["PREOP"], "float", required=False),
    Col("intraop", ["INTRAOP"], "float", required=False),
    Col("postop", ["POSTOP"], "float", required=False),
    Col("mult_proc", ["MULTPROC"]),
    Col("bilat_surg", ["BILATSURG"]),
    Col("asst_surg", ["ASSTSURG"]),
    Col("co_surg", ["COSURG"]),
    Col("team_surg", ["TEAMSURG"]),
    Col("pricing_ind", ["PRICIND", "PRICINGINDICATOR"], required=False),
    Col("endo_base", ["ENDOBASE", "ENDOSCOPICBASECODE"]),
    Col("conversion_factor", ["CONVFACTOR", "CONVERSIONFACTOR"], "float"),
    Col("phys_supervision", ["PHYSICIANSUPERVISIONOFDIAGNOSTICPROCEDURES"], required=False),
    Col("calc_flag", ["CALCULATIONFLAG", "DIAGNOSTICIMAGINGCALCULATIONFLAG"], required=False),
    Col("imaging_family", ["DIAGNOSTICIMAGINGFAMILYINDICATOR", "DIAGNOSTICFAMILYIMAGINGINDICATOR"]),
    Col("opps_pe_nonfacility", ["NONFACILITYPEUSEDFOROPPSPAYMENTAMOUNT"], "float"),
    Col("opps_pe_facility", ["FACILITYPEUSEDFOROPPSPAYMENTAMOUNT"], "float"),
    Col("opps_mp", ["MPUSEDFOROPPSPAYMENTAMOUNT", "MALPRACTICEUSEDFOROPPSPAYMENTAMOUNT"], "float"),
)

FLOAT_COLUMNS = [c.name for c in COLUMNS if c.kind == "float"]

#: Fixed-width record layout of the ``.txt`` member (1-based inclusive
#: positions) from the CY2026 RVU file documentation.
FIXED_WIDTH: dict[str, tuple[int, int]] = {
    "hcpcs": (1, 5), "modifier": (6, 7), "description": (8, 57), "status": (58, 58),
    "work_rvu": (60, 65), "pe_nonfacility": (67, 72), "na_nonfacility": (73, 74),
    "pe_facility": (76, 81), "na_facility": (82, 83), "mp_rvu": (85, 89),
    "total_nonfacility": (91, 96), "total_facility": (97, 102), "pctc": (103, 103),
    "global_days": (104, 106), "preop": (107, 109), "intraop": (110, 112), "postop": (113, 115),
    "mult_proc": (116, 116), "bilat_surg": (117, 117), "asst_surg": (118, 118),
    "co_surg": (119, 119), "team_surg": (120, 120), "pricing_ind": (121, 121),
    "endo_base": (128, 132), "conversion_factor": (133, 140), "phys_supervision": (142, 143),
    "calc_flag": (144, 144), "imaging_family": (146, 147), "opps_pe_nonfacility": (152, 157),
    "opps_pe_facility": (159, 164), "opps_mp": (166, 171),
}


def _is_header(cells: list[str]) -> bool:
    return len(cells) > 5 and cells[0] in ("HCPCS", "HCPCSCODE") and cells[1] in ("MOD", "MODIFIER")


def _stack_header(rows: Sequence[Sequence[str]], last: int) -> list[str]:
    """Join the stacked header rows above *last* (inclusive) column by column.

    CMS writes "WORK" above "RVU" and "NON-FACILITY" above "PE USED FOR OPPS
    PAYMENT AMOUNT". Rows above the header block (title, notices, the release
    date) are separated from it by a blank row or contain digits, so climbing
    stops at the first row that is blank or has a digit in any cell.
    """
    block = [list(rows[last])]
    i = last - 1
    while i >= 0:
        row = rows[i]
        if not any(c.strip() for c in row) or any(ch.isdigit() for c in row for ch in c):
            break
        block.insert(0, list(row))
        i -= 1
    width = max(len(r) for r in block)
    return [" ".join(r[j].strip() for r in block if j < len(r) and r[j].strip()) for j in range(width)]


def _finish(df: pd.DataFrame, name: str) -> pd.DataFrame:
    lines = np.asarray(df.attrs.get("lines", ()), dtype=np.int64)
    if len(lines) != len(df):
        lines = None
    df["hcpcs"] = df["hcpcs"].str.upper()
    df["modifier"] = df["modifier"].str.upper()
    for c in ("status", "na_nonfacility", "na_facility", "global_days"):
        df[c] = df[c].str.upper()
    for c in ("pricing_ind", "not_used_for_medicare", "phys_supervision", "calc_flag", "description", "preop",
              "intraop", "postop"):
        if c not in df:
            df[c] = "" if c not in ("preop", "intraop", "postop") else np.nan
    bad = ~df["status"].str.fullmatch(r"[A-Z]")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CMSFileError(name, "a one-letter status code", line=int(lines[i]) if lines is not None else None,
                           column="status", found=df["status"].iloc[i])
    key = df["hcpcs"] + df["modifier"]
    dup = key.duplicated(keep=False)
    if dup.any():
        d = df[dup]
        first_key = key[dup].iloc[0]
        same = d[key[dup] == first_key]
        idx = np.flatnonzero(dup.to_numpy() & (key == first_key).to_numpy())
        ln = [int(lines[j]) for j in idx] if lines is not None else []
        if len(same.drop_duplicates()) > 1:
            raise CMSFileError(name, "one row per HCPCS and modifier", line=ln[1] if ln else None,
                               column="hcpcs", found=f"{first_key} again (also on line {ln[0] if ln else '?'})")
        keep_mask = ~df.duplicated()
        df = df[keep_mask].reset_index(drop=True)
        if lines is not None:
            lines = lines[keep_mask.to_numpy()]
    _check_totals(df, name, lines)
    cols = [c.name for c in COLUMNS]
    out = df[cols].copy()
    out.attrs["lines"] = Lines(lines if lines is not None else [])
    out.attrs["source"] = name
    return out


#: Largest accepted difference between a printed total and the sum of its printed parts. CMS
#: prints every RVU with 2 decimals; a one-hundredth rounding difference is tolerated. (Every
#: row of PPRRVU2026_Jul_nonQPP.csv and PPRRVU2025_Oct.csv adds up exactly.)
TOTAL_TOLERANCE = 0.011


def _check_totals(df: pd.DataFrame, name: str, lines: np.ndarray | None) -> None:
    """Total RVUs = work + PE + MP RVUs, in each setting, on every row.

    RVU file documentation (RVU26A, record layout): "Non-facility total" is the
    sum of work, non-facility PE and MP RVUs, "Facility total" that of work,
    facility PE and MP RVUs. A row that does not add up was damaged or edited
    (or its columns shifted): :class:`CMSFileError` names the line and column.
    """
    for total, pe in (("total_nonfacility", "pe_nonfacility"), ("total_facility", "pe_facility")):
        parts = df["work_rvu"].to_numpy(float) + df[pe].to_numpy(float) + df["mp_rvu"].to_numpy(float)
        tot = df[total].to_numpy(float)
        bad = ~(np.abs(parts - tot) <= TOTAL_TOLERANCE)
        both_nan = np.isnan(parts) & np.isnan(tot)
        bad &= ~both_nan
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            r = df.iloc[i]
            raise CMSFileError(
                name, f"{total} = work_rvu + {pe} + mp_rvu (CMS's RVU file layout; within "
                f"{TOTAL_TOLERANCE:g} for rounding)", line=int(lines[i]) if lines is not None else None,
                column=total,
                found=f"{r['hcpcs']}{'-' + r['modifier'] if r['modifier'] else ''}: {tot[i]:g}, but "
                      f"{r['work_rvu']:g} + {r[pe]:g} + {r['mp_rvu']:g} = {parts[i]:.2f}")


def read_pprrvu(src: Source, name: str | None = None, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a PPRRVU file (CSV, fixed-width TXT or XLSX) into a typed table.

    Parameters
    ----------
    src:
        Path, bytes or binary file of the member file as CMS ships it.
    name:
        Name to use in error messages (defaults to the path).

    Returns
    -------
    DataFrame with one row per HCPCS + modifier and the canonical columns of
    :data:`COLUMNS` (``hcpcs``, ``modifier``, ``status``, ``work_rvu``,
    ``pe_nonfacility``, ``pe_facility``, ``mp_rvu``, ``conversion_factor``,
    indicators as text, ...). ``df.attrs['source']`` names the file and
    ``df.attrs['lines']`` holds each row's line in it.

    Raises
    ------
    CMSFileError
        The header cannot be found, a required column is missing, an RVU is
        not a number, a status is not a letter, a total RVU is not work + PE
        + MP RVUs, or a HCPCS + modifier repeats with different values.
    """
    nm = source_name(src, name)
    data = read_bytes(src, nm)
    if data[:2] != b"PK" and _looks_fixed_width(data):
        return read_pprrvu_fixed(data, nm)
    rows, nm = load_rows(data, nm, sheet=sheet)
    hdr = _find_header(rows, nm)
    header = _stack_header(rows, hdr)
    pos = map_columns(header, COLUMNS, nm, hdr + 1)
    check_rows(rows, hdr, pos, nm, key="hcpcs", is_key=_is_code, data=("status", "work_rvu", "conversion_factor"),
               what="a 5-character HCPCS code", header_width=max(i + 1 for i, c in enumerate(header) if c))
    df = build_frame(rows, hdr + 1, pos, COLUMNS, nm,
                     keep=lambda d: is_hcpcs(d["hcpcs"]), min_fields=max(pos.values()) + 1)
    if df.empty:
        raise CMSFileError(nm, "at least one HCPCS row after the header", line=hdr + 2)
    return _finish(df, nm)


def _is_code(cell: str) -> bool:
    return re.fullmatch(r"[A-Z0-9]{5}", cell.upper()) is not None


def _find_header(rows: Sequence[Sequence[str]], nm: str) -> int:
    for i, row in enumerate(rows[:200]):
        if _is_header([norm(c) for c in row]):
            return i
    raise CMSFileError(nm, "a header row starting with 'HCPCS', 'MOD' (PPRRVU layout)",
                       found=f"none in the first {min(200, len(rows))} rows")


def _looks_fixed_width(data: bytes) -> bool:
    head = data[:5000].decode("latin-1")
    lines = [ln for ln in head.splitlines() if ln.strip()]
    return bool(lines) and all("," not in ln and "\t" not in ln for ln in lines[:5]) and any(
        ln.startswith("HDR") or len(ln) >= 150 for ln in lines[:5])


def read_pprrvu_fixed(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read the fixed-width ``PPRRVU*.txt`` member (positions in :data:`FIXED_WIDTH`).

    ``HDR`` records (CMS's copyright header) are skipped; every other
    non-blank record must carry a HCPCS code in positions 1-5.
    """
    nm = source_name(src, name)
    data = read_bytes(src, nm)
    text = data.decode("cp1252", errors="replace")
    raw = text.splitlines()
    lines = []
    recs = []
    for i, ln in enumerate(raw, start=1):
        if not ln.strip() or ln.startswith("HDR"):
            continue
        lines.append(i)
        recs.append(ln)
    if not recs:
        raise CMSFileError(nm, "fixed-width PPRRVU records", found="no data records")
    s = pd.Series(recs, dtype=object)
    cols = {c: s.str.slice(a - 1, b).str.strip() for c, (a, b) in FIXED_WIDTH.items()}
    df = pd.DataFrame(cols)
    larr = np.asarray(lines)
    ok = is_hcpcs(df["hcpcs"]).to_numpy()
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise CMSFileError(nm, "a 5-character HCPCS code in positions 1-5", line=int(larr[i]),
                           column="hcpcs", found=recs[i][:5])
    from ._common import to_float

    for c in FLOAT_COLUMNS:
        df[c] = to_float(df[c], name=nm, column=c, lines=larr, negative_ok=False)
    df["not_used_for_medicare"] = ""
    df.attrs["lines"] = Lines(lines)
    df.attrs["source"] = nm
    return _finish(df, nm)
