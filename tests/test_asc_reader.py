"""ASC Addendum AA/BB readers: every real quarter in the mirror, and synthetic malformed files."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest

from rvucalc.errors import CMSFileError
from rvucalc.iotools.asc import read_addendum_aa, read_addendum_bb

QUARTERS = {
    "2024-01": "txt", "2024-04": "csv", "2024-07": "txt", "2024-10": "csv",
    "2025-01": "csv", "2025-04": "csv", "2025-07": "csv", "2025-10": "csv",
    "2026-01": "csv", "2026-04": "csv",
}

# "Rows (HCPCS)" per file, from each quarter's SOURCES.md in the mirror.
SOURCES_ROWS = {
    ("2024-01", "AA"): 4110, ("2024-01", "BB"): 2304,
    ("2024-04", "AA"): 4114, ("2024-04", "BB"): 2331,
    ("2024-07", "AA"): 4121, ("2024-07", "BB"): 2386,
    ("2024-10", "AA"): 4122, ("2024-10", "BB"): 2408,
    ("2025-01", "AA"): 4183, ("2025-01", "BB"): 2458,
    ("2025-04", "AA"): 4184, ("2025-04", "BB"): 2479,
    ("2025-07", "AA"): 4200, ("2025-07", "BB"): 2504,
    ("2025-10", "AA"): 4201, ("2025-10", "BB"): 2534,
    ("2026-01", "AA"): 4821, ("2026-01", "BB"): 2505,
    ("2026-04", "AA"): 4832, ("2026-04", "BB"): 2526,
}


def _independent_count(path) -> tuple[int, int]:
    """(HCPCS-shaped first cells, distinct such rows), counted with the csv module alone."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    delim = "\t" if path.suffix == ".txt" else ","
    rows = [tuple(c.strip() for c in r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim)
            if r and re.fullmatch(r"[A-Za-z0-9]{5}", r[0].strip())]
    return len(rows), len(set(rows))


@pytest.mark.parametrize("quarter", sorted(QUARTERS))
@pytest.mark.parametrize("addendum", ["AA", "BB"])
def test_every_quarter_loads_every_row(mirror, quarter: str, addendum: str) -> None:
    path = mirror(f"asc/{quarter}/{addendum}.{QUARTERS[quarter]}")
    reader = read_addendum_aa if addendum == "AA" else read_addendum_bb
    df = reader(path)
    n_rows, n_distinct = _independent_count(path)
    assert n_rows == SOURCES_ROWS[(quarter, addendum)]
    # every HCPCS row is kept; only exact duplicates are dropped
    assert len(df) == n_distinct
    assert df["hcpcs"].is_unique
    assert df.attrs["quarter"] == quarter
    assert df.attrs["addendum"] == addendum
    assert df["hcpcs"].str.fullmatch(r"[A-Z0-9]{5}").all()
    assert df["payment_indicator"].str.fullmatch(r"[A-Z][0-9]").all()
    assert df["relative_weight"].dtype == np.float64
    assert df["payment_rate"].dtype == np.float64
    assert len(df.attrs["lines"]) == len(df)
    if addendum == "AA":
        assert df["multiple_procedure_discount"].dtype == bool
        row = df.set_index("hcpcs").loc["20983"]
        assert row["payment_indicator"] == "J8"
    else:
        assert "copayment" in df and "pass_through_expiration" in df


def test_aa_2026_01_values(mirror) -> None:
    df = read_addendum_aa(mirror("asc/2026-01/AA.csv")).set_index("hcpcs")
    # values from the mirror's SOURCES.md (checked against other sources)
    assert df.loc["20983", "payment_indicator"] == "J8"
    assert df.loc["20983", "relative_weight"] == pytest.approx(93.6462)
    assert df.loc["20983", "payment_rate"] == 5274.34
    assert df.loc["0102T", "payment_indicator"] == "G2"
    assert df.loc["0102T", "payment_rate"] == 1644.87
    assert df.loc["0101T", "payment_rate"] == 135.54
    assert bool(df.loc["20983", "multiple_procedure_discount"]) is True
    # packaged rows: no weight, no rate
    n1 = df[df["payment_indicator"] == "N1"]
    assert len(n1) == 494 and n1["payment_rate"].isna().all()
    # '**' preventive markers (G0104, G0105, G0121 in this quarter)
    assert sorted(df.index[df["preventive"]]) == ["G0104", "G0105", "G0121"]
    assert df.attrs["title"].startswith("Addendum AA -- ASC Covered Surgical Procedures for CY 2026")


def test_bb_quirks(mirror) -> None:
    bb = read_addendum_bb(mirror("asc/2026-04/BB.csv")).set_index("hcpcs")
    # CMS's lowercase 'k5' is upper-cased (SOURCES.md: one 'k5' row)
    assert (bb["payment_indicator"] == "K5").sum() == 38 + 1
    assert bb.loc["J9271", "payment_indicator"] == "K2"
    assert bb.loc["J9271", "payment_rate"] == 61.25
    assert bb.loc["0331T", "relative_weight"] == pytest.approx(12.7708)
    # 0xFF byte inside a descriptor does not break the read
    assert bb.loc["A2044", "description"].startswith("Biobrane")
    # duplicates: J2782 twice, identical, in 2024-04 BB -> one row
    bb24 = read_addendum_bb(mirror("asc/2024-04/BB.csv"))
    assert (bb24["hcpcs"] == "J2782").sum() == 1


def test_2024_01_tab_delimited(mirror) -> None:
    aa = read_addendum_aa(mirror("asc/2024-01/AA.txt")).set_index("hcpcs")
    assert aa.loc["0102T", "payment_rate"] == 1518.92
    assert aa.loc["20983", "payment_rate"] == 4681.29


# --- synthetic files in CMS's layout (no CMS rows, made-up descriptors) ---------

HEAD = (
    '"Addendum AA -- ASC Covered Surgical Procedures for CY 2026 \r\n'
    '(Including Surgical Procedures for Which Payment is Packaged)",,,,,,\r\n'
    "CPT codes and descriptions only are copyright 2025 American Medical Association.\xa0 All"
    " Rights Reserved.,,,,,,\r\n"
    ",,,,,,\r\n"
    "HCPCS Code,,Short Descriptor,Subject to Multiple Procedure Discounting,"
    "January 2026 Payment Indicator,January 2026  Payment Weight  ,January 2026 Payment Rate \r\n"
)
TAIL = ",,,,,,\r\nNOTE 1: a note.,,,,,,\r\n"


def _aa(body: str, head: str = HEAD, enc: str = "cp1252") -> bytes:
    return (head + body + TAIL).encode(enc)


def test_synthetic_ok_and_encodings() -> None:
    body = ("1000T,,Made up one,Y,a2,10.0000,$563.22 \r\n"
            "1001T,**,Made up two,n,N1,,\r\n"
            "1002T,,Made up three,Y,J8,100.0000,\"$5,632.20\"\r\n"
            "1002T,,Made up three,Y,J8,100.0000,\"$5,632.20\"\r\n")
    for data in (_aa(body), b"\xef\xbb\xbf" + _aa(body, enc="utf-8"),
                 _aa(body).replace(b"\xa0", b"\xff"),
                 _aa(body).replace(b",", b"\t").replace(b'"$5\t632.20"', b'"$5,632.20"')):
        df = read_addendum_aa(data, name="AA.csv")
        assert list(df["hcpcs"]) == ["1000T", "1001T", "1002T"]
        assert list(df["payment_indicator"]) == ["A2", "N1", "J8"]
        assert list(df["multiple_procedure_discount"]) == [True, False, True]
        assert list(df["preventive"]) == [False, True, False]
        assert df["payment_rate"].iloc[2] == 5632.20
        assert np.isnan(df["relative_weight"].iloc[1])
        assert df.attrs["quarter"] == "2026-01"
        # the title's line break makes record 5 start on physical line 6
        assert df.attrs["lines"][0] == 6


def test_optional_columns_kept() -> None:
    head = HEAD.replace("Payment Rate \r\n", "Payment Rate ,October 2025 Comment Indicator,Extra Thing\r\n")
    head = head.replace("January 2026 Payment Rate", "October 2025 Payment Rate").replace(
        "January 2026", "October 2025")
    df = read_addendum_aa(_aa("1000T,,Made up,Y,A2,1.0,$1.00,NI,x\r\n", head), name="AA.csv")
    assert df.loc[0, "comment_indicator"] == "NI"
    assert df.loc[0, "extra_thing"] == "x"
    assert df.attrs["quarter"] == "2025-10"


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [
        ("1000T,,Made up,Y,A2,abc,$1.00\r\n", 6, "relative_weight"),
        ("1000T,,Made up,Y,A2,1.0,$1.00\r\n1001T,,Made up,Y,A2,1.0,$1.x0\r\n", 7, "payment_rate"),
        ("1000T,,Made up,Y,AA2,1.0,$1.00\r\n", 6, "payment_indicator"),
        ("1000T,,Made up,maybe,A2,1.0,$1.00\r\n", 6, "multiple_procedure_discount"),
        ("100T,,Made up,Y,A2,1.0,$1.00\r\n", 6, "hcpcs"),
        ("1000T,#,Made up,Y,A2,1.0,$1.00\r\n", 6, "marker"),
    ],
)
def test_malformed_cells_name_line_and_column(body: str, line: int, column: str) -> None:
    with pytest.raises(CMSFileError) as exc:
        read_addendum_aa(_aa(body), name="AA.csv")
    assert exc.value.line == line
    assert exc.value.column == column
    assert "AA.csv" in str(exc.value) and f"line {line}" in str(exc.value)


def test_conflicting_duplicates_name_both_lines() -> None:
    body = ("1000T,,Made up,Y,A2,1.0,$1.00\r\n"
            "1001T,,Other,Y,A2,1.0,$1.00\r\n"
            "1000T,,Made up,Y,A2,1.0,$2.00\r\n")
    with pytest.raises(CMSFileError) as exc:
        read_addendum_aa(_aa(body), name="AA.csv")
    msg = str(exc.value)
    assert "1000T" in msg and "lines 6 and 8" in msg
    assert exc.value.column == "payment_rate"


def test_missing_header_and_column() -> None:
    with pytest.raises(CMSFileError, match="header row"):
        read_addendum_aa(b"just,some\r\ntext,here\r\n", name="AA.csv")
    head = HEAD.replace(",January 2026 Payment Rate ", ",Something Else")
    with pytest.raises(CMSFileError, match="payment_rate") as exc:
        read_addendum_aa(_aa("1000T,,Made up,Y,A2,1.0,$1.00\r\n", head), name="AA.csv")
    assert exc.value.line == 5
    with pytest.raises(CMSFileError, match="empty"):
        read_addendum_aa(b"", name="AA.csv")


def test_mixed_quarters_in_header_rejected() -> None:
    head = HEAD.replace("January 2026 Payment Rate", "April 2026 Payment Rate")
    with pytest.raises(CMSFileError, match="one quarter"):
        read_addendum_aa(_aa("1000T,,Made up,Y,A2,1.0,$1.00\r\n", head), name="AA.csv")


def test_short_row_rejected() -> None:
    with pytest.raises(CMSFileError, match="fields") as exc:
        read_addendum_aa(_aa("1000T,,Made up,Y,A2\r\n"), name="AA.csv")
    assert exc.value.line == 6
