"""Readers of the CLFS, ASP and DMEPOS/PEN files and the DMEPOS rural ZIP file.

Real files come from the mirror (``../shared/cms``). Every expected figure below was read by hand
from the file itself, at the place the comment names, never from rvucalc's output:

* CLFS: ``clfs/2026-01/CLFS_2026_Q1V1.xlsx``, sheet "CLFS 2026 Q1V1", column F (RATE) of the
  spreadsheet row named; the row counts are those of the mirror's SOURCES.md.
* ASP: the Section 508 CSVs in ``asp/<quarter>/``, the line number named (a text editor's), columns
  Payment Limit and Co-insurance Percentage; code counts and J9271 limits from asp/SOURCES.md.
* DMEPOS: ``dmepos/2026-01/DMEPOS26_JAN.xlsx``, sheet "DMEPOS26_Jan", row 756 (E0601 RR), column N
  (CA (NR)) and column CL (TX (NR)); row counts from dmepos/2026-01/SOURCES.md.

Synthetic files in CMS's layouts are written by the tests themselves.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from rvucalc.errors import CMSFileError
from rvucalc.iotools.asp import ASP_COLUMNS, read_asp
from rvucalc.iotools.clfs import CLFS_COLUMNS, read_clfs
from rvucalc.iotools.dmepos import read_dmepos, read_pen, read_rural_zip, state_columns

CLFS_FILE = "clfs/2026-01/CLFS_2026_Q1V1.xlsx"
DMEPOS_FILE = "dmepos/2026-01/DMEPOS26_JAN.xlsx"
PEN_FILE = "dmepos/2026-01/DMEPEN26_JAN.xlsx"
ASP_FILES = {
    "2024-01": "section 508 version of January 2024 ASP Pricing File 121223.csv",
    "2024-04": "section 508 version of April 2024 ASP Pricing File 032124.csv",
    "2024-07": "section 508 version of Jul 2024 ASP Pricing File 062024.csv",
    "2024-10": "section 508 version of Oct 2024 ASP Pricing File 091824.csv",
    "2025-01": "section 508 version of Jan 2025 ASP Pricing File 121924.csv",
    "2025-04": "section 508 version of APR 2025 ASP Pricing File 032725.csv",
    "2025-07": "section 508 verision of JUL 2025 ASP Pricing File 062325.csv",
    "2025-10": "section 508 version of Oct 2025 ASP Pricing File 091725.csv",
    "2026-01": "section 508 version of January 2026 Medicare Part B Payment Limit File 121725.csv",
}
# asp/SOURCES.md: codes per quarter and J9271's payment limit per 1 MG
ASP_SOURCES = {
    "2024-01": (823, 55.730), "2024-04": (819, 57.307), "2024-07": (846, 56.658),
    "2024-10": (865, 58.216), "2025-01": (877, 57.603), "2025-04": (942, 59.349),
    "2025-07": (970, 58.562), "2025-10": (1012, 60.291), "2026-01": (877, 59.726),
}
MONTH_END = {"01": "03-31", "04": "06-30", "07": "09-30", "10": "12-31"}


def _row(df, code: str, modifier: str = "", col: str = "modifier") -> int:
    hit = np.flatnonzero((df["hcpcs"] == code).to_numpy() & (df[col] == modifier).to_numpy())
    assert len(hit) == 1, (code, modifier, hit)
    return int(hit[0])


# ----------------------------------------------------------------------------- CLFS


@pytest.fixture(scope="module")
def clfs(mirror):
    return read_clfs(mirror(CLFS_FILE))


def test_clfs_mirror_rows_and_figures(clfs) -> None:
    # SOURCES.md: 2,162 rows over 2,038 codes; 124 rows have MOD QW (counted in column C with pandas.read_excel, apart from the reader)
    assert len(clfs) == 2162 and clfs["hcpcs"].nunique() == 2038
    assert (clfs["modifier"] == "QW").sum() == 124 and set(clfs["modifier"]) == {"", "QW"}
    assert list(clfs.columns) == list(CLFS_COLUMNS)
    # (code, spreadsheet row, RATE as printed in column F)
    for code, row, rate in (("80053", 570, 10.56), ("85025", 1456, 7.77), ("36415", 561, 9.34),
                            ("0001U", 6, 720.00)):
        i = _row(clfs, code)
        assert clfs.attrs["lines"][i] == row
        assert clfs["rate"].iloc[i] == rate
    # 36415 is a number cell in CMS's workbook (row 561, column B): read as 5-character text
    assert clfs["hcpcs"].str.len().eq(5).all()
    assert clfs["effective"].eq("20260101").all() and clfs["year"].eq("2026").all()
    assert set(clfs["indicator"]) == {"N", "L"}
    assert clfs.loc[clfs["indicator"] == "L", "rate"].eq(0).all()
    assert clfs.attrs["title"] == "2026 Clinical Diagnostic Laboratory Fee Schedule"


def test_clfs_csv_with_preamble_and_numeric_codes() -> None:
    text = ("2026 Clinical Diagnostic Laboratory Fee Schedule,,,,,,\r\n"
            "\"CPT codes, descriptions and other data only are copyright 2026 AMA.\",,,,,,\r\n"
            ",,,,,,\r\n"
            "YEAR,HCPCS,MOD,EFF_DATE,INDICATOR,RATE,SHORTDESC\r\n"
            "2026,80053,,20260101,N,10.56,Comprehen metabolic panel\r\n"
            "2026,80053,QW,20260101,N,10.56,Comprehen metabolic panel\r\n"
            "2026,100,,20260101,N,\"1,000.00\",padded\r\n"
            "2026,0526U,,20260101,L,0,new test\r\n")
    df = read_clfs(text.encode("cp1252"), name="CLFS 2026 Q1V1.csv")
    assert df["hcpcs"].tolist() == ["80053", "80053", "00100", "0526U"]
    assert df["modifier"].tolist() == ["", "QW", "", ""]
    assert df["rate"].tolist() == [10.56, 10.56, 1000.0, 0.0]
    assert list(df.attrs["lines"]) == [5, 6, 7, 8]


@pytest.mark.parametrize(("row", "expected"), [
    ("2026,8005X3,,20260101,N,10.56,x", "line 5, column 'hcpcs': expected a 5-character HCPCS code"),
    ("2026,80053,,20260101,N,,x", "line 5, column 'rate': expected a number"),
    ("2026,80053,,20260101,N,-1.00,x", "line 5, column 'rate': expected a number that is not negative"),
    ("2026,80053,,20260101,N,ten,x", "line 5, column 'rate': expected a number"),
    ("2026,80053,QWX,20260101,N,1.00,x", "line 5, column 'modifier': expected a two-character modifier"),
])
def test_clfs_bad_rows_named(row: str, expected: str) -> None:
    text = "title\r\n\r\n\r\nYEAR,HCPCS,MOD,EFF_DATE,INDICATOR,RATE,SHORTDESC\r\n" + row + "\r\n"
    with pytest.raises(CMSFileError) as exc:
        read_clfs(text.encode(), name="c.csv")
    assert expected in str(exc.value)


def test_clfs_conflicting_duplicate_and_missing_header() -> None:
    text = ("YEAR,HCPCS,MOD,EFF_DATE,INDICATOR,RATE,SHORTDESC\r\n"
            "2026,80053,,20260101,N,10.56,a\r\n2026,80053,,20260101,N,10.56,a\r\n"
            "2026,80053,,20260101,N,11.00,a\r\n")
    with pytest.raises(CMSFileError, match=r"line 4.*80053/ on lines 2 and 4"):
        read_clfs(text.encode(), name="c.csv")
    with pytest.raises(CMSFileError, match="'HCPCS' and 'RATE'"):
        read_clfs(b"YEAR,CODE,AMOUNT\r\n2026,80053,1\r\n", name="c.csv")


# ----------------------------------------------------------------------------- ASP


@pytest.mark.parametrize("quarter", sorted(ASP_FILES))
def test_asp_every_quarter(mirror, quarter: str) -> None:
    df = read_asp(mirror(f"asp/{quarter}/{ASP_FILES[quarter]}"))
    codes, j9271 = ASP_SOURCES[quarter]
    assert len(df) == codes and df["hcpcs"].is_unique
    assert list(df.columns) == list(ASP_COLUMNS)
    i = _row(df, "J9271", "1 MG", col="dosage")
    assert df["payment_limit"].iloc[i] == j9271 and df["coinsurance_pct"].iloc[i] == 20.0
    year, month = quarter.split("-")
    assert df.attrs["effective_from"] == f"{year}-{month}-01"
    assert df.attrs["effective_through"] == f"{year}-{MONTH_END[month]}"
    # A9606 (radium-223) is "N/A": no limit, the MAC prices it; never a zero
    a = _row(df, "A9606", "1 microCurie", col="dosage")
    assert np.isnan(df["payment_limit"].iloc[a])
    assert (df["payment_limit"].dropna() > 0).all()
    assert df["coinsurance_pct"].between(0, 20).all()


def test_asp_january_2026_figures(mirror) -> None:
    df = read_asp(mirror(f"asp/2026-01/{ASP_FILES['2026-01']}"))
    # line 745: J9271,Inj pembrolizumab,1 MG,59.726,20.000 ; line 217: J0897 ... 29.457,17.585
    j = _row(df, "J9271", "1 MG", col="dosage")
    assert df.attrs["lines"][j] == 745 and df["payment_limit"].iloc[j] == 59.726
    d = _row(df, "J0897", "1 MG", col="dosage")
    assert df.attrs["lines"][d] == 217
    assert (df["payment_limit"].iloc[d], df["coinsurance_pct"].iloc[d]) == (29.457, 17.585)
    assert df["notes"].iloc[d] == "Inflation-adjusted coinsurance"
    assert df.attrs["asp_data"] == "3Q25"
    assert df.loc[df["hcpcs"] == "90371", "dosage"].tolist() == ["1 ML"]  # a numeric code stays text


def test_asp_bad_cells_named() -> None:
    head = ("Payment Allowance Limits for Medicare Part B Drugs,,,,\r\n"
            "\"Effective January 1, 2026 through March 31, 2026\",,,,\r\n"
            "HCPCS Code,Short Description,HCPCS Code Dosage,Payment Limit,Co-insurance Percentage,Notes\r\n")
    ok = read_asp((head + "J9271,Inj pembrolizumab,1 MG,59.726,20.000,\r\n"
                   "A9606,Radium,1 microCurie,N/A,20.000,\"AWP = $1\nWAC = $2\"\r\n"
                   "J0897,Denosumab,1 MG,29.457,17.585,x\r\n").encode("cp1252"), name="a.csv")
    assert ok["notes"].iloc[1] == "AWP = $1\nWAC = $2"
    assert list(ok.attrs["lines"]) == [4, 5, 7]  # the quoted note spans two lines
    for row, expected in (
        ("J9271,x,1 MG,,20.000,", "line 4, column 'payment_limit': expected a payment limit"),
        ("J9271,x,1 MG,abc,20.000,", "line 4, column 'payment_limit': expected a number"),
        ("J9271,x,1 MG,1.0,,", "line 4, column 'coinsurance_pct': expected a number"),
        ("J9271,x,1 MG,1.0,120,", "line 4, column 'coinsurance_pct': expected a co-insurance percentage"),
        ("J927,x,1 MG,1.0,20,", "line 4, column 'hcpcs': expected a 5-character HCPCS code"),
    ):
        with pytest.raises(CMSFileError) as exc:
            read_asp((head + row + "\r\n").encode(), name="a.csv")
        assert expected in str(exc.value), str(exc.value)


# ----------------------------------------------------------------------------- DMEPOS


@pytest.fixture(scope="module")
def dmepos(mirror):
    return read_dmepos(mirror(DMEPOS_FILE))


def test_dmepos_mirror_rows_and_figures(dmepos) -> None:
    # SOURCES.md: 3,515 rows, 2,106 distinct HCPCS, 53 jurisdictions, 114 columns
    assert len(dmepos) == 3515 and dmepos["hcpcs"].nunique() == 2106
    states = state_columns(dmepos)
    assert len(states) == 53 and states == dmepos.attrs["states"]
    assert {"CA", "TX", "DC", "PR", "VI", "AK", "HI"} <= set(states)
    i = _row(dmepos, "E0601", "RR")
    assert dmepos.attrs["lines"][i] == 756
    assert dmepos["ca_nr"].iloc[i] == 50.44 and dmepos["tx_nr"].iloc[i] == 50.91
    assert dmepos["modifier2"].iloc[i] == "" and dmepos["category"].iloc[i] == "CR"
    assert dmepos.attrs["period"] == "January 2026"
    assert "Not subject to ceiling and floor" in dmepos.attrs["notes"]
    assert set(dmepos["jurisdiction"]) == {"D", "L", "J"}
    assert {"NU", "RR", "UE"} <= set(dmepos["modifier"]) and {"KE", "KU"} <= set(dmepos["modifier2"])


def test_pen_mirror(mirror) -> None:
    pen = read_pen(mirror(PEN_FILE))
    # SOURCES.md: 50 rows from B4034; same 53 jurisdictions; no ceiling or floor columns
    assert len(pen) == 50 and pen["hcpcs"].iloc[0] == "B4034"
    assert len(state_columns(pen)) == 53
    assert pen["ceiling"].isna().all() and pen["floor"].isna().all()
    # row 6: B4034 ... CA(NR) 3.83, CA(R) 6.16 (columns J and K)
    assert (pen["ca_nr"].iloc[0], pen["ca_r"].iloc[0]) == (3.83, 6.16)


def _dmepos_csv(rows: list[str], header: str | None = None) -> bytes:
    head = header or "HCPCS,Mod,Mod2,JURIS,CATG,Ceiling,Floor,CA (NR),CA (R),TX (NR),TX (R),Description"
    text = ("Durable Medical Equipment,\r\nProsthetics, Orthotics, and Supplies\r\n(DMEPOS)\r\n"
            "April 2026 Fee Schedule\r\n\r\n\r\n" + head + "\r\n" + "\r\n".join(rows) + "\r\n")
    return text.encode("cp1252")


def test_dmepos_synthetic_csv() -> None:
    df = read_dmepos(_dmepos_csv(["E0601,RR,,D,CR,0,0,50.44,93.04,50.91,91.52,Cpap",
                                  "A4636,RR,KE,D,IN,10.00,8.00,9.00,,9.50,0,x"]), name="DMEPOS_APR.csv")
    assert df[["hcpcs", "modifier", "modifier2"]].values.tolist() == [["E0601", "RR", ""], ["A4636", "RR", "KE"]]
    assert np.isnan(df["ca_r"].iloc[1])  # a blank fee cell is NaN, never 0
    assert df.attrs["period"] == "April 2026" and list(df.attrs["lines"]) == [8, 9]


@pytest.mark.parametrize(("rows", "header", "expected"), [
    (["E0601,RR,,D,CR,0,0,-1,0,1,1,x"], None, "line 8, column 'ca_nr': expected a number that is not negative"),
    (["E0601,RR,,D,CR,1,2,1,0,1,1,x"], None, "line 8, column 'floor': expected a floor not above the ceiling"),
    (["E06O,RR,,D,CR,0,0,1,0,1,1,x"], None, "line 8, column 'hcpcs': expected a 5-character HCPCS code"),
    (["E0601,RRR,,D,CR,0,0,1,0,1,1,x"], None, "line 8, column 'modifier': expected a two-character modifier"),
    (["E0601,RR,,D,CR,0,0,1,0,1,1,x", "E0601,RR,,D,CR,0,0,2,0,1,1,x"], None, "E0601/RR/ on lines 8 and 9"),
    (["E0601,RR,,D,CR,0,0,1,0,1,x"], "HCPCS,Mod,Mod2,JURIS,CATG,Ceiling,Floor,CA (NR),CA (R),TX (NR),Description",
     "a 'TX (R)' column beside 'TX (NR)'"),
    (["E0601,RR,,D,CR,0,0,1,0,1,1,x,9"], None, "line 8: expected at most 12 fields"),
])
def test_dmepos_bad_input_named(rows, header, expected) -> None:
    with pytest.raises(CMSFileError) as exc:
        read_dmepos(_dmepos_csv(rows, header), name="DMEPOS_APR.csv")
    assert expected in str(exc.value), str(exc.value)


# ----------------------------------------------------------------------------- rural ZIP file


def test_rural_zip_file_synthetic(tmp_path) -> None:
    # CMS's documented layout: STATE, DMEPOS RURAL ZIP CODE, YEAR/QTR; a listed ZIP is rural
    p = tmp_path / "DME Rural ZIP Code Quarter 1 2026.csv"
    p.write_bytes(b"STATE,DMEPOS RURAL ZIP CODE,YEAR/QTR\r\nAL,35014,20261\r\nME,4001,20261\r\n"
                  b"ME,04001,20261\r\nTX,79misc,20261\r\n")
    with pytest.raises(CMSFileError, match="line 5, column 'zip': expected a ZIP code of 5 digits"):
        read_rural_zip(p)
    p.write_bytes(p.read_bytes().replace(b"TX,79misc,20261\r\n", b"TX,79001-1234,20261\r\n"))
    df = read_rural_zip(p)
    assert df.values.tolist() == [["35014", "AL", "20261"], ["04001", "ME", "20261"], ["79001", "TX", "20261"]]


def test_rural_zip_xlsx_and_tab(tmp_path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["DME Rural ZIP Codes, Quarter 1, 2026"])
    ws.append([])
    ws.append(["STATE", "DMEPOS RURAL ZIP CODE", "YEAR/QTR"])
    ws.append(["VT", 5001, 20261])  # a number cell that lost its leading zero
    buf = io.BytesIO()
    wb.save(buf)
    df = read_rural_zip(buf.getvalue(), name="rural.xlsx")
    assert df.values.tolist() == [["05001", "VT", "20261"]] and list(df.attrs["lines"]) == [4]
    tab = b"STATE\tDMEPOS RURAL ZIP CODE\tYEAR/QTR\nWY\t82001\t20261\n"
    assert read_rural_zip(tab, name="rural.txt")["zip"].tolist() == ["82001"]
    with pytest.raises(CMSFileError, match="'STATE' and 'DMEPOS RURAL ZIP CODE'"):
        read_rural_zip(b"ZIP5,LOCALITY\n90012,18\n", name="rural.csv")
