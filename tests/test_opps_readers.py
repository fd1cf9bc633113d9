"""OPPS readers on small synthetic files written in CMS's layouts.

Codes, descriptors and titles below are made up (no AMA descriptors); the layout
(preamble rows, header text with CMS's stray spaces, ``$`` money, ``.`` for no
value, cp1252 bytes, a trailing 0xFF in a code cell) follows CMS's files as
described in the mirror's SOURCES.md.
"""

from __future__ import annotations

import io
import math

import openpyxl
import pytest

from rvucalc.errors import CMSFileError
from rvucalc.iotools.opps import (
    ADDENDUM_A_COLUMNS,
    ADDENDUM_B_COLUMNS,
    read_addendum_a,
    read_addendum_b,
    read_ipps_table2,
)

B_HEADER = (
    "HCPCS Code,Short Descriptor, SI,APC ,Relative Weight,Payment Rate,"
    "National Unadjusted Copayment, Minimum Unadjusted Copayment,IRA Coinsurance percentage ,"
    "Adjusted Beneficiary Copayment,Drug and Device Pass-Through Expiration during Calendar Year,"
    "Note,* Indicates a Change "
)
PREAMBLE = [
    "Addendum B.-- OPPS Payment by HCPCS Code for CY 2099,,,,,,,,,,,,",
    '"Synthetic copyright line, for a test only",,,,,,,,,,,,',
    "Synthetic disclaimer line,,,,,,,,,,,,",
    '"Coinsurance note, synthetic",,,,,,,,,,,,',
    ",,,,,,,,,,,,",
]


def _b_file(rows: list[str], preamble: bool = True) -> bytes:
    text = "\r\n".join([*(PREAMBLE if preamble else []), B_HEADER, *rows]) + "\r\n"
    return text.encode("cp1252")


GOOD_ROWS = [
    'Z9901,Synthetic caf\u00e9 procedure \u2013 one,J1,5114,83.1420,"$7,413.38",.,"$1,482.68",,,,,*',
    "Z9902,Synthetic visit,J2,5012,1.4500,$130.00,.,$26.00,,,,,",
    "Z9903,Synthetic packaged item,N,,,,,,,,,,",
    "Z9904,Synthetic drug,K,9999,,$1.837,.,$0.37,19.648%,$0.36,,Inflation-adjusted coinsurance,",
    "Z9905,Synthetic lab,Q4,,, ,,,,,,,",
    "z9906  ,Synthetic lower-case code,B,,,,,,,,,,",
    'Z9907,Synthetic big,J1,5494,250.0,"$22,292.25",.,"$4,458.45",,"$1,736.00",'
    '"*",Copayments capped at inpatient deductible of $1736.00.,',
]


def test_addendum_b_preamble_cp1252_ff_byte(tmp_path):
    data = _b_file(GOOD_ROWS)
    # a trailing 0xFF byte in one HCPCS cell, as CMS has shipped
    data = data.replace(b"Z9903,", b"Z9903\xff,")
    p = tmp_path / "synthetic addendum b.csv"
    p.write_bytes(data)
    df = read_addendum_b(p)
    assert list(df.columns) == list(ADDENDUM_B_COLUMNS)
    assert list(df["hcpcs"]) == ["Z9901", "Z9902", "Z9903", "Z9904", "Z9905", "Z9906", "Z9907"]
    r = df.set_index("hcpcs")
    # the file's first data row is line 7 (5 preamble rows + header)
    assert list(df.attrs["lines"]) == [7, 8, 9, 10, 11, 12, 13]
    cleaned = dict(df.attrs["hcpcs_cleaned"])
    assert cleaned[9].startswith("Z9903") and len(cleaned[9]) == 6
    assert r.loc["Z9901", "description"] == "Synthetic caf\u00e9 procedure \u2013 one"
    assert r.loc["Z9901", "status_indicator"] == "J1"
    assert r.loc["Z9901", "apc"] == "5114"
    assert r.loc["Z9901", "payment_rate"] == 7413.38
    assert math.isnan(r.loc["Z9901", "national_copay"])  # "." means none
    assert r.loc["Z9901", "minimum_copay"] == 1482.68
    assert bool(r.loc["Z9901", "changed"]) is True
    assert bool(r.loc["Z9902", "changed"]) is False
    assert r.loc["Z9904", "payment_rate"] == 1.837  # three decimals kept
    assert r.loc["Z9904", "ira_coinsurance_pct"] == 19.648
    assert r.loc["Z9904", "adjusted_copay"] == 0.36
    assert r.loc["Z9904", "note"] == "Inflation-adjusted coinsurance"
    assert math.isnan(r.loc["Z9905", "payment_rate"])  # a lone space
    assert r.loc["Z9903", "apc"] == ""
    assert r.loc["Z9907", "payment_rate"] == 22292.25
    assert r.loc["Z9907", "pass_through_expiration"] == "*"


def test_addendum_b_without_preamble_and_from_bytes():
    df = read_addendum_b(_b_file(GOOD_ROWS, preamble=False), name="b.csv")
    assert len(df) == 7
    assert list(df.attrs["lines"])[0] == 2


def test_addendum_b_utf8_nbsp_and_replacement_char():
    rows = ["Z9911\u00a0,Synthetic,N,,,,,,,,,,", "Z9912\ufffd,Synthetic,N,,,,,,,,,,",
            '"Z9913 ",Synthetic,N,,,,,,,,,,']
    data = ("\n".join([B_HEADER, *rows]) + "\n").encode("utf-8")
    df = read_addendum_b(data, name="b.csv")
    assert list(df["hcpcs"]) == ["Z9911", "Z9912", "Z9913"]


def test_addendum_b_xlsx_with_preamble():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Addendum B.-- OPPS Payment by HCPCS Code for CY 2099"])
    ws.append(["Synthetic copyright line"])
    ws.append([])
    ws.append([h for h in B_HEADER.split(",")])
    ws.append(["Z9901", "Synthetic one", "J1", 5114, 83.142, 7413.38, ".", 1482.68, None, None,
               None, None, "*"])
    ws.append(["Z9921", "Synthetic two", "K", 701, None, 12.5, None, 2.5, 0.19648, 2.46])
    ws.append([100, "Synthetic numeric code", "N"])  # Excel dropped the zeros of 00100
    buf = io.BytesIO()
    wb.save(buf)
    df = read_addendum_b(buf.getvalue(), name="b.xlsx")
    r = df.set_index("hcpcs")
    assert list(r.index) == ["Z9901", "Z9921", "00100"]
    assert r.loc["Z9921", "apc"] == "0701"
    assert r.loc["Z9901", "payment_rate"] == 7413.38
    assert r.loc["Z9921", "minimum_copay"] == 2.5
    assert r.loc["Z9921", "ira_coinsurance_pct"] == pytest.approx(19.648)  # Excel percent cell
    assert list(df.attrs["lines"]) == [5, 6, 7]


def test_addendum_b_non_numeric_rate_names_line_and_column():
    rows = [GOOD_ROWS[1], "Z9931,Synthetic bad,T,5071,1.0,$12O.34,.,$2.47,,,,,"]
    with pytest.raises(CMSFileError) as ei:
        read_addendum_b(_b_file(rows), name="bad.csv")
    err = ei.value
    assert err.line == 8 and err.column == "payment_rate"
    assert "bad.csv" in str(err) and "line 8" in str(err) and "12O.34" in str(err)


def test_addendum_b_missing_column_names_it():
    header = B_HEADER.replace("Payment Rate,", "")
    text = "\n".join([*PREAMBLE, header, "Z9902,Synthetic,J2,5012,1.45,.,$26.00,,,,,"]) + "\n"
    with pytest.raises(CMSFileError) as ei:
        read_addendum_b(text.encode(), name="nocol.csv")
    assert ei.value.line == 6
    assert ei.value.column == "Payment Rate"


def test_addendum_b_no_header():
    with pytest.raises(CMSFileError, match="HCPCS Code"):
        read_addendum_b(b"a,b,c\n1,2,3\n", name="x.csv")


def test_addendum_b_duplicates():
    same = [GOOD_ROWS[1], GOOD_ROWS[1], GOOD_ROWS[2]]
    df = read_addendum_b(_b_file(same), name="dup.csv")
    assert list(df["hcpcs"]) == ["Z9902", "Z9903"]
    assert list(df.attrs["lines"]) == [7, 9]
    clash = [GOOD_ROWS[1], GOOD_ROWS[2], GOOD_ROWS[1].replace("$130.00", "$131.00")]
    with pytest.raises(CMSFileError) as ei:
        read_addendum_b(_b_file(clash), name="dup.csv")
    assert "lines 7 and 9" in str(ei.value)


def test_addendum_b_row_with_data_but_bad_code():
    rows = [GOOD_ROWS[1], "Z99,Synthetic,T,5071,1.0,$12.34,.,$2.47,,,,,"]
    with pytest.raises(CMSFileError) as ei:
        read_addendum_b(_b_file(rows), name="code.csv")
    assert ei.value.line == 8 and ei.value.column == "hcpcs"


def test_addendum_b_footnote_rows_are_skipped():
    rows = [GOOD_ROWS[1], ",,,,,,,,,,,,", "Synthetic footnote text,,,,,,,,,,,,"]
    df = read_addendum_b(_b_file(rows), name="foot.csv")
    assert list(df["hcpcs"]) == ["Z9902"]


# --- Addendum A -----------------------------------------------------------------

A_HEADER = (
    "APC,Group Title,SI,Relative Weight,Payment Rate,National Unadjusted Copayment,"
    "Minimum Unadjusted Copayment,IRA Coinsurance percentage,Adjusted Beneficiary Copayment,"
    "Drug and Device Pass-Through Expiration during Calendar Year,Note,* Indicates a Change"
)


def test_addendum_a_layout():
    text = "\r\n".join([
        ",Addendum A.- OPPS APCs for CY 2099,,,,,,,,,,",
        ",Synthetic preamble note,,,,,,,,,,",
        A_HEADER,
        '5114,Synthetic Level 4 group,J1,83.1420,"$7,413.38",.,"$1,482.68",,,,,*',
        "0701,Synthetic radiopharmaceutical,K,,$4.146,.,$0.83,,,,,",
        "12,Synthetic short APC,S,1.0000,$89.17,$20.00,$17.84,,,,,",
    ]).encode("cp1252")
    df = read_addendum_a(text, name="addendum a.csv")
    assert list(df.columns) == list(ADDENDUM_A_COLUMNS)
    r = df.set_index("apc")
    assert list(r.index) == ["5114", "0701", "0012"]
    assert r.loc["5114", "group_title"] == "Synthetic Level 4 group"
    assert r.loc["5114", "status_indicator"] == "J1"
    assert r.loc["5114", "relative_weight"] == 83.142
    assert r.loc["5114", "payment_rate"] == 7413.38
    assert r.loc["0701", "payment_rate"] == 4.146
    assert r.loc["0012", "national_copay"] == 20.0
    assert bool(r.loc["5114", "changed"]) is True
    assert list(df.attrs["lines"]) == [4, 5, 6]


def test_addendum_a_bad_money():
    text = "\n".join([A_HEADER, "5114,Synthetic,J1,83.14,$7.413.38x,.,$1.00,,,,,"]).encode()
    with pytest.raises(CMSFileError) as ei:
        read_addendum_a(text, name="a.csv")
    assert ei.value.line == 2 and ei.value.column == "payment_rate"


# --- IPPS Table 2 ----------------------------------------------------------------

T2_HEADER = "\t".join([
    "CCN", "Case-Mix Index", "Number of Cases", "County Name", "Geographic CBSA",
    "2 Reclassified/Redesignated Wage Index Payment CBSA", "FY 2025 Wage Index",
    "3,6 FY 2026 Wage Index With Cap",
    "5 FY 2026 Transition for the Discontinuation of the Low Wage Index Hospital Policy",
    "4 Out-Migration Adjustment",
])


def test_ipps_table2_fy2026_layout():
    lines = [
        "Table 2. Case-Mix Index and Wage Index Table by CCN - FY 2099 (synthetic)",
        T2_HEADER,
        "\t".join(["010001", "1.5", "1000", "SYNTHETIC", "10000", "", "0.80", "0.7900", "", ""]),
        "\t".join(["50002", "1.2", "900", "CONDADO PE\u00d1A", "41860", "41940", "1.90",
                   "1.9500", "", "0.0100"]),
        "\t".join(["330003", "1.1", "800", "SYNTHETIC", "35614", "", "1.30", "1.2000",
                   "1.2500", ""]),
        "",
    ]
    data = "\r\n".join(lines).encode("latin-1")
    df = read_ipps_table2(data, name="FY 2099 Table 2.txt")
    r = df.set_index("ccn")
    assert list(r.index) == ["010001", "050002", "330003"]
    assert r.loc["010001", "wage_index"] == 0.79
    assert r.loc["010001", "cbsa"] == "10000"
    assert r.loc["050002", "cbsa"] == "41940"  # reclassified CBSA is the payment CBSA
    assert r.loc["050002", "geographic_cbsa"] == "41860"
    assert r.loc["050002", "wage_index"] == 1.95  # out-migration is not added again
    assert r.loc["050002", "out_migration_adjustment"] == 0.01
    assert r.loc["330003", "wage_index"] == 1.25  # transition value replaces the capped one
    assert r.loc["330003", "wage_index_with_cap"] == 1.2
    assert df.attrs["wage_index_column"] == "3,6 FY 2026 Wage Index With Cap"


def test_ipps_table2_provider_number_quartile_layout():
    header = "\t".join(["Provider Number", "Geographic CBSA", "FY 2023 Wage Index",
                        "FY 2024 Wage Index With Quartile and Cap"])
    data = "\n".join(["Table 2 synthetic", header, "\t".join(["10001", "10000", "0.7", "0.8"])])
    df = read_ipps_table2(data.encode(), name="t2.txt")
    assert df["ccn"].tolist() == ["010001"]
    assert df["wage_index"].tolist() == [0.8]
    assert math.isnan(df["wage_index_transition"].iloc[0])


def test_ipps_table2_errors():
    header = "\t".join(["CCN", "Geographic CBSA", "Something else"])
    with pytest.raises(CMSFileError) as ei:
        read_ipps_table2(("Title\n" + header + "\n010001\t10000\t1\n").encode(), name="t2.txt")
    assert ei.value.line == 2
    bad = "\n".join(["Title", T2_HEADER,
                     "\t".join(["010001", "1", "1", "X", "10000", "", "0.8", "0,79x", "", ""])])
    with pytest.raises(CMSFileError) as ei:
        read_ipps_table2(bad.encode(), name="t2.txt")
    assert ei.value.line == 3 and ei.value.column == "wage_index_with_cap"
