"""Wage index readers and lookups.

Real-file tests read the read-only mirror (``wage_index/SOURCES.md`` there gives
the counts and values asserted here); malformed-input tests write small
synthetic files in CMS's layout.
"""

from __future__ import annotations

import io
import math
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rvucalc.errors import CMSFileError, UnknownLocalityError
from rvucalc.iotools.wage_index import (
    ASC_COLUMNS,
    COUNTY_COLUMNS,
    STATE_RURAL_CODE,
    TABLE_A_COLUMNS,
    TABLE_B_COLUMNS,
    WageIndex,
    read_asc_wage_index,
    read_wage_index_county,
    read_wage_index_table_a,
    read_wage_index_table_b,
    read_wage_index_tables,
    wage_index_for,
)
from rvucalc.reasons import explain

ASC24 = "wage_index/asc-cy2024/wage_index.txt"
ASC25 = "wage_index/asc-cy2025/wage_index.txt"
ASC26 = "wage_index/asc-cy2026/wage_index.csv"
SNF = "wage_index/snf-fy2026/"
ZIP = SNF + "fy2026_wage_index_20250804.zip"
TABLE_A = SNF + "FY2026-FR-WAGE-INDEX_TableA_508.csv"
TABLE_B = SNF + "FY2026-FR-WAGE-INDEX_TableB_508.csv"
COUNTY = SNF + "FY2026-FR-WAGE-INDEX_CountyLevel_508.csv"
XLSX = "FY2026-FR-WAGE-INDEX.xlsx"


def cap95(v: float) -> float:
    """round(0.95 × v, 4), half-up on the exact decimal product (hand arithmetic)."""
    return float((Decimal(str(v)) * Decimal("0.95")).quantize(Decimal("0.0001"), ROUND_HALF_UP))


@pytest.fixture(scope="module")
def asc24(mirror):
    return read_asc_wage_index(mirror(ASC24))


@pytest.fixture(scope="module")
def asc25(mirror):
    return read_asc_wage_index(mirror(ASC25))


@pytest.fixture(scope="module")
def asc26(mirror):
    return read_asc_wage_index(mirror(ASC26))


@pytest.fixture(scope="module")
def table_a(mirror):
    return read_wage_index_table_a(mirror(TABLE_A))


@pytest.fixture(scope="module")
def table_b(mirror):
    return read_wage_index_table_b(mirror(TABLE_B))


@pytest.fixture(scope="module")
def county(mirror):
    return read_wage_index_county(mirror(COUNTY))


@pytest.fixture(scope="module")
def snf_tables(mirror):
    return read_wage_index_tables(mirror(ZIP))


def value(df: pd.DataFrame, code: str) -> float:
    rows = df[df["cbsa"] == code]
    assert len(rows) == 1, f"{code}: {len(rows)} rows"
    return float(rows["wage_index"].iloc[0])


# --------------------------------------------------------------------------- ASC files


def test_asc_cy2026_every_row(asc26):
    assert list(asc26.columns) == ASC_COLUMNS
    assert len(asc26) == 486
    assert asc26["cbsa"].is_unique
    assert not asc26["duplicate"].any()
    assert (asc26["year"] == 2026).all()
    lens = asc26["cbsa"].str.len().value_counts().to_dict()
    assert lens == {5: 417 + 16, 2: 53}
    assert asc26["line"].tolist() == list(range(2, 488))
    assert asc26["wage_index"].min() == 0.2909
    assert asc26["wage_index"].max() == 1.8317
    assert value(asc26, "41940") == 1.8317


def test_asc_cy2026_spot_values(asc26):
    assert value(asc26, "31084") == 1.2699
    assert value(asc26, "35614") == 1.2951
    assert value(asc26, "41884") == 1.7522
    assert value(asc26, "11244") == 1.2445
    assert value(asc26, "10180") == 0.9287
    assert value(asc26, "46520") == 1.1821
    assert "31080" not in set(asc26["cbsa"])


def test_asc_cy2026_pseudo_codes(asc26, asc25):
    pseudo = asc26[asc26["cbsa"].str.startswith("50") & (asc26["cbsa"].str.len() == 5)]
    assert sorted(pseudo["cbsa"]) == ["50001", "50002", "50003", "50004", "50006", "50007",
                                      "50013", "50014", "50015", "50017", "50020", "50021",
                                      "50023", "50024", "50025", "50030"]
    assert pseudo.set_index("cbsa").loc["50001", "cbsa_name"] == "Washington County"
    # each is 95% of some CY2025 value (SOURCES.md)
    caps = {cap95(v) for v in asc25["wage_index"].dropna()}
    assert set(pseudo["wage_index"]) <= caps


def test_asc_cy2025_every_row_and_duplicates(asc25):
    assert list(asc25.columns) == ASC_COLUMNS
    assert len(asc25) == 503
    assert asc25["cbsa"].nunique() == 470
    dup = asc25[asc25["duplicate"]]
    assert dup["cbsa"].nunique() == 27
    assert len(dup) - 27 == 503 - 470
    assert dup.groupby("cbsa").size().between(2, 5).all()
    assert (dup.groupby("cbsa")["wage_index"].nunique() > 1).all()
    assert (dup["reason"] == "WI_AMBIGUOUS").all()
    assert sorted(asc25.loc[asc25["cbsa"] == "01", "wage_index"]) == [0.6471, 0.7158]
    assert (asc25["cbsa"] == "40").sum() == 5
    assert (asc25["year"] == 2025).all()
    assert asc25["wage_index"].min() == 0.2862
    assert asc25["wage_index"].max() == 1.9102
    assert value(asc25, "10180") == 0.9776
    assert value(asc25, "46520") == 1.2443


def test_asc_cy2024_every_row(asc24):
    assert list(asc24.columns) == ASC_COLUMNS
    assert len(asc24) == 462
    assert asc24["cbsa"].is_unique
    assert asc24["cbsa"].str.len().value_counts().to_dict() == {5: 412, 2: 50}
    assert (asc24["year"] == 2024).all()
    assert asc24["wage_index"].min() == 0.3013
    assert asc24["wage_index"].max() == 1.9686
    assert asc24.set_index("cbsa").loc["16984", "cbsa_name"].startswith(
        "Chicago-Naperville-Evanston")
    assert (asc24["reason"] == "").all()


def test_nj_ri_no_rural_area(asc25, asc26, table_b):
    for df in (asc25, asc26, table_b):
        rows = df[df["cbsa"].isin(["31", "41"])]
        assert len(rows) == 2
        assert rows["wage_index"].isna().all()
        assert (rows["reason"] == "WI_NO_RURAL_AREA").all()
    r = wage_index_for(state="NJ", table=asc26)
    assert math.isnan(r.value) and r.reason == "WI_NO_RURAL_AREA" and r.cbsa == "31"


def test_encodings_decode_to_right_names(asc24, asc25, asc26, table_a, county):
    # asc-cy2024 is Latin-1; asc-cy2025/2026 have DOS code-page bytes (0x81 ü, 0xa2 ó)
    assert asc24.set_index("cbsa").loc["32420", "cbsa_name"] == "Mayagüez, PR"
    assert asc24.set_index("cbsa").loc["41900", "cbsa_name"] == "San Germán, PR"
    assert asc24.set_index("cbsa").loc["41980", "cbsa_name"] == "San Juan-Bayamón-Caguas, PR"
    for df in (asc25, asc26):
        names = set(df.loc[df["cbsa"] == "32420", "cbsa_name"])
        assert names == {"Mayagüez, PR"}
        assert set(df.loc[df["cbsa"] == "41980", "cbsa_name"]) == {"San Juan-Bayamón-Caguas, PR"}
    assert table_a.set_index("cbsa").loc["32420", "cbsa_name"] == "Mayagüez, PR"
    assert county.set_index("fips").loc["72097", "cbsa_name"] == "Mayagüez, PR"
    for df in (asc24, asc25, asc26, table_a, county):
        assert not df["cbsa_name"].str.contains("[\x80-\x9f\u00a2]", regex=True).any()


# --------------------------------------------------------------------------- CMS FY2026


def test_table_a(table_a):
    assert list(table_a.columns) == TABLE_A_COLUMNS
    assert len(table_a) == 417
    assert table_a["cbsa"].is_unique
    assert table_a["cbsa"].str.fullmatch(r"\d{5}").all()
    assert (table_a["area"] == "urban").all() and (table_a["year"] == 2026).all()
    ab = table_a.set_index("cbsa")
    assert ab.loc["10180", "wage_index"] == 0.9225
    assert ab.loc["10180", "counties"] == "CALLAHAN, TX; JONES, TX; TAYLOR, TX"
    assert ab.loc["10180", "line"] == 2
    assert ab.loc["31084", "wage_index"] == 1.2699
    # Hinesville carries footnote 2 (no hospitals) on its name
    assert ab.loc["25980", "cbsa_name"] == "Hinesville, GA"
    assert ab.loc["25980", "footnote"] == "2"
    assert ab.loc["25980", "wage_index"] == 0.8589
    # 417 first rows + 835 continuation rows = every county listed
    assert table_a["counties"].str.split("; ").str.len().sum() == 417 + 835
    assert (table_a["reason"] == "").all()


def test_table_b(table_b):
    assert list(table_b.columns) == TABLE_B_COLUMNS
    assert len(table_b) == 53
    assert table_b["cbsa"].str.fullmatch(r"\d{2}").all()
    b = table_b.set_index("cbsa")
    assert b.loc["31", "cbsa_name"] == "New Jersey" and b.loc["31", "footnote"] == "1"
    assert b.loc["40", "cbsa_name"] == "Puerto Rico" and b.loc["40", "wage_index"] == 0.2443
    assert b.loc["35", "wage_index"] == 0.8128
    assert b.loc["01", "cbsa_name"] == "Alabama"
    assert b.loc["65", "wage_index"] == 0.9611
    assert (table_b["area"] == "rural").all()


def test_county_crosswalk(county, snf_tables):
    assert list(county.columns) == COUNTY_COLUMNS
    assert len(county) == 3273
    assert county["fips"].is_unique and county["fips"].str.fullmatch(r"\d{5}").all()
    assert county["urban_rural"].value_counts().to_dict() == {"rural": 2021, "urban": 1252}
    assert county["cbsa"].nunique() == 468
    la = county.set_index("fips").loc["06037"]
    assert (la["cbsa"], la["county_name"], la["state"], la["wage_index"]) == (
        "31084", "LOS ANGELES", "CA", 1.2699)
    assert (county["year"] == 2026).all()
    # rural ⇔ 2-digit code; every county's CBSA and value agree with Tables A/B
    assert ((county["urban_rural"] == "rural") == (county["cbsa"].str.len() == 2)).all()
    t = snf_tables.set_index("cbsa")["wage_index"]
    assert county["cbsa"].isin(t.index).all()
    assert np.array_equal(county["wage_index"].to_numpy(), t.loc[county["cbsa"]].to_numpy())


def test_state_codes_match_county_file(county):
    rural = county[county["urban_rural"] == "rural"].drop_duplicates("state")
    for st_, code in zip(rural["state"], rural["cbsa"], strict=True):
        assert STATE_RURAL_CODE[st_] == code


def test_zip_csv_and_xlsx_members_agree(mirror, table_a, table_b, county):
    z = mirror(ZIP)
    for reader, direct in ((read_wage_index_table_a, table_a), (read_wage_index_table_b, table_b),
                           (read_wage_index_county, county)):
        from_zip = reader(z)
        assert "_508.csv" in from_zip.attrs["source"]
        pd.testing.assert_frame_equal(from_zip, direct, check_dtype=False)
        from_xlsx = reader(z, member=XLSX)
        assert from_xlsx.attrs["source"].endswith(XLSX)
        pd.testing.assert_frame_equal(from_xlsx, direct, check_dtype=False)


def test_xlsx_sheet_by_name(mirror):
    with zipfile.ZipFile(mirror(ZIP)) as zf:
        data = zf.read(XLSX)
    b = read_wage_index_table_b(data, "wi.xlsx", sheet="Table B")
    assert len(b) == 53
    with pytest.raises(CMSFileError, match="worksheet"):
        read_wage_index_table_b(data, "wi.xlsx", sheet="No such sheet")


# ----------------------------------------------------------- ASC CY2026 vs CMS FY2026


def test_asc_cy2026_is_snf_value_or_capped_prior_year(asc25, asc26, snf_tables):
    """ASC CY2026 = max(FY2026 uncapped, round(0.95 × CY2025 ASC, 4)) for 410 + 56 codes.

    Where the CY2025 copy has several values for a code, the CY2026 value must
    match the formula for one of them. Exceptions, listed in SOURCES.md: NJ 31
    and RI 41 (no value either side), ND 35 and Hinesville 25980 (ASC higher,
    unexplained).
    """
    snf = snf_tables.set_index("cbsa")["wage_index"]
    a26 = asc26.set_index("cbsa")["wage_index"]
    prior = asc25.groupby("cbsa")["wage_index"].agg(list)
    assert set(snf.index) <= set(a26.index) and len(snf) == 470
    identical, capped, exceptions = [], [], []
    for code, uncapped in snf.items():
        got = a26[code]
        if not math.isnan(uncapped) and got == uncapped:
            identical.append(code)
            continue
        expected = {max(uncapped, cap95(v)) for v in prior.get(code, []) if not math.isnan(v)}
        if got in expected and got > uncapped:
            capped.append(code)
        else:
            exceptions.append(code)
    assert len(identical) == 410
    assert len(capped) == 56
    assert sorted(exceptions) == ["25980", "31", "35", "41"]
    # identical codes are consistent with the formula too: the cap does not bind
    for code in identical:
        caps = [cap95(v) for v in prior.get(code, []) if not math.isnan(v)]
        assert any(c <= a26[code] for c in caps) or not caps
    # exceptions, as in SOURCES.md
    assert (a26["35"], snf["35"]) == (0.8329, 0.8128)
    assert (a26["25980"], snf["25980"]) == (0.8877, 0.8589)
    # worked example: Abilene 0.9776 → 0.95 × 0.9776 = 0.92872 → 0.9287 > 0.9225
    assert cap95(0.9776) == 0.9287
    assert a26["10180"] == max(snf["10180"], cap95(prior["10180"][0])) == 0.9287


# --------------------------------------------------------------------------- lookups


def test_fips_to_cbsa_lookup(mirror, asc26, county):
    r = wage_index_for(county_fips="06037", table=asc26, counties=county)
    assert r.cbsa == "31084" and r.value == 1.2699 and r.reason == ""
    assert r.file.endswith("wage_index.csv") and r.line == 281
    assert r.county_fips == "06037" and r.county_line is not None
    assert r.approximate_for_opps
    # numeric FIPS that lost its leading zero
    assert wage_index_for(county_fips=6037, table=asc26, counties=county).cbsa == "31084"
    # rural county → its state's 2-digit code
    r = wage_index_for(county_fips="01005", table=asc26, counties=county)
    assert r.cbsa == "01" and r.value == value(asc26, "01")


def test_cy2025_duplicate_code_is_ambiguous(asc25, county):
    r = wage_index_for("01", table=asc25)
    assert math.isnan(r.value) and not r.ok
    assert r.reason == "WI_AMBIGUOUS"
    assert sorted(r.candidates) == [0.6471, 0.7158]
    assert "0.6471" in r.message and "0.7158" in r.message
    assert len(r.candidate_lines) == 2
    assert len(wage_index_for(state="PR", table=asc25).candidates) == 5
    with pytest.raises(UnknownLocalityError, match="WI_AMBIGUOUS"):
        wage_index_for("01", table=asc25, strict=True)
    many = WageIndex(asc25).lookup_many(["01", "10180", "99999"])
    assert many["reason"].tolist() == ["WI_AMBIGUOUS", "", "WI_UNKNOWN_CBSA"]
    assert math.isnan(many["wage_index"][0]) and many["wage_index"][1] == 0.9776


def test_state_lookup_and_settings(asc26, mirror):
    r = wage_index_for(state="nd", table=asc26)
    assert r.cbsa == "35" and r.value == 0.8329 and r.reason == ""
    assert wage_index_for(state="35", table=asc26).value == 0.8329
    r = wage_index_for(state="ND", table=asc26, setting="opps")
    assert r.value == 0.8329 and r.reason == "WI_APPROX_OPPS"
    with pytest.raises(UnknownLocalityError):
        wage_index_for(state="XX", table=asc26)
    with pytest.raises(ValueError):
        wage_index_for("31084", state="CA", table=asc26)
    r = wage_index_for("31080", table=asc26)
    assert r.reason == "WI_UNKNOWN_CBSA" and math.isnan(r.value)


def test_snf_lookup_is_uncapped(mirror):
    wi = WageIndex.from_cms_fy(mirror(ZIP))
    r = wi.lookup("10180")
    assert r.value == 0.9225 and r.reason == "WI_UNCAPPED"
    assert "TableA" in r.file and r.line == 2
    r = wi.lookup(county_fips="06037", setting="opps")
    assert r.value == 1.2699 and r.reasons == ("WI_APPROX_OPPS", "WI_UNCAPPED")
    assert wi.lookup(state="RI").reason == "WI_NO_RURAL_AREA"
    assert wi.lookup(county_fips="99999").reason == "WI_UNKNOWN_COUNTY"


def test_county_specific_value_is_flagged(asc26, county):
    # Washington County, AL is rural (01); CY2026 also has 50001 "Washington County"
    r = wage_index_for(county_fips="01129", table=asc26, counties=county)
    assert r.cbsa == "01" and r.value == value(asc26, "01")
    assert r.reason == "WI_COUNTY_VALUE_POSSIBLE"
    assert r.candidates == (value(asc26, "50001"),)
    many = WageIndex(asc26, county).lookup_many(county_fips=["01129", "06037", "00000"])
    assert many["reason"].tolist() == ["WI_COUNTY_VALUE_POSSIBLE", "", "WI_UNKNOWN_COUNTY"]
    assert many["cbsa"].tolist() == ["01", "31084", ""]


def test_lookup_many_matches_scalar(asc26, county):
    codes = list(asc26["cbsa"]) + ["99999"]
    many = WageIndex(asc26).lookup_many(codes, setting="opps")
    for code, row in zip(codes, many.itertuples(), strict=True):
        r = wage_index_for(code, table=asc26, setting="opps")
        assert row.reason == r.reason
        assert (math.isnan(row.wage_index) and math.isnan(r.value)) or row.wage_index == r.value


def test_reason_codes_registered():
    for code in ("WI_NO_RURAL_AREA", "WI_MISSING", "WI_AMBIGUOUS", "WI_UNKNOWN_CBSA",
                 "WI_UNKNOWN_COUNTY", "WI_COUNTY_VALUE_POSSIBLE", "WI_UNCAPPED",
                 "WI_APPROX_OPPS"):
        r = explain(code)
        assert r is not None and r.message and r.rule


# --------------------------------------------------------------------------- synthetic


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_malformed_code_names_file_line_column(tmp_path):
    p = write(tmp_path, "wi.txt", b"CBSA\tCBSA Name\tWI25\r\n01\tALABAMA\t0.6471\r\n"
                                  b"1A234\tNowhere, ZZ\t0.9\r\n")
    with pytest.raises(CMSFileError) as e:
        read_asc_wage_index(p)
    assert e.value.file.endswith("wi.txt")
    assert (e.value.line, e.value.column) == (3, "cbsa")
    assert "wi.txt, line 3, column 'cbsa'" in str(e.value)


def test_malformed_value_names_line_column(tmp_path):
    p = write(tmp_path, "wi.csv", b"note line\r\nCBSA,CBSA Name,WI26\r\n10180,\"Abilene, TX\",0.9287\r\n"
                                  b"10380,\"Aguadilla, PR\",abc\r\n")
    with pytest.raises(CMSFileError) as e:
        read_asc_wage_index(p)
    assert (e.value.line, e.value.column, e.value.found) == (4, "wage_index", "abc")


def test_missing_header_and_empty_file(tmp_path):
    with pytest.raises(CMSFileError, match="header"):
        read_asc_wage_index(write(tmp_path, "x.csv", b"a,b,c\r\n1,2,3\r\n"))
    with pytest.raises(CMSFileError, match="empty"):
        read_asc_wage_index(write(tmp_path, "e.csv", b""))
    with pytest.raises(CMSFileError, match="no such file"):
        read_asc_wage_index(tmp_path / "missing.csv")


def test_synthetic_table_a_and_b(tmp_path):
    a = (b"CBSA Code,Urban Area,Constituent Counties,Wage Index 1\r\n"
         b"11111,\"Alpha, ZZ\",\"ONE, ZZ\",0.9000\r\n,,\"TWO, ZZ\",\r\n,,,\r\n"
         b"22222,\"Beta, ZZ2\",\"THREE, ZZ\",-----\r\n,,,\r\n"
         b"\"1Footnote text about caps.\",,,\r\n")
    df = read_wage_index_table_a(write(tmp_path, "FY2031_TableA.csv", a))
    assert df["cbsa"].tolist() == ["11111", "22222"]
    assert df["counties"].tolist() == ["ONE, ZZ; TWO, ZZ", "THREE, ZZ"]
    assert df["cbsa_name"].tolist() == ["Alpha, ZZ", "Beta, ZZ"]
    assert df["footnote"].tolist() == ["", "2"]
    assert df["wage_index"][0] == 0.9 and math.isnan(df["wage_index"][1])
    assert df["reason"].tolist() == ["", "WI_MISSING"]
    assert df["line"].tolist() == [2, 5]
    assert (df["year"] == 2031).all()
    bad = a.replace(b",,\"TWO, ZZ\",", b"XX,,\"TWO, ZZ\",0.5")
    with pytest.raises(CMSFileError) as e:
        read_wage_index_table_a(write(tmp_path, "bad_TableA.csv", bad))
    assert (e.value.line, e.value.column) == (3, "cbsa")
    b = (b"State Code,Nonurban Area,Wage Index\r\n1,Alpha ,0.7000\r\n31,New Zed1,-----\r\n"
         b",,\r\n1 All counties within the State are classified as urban.,,\r\n")
    df = read_wage_index_table_b(write(tmp_path, "TableB.csv", b), year=2031)
    assert df["cbsa"].tolist() == ["01", "31"]
    assert df["cbsa_name"].tolist() == ["Alpha", "New Zed"]
    assert df["reason"].tolist() == ["", "WI_NO_RURAL_AREA"]


def test_synthetic_zip_member_by_pattern(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "not a table")
        zf.writestr("sub/FY2031_CountyLevel.csv",
                    "FIPS Code,County Name (or County Equivalent),State,FY 2031 CBSA,"
                    "FY 2031 Urban/Rural,FY 2031 CBSA Name,FY 31 Wage Index (New CBSA)\r\n"
                    "1001,ALPHA,ZZ,11111,Urban,\"Alpha, ZZ\",0.9000\r\n"
                    "01003,BETA,ZZ,1,Rural,ZZ,0.7000\r\n")
    df = read_wage_index_county(write(tmp_path, "wi.zip", buf.getvalue()))
    assert df["fips"].tolist() == ["01001", "01003"]
    assert df["cbsa"].tolist() == ["11111", "01"]
    assert df["urban_rural"].tolist() == ["urban", "rural"]
    assert (df["year"] == 2031).all()
    assert df.attrs["source"].endswith("wi.zip!FY2031_CountyLevel.csv")
    with pytest.raises(CMSFileError, match="zip member"):
        read_wage_index_table_a(write(tmp_path, "wi2.zip", buf.getvalue()))


def test_dos_and_latin1_bytes_decode(tmp_path):
    dos = b"CBSA\tCBSA Name\tWI25\r\n32420\t\"Mayag\x81ez, PR\"\t0.3759\r\n"
    lat = b"CBSA\tWI24\tCBSA Name\r\n32420\t0.3199\t\"Mayag\xfcez, PR\"\r\n"
    for data in (dos, lat, "CBSA,CBSA Name,WI26\n32420,\"Mayagüez, PR\",0.3408\n".encode()):
        df = read_asc_wage_index(data, "wi.txt")
        assert df["cbsa_name"].tolist() == ["Mayagüez, PR"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["1", "01", "05", "10180", "31084", "35614"]),
                          st.integers(min_value=0, max_value=29999)), min_size=1, max_size=12),
       st.booleans())
def test_synthetic_asc_roundtrip(rows, tab):
    sep = "\t" if tab else ","
    lines = [sep.join(["CBSA", "CBSA Name", "WI30"])]
    for code, v in rows:
        lines.append(sep.join([code, "Area", f"{v / 10000:.4f}"]))
    df = read_asc_wage_index(("\r\n".join(lines) + "\r\n").encode("ascii"), "wi.txt")
    assert len(df) == len(rows)
    assert (df["year"] == 2030).all()
    codes = [c.zfill(2) if len(c) <= 2 else c for c, _ in rows]
    assert df["cbsa"].tolist() == codes
    for (_code, v), got, why in zip(rows, df["wage_index"], df["reason"], strict=True):
        if v == 0:
            assert math.isnan(got)
            assert why in ("WI_NO_RURAL_AREA", "WI_MISSING")
        else:
            assert got == round(v / 10000, 4)
    counts = pd.Series(codes).value_counts()
    assert df["duplicate"].tolist() == [counts[c] > 1 for c in codes]


# --------------------------------------------------------------------------- catalogue

CATALOGUE = Path(__file__).resolve().parents[1] / "data" / "wage_index"
MIRROR_FOLDER = {"asc-cy2024": "wage_index/asc-cy2024/", "asc-cy2025": "wage_index/asc-cy2025/",
                 "asc-cy2026": "wage_index/asc-cy2026/", "snf-fy2026": SNF}


@pytest.mark.parametrize("rid", sorted(MIRROR_FOLDER))
def test_catalogue_entry_matches_mirror(rid, mirror):
    import hashlib
    import tomllib

    with open(CATALOGUE / rid / "release.toml", "rb") as fh:
        rel = tomllib.load(fh)
    assert rel["id"] == rid and rel["system"] == "wage_index"
    assert isinstance(rel["year"], int) and rel["label"]
    assert ("url" in rel) or ("note" in rel)
    if "zip_name" in rel:
        zp = mirror(MIRROR_FOLDER[rid] + rel["zip_name"])
        assert hashlib.sha256(zp.read_bytes()).hexdigest() == rel["zip_sha256"]
    for table, f in rel["files"].items():
        digest = f.get("sha256") or f["mirror_sha256"]
        if f["format"] == "xlsx":
            with zipfile.ZipFile(mirror(MIRROR_FOLDER[rid] + rel["zip_name"])) as zf:
                data = zf.read(f["name"])
        else:
            data = mirror(MIRROR_FOLDER[rid] + f["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, table
        if "rows" in f:
            reader = {"wage_index": read_asc_wage_index, "table_a": read_wage_index_table_a,
                      "table_b": read_wage_index_table_b,
                      "county": read_wage_index_county}[table]
            assert len(reader(data, f["name"])) == f["rows"]


def test_county_value_flag_survives_misspelling(asc26, county):
    # ASC CY2026 names 50003 "Kalwao County"; CMS's county file has KALAWAO, HI (15005) in 27980
    r = wage_index_for(county_fips="15005", table=asc26, counties=county)
    assert r.cbsa == "27980" and r.reason == "WI_COUNTY_VALUE_POSSIBLE"
    assert r.candidates == (value(asc26, "50003"),)
    # how many counties get flagged at all: only names matching a pseudo-code's county
    many = WageIndex(asc26, county).lookup_many(county_fips=county["fips"])
    flagged = county[(many["reason"] == "WI_COUNTY_VALUE_POSSIBLE").to_numpy()]
    assert {"01129", "15005"} <= set(flagged["fips"])
    assert flagged["county_name"].str.upper().str.replace(" ", "").isin(
        ["WASHINGTON", "LAMAR", "KALAWAO", "POWER", "PUTNAM", "HENDERSON", "ROCK", "LYON",
         "FRANKLIN", "GRANVILLE", "PIKE", "MADISON", "MINERAL"]).all()
