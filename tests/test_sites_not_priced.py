"""Site of service per claim: missing data is never $0.00 (rvucalc.compare_sites_claims,
summarise_sites, ``rvucalc sites``).

Synthetic claims; CMS rows from the mirror; expected amounts by hand arithmetic from the CMS
files named in each test.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import openpyxl
import pandas as pd

import rvucalc
from rvucalc.cli import main


def _lines(claims: dict[str, list[str]], date: str, **cols: str) -> pd.DataFrame:
    return pd.DataFrame([{"claim_id": c, "hcpcs": h, "date_of_service": date, **cols}
                         for c, codes in claims.items() for h in codes])


def _cy2026(mirror) -> pd.DataFrame:
    """20983 and 11043 on 2026-03-10, national, with no CY2026 OPPS Addendum B in the mirror."""
    mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv")
    mirror("asc/2026-01/AA.csv")
    assert not list((Path(os.environ["RVUCALC_MIRROR"]) / "opps").glob("2026*")), "premise: the mirror has no CY2026 OPPS file"
    lines = _lines({"A": ["20983"], "B": ["11043"]}, "2026-03-10", locality="national")
    return rvucalc.compare_sites_claims(lines, pfs_releases=["rvu26c"])


def test_setting_without_its_release_has_no_total(mirror):
    """RVU26C (CF 33.4009), national: 20983 non-facility 146.88 RVUs = 4905.92, facility 9.06
    RVUs = 302.61; 11043 non-facility 7.17 = 239.48, facility 4.14 = 138.28. ASC Addendum AA
    January 2026: 20983 J8 $5,274.34, 11043 A2 $404.93. No CY2026 OPPS Addendum B: no HOPD
    facility amount, so no HOPD total (it was 302.61, the professional part alone)."""
    per = _cy2026(mirror)
    a, b = per.iloc[0], per.iloc[1]
    assert (a["office_total"], b["office_total"]) == (4905.92, 239.48)
    assert (a["hopd_professional"], b["hopd_professional"]) == (302.61, 138.28)
    for r in (a, b):
        for c in ("hopd_facility", "hopd_total", "hopd_medicare", "hopd_beneficiary",
                  "hopd_minus_office", "asc_minus_hopd"):
            assert math.isnan(r[c]), c
        assert r["hopd_reason"] == "FACILITY_NO_RELEASE"
        assert r["hopd_lines_unpaid"] == 1
        assert r["office_reason"] == "" and r["asc_reason"] == ""
    assert (a["asc_total"], b["asc_total"]) == (round(302.61 + 5274.34, 2), round(138.28 + 404.93, 2))
    assert a["asc_minus_office"] == round(5576.95 - 4905.92, 2)
    assert rvucalc.explain("FACILITY_NO_RELEASE") is not None

    # book totals are never blank (issue 21): each setting's sums run over the claims it priced,
    # the coverage says which; the HOPD priced none, so its sums are over no claim, never the
    # professional part alone
    book = rvucalc.summarise_sites(per).set_index("site")
    assert book.loc["office", "total"] == round(4905.92 + 239.48, 2)
    for c in ("professional", "facility", "total", "medicare", "beneficiary"):
        assert book.loc["hopd", c] == 0.0, c
    assert book.loc["hopd", "claims_priced"] == 0 and book.loc["hopd", "claims_not_priced"] == 2
    assert book.loc["hopd", "coverage_percent"] == 0.0 and book.loc["hopd", "lines_priced"] == 0
    assert book.loc["hopd", "not_priced_reason"] == "FACILITY_NO_RELEASE 2"
    assert book.loc["asc", "claims_not_priced"] == 0
    assert book.loc["asc", "total"] == round(5576.95 + 543.21, 2)
    assert (book["like_for_like_claims"] == 0).all() and (book["like_for_like_total"] == 0).all()
    notes = rvucalc.summarise_sites(per).attrs["rvucalc.notes"]
    assert notes[0] == "Like for like, the 0 claims priced in every setting: Office $0.00; HOPD $0.00; ASC $0.00"
    assert notes[1] == "Office: $5,145.40 over the 2 claims priced of 2 it can bill (100.0%; 2 of 2 lines)"
    assert notes[2].startswith("HOPD: $0.00 over the 0 claims priced of 2 it can bill (0.0%; 0 of 2 lines); "
                               "not priced: FACILITY_NO_RELEASE 2")
    assert len(notes) == 5
    assert "not priced for 2 of 2 claims" in notes[4]
    assert "CMS's CY2026 OPPS Addendum B is not at hand" in notes[4]  # rvucalc sites 20983's words
    assert "rvucalc fetch opps-2026-01" in notes[4]


def test_codes_not_payable_in_an_asc_and_packaged_lines(mirror):
    """CY2025, national. RVU25D (CF 32.3465): 96372 non-facility 0.43 RVUs = 13.91, 96374 1.05 =
    33.96, both NA in a facility; 11042 facility 1.82 = 58.87. OPPS Addendum B January 2025:
    96374 S $210.69, 96372 Q1 (packaged with S or T), 11042 T $399.53. ASC Addendum AA January
    2025: 11042 A2 $214.39; 96372 and 96374 are on neither AA nor BB: an ASC is not paid."""
    mirror("opps/2025-01/January 2025 Web Addendum B.12.31.24.csv")
    mirror("asc/2025-01/AA.csv")
    lines = _lines({"D": ["96372", "11042"], "E": ["96372", "96374"]}, "2025-02-03",
                   locality="national")
    per = rvucalc.compare_sites_claims(lines, pfs_releases=["rvu25d"], opps_releases=["opps-2025-01"],
                                       asc_releases=["asc-2025-01"])
    d, e = per.iloc[0], per.iloc[1]
    # ASC (issue 21: a line an ASC does not bill is named, not a hole): 96372 is on neither
    # ASC list and not a surgical procedure, so an ASC bills nothing for it ($0.00, named);
    # D is 11042 in an ASC: $214.39 + the physician's 58.87. E has no service an ASC bills: it
    # cannot be billed in an ASC (no amount, said), and is left out of the ASC's coverage
    assert (d["asc_facility"], d["asc_total"]) == (214.39, round(214.39 + 58.87, 2))
    assert d["asc_note"] == "SITE_NOT_BILLED_ASC" and d["asc_reason"] == "" and d["asc_billable"]
    for c in ("asc_total", "asc_medicare", "asc_minus_office", "asc_minus_hopd"):
        assert math.isnan(e[c]), c
    assert e["asc_reason"] == "SITE_NOT_BILLABLE_ASC" and not e["asc_billable"]
    assert "ASC" in rvucalc.explain("SITE_NOT_BILLABLE_ASC").message
    assert d["asc_professional"] == 58.87 and e["asc_professional"] == 0.0  # NA: the physician bills none
    # HOPD: 96372 packaged (Q1) and NA for the physician: legitimately 0.00, so the claim is priced
    assert (e["hopd_professional"], e["hopd_facility"], e["hopd_total"]) == (0.0, 210.69, 210.69)
    assert (d["hopd_professional"], d["hopd_facility"], d["hopd_total"]) == (58.87, 399.53,
                                                                            round(58.87 + 399.53, 2))
    assert e["office_total"] == round(13.91 + 33.96, 2)
    assert e["hopd_minus_office"] == round(210.69 - 47.87, 2)
    assert d["hopd_reason"] == e["hopd_reason"] == ""
    book = rvucalc.summarise_sites(per).set_index("site")
    assert book.loc["asc", "total"] == round(214.39 + 58.87, 2)
    assert (book.loc["asc", "claims_billable"], book.loc["asc", "claims_priced"],
            book.loc["asc", "claims_not_billable"], book.loc["asc", "coverage_percent"]) == (1, 1, 1, 100.0)
    assert book.loc["hopd", "total"] == round(210.69 + 458.40, 2)
    # like for like: D alone is priced everywhere (office 96372 13.91 + 11042 125.18, see
    # test_bundled_pfs_line_is_zero_not_missing)
    assert book["like_for_like_claims"].tolist() == [1, 1, 1]
    assert book["like_for_like_total"].tolist() == [round(13.91 + 125.18, 2), 458.40, 273.26]


def test_lines_unpaid_counts_each_line_of_the_claim_once(mirror):
    """2-line claims: a line is counted once per setting, whichever part (professional,
    facility) has no amount; a line the facility bills (NA for the physician) and prices is
    not unpaid. Was asc_lines_unpaid 4 and hopd_lines_unpaid 2 for E."""
    mirror("opps/2025-01/January 2025 Web Addendum B.12.31.24.csv")
    lines = _lines({"D": ["96372", "11042"], "E": ["96372", "96374"]}, "2025-02-03",
                   locality="national")
    per = rvucalc.compare_sites_claims(lines, pfs_releases=["rvu25d"], opps_releases=["opps-2025-01"],
                                       asc_releases=["asc-2025-01"])
    assert per["asc_lines_unpaid"].tolist() == [0, 0]  # 96372/96374: not billed by an ASC, not unpaid
    assert per["asc_billable"].tolist() == [True, False]
    assert per["hopd_lines_unpaid"].tolist() == [0, 0]
    assert per["office_lines_unpaid"].tolist() == [0, 0]
    assert (per["asc_lines_unpaid"] <= per["lines"]).all()


def test_cli_sites_claims_says_what_is_not_priced(mirror, tmp_path, capsys):
    mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv")
    src = tmp_path / "c4.csv"
    src.write_text("claim_id,hcpcs,modifiers,units,date_of_service,locality\n"
                   "A,20983,,1,2026-03-10,national\nB,11043,,1,2026-03-10,national\n")
    out = tmp_path / "s4.xlsx"
    assert main(["sites", "--claims", str(src), "--release", "rvu26c", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Hospital outpatient (PFS facility + OPPS): not priced for 2 of 2 claims" in err
    assert "CMS's CY2026 OPPS Addendum B is not at hand" in err
    wb = openpyxl.load_workbook(out, read_only=True)
    summary = [c for row in wb["Summary"].iter_rows(values_only=True) for c in row if c is not None]
    assert any(isinstance(c, str) and "not priced for 2 of 2 claims" in c
               and "CY2026 OPPS Addendum B is not at hand" in c for c in summary)
    assert any(isinstance(c, str) and c.startswith("HOPD: $0.00 over the 0 claims priced of 2 it can bill")
               for c in summary)  # the coverage line beside the totals
    claims = list(wb["Claims"].iter_rows(values_only=True))
    head = list(claims[0])
    assert claims[1][head.index("hopd_total")] is None
    assert claims[1][head.index("hopd_reason")] == "FACILITY_NO_RELEASE"


def test_cli_sites_one_code_writes_out(mirror, tmp_path, capsys):
    """``rvucalc sites 20983 -o FILE`` writes the comparison (it wrote nothing, exit 0).
    RVU26C national office 146.88 x 33.4009 = 4905.92; ASC J8 $5,274.34."""
    mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv")
    out = tmp_path / "st.xlsx"
    assert main(["sites", "20983", "--release", "rvu26c", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert str(out) in err and "CMS's CY2026 OPPS Addendum B is not at hand" in err
    wb = openpyxl.load_workbook(out, read_only=True)
    rows = list(wb["Sites"].iter_rows(values_only=True))  # as rvucalc.export.to_excel(comparison) writes it
    head = list(rows[0])
    by_site = {r[head.index("site")]: r for r in rows[1:]}
    assert by_site["office"][head.index("total")] == 4905.92
    assert by_site["asc"][head.index("facility")] == 5274.34
    assert by_site["hopd"][head.index("total")] is None
    summary = [c for row in wb["Summary"].iter_rows(values_only=True) for c in row if c is not None]
    assert any(isinstance(c, str) and "Hospital outpatient: no amount" in c for c in summary)
    csv = tmp_path / "st.csv"
    assert main(["sites", "20983", "--release", "rvu26c", "-o", str(csv)]) == 0
    got = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert got["site"].tolist() == ["office", "hopd", "asc"]
    assert got["total"].tolist()[:2] == ["4905.92", ""]


def test_bundled_pfs_line_is_zero_not_missing(mirror):
    """RVU25D: 36000 is status B (bundled: paid within another service), so $0.00 in the office,
    not a missing amount; 11042 non-facility 3.87 RVUs x 32.3465 = 125.18 (national)."""
    mirror("pfs/rvu25d/PPRRVU2025_Oct.csv")
    lines = _lines({"F": ["11042", "36000"]}, "2025-02-03", locality="national")
    per = rvucalc.compare_sites_claims(lines, pfs_releases=["rvu25d"], opps_releases=["opps-2025-01"],
                                       asc_releases=["asc-2025-01"])
    r = per.iloc[0]
    assert (r["office_total"], r["office_lines_unpaid"], r["office_reason"]) == (125.18, 0, "")


def test_a_release_list_without_the_year_is_said_as_such(mirror):
    """The 2025 addendum is in the mirror; a caller who names only opps-2024-01 is told the year
    is not among the releases asked for, never that CMS's file is missing."""
    mirror("opps/2025-01/January 2025 Web Addendum B.12.31.24.csv")
    lines = _lines({"A": ["20983"]}, "2025-03-10", zip="02115", cbsa="14454")
    out = rvucalc.reprice_opps(lines, releases=["opps-2024-01"])
    assert out["release_note"].astype(str).tolist() == [
        "no CY2025 OPPS addendum among the releases asked for (opps-2024-01)"]
    per = rvucalc.compare_sites_claims(lines, opps_releases=["opps-2024-01"])
    text = per.attrs["rvucalc.reason_text"]["hopd"]["FACILITY_NO_RELEASE"]
    assert "among the releases asked for (opps-2024-01)" in text and "not at hand" not in text
