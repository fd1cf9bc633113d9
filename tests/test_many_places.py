"""Many codes in many places (issue 24, part 2): one tidy frame, one workbook, provenance through
concat. Real mirror files (RVU25D, OPPS Addendum B and ASC Addenda of October 2025, CY2025 wage
index); every amount is re-derived from fs.compare_sites, a code and a place at a time."""

from __future__ import annotations

import math

import openpyxl
import pandas as pd
import pytest

import rvucalc
from rvucalc.cli import main
from rvucalc.sites import Place, as_place

CODES = ("20983 29881 45378 99213 99214 99203 71046-26 70553 74177 93000 93306 27447 27130 66984 43239 "
         "45380 47562 49505 64483 62323 11042 17000 29827 19083 52000 36556 77067 31231 58558 30520").split()
PLACES = ["zip:90012", "zip:10001", "county:06037"]
AMOUNTS = ("professional", "facility", "total", "medicare", "beneficiary", "wage_index")
LABELS = {"office": "Office", "hopd": "Hospital outpatient", "asc": "ASC"}


def _one(fs, code: str, place: Place) -> pd.DataFrame:
    """compare_sites of one code in one place (the reference), a row per site."""
    return fs.compare_sites(code, zip=place.zip, locality=place.locality, county=place.county).to_frame() \
        .set_index("site")


def _same(a, b) -> bool:
    a = None if a is None or (isinstance(a, float) and math.isnan(a)) else float(a)
    b = None if b is None or (isinstance(b, float) and math.isnan(b)) else float(b)
    return a == b


@pytest.fixture(scope="module")
def reference(fs25):
    return {(c, p): _one(fs25, c, as_place(p)) for c in CODES for p in PLACES}


@pytest.fixture(scope="module")
def many(fs25):
    return fs25.compare_sites_many(CODES, PLACES)


def test_frame_is_compare_sites_for_every_code_and_place(many, reference):
    assert len(many) == 30 * 3 * 3
    assert list(many["hcpcs"].unique()) == CODES  # in the order asked
    for (code, p), ref in reference.items():
        got = many[(many["hcpcs"] == code) & (many["place"] == as_place(p).label)].set_index("site")
        assert list(got.index) == ["office", "hopd", "asc"]
        for site in got.index:
            for col in AMOUNTS:
                assert _same(got.at[site, col], ref.at[site, col]), (code, p, site, col)
            for col in ("indicator", "reason", "reason_text", "sources", "facility_placement", "condition",
                        "locality_id", "conversion_factor_kind"):
                assert str(got.at[site, col]) == str(ref.at[site, col]), (code, p, site, col)


def test_hand_arithmetic(many):
    def row(code, place, site):
        r = many[(many["hcpcs"] == code) & (many["place"] == place) & (many["site"] == site)]
        return r.iloc[0]

    # HOPD, county 06037 -> CBSA 31084, wage index 1.2969 (CY2025): Addendum B October 2025 rate of
    # 20983 $7,143.73 x (0.6 x 1.2969 + 0.4) = 7143.73 x 1.17814 = 8416.3078 -> 8416.31 (42 CFR 419.43)
    h = row("20983", "county 06037", "hopd")
    assert h["wage_index"] == 1.2969 and h["facility"] == 8416.31
    assert h["total"] == round(h["professional"] + 8416.31, 2)
    # ASC, ZIP 90012: its PFS locality (01182-18) lists Los Angeles and Orange counties, two CBSAs
    # (31084, 11244), so the ZIP does not place the facility: national rate $4,911.21 (ASC AA
    # October 2025). Physician (RVU25D 20983 work 6.88, facility PE 2.51, MP 0.80; GPCI 01182-18
    # 1.042/1.194/0.69; CF 32.3465): (7.16896 + 2.99694 + 0.552) x 32.3465 = 346.686 -> 346.69;
    # total 346.69 + 4911.21 = 5257.90; patient 20% of 346.69 = 69.338 -> 69.34
    # plus 20% of 4911.21 = 982.242 -> 982.24: 1051.58; Medicare 5257.90 - 1051.58 = 4206.32
    a = row("20983", "ZIP 90012", "asc")
    assert (a["professional"], a["facility"], a["total"]) == (346.69, 4911.21, 5257.90)
    assert (a["beneficiary"], a["medicare"]) == (1051.58, 4206.32)
    assert "FACILITY_NATIONAL_RATE" in a["reason"] and "FACILITY_ZIP_NOT_ONE_CBSA" in a["reason"]
    # ASC, ZIP 10001: locality 13202-01 MANHATTAN lists New York county only (36061 -> CBSA 35614,
    # FY2026 county crosswalk), so the ZIP places the facility: CY2025 ASC wage index 35614 1.3138;
    # J8 without the quarter's FF (CY2025), the whole rate adjusted: 4911.21 x (0.5 x 1.3138 + 0.5)
    # = 4911.21 x 1.1569 = 5681.7788 -> 5681.78 (42 CFR 416.172); total 374.53 + 5681.78 = 6056.31;
    # patient 74.91 + 20% of 5681.78 = 1136.356 -> 1136.36: 1211.27; Medicare 6056.31 - 1211.27 = 4845.04
    a = row("20983", "ZIP 10001", "asc")
    assert (a["professional"], a["facility"], a["total"], a["wage_index"]) == (374.53, 5681.78, 6056.31, 1.3138)
    assert (a["beneficiary"], a["medicare"]) == (1211.27, 4845.04)
    assert "FACILITY_PLACED_BY_ZIP" in a["reason"] and "FACILITY_NATIONAL_RATE" not in a["reason"]
    assert a["facility_placement"].startswith("ZIP 10001 -> locality 13202-01 MANHATTAN -> county 36061 ")


def _table(ws, first: str) -> tuple[list[str], list[tuple]]:
    rows = list(ws.iter_rows(values_only=True))
    i = next(k for k, r in enumerate(rows) if r and r[0] == first)
    header = [str(x) for x in rows[i] if x is not None]
    body = [r[:len(header)] for r in rows[i + 1:] if r and r[0] is not None]
    return header, body


def test_cli_workbook_30_codes_3_places_every_number_rederived(tmp_path, reference, fs25):
    out = tmp_path / "sites.xlsx"
    argv = ["sites", "--release", "rvu25d", "--offline", "--codes", *CODES]
    for p in PLACES:
        kind, value = p.split(":")
        argv += [f"--{kind}", value]
    assert main([*argv, "-o", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    labels = [as_place(p).label for p in PLACES]
    assert wb.sheetnames == ["Summary", *labels, "Charts", "Detail", "Reasons", "Provenance"]
    numbers = 0
    # a sheet per place: a row per code, site x (professional, facility, total, beneficiary)
    for p, label in zip(PLACES, labels):
        header, body = _table(wb[label], "hcpcs")
        assert [r[0] for r in body] == CODES
        for r in body:
            ref = reference[(r[0], p)]
            for j, col in enumerate(header[1:], start=1):
                site = next((s for s, lab in LABELS.items() if col.startswith(lab + " ")), None)
                if site is None:
                    continue
                value = col[len(LABELS[site]) + 1:]
                assert _same(r[j], ref.at[site, value]), (label, r[0], col)
                numbers += r[j] is not None
    # Charts: a row per place, each code's total per setting, and a chart per code with a total
    header, body = _table(wb["Charts"], "place")
    for r in body:
        p = PLACES[labels.index(r[0])]
        for j, col in enumerate(header[1:], start=1):
            code, site = col.rsplit(" ", 1)
            assert _same(r[j], reference[(code, p)].at[site, "total"]), (r[0], col)
            numbers += r[j] is not None
    assert len(wb["Charts"]._charts) == 30  # every code has a total somewhere
    assert any(c[0] == "all 30 codes charted" for c in wb["Charts"].iter_rows(max_row=3, values_only=True))
    # Detail: the tidy frame, every amount
    header, body = _table(wb["Detail"], "place")
    assert len(body) == 270
    for r in body:
        d = dict(zip(header, r))
        p = PLACES[labels.index(d["place"])]
        ref = reference[(d["hcpcs"], p)]
        for col in (*AMOUNTS, "conversion_factor"):
            assert _same(d[col], ref.at[d["site"], col]), (d["place"], d["hcpcs"], d["site"], col)
            numbers += d[col] is not None
    # Summary: per place, the codes with a total in each setting
    header, body = _table(wb["Summary"], "place")
    for r in body:
        d = dict(zip(header, r))
        p = PLACES[labels.index(d["place"])]
        for site, lab in LABELS.items():
            want = sum(reference[(c, p)].at[site, "total"] == reference[(c, p)].at[site, "total"] for c in CODES)
            assert d[f"codes with a total: {lab}"] == want
    assert numbers > 1000
    # every file that produced a number is listed: PFS, ZIP, county crosswalk, OPPS, ASC, wage index
    listed = {(r[0], r[3]) for r in wb["Provenance"].iter_rows(values_only=True) if r and r[3]}
    want = {(s.release, s.file) for c in ("20983", "99213") for p in PLACES
            for s in fs25.compare_sites(c, **{("county_fips" if k == "county" else k): v
                                               for k, v in as_place(p).model_dump().items()
                                               if k in ("zip", "county") and v}).rows[1].sources}
    assert want <= listed
    tables = {r[2] for r in wb["Provenance"].iter_rows(values_only=True) if r and r[2]}
    assert {"pprrvu", "gpci", "zip5", "addendum_b", "addendum_aa"} <= tables
    assert any("wage" in str(t) for t in tables)


def test_code_not_on_pfs_keeps_its_rows_and_is_named_on_charts(fs25, tmp_path):
    df = fs25.compare_sites_many(["20983", "0001U"], ["zip:90012", "national"])
    lab = df[df["hcpcs"] == "0001U"]
    # no physician amount in the office; in a HOPD or ASC the facility bills a lab test, so the
    # physician's part is $0.00 there (rvucalc.sites.facility_bills, as compare_sites says)
    assert len(lab) == 6 and lab[lab["site"] == "office"]["professional"].isna().all()
    assert (lab[lab["site"] != "office"]["professional"] == 0.0).all()
    assert lab["reason"].str.contains("NOT_PFS_CLFS").all()
    out = rvucalc.export.to_excel(df, tmp_path / "b.xlsx")
    ws = openpyxl.load_workbook(out)["Charts"]
    notes = [r[0] for r in ws.iter_rows(max_row=4, values_only=True) if r[0]]
    assert "1 of 2 codes have no chart:" in notes
    assert any(str(n).startswith("0001U: no total in any setting or place (NOT_PFS_CLFS") for n in notes)
    assert len(ws._charts) == 1


def test_places_as_dicts_text_and_place(fs25):
    a = fs25.compare_sites_many("99213", [{"zip": 90012}, "county:06037", Place(locality="13202-01"), "national"])
    assert list(a["place"].unique()) == ["ZIP 90012", "county 06037", "locality 13202-01", "national"]
    assert list(a["place_kind"].unique()) == ["zip", "county", "locality", "national"]
    with pytest.raises(rvucalc.UnknownLocalityError, match="zip:90012"):
        fs25.compare_sites_many("99213", ["90012"])  # a bare number: ZIP or county? said, not guessed


def test_concat_keeps_every_source_and_pd_concat_is_said(fs25, tmp_path):
    a = fs25.compare_sites("20983", zip="90012").to_frame()
    b = fs25.compare_sites("29881", county="06037").to_frame()
    files = {s["file"] for f in (a, b) for s in f.attrs["rvucalc.provenance"]["sources"]}
    both = rvucalc.concat([a, b], ignore_index=True)
    assert {s["file"] for s in both.attrs["rvucalc.provenance"]["sources"]} == files
    tables = {s["table"] for s in both.attrs["rvucalc.provenance"]["sources"]}
    assert {"pprrvu", "gpci", "zip5", "addendum_b", "addendum_aa"} <= tables  # not only the PFS files
    # a list of frames: one Detail sheet, every frame's files on the Provenance sheet
    for result in (both, [a, b]):
        out = rvucalc.export.to_excel(result, tmp_path / "c.xlsx")
        listed = {r[3] for r in openpyxl.load_workbook(out)["Provenance"].iter_rows(values_only=True) if r}
        assert files <= listed
    # pd.concat drops attrs that differ: the workbook says it has no sources and how to keep them
    plain = pd.concat([a, b])
    out = rvucalc.export.to_excel(plain, tmp_path / "d.xlsx")
    text = " ".join(str(r[0]) for r in openpyxl.load_workbook(out)["Provenance"].iter_rows(values_only=True))
    assert "carry no rvucalc sources" in text and "rvucalc.concat" in text


def test_cli_terminal_and_refusals(capsys):
    assert main(["sites", "--release", "rvu25d", "--offline", "--codes", "20983", "45378",
                 "--zip", "90012", "--county", "06037"]) == 0
    out = capsys.readouterr().out
    assert "20983\tcounty 06037\t$5,567.57\t$8,763.00" in out  # 346.69 + 8416.31 (test_hand_arithmetic)
    assert main(["sites", "--release", "rvu25d", "--offline", "--codes", "20983", "--zip", "90012",
                 "--cbsa", "31084"]) == 2
    assert "--cbsa places one facility" in capsys.readouterr().err
