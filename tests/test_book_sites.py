"""A book of claims in every setting (issue 21, part 2): what each setting bills, the hospital's
clinic visit (G0463), and book totals that are never blank.

Synthetic claims; CMS rows from the mirror; expected amounts by hand arithmetic:

- PFS RVU25D (October 2025, CF 32.3465, national: GPCIs 1.000): 99214 non-facility 3.87 RVUs =
  125.18, facility 2.90 = 93.80 (93.80485); 99213 2.75 = 88.95, facility 1.97 = 63.72; 20983
  non-facility 145.37 = 4702.21, facility 10.19 = 329.61; G0463 status X (not on the PFS).
- OPPS Addendum B October 2025: G0463 J2, APC 5012, $128.87, copayment $25.78; 99214 and 99213
  status B (the hospital bills G0463 instead); 20983 J1 $7,143.73.
- ASC Addendum AA October 2025: 20983 J8 $4,911.21 (tests/test_facility_pipeline.py).
"""

from __future__ import annotations

import argparse
import math

import pandas as pd
import pytest

import rvucalc
from rvucalc.cli import main
from rvucalc.cli.pricing import _sites_claims

REL = dict(pfs_releases=["rvu25d"], opps_releases=["opps-2025-10"], asc_releases=["asc-2025-10"])


@pytest.fixture()
def book(mirror) -> pd.DataFrame:
    mirror("pfs/rvu25d/PPRRVU2025_Oct.csv")
    mirror("opps/2025-10/508 version of October 2025 Web Addendum B.10.31.25.csv")
    claims = {"K1": ["99214"], "K2": ["99213", "G0463"], "K3": ["20983", "99214"], "K4": ["27447"]}
    return pd.DataFrame([{"claim_id": c, "hcpcs": h, "units": "1", "date_of_service": "2025-10-15",
                          "locality": "national"} for c, codes in claims.items() for h in codes])


def test_clinic_visit_added_to_a_visit_moved_to_the_hospital(book):
    per = rvucalc.compare_sites_claims(book, **REL).set_index("claim_id")
    k1, k2, k3 = per.loc["K1"], per.loc["K2"], per.loc["K3"]
    # K1: the E/M at the facility rate plus the hospital's clinic visit G0463, added
    assert (k1["hopd_professional"], k1["hopd_facility"], k1["hopd_clinic_visit"]) == (93.80, 128.87, 128.87)
    assert k1["hopd_total"] == round(93.80 + 128.87, 2) == 222.67
    # beneficiary: 20% of the professional 93.80 (18.76) + the G0463 copayment 25.78
    assert k1["hopd_beneficiary"] == round(18.76 + 25.78, 2)
    assert k1["hopd_note"] == "SITE_CLINIC_VISIT_ADDED|SITE_VISIT_BY_G0463"
    assert k1["hopd_minus_office"] == round(222.67 - 125.18, 2)
    # K2 has its own G0463: none added; in the office G0463 is not billed ($0.00, named)
    assert math.isnan(k2["hopd_clinic_visit"]) and k2["hopd_total"] == round(63.72 + 128.87, 2)
    assert k2["office_total"] == 88.95 and k2["office_note"] == "SITE_NOT_BILLED_OFFICE"
    # K3: a comprehensive APC (20983 J1) packages the added visit: $0.00, said
    assert k3["hopd_clinic_visit"] == 0.0 and k3["hopd_facility"] == 7143.73
    added = per.attrs["lines"]["hopd_facility"]
    assert added["added_by_rvucalc"].tolist().count("SITE_CLINIC_VISIT_ADDED") == 2  # K1, K3
    g = added[added["added_by_rvucalc"] != ""]
    assert g["hcpcs"].tolist() == ["G0463", "G0463"] and g["claim_id"].tolist() == ["K1", "K3"]
    for code in ("SITE_CLINIC_VISIT_ADDED", "SITE_VISIT_BY_G0463", "SITE_NOT_BILLED_OFFICE"):
        assert "78 FR 74826" in rvucalc.explain(code).rule or code == "SITE_NOT_BILLED_OFFICE"


def test_without_the_clinic_visit_the_visit_has_no_hospital_amount(book):
    per = rvucalc.compare_sites_claims(book, clinic_visit=False, **REL).set_index("claim_id")
    assert math.isnan(per.loc["K1", "hopd_total"]) and per.loc["K1", "hopd_reason"] == "OPPS_SI_B"
    assert "hopd_clinic_visit" in per.columns and per["hopd_clinic_visit"].isna().all()


def test_settings_that_cannot_bill_a_claim(book):
    """K4, 27447 (total knee arthroplasty): on the ASC list since 2020, but NA in the office
    (non-facility PE NA in RVU25D): the office cannot bill it. ASC: E/M-only claims (K1, K2)
    have no service an ASC bills."""
    per = rvucalc.compare_sites_claims(book, **REL).set_index("claim_id")
    assert not per.loc["K4", "office_billable"] and per.loc["K4", "office_reason"] == "SITE_NOT_BILLABLE_OFFICE"
    assert math.isnan(per.loc["K4", "office_total"])
    assert per["asc_billable"].tolist() == [False, False, True, True]
    assert per.loc["K1", "asc_reason"] == "SITE_NOT_BILLABLE_ASC"
    assert per.loc["K3", "asc_note"] == "SITE_NOT_BILLED_ASC"  # the 99214 of K3: no ASC facility fee
    assert per.loc["K3", "asc_facility"] == 4911.21


def test_book_totals_are_never_blank(book):
    per = rvucalc.compare_sites_claims(book, **REL)
    b = rvucalc.summarise_sites(per).set_index("site")
    # office: K1 125.18 + K2 88.95 + K3 (4702.21 + 125.18); K4 cannot be billed in an office
    assert b.loc["office", "total"] == round(125.18 + 88.95 + 4702.21 + 125.18, 2)
    assert (b.loc["office", "claims_billable"], b.loc["office", "claims_priced"],
            b.loc["office", "claims_not_billable"]) == (3, 3, 1)
    for site in ("office", "hopd", "asc"):
        assert not math.isnan(b.loc[site, "total"]), site
        priced = per[f"{site}_total"].notna()
        assert b.loc[site, "total"] == round(per.loc[priced, f"{site}_total"].sum(), 2)
        assert b.loc[site, "lines_priced"] == per.loc[priced, "lines"].sum()
    # like for like: the claims priced in every setting (K3 only: K1 and K2 are not ASC claims,
    # K4 not an office one)
    every = per[["office_total", "hopd_total", "asc_total"]].notna().all(axis=1)
    assert every.tolist() == [False, False, True, False]
    for site in ("office", "hopd", "asc"):
        assert b.loc[site, "like_for_like_total"] == per.loc[every, f"{site}_total"].sum()
    assert b.loc["hopd", "minus_office"] == round(b.loc["hopd", "like_for_like_total"]
                                                  - b.loc["office", "like_for_like_total"], 2)
    notes = b.attrs["rvucalc.notes"]
    assert notes[0].startswith("Like for like, the 1 claim priced in every setting: Office $4,827.39; HOPD $")
    assert notes[1].startswith("Office: $5,041.52 over the 3 claims priced of 3 it can bill (100.0%; 5 of 6 lines); "
                               "1 claim it cannot bill")


def test_cli_sites_claims_prints_the_book(book, tmp_path, capsys):
    src = tmp_path / "book.csv"
    book.to_csv(src, index=False)
    assert main(["sites", "--claims", str(src), "--release", "rvu25d"]) == 0
    out, err = capsys.readouterr()
    assert "like_for_like_total" in out and "coverage_percent" in out
    assert "Like for like, the 1 claim priced in every setting" in err
    assert main(["sites", "--claims", str(src), "--release", "rvu25d", "--no-clinic-visit",
                 "-o", str(tmp_path / "s.csv")]) == 0
    got = pd.read_csv(tmp_path / "s.csv", dtype=str, keep_default_na=False).set_index("claim_id")
    assert got.loc["K1", "hopd_reason"] == "OPPS_SI_B" and got.loc["K1", "hopd_clinic_visit"] == ""


def test_services_paid_under_their_own_schedule_and_denied_lines(mirror):
    """RVU25D, national, 2025-10-15. K5: 97110 (therapeutic exercise) is status A in Addendum B
    October 2025, a service a hospital is paid for under the PFS: in a HOPD its amount is the PFS
    non-facility rate, 0.89 RVUs x 32.3465 = 28.79, with nothing on the physician's side. K6: 99213
    twice on one day, the second denied by the duplicate-line edit: a stated $0.00, so the claim is
    priced (office 88.95, one visit). K7: 71046 alone is an ASC ancillary without a procedure: an
    ASC cannot bill that claim."""
    mirror("pfs/rvu25d/PPRRVU2025_Oct.csv")
    claims = {"K5": ["97110"], "K6": ["99213", "99213"], "K7": ["71046"]}
    lines = pd.DataFrame([{"claim_id": c, "hcpcs": h, "units": "1", "date_of_service": "2025-10-15",
                           "locality": "national"} for c, codes in claims.items() for h in codes])
    per = rvucalc.compare_sites_claims(lines, **REL).set_index("claim_id")
    k5, k6, k7 = per.loc["K5"], per.loc["K6"], per.loc["K7"]
    assert (k5["hopd_professional"], k5["hopd_facility"], k5["hopd_total"]) == (0.0, 28.79, 28.79)
    assert k5["hopd_note"] == "SITE_OWN_SCHEDULE" and k5["office_total"] == 28.79
    assert k6["office_total"] == 88.95 and k6["office_lines_unpaid"] == 0
    assert k6["hopd_total"] == round(63.72 + 128.87, 2)  # one visit at the facility rate + G0463
    assert not k7["asc_billable"] and k7["asc_reason"] == "SITE_NOT_BILLABLE_ASC"
    assert "Addendum D1" in rvucalc.explain("SITE_OWN_SCHEDULE").rule


def test_the_workbook_has_claims_by_default_and_lines_on_request(book, tmp_path, capsys):
    """Issue 21 part 3: the workbook holds the summaries and one row per claim; the line sheets
    (five per book: a million rows for 200,000 lines) only with --line-sheets. The provenance
    names the files priced with either way."""
    import openpyxl

    src = tmp_path / "book.csv"
    book.to_csv(src, index=False)
    assert main(["sites", "--claims", str(src), "--release", "rvu25d", "-o", str(tmp_path / "s.xlsx")]) == 0
    wb = openpyxl.load_workbook(tmp_path / "s.xlsx", read_only=True)
    assert "Claims" in wb.sheetnames and not any(n.endswith(" lines") for n in wb.sheetnames)
    prov = " ".join(str(c) for row in wb["Provenance"].iter_rows(values_only=True) for c in row if c)
    for name in ("PPRRVU2025_Oct.csv", "opps-2025-10", "asc-2025-10"):  # wage files: test_export_workbook_fixes
        assert name in prov, name
    assert main(["sites", "--claims", str(src), "--release", "rvu25d", "--line-sheets",
                 "-o", str(tmp_path / "l.xlsx")]) == 0
    names = openpyxl.load_workbook(tmp_path / "l.xlsx", read_only=True).sheetnames
    assert {"Office lines", "HOPD prof lines", "HOPD facility lines", "ASC prof lines", "ASC facility lines"} <= set(names)
    # --line-sheets without a workbook is refused before anything is read or priced
    args = argparse.Namespace(claims=str(src), out=str(tmp_path / "x.csv"), line_sheets=True)
    with pytest.raises(ValueError, match="--line-sheets"):
        _sites_claims(args)


def test_per_claim_figures_are_the_same_without_the_line_results(book):
    full = rvucalc.compare_sites_claims(book, **REL)
    slim = rvucalc.compare_sites_claims(book, keep_lines=False, **REL)
    pd.testing.assert_frame_equal(full, slim)
    assert slim.attrs["lines"] == {} and "opps-2025-10" in slim.attrs["rvucalc.releases"]
