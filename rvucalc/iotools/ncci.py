"""Readers for CMS's National Correct Coding Initiative (NCCI) edit files.

**PTP edits** (procedure-to-procedure; CMS "Medicare NCCI Procedure to Procedure (PTP) Edits",
quarterly): practitioner edits in four zips ``medicare-ncci-<yyyy>q<q>-practitioner-ptp-edits-
ccipra-v<vvv>r<r>-f<1..4>.zip``, hospital outpatient edits (applied by the OPPS outpatient code
editor) in ``...-hospital-ptp-edits-ccioph-v<vvv>r<r>-f<1..4>.zip``. Each zip holds one
tab-delimited ``ccipra-v<vvv>r<r>-f<n>.TXT`` (and the same table as an Excel workbook): a CPT
copyright line and a title, then a header spread over four lines, each cell continued below::

    Column 1 | Column 2 | *=in existence  | Effective | Deletion  | Modifier        | PTP Edit Rationale
             |          | prior to 1996   | Date      | Date      | 0=not allowed   |
             |          |                 |           | *=no data | 1=allowed       |
             |          |                 |           |           | 9=not applicable|

then one edit per line: the column one and column two codes, ``*`` or blank, the effective date
and the deletion date (``YYYYMMDD``; ``*`` when the edit has none), the modifier indicator (0, 1
or 9) and the rationale. :func:`read_ptp` finds the header by its cells (never by line number)
and reads the rows with Arrow's CSV reader (a quarter holds millions of edits).

**MUEs** (medically unlikely edits; CMS "Medicare NCCI Medically Unlikely Edits", quarterly):
one zip per setting, ``medicare-ncci-<yyyy>-q<q>-practitioner-services-mue-table.zip``,
``...-facility-outpatient-hospital-services-mue-table.zip`` and ``...-dme-supplier-services-mue-
table.zip``, each with a CSV ``MCR_MUE_<Setting>Services_Eff_<MM>-01-<YYYY>.csv``: a quoted
copyright notice spread over several lines, then the header ``HCPCS/CPT Code`` (with a line
break inside the cell), ``<Setting> Services MUE Values``, ``MUE Adjudication Indicator``
(``1 Line Edit``, ``2 Date of Service Edit: Policy``, ``3 Date of Service Edit: Clinical``) and
``MUE Rationale``. :func:`read_mue` reads it.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import CMSFileError
from ._common import (
    Col,
    Source,
    check_rows,
    find_header,
    load_rows,
    map_columns,
    norm,
    read_bytes,
    source_name,
)

#: Columns :func:`read_ptp` returns.
PTP_COLUMNS = ("column_one", "column_two", "pre_1996", "effective", "deletion", "modifier_indicator",
               "rationale")
#: Columns :func:`read_mue` returns.
MUE_COLUMNS = ("hcpcs", "mue", "mai", "mai_text", "rationale", "setting")

PTP_HEADER: tuple[Col, ...] = (
    Col("column_one", ["COLUMN1"]),
    Col("column_two", ["COLUMN2"]),
    Col("pre_1996", lambda h: h.startswith("INEXISTENCE")),
    Col("effective", lambda h: h.startswith("EFFECTIVE")),
    Col("deletion", lambda h: h.startswith("DELETION")),
    Col("modifier_indicator", lambda h: h.startswith("MODIFIER")),
    Col("rationale", lambda h: "RATIONALE" in h, required=False),
)

#: MUE value column header (normalised) -> setting.
MUE_SETTINGS = {"PRACTITIONERSERVICESMUEVALUES": "practitioner",
                "OUTPATIENTHOSPITALSERVICESMUEVALUES": "outpatient_hospital",
                "FACILITYOUTPATIENTHOSPITALSERVICESMUEVALUES": "outpatient_hospital",
                "DMESUPPLIERSERVICESMUEVALUES": "dme"}

MUE_HEADER: tuple[Col, ...] = (
    Col("hcpcs", lambda h: h.startswith("HCPCS")),
    Col("mue", lambda h: h.endswith("MUEVALUES") or h.endswith("MUEVALUE")),
    Col("mai", lambda h: h.startswith("MUEADJUDICATIONINDICATOR")),
    Col("rationale", lambda h: h.startswith("MUERATIONALE"), required=False),
)

_CODE = r"^[0-9A-Z]{5}$"
_HEAD_BYTES = 1 << 16


def _lines_of(data: bytes) -> np.ndarray:
    """1-based line number of every non-blank line of *data* (for error messages only)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    starts = np.r_[0, ends + 1]
    stops = np.r_[ends, len(arr)]
    length = stops - starts
    cr = (length > 0) & (arr[np.minimum(stops - 1, len(arr) - 1)] == 13)
    blank = (length - cr) <= 0
    return np.flatnonzero(~blank) + 1


def _ptp_header(head: str, nm: str) -> tuple[int, dict[str, int], int]:
    """``(header line index, column positions, first data line index)`` from the file's start."""
    rows = [ln.rstrip("\r").split("\t") for ln in head.split("\n")]
    hdr = find_header(rows, lambda c: len(c) >= 2 and c[0] == "COLUMN1" and c[1] == "COLUMN2", nm,
                      "a header row starting 'Column 1', 'Column 2' (CMS's NCCI PTP layout)", search_rows=60)
    pos = map_columns(rows[hdr], PTP_HEADER, nm, hdr + 1)
    for i in range(hdr + 1, len(rows)):
        first = rows[i][0].strip() if rows[i] else ""
        if re.fullmatch(_CODE[1:-1], first):
            return hdr, pos, i
        if first or (len(rows[i]) > 1 and rows[i][1].strip()):
            raise CMSFileError(nm, "the header's continuation lines (first two cells blank), then edit rows",
                               line=i + 1, found=rows[i][:3])
    raise CMSFileError(nm, "edit rows below the header", line=hdr + 2, found="none")


def _line(data: bytes, first_line: int, i: int) -> int | None:
    """The 1-based line of edit row *i* (0-based, blank lines skipped) of the body that starts at
    line index *first_line* (for error messages only)."""
    nl = [m.end() for m in re.finditer(b"\n", data[:_HEAD_BYTES])]
    offset = nl[first_line - 1] if first_line else 0
    lines = _lines_of(data[offset:])
    return int(first_line + lines[i]) if i < len(lines) else None


def _check(ok: pa.Array | pa.ChunkedArray, table: pa.Table, column: str, expected: str, nm: str,
           data: bytes, first_line: int) -> None:
    """Raise naming the first row where *ok* is false (or null)."""
    good = pc.fill_null(ok, False)
    if pc.all(good).as_py() is not False:
        return
    i = int(pc.index(good, False).as_py())
    found = table.column(column)[i].as_py()
    raise CMSFileError(nm, expected, line=_line(data, first_line, i), column=column, found=found)


def _days(values: pa.ChunkedArray, none: str | None, nm: str, table: pa.Table, column: str,
          data: bytes, first_line: int) -> pa.Array:
    """``YYYYMMDD`` text as dates (``none`` -> null), each distinct value parsed once."""
    enc = pc.dictionary_encode(values.combine_chunks())
    uniq = enc.dictionary.to_pylist()
    parsed = pd.to_datetime(pd.Series([None if u == none else u for u in uniq], dtype=object),
                            format="%Y%m%d", errors="coerce")
    bad_u = np.array([(u != none) and (pd.isna(p) or not re.fullmatch(r"\d{8}", str(u)))
                      for u, p in zip(uniq, parsed)], dtype=bool)  # distinct dates, not rows
    if bad_u.any():
        _check(pa.array(~bad_u[enc.indices.to_numpy(zero_copy_only=False)]), table, column,
               "a date YYYYMMDD" + (f" or {none!r}" if none else ""), nm, data, first_line)
    days = pa.array(parsed.to_numpy(dtype="datetime64[s]"), type=pa.timestamp("s"), from_pandas=True)
    return days.take(enc.indices)


def read_ptp(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read one CMS NCCI PTP edit file (the tab-delimited ``.TXT`` of a PTP zip).

    Returns one row per edit: ``column_one`` and ``column_two`` (5-character codes),
    ``pre_1996`` (the edit existed before 1996), ``effective`` and ``deletion`` (dates;
    ``deletion`` is NaT where the file has ``*``: the edit is in effect), ``modifier_indicator``
    (int8: 0 not allowed, 1 allowed, 9 not applicable) and ``rationale`` (categorical).

    Raises :class:`~rvucalc.errors.CMSFileError` naming the file, line and column for anything
    that is not CMS's layout: no header, a row with another number of fields, a code that is not
    five letters or digits, a date that is not ``YYYYMMDD``, an indicator other than 0, 1 or 9.
    """
    nm = source_name(src, name)
    data = read_bytes(src, nm)
    if data[:2] == b"PK":
        raise CMSFileError(nm, "the tab-delimited .TXT member of CMS's PTP zip", found="a zip/xlsx container")
    if b"\x00" in data[:4096]:
        raise CMSFileError(nm, "a text file (tab-delimited)", found="binary data")
    head_bytes = data[:_HEAD_BYTES]
    head = head_bytes.decode("latin-1")
    hdr, pos, first = _ptp_header(head, nm)
    nl = [m.end() for m in re.finditer(b"\n", head_bytes)]
    offset = nl[first - 1] if first else 0
    try:
        data.decode("utf-8")
        encoding = "utf8"
    except UnicodeDecodeError:
        encoding = "latin-1"  # never fails; CMS's text is ASCII but for the copyright line
    width = max(pos.values()) + 1
    names = [f"c{i}" for i in range(width)]
    try:
        t = pacsv.read_csv(
            io.BytesIO(data[offset:]),
            read_options=pacsv.ReadOptions(column_names=names, encoding=encoding, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                                 strings_can_be_null=False))
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        m = re.search(r"Expected (\d+) columns?, got (\d+)", msg)
        bad = None
        for j, ln in enumerate(data[offset:].decode("latin-1").splitlines()):  # error path only
            if ln.strip() and len(ln.split("\t")) != width:
                bad = first + j + 1
                break
        raise CMSFileError(nm, f"{width} tab-separated fields per edit, as the header has", line=bad,
                           found=(f"{m.group(2)} fields" if m else msg.splitlines()[0][:80])) from exc
    t = t.rename_columns(names)
    cols = {k: t.column(f"c{p}") for k, p in pos.items()}
    t = pa.table(cols)
    for c in ("column_one", "column_two"):
        t = t.set_column(t.schema.get_field_index(c), c, pc.utf8_upper(pc.utf8_trim_whitespace(t.column(c))))
        _check(pc.match_substring_regex(t.column(c), _CODE), t, c, "a 5-character HCPCS/CPT code", nm, data,
               first)
    ind = pc.utf8_trim_whitespace(t.column("modifier_indicator"))
    _check(pc.is_in(ind, value_set=pa.array(["0", "1", "9"])), t, "modifier_indicator", "a modifier indicator 0, 1 or 9",
           nm, data, first)
    eff = _days(pc.utf8_trim_whitespace(t.column("effective")), None, nm, t, "effective", data, first)
    dele = _days(pc.utf8_trim_whitespace(t.column("deletion")), "*", nm, t, "deletion", data, first)
    pre = pc.utf8_trim_whitespace(t.column("pre_1996"))
    _check(pc.is_in(pre, value_set=pa.array(["", "*"])), t, "pre_1996", "'*' or blank", nm, data, first)
    out = pd.DataFrame({
        "column_one": t.column("column_one").to_pandas(),
        "column_two": t.column("column_two").to_pandas(),
        "pre_1996": pc.equal(pre, "*").to_numpy(zero_copy_only=False),
        "effective": pd.Series(eff.to_numpy(zero_copy_only=False)),
        "deletion": pd.Series(dele.to_numpy(zero_copy_only=False)),
        "modifier_indicator": pc.cast(ind, pa.int8()).to_numpy(zero_copy_only=False),
        "rationale": (pd.Categorical(pc.utf8_trim_whitespace(t.column("rationale")).to_pandas())
                      if "rationale" in pos else pd.Categorical([""] * t.num_rows)),
    })
    if (out["deletion"].notna() & (out["deletion"] < out["effective"])).any():
        i = int(np.flatnonzero((out["deletion"] < out["effective"]).to_numpy())[0])
        raise CMSFileError(nm, "a deletion date on or after the effective date",
                           line=_line(data, first, i), column="deletion",
                           found=str(out["deletion"].iloc[i].date()))
    out.attrs["source"] = nm
    return out


def read_mue(src: Source, name: str | None = None) -> pd.DataFrame:
    """Read one CMS MUE table (``MCR_MUE_<Setting>Services_Eff_<MM>-01-<YYYY>.csv``).

    Returns one row per code: ``hcpcs``, ``mue`` (int64: the most units of service per line or
    per date, by the MAI), ``mai`` (int8: 1 line edit, 2 date of service edit by policy, 3 date
    of service edit, clinical), ``mai_text`` (CMS's words), ``rationale`` and ``setting``
    (``practitioner``, ``outpatient_hospital`` or ``dme``, from the header of the MUE value
    column). Raises :class:`~rvucalc.errors.CMSFileError` naming the file, line and column for a
    missing header, a code that is not five letters or digits, an MUE value that is not a whole
    number, an indicator other than 1, 2 or 3, or a code listed twice with different values.
    """
    rows, nm = load_rows(src, name)
    breaks = np.cumsum([0] + [sum(c.count("\n") for c in r) for r in rows])  # rows, not claim lines

    def line_of(i: int) -> int:  # a row's first line (the notice and the header span lines)
        return int(i + 1 + breaks[i])

    hdr = find_header(rows, lambda c: any(x.startswith("HCPCS") for x in c) and any(
        x.endswith("MUEVALUES") for x in c), nm, "a header row with 'HCPCS/CPT Code' and '... MUE Values' "
        "(CMS's MUE layout)")
    pos = map_columns(rows[hdr], MUE_HEADER, nm, line_of(hdr))
    setting = MUE_SETTINGS.get(norm(rows[hdr][pos["mue"]]))
    if setting is None:
        raise CMSFileError(nm, "an MUE value column named for practitioner, outpatient hospital or DME "
                           "supplier services", line=line_of(hdr), column="mue", found=rows[hdr][pos["mue"]])
    check_rows(rows, hdr, pos, nm, key="hcpcs", is_key=lambda c: re.fullmatch(_CODE[1:-1], c.upper()) is not None,
               data=("mue", "mai"), what="a 5-character HCPCS/CPT code", line_of=line_of)
    body = [(i, r) for i, r in enumerate(rows[hdr + 1:], hdr + 1)
            if r and re.fullmatch(_CODE[1:-1], r[pos["hcpcs"]].strip().upper())]
    if not body:
        raise CMSFileError(nm, "code rows below the header", line=line_of(hdr) + 1, found="none")
    lines = np.array([line_of(i) for i, _ in body])
    rat = pos.get("rationale")
    df = pd.DataFrame({
        "hcpcs": [r[pos["hcpcs"]].strip().upper() for _, r in body],
        "mue_text": [r[pos["mue"]].strip() for _, r in body],
        "mai_text": [r[pos["mai"]].strip() for _, r in body],
        "rationale": [r[rat].strip() if rat is not None and rat < len(r) else "" for _, r in body],
    })
    ok = df["mue_text"].str.fullmatch(r"\d+").fillna(False).to_numpy()
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise CMSFileError(nm, "an MUE value (a whole number of units)", line=int(lines[i]), column="mue",
                           found=df["mue_text"].iloc[i])
    mai = df["mai_text"].str.extract(r"^([123])(?:\D|$)", expand=False)
    if mai.isna().any():
        i = int(np.flatnonzero(mai.isna().to_numpy())[0])
        raise CMSFileError(nm, "an MUE adjudication indicator 1, 2 or 3 (e.g. '2 Date of Service Edit: Policy')",
                           line=int(lines[i]), column="mai", found=df["mai_text"].iloc[i])
    out = pd.DataFrame({"hcpcs": df["hcpcs"].astype(str), "mue": df["mue_text"].astype(np.int64),
                        "mai": mai.astype(np.int8).to_numpy(), "mai_text": df["mai_text"].astype(str),
                        "rationale": df["rationale"].astype(str), "setting": setting})
    dup = out.duplicated("hcpcs", keep=False).to_numpy()
    if dup.any():
        same = out[dup].duplicated(["hcpcs", "mue", "mai"], keep=False).to_numpy()
        if not same.all():
            j = np.flatnonzero(dup)[np.flatnonzero(~same)[0]]
            code = out["hcpcs"].iloc[j]
            at = lines[np.flatnonzero((out["hcpcs"] == code).to_numpy())]
            raise CMSFileError(nm, "one row per code (rows repeating a code must agree)", line=int(at[-1]),
                               column="hcpcs", found=f"{code} on lines {int(at[0])} and {int(at[-1])}")
        out = out.drop_duplicates("hcpcs").reset_index(drop=True)
    out.attrs["source"] = nm
    return out


__all__ = ["MUE_COLUMNS", "MUE_SETTINGS", "PTP_COLUMNS", "read_mue", "read_ptp"]
