"""Workbooks a CFO reads (issue 24 part 3).

Every workbook kind rvucalc writes is opened with openpyxl and its *Reasons* sheet checked
against the reason codes its own sheets hold (read back from the cells, by rules stated here,
not taken from rvucalc): each code once, with the words and the CMS rule of
:data:`rvucalc.reasons.REGISTRY`. Then the summaries: one per view, means in cents, codes
without regard to case, the claim count of the Claims sheet.

Amounts are hand arithmetic from the mirror's CMS rows quoted in the comments.
"""

from __future__ import annotations

import math
import re
import textwrap

import pandas as pd
import pytest
from openpyxl import load_workbook

from rvucalc.cli import main as cli_main
from rvucalc.export import to_excel

PPRRVU26 = "pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv"

# what a reason column is called (the names rvucalc's frames use), stated here
REASON_HEADER = re.compile(r"^(reasons?|.+[_ ]reason|.+_reason_(old|new))$")


def half_up(x: float) -> float:
    return math.floor(x * 100 + 0.5 + 1e-6) / 100


def _cell_codes(header: str, value: object) -> set[str]:
    """The reason codes in one cell: ``A|B``; ``not_priced_reason`` is ``A 3, B 1``."""
    if not isinstance(value, str) or not value.strip():
        return set()
    if header == "not_priced_reason":
        return {part.strip().split(" ")[0].upper() for part in value.split(",") if part.strip()}
    return {p.strip().upper() for p in value.split("|") if p.strip()}


def codes_in_workbook(wb) -> set[str]:
    """Every reason code the tables of *wb* hold (all sheets but Reasons and Provenance)."""
    found: set[str] = set()
    for ws in wb.worksheets:
        if ws.title in ("Reasons", "Provenance"):
            continue
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        for i, row in enumerate(rows):
            cols = [j for j, v in enumerate(row) if isinstance(v, str) and REASON_HEADER.match(v)]
            for j in cols:
                for below in rows[i + 1:]:
                    if all(v is None for v in below):
                        break  # the end of this table
                    found |= _cell_codes(row[j], below[j] if j < len(below) else None)
    return found


def reasons_sheet(wb) -> pd.DataFrame:
    ws = wb["Reasons"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    start = next((i for i, r in enumerate(rows) if r[:2] == ["code", "words"]), None)
    if start is None:
        return pd.DataFrame(columns=["code", "words", "CMS rule", "appears in"])
    body = []
    for r in rows[start + 1:]:
        if all(v is None for v in r):
            break
        body.append(r[:4])
    return pd.DataFrame(body, columns=rows[start][:4])


def check_reasons(path, *, expect: set[str] = frozenset()) -> set[str]:
    """The Reasons sheet of *path* lists exactly the codes its sheets hold, with the registry's
    words and rules; *expect* must be among them. Returns the codes."""
    from rvucalc.reasons import REGISTRY

    wb = load_workbook(path)
    assert wb.sheetnames[-2:] == ["Reasons", "Provenance"], wb.sheetnames
    data = codes_in_workbook(wb)
    sheet = reasons_sheet(wb)
    assert sheet["code"].tolist() == sorted(data), (path, sorted(data), sheet["code"].tolist())
    assert expect <= data, (expect, data)
    for code, words, rule, where in sheet.itertuples(index=False):
        assert code in REGISTRY, code  # every code in the data is one rvucalc gives
        assert words == REGISTRY[code].message and rule == REGISTRY[code].rule
        assert where and "(" in where  # sheet: column (rows)
    if not data:
        assert any(c.value == "No reason codes appear in this workbook." for c in wb["Reasons"]["A"])
    return data


# ---------------------------------------------------------------------------
# every workbook kind
# ---------------------------------------------------------------------------
def test_quote_workbook(fs26, tmp_path):
    # 77013 is status C in PPRRVU2026_Jul (carrier priced): no national amount
    qs = [fs26.quote("20983"), fs26.quote("77013")]
    check_reasons(to_excel(qs, tmp_path / "q2.xlsx"), expect={"PFS_STATUS_C"})


def test_schedule_workbooks_long_and_wide(fs26, tmp_path):
    sched = fs26.schedule(codes=["20983", "77013"], localities=["01182-18"])
    check_reasons(to_excel(sched, tmp_path / "s.xlsx", provenance=fs26), expect={"PFS_STATUS_C"})
    # the wide layout: the reasons of empty cells in each row's 'reasons' column
    wide = tmp_path / "w.xlsx"
    check_reasons(to_excel(sched, wide, provenance=fs26, layout="wide"), expect={"PFS_STATUS_C"})
    assert "Office (non-facility)" in load_workbook(wide).sheetnames


def test_compare_workbook(mirror, tmp_path):
    mirror(PPRRVU26)
    p = tmp_path / "c.xlsx"
    assert cli_main(["compare", "20983", "77013", "--localities", "01182-18", "--out", str(p)]) == 0
    check_reasons(p, expect={"PFS_STATUS_C"})


def test_sites_workbook(fs26, tmp_path):
    cmp = fs26.compare_sites("20983", locality="01182-18", county_fips="06037")
    # the office row has no facility fee (a reason, not $0.00 unexplained)
    check_reasons(to_excel(cmp, tmp_path / "sites.xlsx"), expect={"OFFICE_NO_FACILITY_FEE"})


def test_diff_workbook(fs25, fs26, tmp_path):
    from rvucalc.diff import diff

    d = diff(fs25, fs26, codes=["20983", "77013"], localities=["01182-18"])
    # 77013 is status C (carrier priced) in RVU25D and RVU26C: its amounts' reasons, old and new
    check_reasons(to_excel(d, tmp_path / "d.xlsx"), expect={"PFS_STATUS_C"})


@pytest.fixture()
def book(tmp_path, mirror):
    mirror(PPRRVU26)
    p = tmp_path / "book.csv"
    # c1: 20983 office LA; c2: 77013 (status C, carrier priced); c3: the same 99213 twice (the
    # duplicate edit); two lines without a claim id (each a claim of its own)
    p.write_text(textwrap.dedent("""\
        claim_id,hcpcs,modifiers,units,pos,zip,date_of_service,charge
        c1,20983,,1,11,90012,2026-03-10,9000
        c2,77013,,1,11,90012,2026-03-10,800
        c3,99213,,1,11,90012,2026-03-10,200
        c3,99213,,1,11,90012,2026-03-10,200
        ,99214,,1,11,90012,2026-03-10,300
        ,99214,,1,11,90012,2026-03-10,300
        """))
    return p


def test_reprice_workbook_reasons_and_claims(book, tmp_path):
    out = tmp_path / "r.xlsx"
    assert cli_main(["reprice", str(book), "-o", str(out), "--no-progress"]) == 0
    check_reasons(out, expect={"PFS_STATUS_C"})
    wb = load_workbook(out)
    s = wb["Summary"]
    figures = {s.cell(r, 1).value: s.cell(r, 2).value for r in range(1, s.max_row + 1)}
    claims = [r for r in wb["Claims"].iter_rows(min_row=4, values_only=True) if any(v is not None for v in r)]
    # c1, c2, c3, and each of the two lines without a claim id: 5 claims, as on the Claims sheet
    assert len(claims) == 5
    assert figures["claims (count; a line without a claim_id is a claim of its own)"] == 5


def test_reprice_summary_codes_without_case_and_means_in_cents(fs26, tmp_path):
    import rvucalc

    lines = pd.DataFrame({
        "claim_id": ["a", "b", "c"], "hcpcs": ["99213", "99213 ", "99214"], "modifiers": [""] * 3,
        "units": ["1"] * 3, "pos": ["11"] * 3, "locality": ["01182-18"] * 3,
        "date_of_service": ["2026-03-10"] * 3})
    priced = rvucalc.reprice(lines, releases=[fs26])
    wb = load_workbook(to_excel(priced, tmp_path / "r.xlsx"))
    s = wb["Summary"]
    rows = [list(r) for r in s.iter_rows(values_only=True)]
    h = next(i for i, r in enumerate(rows) if r[0] == "code")
    table = pd.DataFrame([r for r in rows[h + 1:] if r[0] is not None], columns=rows[h])
    table = table.loc[:, [c for c in table.columns if c is not None]]
    assert sorted(table["code"]) == ["99213", "99214"]  # "99213 " is 99213
    assert table.set_index("code").loc["99213", "lines (count)"] == 2
    # RVU26C 99213 work 1.30, PE 1.46, MP 0.09; 99214 1.92, 2.00, 0.14; GPCI 01182-18 1.041,
    # 1.183, 0.664; CF 33.4009: 99213 $104.89, 99214 $148.89 (tests/test_contracts.py);
    # mean per paid line = (2 x 104.89 + 148.89) / 3 = 119.5566.. -> $119.56
    mean = next(r[1] for r in rows if r[0] == "allowed amount per paid line (mean)")
    assert mean == half_up((2 * 104.89 + 148.89) / 3) == 119.56


def test_sites_claims_workbook(mirror, tmp_path):
    from tests.test_export_workbook_fixes import _facility_lines

    mirror(PPRRVU26)
    lines = _facility_lines(tmp_path, date="2026-03-10")
    out = tmp_path / "sc.xlsx"
    assert cli_main(["sites", "--claims", str(lines), "-o", str(out)]) == 0
    codes = check_reasons(out)
    assert codes  # CY2026: the mirror has no OPPS Addendum B, so the HOPD lines say why
    wb = load_workbook(out)
    assert wb.sheetnames[0] == "Summary" and "Summary Claims" not in wb.sheetnames


def test_contract_workbook(book, tmp_path):
    from tests.test_contracts import EXAMPLE

    acme = tmp_path / "acme.yaml"
    acme.write_text(EXAMPLE)
    out = tmp_path / "k.xlsx"
    assert cli_main(["contract", str(book), "--contract", str(acme), "-o", str(out)]) == 0
    check_reasons(out, expect={"PFS_STATUS_C"})
    assert load_workbook(out).sheetnames[0] == "Summary"


# ---------------------------------------------------------------------------
# a summary for every view
# ---------------------------------------------------------------------------
def test_every_view_has_its_summary(tmp_path):
    a = pd.DataFrame({"hcpcs": ["1", "1", "2"], "amount": [10.0, 20.01, 5.0]})
    b = pd.DataFrame({"hcpcs": ["1", "2"], "amount": [11.0, 6.0]})
    wb = load_workbook(to_excel({"CY2025": a, "CY2026": b}, tmp_path / "m.xlsx"))
    assert wb.sheetnames == ["Summary CY2025", "Summary CY2026", "CY2025", "CY2026", "Reasons", "Provenance"]
    s25 = [list(r) for r in wb["Summary CY2025"].iter_rows(values_only=True)]
    assert "CY2025" in s25[0][0]
    # code 1 in CY2025: two rows, their mean (10.00 + 20.01) / 2 = 15.005 -> $15.01 (half up)
    row1 = next(r for r in s25 if r[0] == "1")
    assert row1[1] == 15.01
    s26 = [list(r) for r in wb["Summary CY2026"].iter_rows(values_only=True)]
    assert "CY2026" in s26[0][0]
    assert next(r for r in s26 if r[0] == "2")[1] == 6.0


def test_summary_codes_counted_without_case(tmp_path):
    df = pd.DataFrame({"hcpcs": ["j1100", "J1100", "99213"], "amount": [1.0, 1.0, 2.0]})
    wb = load_workbook(to_excel(df, tmp_path / "c.xlsx"))
    rows = [list(r) for r in wb["Summary"].iter_rows(values_only=True)]
    assert [r[0] for r in rows if r[0] in ("J1100", "j1100", "99213")] == ["J1100", "99213"]
    # the Detail sheet keeps what was given
    det = [r[0] for r in wb["Detail"].iter_rows(min_row=2, values_only=True)]
    assert det == ["j1100", "J1100", "99213"]


def test_a_workbook_without_reasons_says_so(tmp_path):
    df = pd.DataFrame({"hcpcs": ["1"], "amount": [1.0], "reason": [""]})
    assert check_reasons(to_excel(df, tmp_path / "n.xlsx")) == set()


def test_reason_cells_of_several_codes_and_any_case(tmp_path):
    df = pd.DataFrame({"hcpcs": ["1", "2", "3"], "amount": [None, None, 1.0],
                       "reason": ["PFS_STATUS_X|not_pfs_clfs", "pfs_status_c", ""]})
    got = check_reasons(to_excel(df, tmp_path / "r.xlsx"))
    assert got == {"PFS_STATUS_X", "NOT_PFS_CLFS", "PFS_STATUS_C"}


# ---------------------------------------------------------------------------
# the terminal: sites --claims is TSV when piped; releases at hand
# ---------------------------------------------------------------------------
def test_sites_claims_table_is_tsv_when_piped(mirror, tmp_path, capsys):
    from tests.test_export_workbook_fixes import _facility_lines

    mirror(PPRRVU26)
    lines = _facility_lines(tmp_path, date="2025-03-10")
    assert cli_main(["sites", "--claims", str(lines)]) == 0
    out = capsys.readouterr().out.splitlines()  # captured: not a terminal
    rows = [r.split("\t") for r in out if not r.startswith("#")]
    assert rows[0][:4] == ["site", "claims", "claims_billable", "claims_priced"]
    assert [r[0] for r in rows[1:]] == ["office", "hopd", "asc"]
    assert all(len(r) == len(rows[0]) for r in rows)
    assert rows[1][1] == "5"  # claims A to E (tests/test_export_workbook_fixes.py)


def test_releases_say_which_are_at_hand(tmp_path, monkeypatch, capsys):
    m = tmp_path / "mirror"
    for rel, names in {"2025-01": ["AA.csv", "BB.csv"], "2025-04": ["AA.csv"]}.items():
        (m / "asc" / rel).mkdir(parents=True)
        for n in names:
            (m / "asc" / rel / n).write_text("synthetic, not CMS's\n")
    # a file in a folder of no release, not the copy the catalogue records: not asc-2025-07's
    (m / "other").mkdir()
    (m / "other" / "AA.csv").write_text("something else\n")
    cache = tmp_path / "cache"
    (cache / "opps-2025-01").mkdir(parents=True)
    (cache / "opps-2025-01" / "January 2025 Web Addendum B.12.31.24.csv").write_text("synthetic\n")
    monkeypatch.setenv("RVUCALC_CACHE", str(cache))
    assert cli_main(["releases", "--mirror", str(m)]) == 0
    rows = [r.split("\t") for r in capsys.readouterr().out.splitlines() if not r.startswith("#")]
    at = {r[0]: r[rows[0].index("at hand")] for r in rows[1:]}
    assert at["asc-2025-01"] == "mirror"
    assert at["asc-2025-04"] == "partly: mirror (fetch: addendum_bb)"
    assert at["asc-2025-07"] == "fetch"
    assert at["opps-2025-01"] == "cache"
    assert at["rvu25d"] == "fetch"


# ---------------------------------------------------------------------------
# progress bars: tqdm on standard error, nothing when it is not a terminal
# ---------------------------------------------------------------------------
def test_engines_print_no_bar_off_a_terminal_and_dask_draws_tqdm(book, tmp_path, capsys):
    import distributed

    from rvucalc.claims.pipeline import options
    from rvucalc.dask import reprice_dataset

    ds = tmp_path / "ds"
    ds.mkdir()
    df = pd.read_csv(book, dtype=str, keep_default_na=False)
    df.iloc[:3].to_parquet(ds / "p0.parquet", index=False)
    df.iloc[3:].to_parquet(ds / "p1.parquet", index=False)
    capsys.readouterr()
    # the CLI without --no-progress, standard error captured (not a terminal): no bar
    assert cli_main(["reprice", str(book), "-o", str(tmp_path / "s.csv"), "--engine", "stream"]) == 0
    got = capsys.readouterr()
    assert got.out == "" and "\r" not in got.err and "lines/s" not in got.err
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=":0") as cluster:
        assert cli_main(["reprice", str(ds), "-o", str(tmp_path / "d1"), "--engine", "dask",
                         "--scheduler", cluster.scheduler_address]) == 0
        got = capsys.readouterr()
        assert got.out == "" and "\r" not in got.err and "Completed" not in got.err
        # asked for: tqdm's bar on standard error (distributed's own bar wrote "[####] | 100% Completed"
        # to standard output)
        assert reprice_dataset(ds, tmp_path / "d2", options=options("pfs"), scheduler=cluster.scheduler_address,
                               progress=True) == 6
        got = capsys.readouterr()
        assert got.out == "" and "Completed" not in got.err
        assert "price" in got.err and "tasks" in got.err


def test_summaries_names_the_views_that_get_one(tmp_path):
    a = pd.DataFrame({"hcpcs": ["1", "2"], "amount": [1.0, 2.0]})
    b = pd.DataFrame({"hcpcs": ["1"], "amount": [3.0], "note": ["x"]})
    wb = load_workbook(to_excel({"book": a, "detail": b}, tmp_path / "s.xlsx", summaries=["book"]))
    assert wb.sheetnames == ["Summary", "book", "detail", "Reasons", "Provenance"]
    wb = load_workbook(to_excel({"book": a, "detail": b}, tmp_path / "f.xlsx", summary=False))
    assert wb.sheetnames == ["book", "detail", "Reasons", "Provenance"]


def test_a_code_rvucalc_does_not_give_is_listed_as_such(tmp_path):
    from rvucalc.export.reasons_sheet import UNKNOWN

    # the user's own column named "reason": written as given, its code listed, never dropped
    df = pd.DataFrame({"hcpcs": ["1", "2"], "amount": [1.0, 2.0], "reason": ["denied", "PFS_STATUS_C"]})
    wb = load_workbook(to_excel(df, tmp_path / "u.xlsx"))
    sheet = reasons_sheet(wb).set_index("code")
    assert list(sheet.index) == ["DENIED", "PFS_STATUS_C"]
    assert sheet.loc["DENIED", "words"] == UNKNOWN and pd.isna(sheet.loc["DENIED", "CMS rule"])  # empty
    assert sheet.loc["PFS_STATUS_C", "appears in"] == "Detail: reason (1 row)"
