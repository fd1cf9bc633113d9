"""Site-of-service comparison and the facade's OPPS/ASC rates (real mirror files)."""

from __future__ import annotations

import json

import pytest

import rvucalc
from rvucalc.cli import main


def test_cy2025_compare_sites_national(fs25):
    rows = {r.site: r for r in fs25.compare_sites("20983").rows}
    assert rows["office"].professional == 4702.21  # 145.37 x 32.3465
    assert (rows["hopd"].professional, rows["hopd"].facility) == (329.61, 7143.73)  # Addendum B Oct 2025
    assert (rows["asc"].professional, rows["asc"].facility) == (329.61, 4911.21)  # ASC AA Oct 2025
    assert rows["hopd"].total == 7473.34 and rows["asc"].total == 5240.82
    # office: Part B coinsurance 20% of 4702.21 = 940.442 -> 940.44
    assert (rows["office"].beneficiary, rows["office"].medicare) == (940.44, 3761.77)
    # ASC: 20% of the professional 329.61 (65.922 -> 65.92) + 20% of the ASC payment 4911.21 (982.242 -> 982.24)
    assert rows["asc"].beneficiary == 65.92 + 982.24
    assert rows["asc"].medicare == round(5240.82 - 1048.16, 2)
    # every number names its release and file
    files = {s.file for s in rows["hopd"].sources}
    # RVU25D (October 2025) takes the October 2025 Addendum B (20983: $7,143.730, as in January)
    assert {"PPRRVU2025_Oct.csv", "508 version of October 2025 Web Addendum B.10.31.25.csv"} <= files
    assert any(s.release == "asc-2025-10" for s in rows["asc"].sources)
    # national facility amounts say so
    assert "FACILITY_NATIONAL_RATE" in {x.code for x in rows["asc"].reasons}


def test_cy2026_hopd_missing_is_stated_never_2025(fs26):
    cmp = fs26.compare_sites("20983")
    rows = {r.site: r for r in cmp.rows}
    assert rows["office"].professional == 4905.92
    assert rows["hopd"].professional == rows["asc"].professional == 302.61
    assert rows["asc"].facility == 5274.34
    hopd = rows["hopd"]
    assert hopd.facility is None and hopd.total is None
    why = {x.code: x for x in hopd.reasons}["OPPS_RELEASE_MISSING"]
    assert "january-2026-opps-addendum-b.zip" in why.message  # says how to get the file
    assert not any("2025" in s.release for s in hopd.sources)
    # fs.opps answers with the same one sentence instead of raising (README: fs.opps.rate)
    assert not fs26.opps
    r = fs26.opps.rate("20983")
    assert r.payment_rate is None and r.reason.message == why.message
    with pytest.raises(rvucalc.MissingFileError, match="january-2026-opps-addendum-b.zip"):
        fs26.opps.addendum_b  # noqa: B018


def test_los_angeles_asc_wage_adjusted(fs26):
    # J8 with Addendum FF (July 2026): device portion $3,411.79 not wage adjusted, service portion
    # 5274.34 - 3411.79 = 1862.55 x (0.5 x 1.2699 + 0.5) = 2113.8999; 3411.79 + 2113.90 = 5525.69
    # (CY2026 ASC wage index of CBSA 31084; 42 CFR 416.171-416.172)
    for kw in ({"cbsa": "31084"}, {"county_fips": "06037"}):
        rows = {r.site: r for r in fs26.compare_sites("20983", locality="01182-18", **kw).rows}
        assert rows["asc"].wage_index == 1.2699 and rows["asc"].facility == 5525.69
        assert rows["office"].professional == 5757.50


def test_wage_index_number_and_opps_approximation(fs25):
    # OPPS: 7143.73 x (0.6 x 1.1186 + 0.4) = 7652.08 (a hospital wage index given directly)
    rows = {r.site: r for r in fs25.compare_sites("20983", opps_wage_index=1.1186).rows}
    assert rows["hopd"].facility == 7652.08 and rows["hopd"].wage_index == 1.1186
    # by CBSA, OPPS is flagged as an approximation (pre-reclassification index)
    rows = {r.site: r for r in fs25.compare_sites("20983", cbsa="31084").rows}
    assert "WI_APPROX_OPPS" in {x.code for x in rows["hopd"].reasons}


def test_packaged_and_not_covered(fs25):
    rows = {r.site: r for r in fs25.compare_sites("99213").rows}
    assert rows["hopd"].facility is None and rows["hopd"].reasons  # SI B: not paid by OPPS
    assert rows["asc"].facility is None and "ASC_NOT_COVERED" in {x.code for x in rows["asc"].reasons}


def test_facade_rates(fs25):
    o = fs25.opps.rate("20983")
    assert (o.indicator, o.apc, o.payment_rate) == ("J1", "5114", 7143.73)
    a = fs25.asc.rate("20983")
    assert (a.indicator, a.payment_rate, a.multiple_procedure_discount) == ("J8", 4911.21, True)
    priced = fs25.opps.price(1.0)
    assert len(priced) == len(fs25.opps.addendum_b)


def test_cli_sites(capsys):
    assert main(["sites", "20983", "--release", "rvu25d", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["site"] for r in data["rows"]] == ["office", "hopd", "asc"]
    assert main(["sites", "20983", "--zip", "90012", "--county", "06037", "--year", "2026"]) == 0
    out = capsys.readouterr().out
    assert "$5,525.69" in out and "OPPS_RELEASE_MISSING" in out  # 20983 J8 with FF, see above


def test_hospital_wage_index_from_ipps_table2(fs25, tmp_path):
    """A synthetic IPPS Table 2 (CMS's layout, made-up hospital) gives the OPPS wage index by CCN."""
    header = "\t".join(["CCN", "Case-Mix Index", "Number of Cases", "Hospital Name", "Geographic CBSA",
                        "Reclassified/Redesignated CBSA", "FY 2025 Wage Index", "FY 2025 Wage Index With Cap"])
    row = "\t".join(["059999", "1.5", "1000", "SYNTHETIC HOSPITAL", "31084", "", "1.2000", "1.1186"])
    t2 = tmp_path / "FY2025 Table 2.txt"
    t2.write_text("Table 2 (synthetic)\n" + header + "\n" + row + "\n", encoding="latin-1")
    cmp = fs25.compare_sites("20983", hospital_ccn="59999", ipps_table2=t2)
    hopd = {r.site: r for r in cmp.rows}["hopd"]
    # 7143.73 x (0.6 x 1.1186 + 0.4) = 7652.076... -> 7652.08
    assert hopd.wage_index == 1.1186 and hopd.facility == 7652.08
    assert "WI_APPROX_OPPS" not in {x.code for x in hopd.reasons}
    assert any(s.table == "ipps_table2" and s.file == t2.name for s in hopd.sources)
    with pytest.raises(rvucalc.UnknownLocalityError, match="CCN 000001"):
        fs25.compare_sites("20983", hospital_ccn="1", ipps_table2=t2)


def test_county_crosswalk_is_a_source_only_when_a_county_placed_the_facility(fs25):
    """Every number names its source file, and only those it came from: a CBSA given does not
    read the county crosswalk; a county given does (it finds the CBSA)."""
    by_cbsa = fs25.compare_sites("20983", zip="02115", cbsa="14454").wage_index
    by_county = fs25.compare_sites("20983", zip="02115", county_fips="25025").wage_index
    for site in ("hopd", "asc"):
        assert not any("County" in s.file for s in by_cbsa[site].sources)
        assert any("County" in s.file for s in by_county[site].sources)
        assert by_cbsa[site].value == by_county[site].value  # Suffolk County, MA is in CBSA 14454
