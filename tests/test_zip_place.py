"""Issue 21, part 2, "Where the facility is": a facility placed by the claim's ZIP code.

When a claim line (or ``rvucalc sites CODE --zip Z``) gives no CBSA, county or wage index, the
facility is placed by the ZIP: ZIP -> PFS payment locality (CMS ZIP5 file) -> the locality's
counties (LOCCO) -> their CBSA (CMS county crosswalk), only when every county of the locality
lies in ONE CBSA. Otherwise the national rate stays, with a note saying why.

CMS facts (files in the mirror, quoted where they are read):

* ZIP5_OCT2025.txt: ``CA921010118272`` (ZIP 92101, carrier 01182, locality 72);
  ``CA900120118218`` (90012, locality 18); ``TX799010441299`` (79901, 04412 locality 99).
* 25LOCCO.csv: ``1182,72,,SAN DIEGO-CHULA VISTA-CARLSBAD,SAN DIEGO``;
  ``1182,18,CALIFORNIA,LOS ANGELES-LONG BEACH-ANAHEIM (LOS ANGELES CNTY),LOS ANGELES /ORAGNGE CNTY``
  (Los Angeles AND Orange counties); REST OF TEXAS is "ALL OTHER COUNTIES".
* FY2026 county crosswalk: ``06073,SAN DIEGO,CA,41740``; ``06037,LOS ANGELES,CA,31084``;
  ``06059,ORANGE,CA,11244`` (so locality 18 spans two CBSAs: ZIP 90012 is NOT placed).
* CY2025 ASC wage index (the 2025 OPPS table at hand): ``41740 "San Diego-Chula Vista-Carlsbad, CA"
  1.239``; ``31084 ... 1.2969``.
* October 2025 Addendum B: ``20983,Ablate bone tumor(s) perq,J1,5114,80.1145,"$7,143.730",.,"$1,428.75"``.
* July 2026 ASC Addendum AA: ``20983 ... J8,93.6462,5274.34``.

OPPS wage adjustment (42 CFR 419.43(a)-(c)): 60% of the rate is labor-related and multiplied by
the wage index: payment = rate x (0.6 x wi + 0.4), rounded to cents.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

import rvucalc
from rvucalc.cli import main


def _zip5_line(mirror, z: str) -> str:
    """The ZIP5 record of *z* (state 1-2, ZIP 3-7, carrier 8-12, locality 13-14)."""
    for line in mirror("pfs/zip5_oct2025/ZIP5_OCT2025.txt").read_text(encoding="latin-1").splitlines():
        if line[2:7] == z:
            return line[:14]
    raise AssertionError(f"{z} not in ZIP5_OCT2025.txt")


def _county_row(mirror, fips: str) -> list[str]:
    with open(mirror("wage_index/snf-fy2026/FY2026-FR-WAGE-INDEX_CountyLevel_508.csv"), newline="") as f:
        for row in csv.reader(f):
            if row and row[0] == fips:
                return row
    raise AssertionError(fips)


def _asc25_wi(mirror, cbsa: str) -> float:
    for line in mirror("wage_index/asc-cy2025/wage_index.txt").read_text(encoding="latin-1").splitlines():
        parts = line.split("\t")
        if parts[0] == cbsa:
            return float(parts[-1])
    raise AssertionError(cbsa)


def _addendum_b_rate(mirror, code: str) -> float:
    p = mirror("opps/2025-10/508 version of October 2025 Web Addendum B.10.31.25.csv")
    with open(p, newline="", encoding="latin-1") as f:
        for row in csv.reader(f):
            if row and row[0] == code:
                return float(row[5].replace("$", "").replace(",", ""))
    raise AssertionError(code)


def _line(**kw) -> pd.DataFrame:
    base = {"claim_id": "a", "hcpcs": "20983", "date_of_service": "2025-11-10"}
    return pd.DataFrame([{**base, **kw}])


# ------------------------------------------------------------------------------------------
# the CMS facts the tests rest on


def test_cms_chain_of_92101_and_90012(mirror) -> None:
    assert _zip5_line(mirror, "92101") == "CA921010118272"
    assert _zip5_line(mirror, "90012") == "CA900120118218"
    assert _zip5_line(mirror, "79901") == "TX799010441299"
    locco = mirror("pfs/rvu25d/25LOCCO.csv").read_text(encoding="latin-1")
    assert "1182,72,,SAN DIEGO-CHULA VISTA-CARLSBAD,SAN DIEGO" in locco
    assert "LOS ANGELES /ORAGNGE CNTY" in locco
    assert _county_row(mirror, "06073")[3] == "41740"
    assert _county_row(mirror, "06037")[3] == "31084"
    assert _county_row(mirror, "06059")[3] == "11244"  # Orange: another CBSA than Los Angeles
    assert _asc25_wi(mirror, "41740") == 1.239
    assert _addendum_b_rate(mirror, "20983") == 7143.73


# ------------------------------------------------------------------------------------------
# claims (rvucalc.reprice_opps / reprice_asc; the facility pipeline)


def test_zip_placed_in_one_cbsa_hopd_amount(mirror) -> None:
    out = rvucalc.reprice_opps(_line(zip="92101"))
    r = out.iloc[0]
    wi = _asc25_wi(mirror, "41740")  # 1.239
    rate = _addendum_b_rate(mirror, "20983")  # 7,143.73
    # 7,143.73 x (0.6 x 1.239 + 0.4) = 7,143.73 x 1.1434 = 8,168.1409 -> 8,168.14
    assert round(rate * (0.6 * wi + 0.4), 2) == 8168.14
    assert r["facility_wage_index"] == pytest.approx(1.239)
    assert r["facility_payment"] == pytest.approx(8168.14)
    codes = str(r["reason"]).split("|")
    assert "FACILITY_PLACED_BY_ZIP" in codes and "FACILITY_NATIONAL_RATE" not in codes
    assert bool(r["payable"])
    files = {s["file"] for s in out.attrs["rvucalc.provenance"]["sources"]}
    assert {"ZIP5_OCT2025.txt", "25LOCCO.csv", "FY2026-FR-WAGE-INDEX_CountyLevel_508.csv",
            "wage_index.txt"} <= files


@pytest.mark.parametrize("z", ["90012", "79901"])
def test_zip_in_a_locality_of_several_cbsas_is_not_placed(mirror, z: str) -> None:
    """90012: Los Angeles locality = Los Angeles (31084) + Orange (11244) counties; 79901: REST OF
    TEXAS (every county no other Texas locality names). National rate: 7,143.73 x 1.0."""
    for f, national in ((rvucalc.reprice_opps, 7143.73), (rvucalc.reprice_asc, 4911.21)):
        # ASC national: October 2025 AA ``20983 ... J8,89.4655,"$4,911.21"`` (wage index 1.0)
        r = f(_line(zip=z)).iloc[0]
        assert r["facility_wage_index"] == 1.0
        assert r["facility_payment"] == pytest.approx(national)
        codes = str(r["reason"]).split("|")
        assert codes[:2] == ["FACILITY_NATIONAL_RATE", "FACILITY_ZIP_NOT_ONE_CBSA"], codes
        assert bool(r["payable"])


def test_unknown_zip_and_blank_zip() -> None:
    out = rvucalc.reprice_opps(pd.concat([_line(zip="00000"), _line(zip="", claim_id="b")], ignore_index=True))
    assert out["reason"].astype(str).tolist() == ["FACILITY_NATIONAL_RATE|FACILITY_ZIP_UNKNOWN",
                                                  "FACILITY_NATIONAL_RATE"]
    assert out["facility_payment"].tolist() == [7143.73, 7143.73]


def test_a_cbsa_column_is_not_affected_by_the_zip(mirror) -> None:
    r = rvucalc.reprice_opps(_line(zip="92101", cbsa="31084")).iloc[0]
    wi = _asc25_wi(mirror, "31084")  # 1.2969
    # 7,143.73 x (0.6 x 1.2969 + 0.4) = 7,143.73 x 1.17814 = 8,416.3146 -> 8,416.31
    assert r["facility_wage_index"] == wi == 1.2969
    assert r["facility_payment"] == pytest.approx(8416.31)
    assert "ZIP" not in str(r["reason"])
    # the option wage_index too comes before the ZIP
    r = rvucalc.reprice_opps(_line(zip="92101"), wage_index=1.0).iloc[0]
    assert r["facility_payment"] == pytest.approx(7143.73) and "ZIP" not in str(r["reason"])


def test_no_zip5_of_the_year_no_placement(monkeypatch) -> None:
    """A year whose ZIP5/LOCCO is not at hand: not placed (never another year's), said."""
    import functools

    from rvucalc.claims import facility

    facility.clear_cache()
    monkeypatch.setattr(facility, "_zip_schedule",
                        functools.lru_cache(maxsize=1)(lambda year, mirror: "no CY2025 PFS release (test)"))
    try:
        r = rvucalc.reprice_opps(_line(zip="92101")).iloc[0]
    finally:
        facility.clear_cache()
    assert str(r["reason"]) == "FACILITY_NATIONAL_RATE|FACILITY_ZIP_NO_FILES"
    assert r["facility_payment"] == pytest.approx(7143.73)


def test_memory_and_stream_engines_agree(tmp_path: Path) -> None:
    rows = []
    for i, (z, cbsa) in enumerate([("92101", ""), ("90012", ""), ("79901", ""), ("92101", "31084"),
                                   ("00000", ""), ("", ""), ("93721", ""), ("92101", "")] * 3):
        rows.append({"claim_id": f"c{i}", "hcpcs": "20983", "pos": "22", "zip": z, "cbsa": cbsa,
                     "date_of_service": "2025-11-10"})
    book = tmp_path / "book.csv"
    pd.DataFrame(rows).to_csv(book, index=False)
    outs = {}
    for engine in ("memory", "stream"):
        o = tmp_path / f"{engine}.csv"
        extra = ["--chunk-lines", "3"] if engine == "stream" else []
        assert main(["reprice", str(book), "--setting", "hopd", "--engine", engine, "--no-progress",
                     "-o", str(o), *extra]) == 0
        outs[engine] = pd.read_csv(o, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(outs["memory"], outs["stream"])
    m = outs["memory"]
    assert (m.loc[m["zip"].eq("92101") & m["cbsa"].eq(""), "facility_payment"] == "8168.14").all()
    assert m["reason"].str.contains("FACILITY_PLACED_BY_ZIP").sum() == 9  # 92101 x 2 and 93721, x 3


# ------------------------------------------------------------------------------------------
# the single-code comparison (rvucalc sites CODE --zip Z)


def test_sites_zip_90012_national_with_the_reason(capsys) -> None:
    assert main(["sites", "20983", "--zip", "90012", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    asc = next(r for r in got["rows"] if r["site"] == "asc")
    # July 2026 AA: 20983 J8 5274.34, national (wage index 1.0)
    assert asc["facility"] == 5274.34
    codes = [x["code"] for x in asc["reasons"]]
    assert "FACILITY_NATIONAL_RATE" in codes and "FACILITY_ZIP_NOT_ONE_CBSA" in codes
    place = got["wage_index"]["asc"]["placement"]
    assert place.startswith("national rate (the ZIP's PFS locality 01182-18 ")
    assert "spans 2 CBSAs" in place


def test_sites_zip_92101_placed(mirror, capsys) -> None:
    fs = rvucalc.load(release="rvu25d")
    cmp = fs.compare_sites("20983", zip="92101")
    hopd = next(r for r in cmp.rows if r.site == "hopd")
    assert hopd.facility == 8168.14 and hopd.wage_index == 1.239  # hand arithmetic above
    assert cmp.wage_index["hopd"].placement == (
        "ZIP 92101 -> locality 01182-72 SAN DIEGO-CHULA VISTA-CARLSBAD -> county 06073 San Diego -> "
        "CBSA 41740 (placed by ZIP): wage index 1.2390 (wage_index.txt, asc-cy2025)")
    assert [x.code for x in hopd.reasons][-2:] == ["FACILITY_PLACED_BY_ZIP", "WI_APPROX_OPPS"]
    files = {s.file for s in hopd.sources}
    assert {"ZIP5_OCT2025.txt", "25LOCCO.csv", "FY2026-FR-WAGE-INDEX_CountyLevel_508.csv"} <= files
    assert main(["sites", "20983", "--zip", "92101", "--year", "2025"]) == 0
    out = capsys.readouterr().out
    assert "Hospital outpatient facility placed: ZIP 92101 -> locality 01182-72" in out
    # a county given places the facility by the county, not the ZIP
    by_county = fs.compare_sites("20983", zip="92101", county_fips="06037")
    assert by_county.wage_index["hopd"].cbsa == "31084"


def test_sites_claims_placed_by_zip() -> None:
    lines = pd.DataFrame({"claim_id": ["a", "b"], "hcpcs": ["20983", "20983"], "pos": ["22", "22"],
                          "zip": ["92101", "90012"], "date_of_service": ["2025-11-10"] * 2})
    per = rvucalc.compare_sites_claims(lines).set_index("claim_id")
    assert per.loc["a", "hopd_facility"] == pytest.approx(8168.14)  # placed: hand arithmetic above
    assert per.loc["b", "hopd_facility"] == pytest.approx(7143.73)  # 90012: national
    assert per.loc["b", "asc_facility"] == pytest.approx(4911.21)  # October 2025 AA, national


# ------------------------------------------------------------------------------------------
# the table itself


def test_zip_table_2026(fs26) -> None:
    from rvucalc import sites
    from rvucalc.calc import places

    table, srcs, missing = sites._zip_table(fs26, "asc")
    assert missing == "" and table is not None
    z = fs26.zip5["zip"].drop_duplicates().to_numpy()
    got = places.place_zips(table, z)
    placed = got["status"] == places.PLACED
    assert 0 < placed.sum() < len(got)
    # every placed ZIP's locality lists counties of one CBSA; DC + MD/VA suburbs (ZIPs in three
    # states) and Los Angeles (two CBSAs) never place
    assert set(got.loc[got["locality_id"] == "12202-01", "status"]) == {places.PARTLY_KNOWN}
    assert set(got.loc[got["locality_id"] == "01182-18", "status"]) == {places.MANY_CBSAS}
    assert set(got.loc[got["locality_id"] == "01182-72", "cbsa"]) == {"41740"}


def test_miami_dade_is_in_the_miami_locality(fs26, mirror) -> None:
    """26LOCCO.csv: ``09102,04,,MIAMI,DADE AND MONROE`` - CMS's list keeps Dade County's name
    (Miami-Dade since 1997); the crosswalk's 12086 is ``MIAMI-DADE``. Before, the county went to
    REST OF FLORIDA as a county 'not listed by name'."""
    assert "09102,04,,MIAMI,DADE AND MONROE" in mirror("pfs/rvu26a/26LOCCO.csv").read_text(encoding="latin-1")
    lid, how = fs26.county_locality("12086")
    assert lid == "09102-04" and "CMS's list calls it 'DADE'" in how


def test_the_rule_on_synthetic_tables() -> None:
    """Small made-up tables: one county per CBSA; a county two localities name is unsure; a
    locality whose ZIPs lie in two states is not fully known; 'all other counties' collects."""
    from rvucalc.calc import places

    loc = pd.DataFrame({
        "locality_id": ["00001-01", "00001-02", "00001-99", "00002-00"],
        "mac": ["00001", "00001", "00001", "00002"], "locality": ["01", "02", "99", "00"],
        "state": ["AA", "AA", "AA", "BB"], "locality_name": ["ONE", "TWO", "REST OF AA", "BB"],
        "counties": ["ALPHA AND BETA", "GAMMA, BETA", "ALL OTHER COUNTIES", "ALL COUNTIES"]})
    counties = pd.DataFrame({
        "fips": ["10001", "10002", "10003", "10004", "20001"],
        "county_name": ["ALPHA", "BETA", "GAMMA", "DELTA", "OMEGA"], "state": ["AA"] * 4 + ["BB"],
        "cbsa": ["11111", "11111", "22222", "33333", "44444"]})
    zip5 = pd.DataFrame({"zip": ["00011", "00012", "00013", "00014", "00015"],
                         "locality_id": ["00001-01", "00001-02", "00001-99", "00002-00", "00002-00"],
                         "state": ["AA", "AA", "AA", "BB", "CC"]})
    assert places.place_county("DELTA", "AA", loc).locality_id == "00001-99"
    assert places.place_county("BETA", "AA", loc).problem == "several"
    t = places.zip_table(zip5, loc, counties)
    got = places.place_zips(t, ["00011", "00012", "00013", "00014", "99999"]).set_index("zip")
    # ONE: ALPHA (11111) for sure, BETA named by ONE and TWO: unsure
    assert got.loc["00011", "status"] == places.UNSURE
    assert got.loc["00013", "status"] == places.PLACED and got.loc["00013", "cbsa"] == "33333"
    assert got.loc["00014", "status"] == places.PARTLY_KNOWN  # ZIPs in BB and CC
    assert got.loc["99999", "status"] == places.NOT_IN_ZIP5
    assert (got["cbsa"] != "").sum() == 1
