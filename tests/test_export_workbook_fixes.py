"""Workbooks analysts send on: a SiteComparison is written like a Quote, every money column shows
dollars and every count column a count, and the Provenance sheet names every file behind the
numbers (wage index, county crosswalk) and says which setting had no release.

Inputs are synthetic claim lines written here; the CMS files are read from the mirror (each
checked through the ``mirror`` fixture, so a missing file fails the test). Workbooks are opened
with openpyxl and read as a colleague would.
"""

from __future__ import annotations

import re
from pathlib import Path

from openpyxl import load_workbook

import rvucalc
from rvucalc.cli import main as cli_main
from rvucalc.export import COUNT_FORMAT, CURRENCY_FORMAT, INDEX_FORMAT, to_excel
from rvucalc.export.formats import UNITS_FORMAT

ROOT = Path(__file__).resolve().parents[1]

# the CMS files these workbooks are made from (each must be in the mirror)
PFS25 = ("pfs/rvu25d/PPRRVU2025_Oct.csv", "pfs/rvu25d/GPCI2025.csv")
PFS26 = ("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv", "pfs/rvu26c/GPCI2026.csv")
OPPS25 = "opps/2025-01/January 2025 Web Addendum B.12.31.24.csv"
ASC25 = ("asc/2025-01/AA.csv", "asc/2025-01/BB.csv")
ASC_WI25 = "wage_index/asc-cy2025/wage_index.txt"
COUNTY = "wage_index/snf-fy2026/FY2026-FR-WAGE-INDEX_CountyLevel_508.csv"

HEADER_FILL = "FF1F4E78"  # the styled header row of every table rvucalc writes


def _need(mirror, *rels: str) -> None:
    for rel in rels:
        mirror(rel)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _pfs_lines(tmp: Path) -> Path:
    # a paid office visit, a paid procedure, a second procedure on the same claim (multiple
    # procedure rule), two units, a lab code the PFS does not pay, refused units
    return _write(tmp / "pfs.csv", "claim_id,hcpcs,modifiers,units,pos,zip,date_of_service\n"
                  "X1,20983,,1,11,02115,2026-08-03\n"
                  "X1,99213,25,1,11,02115,2026-08-03\n"
                  "X2,11043,,1,11,02115,2026-08-03\n"
                  "X2,11042,,2,11,02115,2026-08-03\n"
                  "X3,0001U,,1,11,02115,2026-08-03\n"
                  "X4,99213,,\"1,5\",11,02115,2026-08-03\n")


def _facility_lines(tmp: Path, name: str = "fac.csv", date: str = "2025-03-10",
                    place: str = "cbsa") -> Path:
    # claim A: a J1 procedure with packaged lines; B: two T procedures (the second at 50%);
    # C: two units of a T procedure; C, D, E: no CBSA, and their ZIP 02115 (Boston: a locality of two
    # CBSAs) places nothing: the national rate
    v = "14454" if place == "cbsa" else "25025"  # Boston CBSA; Suffolk County, MA
    return _write(tmp / name, f"claim_id,hcpcs,modifiers,units,date_of_service,{place},zip\n"
                  f"A,20983,,1,{date},{v},02115\n"
                  f"A,77013,,1,{date},{v},02115\n"
                  f"A,C2618,,2,{date},{v},02115\n"
                  f"B,11043,,1,{date},{v},02115\n"
                  f"B,11042,,1,{date},{v},02115\n"
                  f"C,11043,,2,{date},,02115\n"
                  f"D,96372,,1,{date},,02115\n"
                  f"D,11042,,1,{date},,02115\n"
                  f"E,96372,,1,{date},,02115\n"
                  f"E,96374,,1,{date},,02115\n")


# ---------------------------------------------------------------------------------------------
# what each column holds, stated here (not taken from rvucalc)
# ---------------------------------------------------------------------------------------------
SITES = ("office", "hopd", "asc")
MONEY = {
    # PFS claim lines and per-claim totals
    "base_amount", "fee_schedule_amount", "limiting_charge", "allowed", "sequestration",
    "medicare_payment", "beneficiary_share", "charge_amount",
    # facility claim lines and per-claim totals
    "facility_payment", "beneficiary_copay", "claim_total",
    # schedule / compare
    "amount", "nonpar_amount", "nonfacility", "facility", "site_difference",
    # site of service: one code, the book by setting, each claim
    "professional", "total", "medicare", "beneficiary", "minus_office", "minus_hopd",
    "hopd_minus_office", "asc_minus_office", "asc_minus_hopd", "hopd_clinic_visit",
    "like_for_like_total", "like_for_like_medicare", "like_for_like_beneficiary",
    *{f"{s}_{c}" for s in SITES for c in ("professional", "facility", "total", "medicare", "beneficiary")},
    # labelled summaries of a repricing
    "allowed (sum)", "Medicare payment (sum)", "beneficiary share (sum)", "sequestration (sum)",
    "charge (sum)", "allowed per paid line (mean)", "facility_payment (mean)",
}
COUNT = {"lines", "lines_paid", "lines_unpaid", "claims", "claims_priced", "claims_not_priced",
         "claims_with_unpaid_lines", "paid_units", "claims_billable", "claims_not_billable", "lines_priced",
         "like_for_like_claims",
         "units_factor", *{f"{s}_lines_unpaid" for s in SITES},
         "lines (count)", "lines paid (count)", "lines not paid (count)", "units (sum)"}
# numbers that are neither (their own formats, or plain numbers)
OTHER = {"discount_factor", "bilateral_factor", "mult_proc_factor", "mult_proc_rank", "cosurgery_factor",
         "assistant_factor", "team_factor", "bundled_factor", "nonpar_factor", "facility_wage_index",
         "wage_index", "conversion_factor", "year", "coverage_percent"}
PIVOT_MONEY = re.compile(r"^\d{4}[0-9A-Z]( \w\w)? (nonfacility|facility)$")  # "20983 nonfacility"


def _numeric_columns(path: Path) -> dict[tuple[str, str], set[str]]:
    """(sheet, column header) -> number formats of its number cells, for every table of every
    sheet but Provenance; the Key figures of a repricing summary by their labels."""
    wb = load_workbook(path)
    out: dict[tuple[str, str], set[str]] = {}
    for ws in wb.worksheets:
        if ws.title == "Provenance":
            continue
        hdr = None
        for row in ws.iter_rows():
            first = row[0]
            if first.fill is not None and first.fill.fgColor.rgb == HEADER_FILL:
                hdr = [c.value for c in row]
                continue
            if hdr is None or all(c.value is None for c in row):
                hdr = None if all(c.value is None for c in row) else hdr
                continue
            for c, h in zip(row, hdr):
                v = c.value
                if h is None or isinstance(v, bool) or not isinstance(v, int | float):
                    continue
                if h == "value":  # Key figures: the label says what the figure is
                    h = f"key figure: {row[0].value}"
                out.setdefault((ws.title, str(h)), set()).add(c.number_format)
    return out


def _check_formats(path: Path) -> set[str]:
    cols = _numeric_columns(path)
    assert cols, path
    for (sheet, col), fmts in cols.items():
        where = f"{path.name} {sheet!r} {col!r}: {fmts}"
        if col.startswith("key figure: "):
            want = {COUNT_FORMAT} if "(count" in col else {CURRENCY_FORMAT}
        elif col in MONEY or PIVOT_MONEY.match(col):
            want = {CURRENCY_FORMAT}
        elif col in COUNT:
            want = {COUNT_FORMAT, UNITS_FORMAT}
        else:
            assert col in OTHER, f"a number column this test does not know: {where}"
            assert not fmts & {CURRENCY_FORMAT, COUNT_FORMAT, UNITS_FORMAT} or col == "conversion_factor", where
            continue
        assert fmts <= want, where
    return {c for _, c in cols}


def test_every_money_column_shows_dollars_and_every_count_a_count(mirror, tmp_path):
    _need(mirror, *PFS25, *PFS26, OPPS25, *ASC25, ASC_WI25)
    pfs = _pfs_lines(tmp_path)
    fac = _facility_lines(tmp_path)
    asc_lines = _write(tmp_path / "asc.csv", "claim_id,hcpcs,modifiers,units,date_of_service,wage_index\n"
                       "K,29881,,1,2025-03-10,1.0\nK,64721,,1,2025-03-10,1.0\n"
                       "L,11043,,2,2025-03-10,1.1301\n")
    # claims every setting prices (so the book's sums and differences are numbers)
    sites = _write(tmp_path / "sites.csv", "claim_id,hcpcs,modifiers,units,date_of_service,cbsa,zip\n"
                   "B,11043,,1,2025-03-10,14454,02115\nB,11042,,1,2025-03-10,14454,02115\n"
                   "C,11043,,2,2025-03-10,,02115\n")
    books = {}
    for name, args in {
        "pfs": ["reprice", str(pfs), "-o", str(tmp_path / "p.xlsx"), "--claims-out", str(tmp_path / "pc.xlsx")],
        "hopd": ["reprice", str(fac), "--setting", "hopd", "-o", str(tmp_path / "h.xlsx"),
                 "--claims-out", str(tmp_path / "hc.xlsx")],
        "asc": ["reprice", str(asc_lines), "--setting", "asc", "-o", str(tmp_path / "a.xlsx"),
                "--claims-out", str(tmp_path / "ac.xlsx")],
        "sites": ["sites", "--claims", str(sites), "--line-sheets", "-o", str(tmp_path / "s.xlsx")],
        "schedule": ["schedule", "99213", "20983", "--localities", "01182-18", "--release", "rvu26c",
                     "--out", str(tmp_path / "sch.xlsx")],
        "compare": ["compare", "20983", "77013", "--localities", "01182-18", "--release", "rvu26c",
                    "--out", str(tmp_path / "cmp.xlsx")],
    }.items():
        assert cli_main(args) == 0, name
    for f in ("p", "pc", "h", "hc", "a", "ac", "s", "sch", "cmp"):
        books[f] = _check_formats(tmp_path / f"{f}.xlsx")
    # the columns the review found wrong are among those checked
    assert {"lines", "lines_paid", "lines_unpaid", "allowed", "beneficiary_share"} <= books["pc"]
    assert {"lines_paid", "facility_payment", "beneficiary_copay"} <= books["hc"]
    assert {"claim_total", "paid_units"} <= books["h"] & books["a"]
    assert {"office_total", "hopd_medicare", "asc_beneficiary", "hopd_minus_office", "asc_minus_office",
            "minus_office", "minus_hopd", "claims_not_priced", "hopd_lines_unpaid",
            "claim_total"} <= books["s"]
    assert {"amount", "conversion_factor"} <= books["sch"] and "site_difference" in books["cmp"]
    # a fraction of a unit is shown as such, not rounded to a whole count
    wb = load_workbook(tmp_path / "h.xlsx")
    ws = wb["Detail"]
    hdr = [c.value for c in ws[1]]
    j = hdr.index("paid_units") + 1
    halves = [ws.cell(r, j) for r in range(2, ws.max_row + 1) if ws.cell(r, j).value == 0.5]
    assert halves and all(c.number_format == UNITS_FORMAT for c in halves)
    assert ws.cell(2, hdr.index("facility_wage_index") + 1).number_format == INDEX_FORMAT


def test_user_frame_names_are_still_guessed():
    """Frames nobody declared: counts are counts (``lines_paid`` is not dollars), totals are money."""
    from rvucalc.export import column_format

    for name in ("lines", "lines_paid", "lines_unpaid", "claim_count", "units", "paid_units",
                 "office_lines_unpaid", "claims_with_unpaid_lines"):
        assert column_format(name, "int64") == COUNT_FORMAT, name
    for name in ("claim_total", "office_total", "hopd_medicare", "asc_beneficiary", "hopd_minus_office",
                 "minus_office", "minus_hopd", "allowed", "medicare_payment", "beneficiary_copay"):
        assert column_format(name, "float64") == CURRENCY_FORMAT, name


# ---------------------------------------------------------------------------------------------
# 1. a SiteComparison, as the README writes it
# ---------------------------------------------------------------------------------------------
def _cells(ws) -> list[str]:
    return [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]


def test_site_comparison_to_excel_readme_example(mirror, tmp_path, monkeypatch):
    _need(mirror, *PFS25, OPPS25, *ASC25, ASC_WI25)
    monkeypatch.chdir(tmp_path)
    fs = rvucalc.load(2025)
    cmp = fs.compare_sites("20983", zip="02115", cbsa="14454")
    rvucalc.export.to_excel(cmp, "sites.xlsx")  # README: rvucalc.export.to_excel(cmp, "sites.xlsx")
    wb = load_workbook(tmp_path / "sites.xlsx")
    assert wb.sheetnames == ["Summary", "Sites", "Reasons", "Provenance"]
    ws = wb["Sites"]
    hdr = [c.value for c in ws[1]]
    rows = [dict(zip(hdr, (c.value for c in r))) for r in ws.iter_rows(min_row=2)]
    assert [r["site"] for r in rows] == ["office", "hopd", "asc"]
    # the amounts are the comparison's own (cent-rounded in rvucalc.sites), in dollar cells
    for r, site in zip(rows, cmp.rows):
        assert r["total"] == site.total
    # by hand: CBSA 14454 (Boston) wage index 1.1301 (CY2025 ASC table); Addendum B 20983
    # $7,143.73 x (0.6 x 1.1301 + 0.4) = 7701.37; Addendum AA $4,911.21 x (0.5 x 1.1301 + 0.5) = 5230.68
    fac = {r["site"]: r["facility"] for r in rows}
    assert fac["hopd"] == 7701.37 and fac["asc"] == 5230.68
    hopd = next(r for r in rows if r["site"] == "hopd")
    assert hopd["indicator"] == "J1"  # CY2025 Addendum B: 20983 is J1 (APC 5114)
    j = hdr.index("total") + 1
    assert all(ws.cell(r, j).number_format == CURRENCY_FORMAT for r in range(2, 5))
    prov = _cells(wb["Provenance"])
    # the files behind every row: PFS, OPPS Addendum B, ASC addenda, the wage index
    for name in ("PPRRVU2025_Oct.csv", "GPCI2025.csv", "wage_index.txt"):
        assert any(name in c for c in prov), name
    assert any("opps-2025-10" in c for c in prov)  # RVU25D (October 2025): the October addendum
    # where the physician and the facility were placed
    summary = _cells(wb["Summary"])
    assert any("CBSA 14454" in c for c in summary)


def test_site_comparison_names_the_missing_setting(fs26, mirror, tmp_path):
    """CY2026: no OPPS Addendum B in the mirror; the workbook says so where the row is empty."""
    _need(mirror, *PFS26)
    cmp = fs26.compare_sites("20983", locality="01182-18", cbsa="31084")
    assert next(r for r in cmp.rows if r.site == "hopd").total is None
    wb = load_workbook(to_excel(cmp, tmp_path / "s26.xlsx"))
    notes = [c for c in _cells(wb["Summary"]) if c.startswith("Hospital outpatient: no amount")]
    assert len(notes) == 1 and "OPPS_RELEASE_MISSING" in notes[0] and "2026" in notes[0]
    assert any(c.startswith("Hospital outpatient: no amount") for c in _cells(wb["Provenance"]))
    # a dict of views may hold a comparison too
    wb = load_workbook(to_excel({"20983": cmp}, tmp_path / "d.xlsx"))
    assert "20983" in wb.sheetnames


def test_readme_to_excel_examples_run(mirror, tmp_path, monkeypatch):
    """Every README line that calls ``to_excel`` runs (with what the README defined before it)."""
    _need(mirror, *PFS26)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    calls = [ln.split("#")[0].strip() for ln in text.splitlines()
             if "to_excel(" in ln and ln.lstrip().startswith("rvucalc.export.to_excel(")]
    assert calls, "the README shows no to_excel example"
    monkeypatch.chdir(tmp_path)
    fs = rvucalc.load(2026)
    ns = {"rvucalc": rvucalc, "fs": fs, "cmp": fs.compare_sites("20983", locality="01182-18", cbsa="31084")}
    for line in calls:
        exec(line, ns)  # noqa: S102 - the README's own statement
    assert (tmp_path / "sites.xlsx").is_file()


# ---------------------------------------------------------------------------------------------
# 3. every file behind the numbers, and the settings that had no release
# ---------------------------------------------------------------------------------------------
def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _prov(path: Path) -> tuple[list[tuple], dict]:
    """(source rows: release, label, table, file, sha256), {parameter: value} of the Provenance sheet."""
    ws = load_workbook(path)["Provenance"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    i = next(k for k, r in enumerate(rows) if r[0] == "release" and r[3] == "file")
    sources = []
    for r in rows[i + 1:]:
        if r[0] is None:
            break
        sources.append(tuple(r[:5]))
    j = next(k for k, r in enumerate(rows) if r[0] == "Parameters and options")
    params = {r[0]: r[1] for r in rows[j + 2:] if r[0] is not None}
    return sources, params


def test_facility_workbooks_name_the_wage_index_and_county_files(mirror, tmp_path):
    _need(mirror, OPPS25, *ASC25, ASC_WI25, COUNTY)
    wi_sha, county_sha = _sha(mirror(ASC_WI25)), _sha(mirror(COUNTY))
    add_b = mirror(OPPS25)
    by_cbsa = _facility_lines(tmp_path)
    for f in ("h", "hc"):
        (tmp_path / f"{f}.xlsx").unlink(missing_ok=True)
    assert cli_main(["reprice", str(by_cbsa), "--setting", "hopd", "-o", str(tmp_path / "h.xlsx"),
                     "--claims-out", str(tmp_path / "hc.xlsx")]) == 0
    for f in ("h", "hc"):  # the lines and the per-claim totals
        sources, _ = _prov(tmp_path / f"{f}.xlsx")
        files = {(s[3], s[4]) for s in sources}
        assert (add_b.name, _sha(add_b)) in files, f
        assert ("wage_index.txt", wi_sha) in files, f  # CBSA 14454 -> 1.1301 for claims A, B
        # claims C-E have no CBSA but ZIP 02115: METROPOLITAN BOSTON (25LOCCO: Middlesex, Norfolk,
        # Suffolk) spans two CBSAs in the county crosswalk, so they stay national with the note
        # why; the files that decided it are named
        assert {Path(COUNTY).name, "25LOCCO.csv", "ZIP5_OCT2025.txt"} <= {s[3] for s in sources}, f
    by_county = _facility_lines(tmp_path, "county.csv", place="county_fips")
    assert cli_main(["reprice", str(by_county), "--setting", "asc", "-o", str(tmp_path / "a.xlsx")]) == 0
    files = {(s[3], s[4]) for s in _prov(tmp_path / "a.xlsx")[0]}
    assert ("wage_index.txt", wi_sha) in files and (Path(COUNTY).name, county_sha) in files
    assert {("AA.csv", _sha(mirror(ASC25[0]))), ("BB.csv", _sha(mirror(ASC25[1])))} <= files
    # lines of two years: each year's wage index table (CY2024 and CY2025 ASC tables)
    wi24 = "wage_index/asc-cy2024/wage_index.txt"
    _need(mirror, "opps/2024-01/January_Web_2024_Addendum_B.04.24.24.csv", wi24)
    two = _write(tmp_path / "two.csv", "claim_id,hcpcs,units,date_of_service,cbsa\n"
                 "P,11043,1,2024-03-10,14454\nQ,11043,1,2025-03-10,14454\n")
    assert cli_main(["reprice", str(two), "--setting", "hopd", "-o", str(tmp_path / "two.xlsx")]) == 0
    files = {(s[3], s[4]) for s in _prov(tmp_path / "two.xlsx")[0]}
    assert ("wage_index.txt", wi_sha) in files and (Path(wi24).name, _sha(mirror(wi24))) in files
    assert Path(COUNTY).name not in {f[0] for f in files}  # every line by its CBSA: no county looked up
    # the Python path carries the same files on the priced frame
    import pandas as pd

    priced = rvucalc.reprice_asc(pd.read_csv(by_county, dtype=str, keep_default_na=False))
    assert Path(COUNTY).name in {s["file"] for s in priced.attrs["rvucalc.provenance"]["sources"]}


def test_sites_workbook_names_every_release_and_the_missing_one(mirror, tmp_path):
    _need(mirror, *PFS25, *PFS26, OPPS25, *ASC25, ASC_WI25, "asc/2026-01/AA.csv",
          "wage_index/asc-cy2026/wage_index.csv")
    lines25 = _facility_lines(tmp_path)
    assert cli_main(["sites", "--claims", str(lines25), "-o", str(tmp_path / "s25.xlsx")]) == 0
    sources, params = _prov(tmp_path / "s25.xlsx")
    files = {(s[3], s[4]) for s in sources}
    assert ("wage_index.txt", _sha(mirror(ASC_WI25))) in files
    assert (mirror(OPPS25).name, _sha(mirror(OPPS25))) in files
    assert "no release" not in params
    # CY2026: the mirror has no OPPS Addendum B, so the HOPD facility lines have no release
    lines26 = _facility_lines(tmp_path, "c26.csv", date="2026-03-10")
    assert cli_main(["sites", "--claims", str(lines26), "--line-sheets", "-o", str(tmp_path / "s26.xlsx")]) == 0
    sources, params = _prov(tmp_path / "s26.xlsx")
    ids = [x.strip() for x in str(params["releases in the data"]).split(",")]
    assert all(ids) and any(i.startswith("rvu26") for i in ids) and "asc-2026-01" in ids
    assert not any(i.startswith("opps") for i in ids)
    assert "HOPD facility lines" in params["no release"] and "10 of 10 lines" in params["no release"]
    assert "OPPS" in params["no release"]
    assert ("wage_index.csv", _sha(mirror("wage_index/asc-cy2026/wage_index.csv"))) in {
        (s[3], s[4]) for s in sources}
    ws = load_workbook(tmp_path / "s26.xlsx")["Summary"]
    subtitle = str(ws["A2"].value)
    assert "RVU26C" in subtitle and "ASC Addenda AA and BB, January 2026" in subtitle
    assert "no release: HOPD facility lines" in subtitle


def test_hopd_workbook_names_the_users_ipps_table2(mirror, tmp_path):
    """A hospital's wage index read from an IPPS Table 2 the user gave: that file (sha256) is listed."""
    import pandas as pd

    _need(mirror, OPPS25)
    header = "\t".join(["CCN", "Case-Mix Index", "Number of Cases", "Hospital Name", "Geographic CBSA",
                        "Reclassified/Redesignated CBSA", "FY 2025 Wage Index", "FY 2025 Wage Index With Cap"])
    row = "\t".join(["059999", "1.5", "1000", "SYNTHETIC HOSPITAL", "31084", "", "1.2000", "1.1186"])
    t2 = tmp_path / "FY2025 Table 2.txt"
    t2.write_text("Table 2 (synthetic)\n" + header + "\n" + row + "\n", encoding="latin-1")
    lines = pd.DataFrame({"claim_id": ["A"], "hcpcs": ["20983"], "date_of_service": ["2025-03-10"],
                          "ccn": ["059999"]})
    priced = rvucalc.reprice_opps(lines, ipps_table2=t2)
    # APC 5114 national $7,143.73 (CY2025 Addendum B) x (0.6 x 1.1186 + 0.4) = 7652.076 -> 7652.08
    assert priced["facility_payment"].tolist() == [7652.08]
    sources, _ = _prov(to_excel(priced, tmp_path / "t2.xlsx"))
    assert (t2.name, _sha(t2)) in {(s[3], s[4]) for s in sources}
    assert (mirror(OPPS25).name, _sha(mirror(OPPS25))) in {(s[3], s[4]) for s in sources}


def test_a_line_with_a_bad_date_is_not_reported_as_having_no_release(mirror, tmp_path):
    """A line refused for its date has no release and no release note: its own reason
    (REPRICE_BAD_DATE) says why, so the Provenance sheet names no missing release."""
    _need(mirror, *PFS25)
    src = tmp_path / "c.csv"
    src.write_text("claim_id,hcpcs,units,pos,locality,date_of_service\n"
                   "A,99213,1,11,national,2025-08-03\nB,99213,1,11,national,13/45/2025\n")
    assert cli_main(["reprice", str(src), "-o", str(tmp_path / "r.xlsx"), "--release", "rvu25d"]) == 0
    _, params = _prov(tmp_path / "r.xlsx")
    assert "no release" not in params
