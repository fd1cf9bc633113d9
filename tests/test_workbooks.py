"""Every workbook kind opened with openpyxl and checked as a reader would.

Kinds: schedule (long, with a summary), whole-schedule (wide), compare (see
test_export_excel), diff, repricing, quotes, site comparison. For each: sheet
names, summary figures against the detail rows, number formats, frozen panes,
autofilter, chart series and axis titles, provenance rows, hostile text typed
as text. Expected amounts are hand arithmetic from the CMS rows quoted in the
comments (PPRRVU2026_Jul_nonQPP.csv, GPCI2026.csv, RVU26C CF 33.4009).
"""

from __future__ import annotations

import math
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook

from rvucalc.cli import main as cli_main
from rvucalc.export import CURRENCY_FORMAT, PERCENT_FORMAT, to_excel, write_table
from rvucalc.export import layout as export_layout

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1234", "-5+3", "@SUM(A1:A9)", "=1+1"]
PPRRVU26 = "PPRRVU2026_Jul_nonQPP.csv"
PPRRVU26_SHA = "b7d197e73211ef6854c213c267d5fa9dec8df995db8e1ee7d44c0556ad7cee21"


def half_up(x: float) -> float:
    return math.floor(x * 100 + 0.5 + 1e-6) / 100


# 20983, RVU26C: work 6.71, PE non-facility 139.34, PE facility 1.52, MP 0.83; CF 33.4009
# LA (01182-18) GPCI2026: work 1.041, PE 1.183, MP 0.664
LA_NF_20983 = half_up((6.71 * 1.041 + 139.34 * 1.183 + 0.83 * 0.664) * 33.4009)  # 5757.50
LA_F_20983 = half_up((6.71 * 1.041 + 1.52 * 1.183 + 0.83 * 0.664) * 33.4009)
NAT_NF_20983 = half_up(146.88 * 33.4009)  # 4905.92


def _text(title) -> str:
    return "".join(r.t for p in title.tx.rich.p for r in (p.r or []))


def _table(ws, header_row: int) -> pd.DataFrame:
    """The table whose header is on *header_row*, down to the first empty row."""
    hdr = [c.value for c in ws[header_row]]
    while hdr and hdr[-1] is None:
        hdr.pop()
    rows = []
    for r in ws.iter_rows(min_row=header_row + 1, max_col=len(hdr), values_only=True):
        if all(v is None for v in r):
            break
        rows.append(r)
    return pd.DataFrame(rows, columns=hdr)


def _row_of(ws, value, col: int = 1) -> int:
    for r in range(1, ws.max_row + 1):
        if ws.cell(r, col).value == value:
            return r
    raise AssertionError(f"{value!r} not in column {col} of {ws.title}")


def _no_formulas(path) -> None:
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/"):
                data = z.read(n)
                assert b"<f>" not in data and b"<f " not in data, n


def _provenance_rows(wb) -> tuple[list[tuple], dict]:
    ws = wb["Provenance"]
    start = _row_of(ws, "release") + 1
    sources = []
    for r in range(start, ws.max_row + 1):
        v = [c.value for c in ws[r]]
        if v[0] is None:
            break
        sources.append(tuple(v[:5]))
    p = _row_of(ws, "Parameters and options") + 2
    params = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(p, ws.max_row + 1)}
    return sources, params


# ---------------------------------------------------------------------------
# schedule (long, small)
# ---------------------------------------------------------------------------
def test_schedule_workbook(fs26, tmp_path):
    df = fs26.schedule(["20983", "99213"], ["01182-18", "05302-99"])
    wb = load_workbook(to_excel(df, tmp_path / "s.xlsx", provenance=fs26))
    assert wb.sheetnames == ["Summary", "Detail", "Reasons", "Provenance"]
    s = wb["Summary"]
    # a real title naming the release, not "rvucalc results"
    assert s["A1"].value.startswith("Medicare physician fee schedule amounts by locality")
    assert "RVU26C" in s["A1"].value
    t = _table(s, 3)
    # locality names beside the ids (GPCI2026.csv: 01182-18 LOS ANGELES..., 05302-99 REST OF MISSOURI)
    assert list(t.columns[:3]) == ["locality_id", "state", "locality_name"]
    la = t[t.locality_id == "01182-18"].iloc[0]
    assert la["state"] == "CA" and la["locality_name"].startswith("LOS ANGELES")
    assert t.loc[t.locality_id == "05302-99", "locality_name"].iloc[0] == "REST OF MISSOURI"
    assert la["20983 nonfacility"] == LA_NF_20983 and la["20983 facility"] == LA_F_20983
    # every summary cell is the one detail row for that locality, code and setting
    det = _table(wb["Detail"], 1)
    for _, row in det.iterrows():
        lab = f"{row['hcpcs']} {row['setting']}"
        got = t.loc[t.locality_id == row["locality_id"], lab].iloc[0]
        assert got == row["amount"]
    assert s.freeze_panes == "D4" and s.auto_filter.ref == "A3:G5"
    assert s.cell(4, 4).number_format == CURRENCY_FORMAT
    d = wb["Detail"]
    # 14 columns: schedule()'s 13 and fee_schedule (issue 21)
    assert d.freeze_panes == "A2" and d.auto_filter.ref == f"A1:N{1 + len(df)}"
    # one chart per code, titled with the code and its description, axes saying what is plotted
    assert len(s._charts) == 2
    ch = s._charts[0]
    assert _text(ch.title) == "20983: Ablate bone tumor(s) perq"
    assert _text(ch.y_axis.title) == "Allowed amount ($)" and _text(ch.x_axis.title) == "Locality"
    assert [x.tx.v for x in ch.series] == ["Office (non-facility)", "Facility"]
    assert ch.series[0].val.numRef.f == "'Summary'!$D$4:$D$5"
    assert ch.series[0].cat.strRef.f == "'Summary'!$C$4:$C$5"
    sources, params = _provenance_rows(wb)
    assert ("rvu26c", "PFS Relative Value File RVU26C (July 2026 release)", "pprrvu", PPRRVU26,
            PPRRVU26_SHA) in sources
    assert params["conversion factor (rvu26c)"] == 33.4009


def test_cli_workbooks_carry_the_python_provenance(fs26, tmp_path):
    """`rvucalc schedule --out x.xlsx` lists the same CMS files, sha256s, CF and options as the Python path."""
    py = tmp_path / "py.xlsx"
    to_excel(fs26.schedule(["20983"], ["01182-18"]), py, provenance=fs26)
    cli = tmp_path / "cli.xlsx"
    assert cli_main(["schedule", "20983", "--localities", "01182-18", "--release", "rvu26c", "--offline",
                     "--out", str(cli)]) == 0
    py_src, py_par = _provenance_rows(load_workbook(py))
    cli_src, cli_par = _provenance_rows(load_workbook(cli))
    # the same rows (the Python session's FeeSchedule may have read more files, e.g. ZIP5, by then)
    assert set(cli_src) <= set(py_src)
    assert {s[3] for s in cli_src} >= {PPRRVU26, "GPCI2026.csv", "26LOCCO.csv"}
    assert any(s[3] == PPRRVU26 and s[4] == PPRRVU26_SHA for s in cli_src)
    assert cli_par["conversion factor (rvu26c)"] == py_par["conversion factor (rvu26c)"] == 33.4009
    assert cli_par["work GPCI 1.0 floor"] == py_par["work GPCI 1.0 floor"]
    assert "(none given" not in str(cli_src)
    # compare --out: the same files
    cmp_ = tmp_path / "cmp.xlsx"
    assert cli_main(["compare", "20983", "--localities", "01182-18", "--release", "rvu26c", "--offline",
                     "--out", str(cmp_)]) == 0
    assert set(_provenance_rows(load_workbook(cmp_))[0]) <= set(py_src)
    assert PPRRVU26 in {s[3] for s in _provenance_rows(load_workbook(cmp_))[0]}


# ---------------------------------------------------------------------------
# whole schedule: wide
# ---------------------------------------------------------------------------
def test_wide_schedule_workbook(fs26, tmp_path, monkeypatch):
    codes = ["20983", "77013", "99213"]
    df = fs26.schedule(codes, ["01182-18", "05302-99", "10112-00"])
    monkeypatch.setattr(export_layout, "WIDE_MIN_ROWS", 10)  # as for the whole fee schedule
    wb = load_workbook(to_excel(df, tmp_path / "all.xlsx", provenance=fs26))
    assert wb.sheetnames == ["Summary", "Office (non-facility)", "Facility", "Reasons", "Provenance"]
    ws = wb["Office (non-facility)"]
    # row 3: locality names above their ids (row 4, the header); one row per code and modifier
    assert [ws.cell(3, c).value for c in range(7, 10)] == ["CA LOS ANGELES-LONG BEACH-ANAHEIM (LOS ANGELES/ORANGE CNTY)",
                                                          "MO REST OF MISSOURI", "AL ALABAMA"]
    t = _table(ws, 4)
    assert list(t.columns) == ["hcpcs", "modifier", "description", "status", "global_days", "reasons",
                               "01182-18", "05302-99", "10112-00"]
    keys = df[["hcpcs", "modifier"]].astype(str).drop_duplicates()
    assert len(t) == len(keys)  # 20983, 77013 (global, 26, TC), 99213
    row = t[t.hcpcs == "20983"].iloc[0]
    assert row["01182-18"] == LA_NF_20983
    # 77013 (global) is status C: no amount, and the row says why
    c = t[(t.hcpcs == "77013") & t.modifier.isna()].iloc[0]
    assert c["reasons"] == "PFS_STATUS_C" and pd.isna(c["01182-18"])
    assert ws.freeze_panes == "G5" and ws.auto_filter.ref == f"A4:I{4 + len(t)}"
    assert ws.cell(5, 7).number_format == CURRENCY_FORMAT
    # every amount of the long frame is in its cell
    long = df[df.setting == "nonfacility"]
    for r in long.itertuples():
        mod = None if r.modifier == "" else r.modifier
        cell = t[(t.hcpcs == r.hcpcs) & (t.modifier.isna() if mod is None else t.modifier == mod)][r.locality_id]
        v = cell.iloc[0]
        assert (pd.isna(v) and math.isnan(r.amount)) or v == r.amount
    fac = _table(wb["Facility"], 4)
    assert fac[fac.hcpcs == "20983"].iloc[0]["01182-18"] == LA_F_20983
    # summary: per-locality counts of codes with an amount, with names
    s = _table(wb["Summary"], 4)
    assert list(s.columns[:3]) == ["locality_id", "state", "locality_name"]
    assert s.iloc[0]["codes with an amount: Office (non-facility) (count)"] == \
        int(long[long.locality_id == s.iloc[0]["locality_id"]]["amount"].notna().sum())
    notes = [c.value for c in wb["Provenance"]["B"] if c.value]
    assert any("wide layout" in str(n) for n in notes)


# ---------------------------------------------------------------------------
# diff: percentages as fractions
# ---------------------------------------------------------------------------
def test_diff_workbook_percentages(fs25, fs26, tmp_path):
    from rvucalc.diff import diff

    d = diff(fs25, fs26, codes=["20983"], localities=["01182-18"])
    wb = load_workbook(to_excel(d, tmp_path / "d.xlsx"))
    det = _table(wb["Detail"], 1)
    ws = wb["Detail"]
    nat = det[det.locality_id == "national"].iloc[0]
    # RVU25D 4702.21 -> RVU26C 4905.92: +4.33%, stored as the fraction 0.0433
    assert (nat["nonfacility_old"], nat["nonfacility_new"]) == (4702.21, 4905.92)
    assert nat["nonfacility_pct"] == round((4905.92 - 4702.21) / 4702.21, 4) == 0.0433
    j = list(det.columns).index("nonfacility_pct") + 1
    r = 2 + det.index[det.locality_id == "national"][0]
    assert ws.cell(r, j).number_format == PERCENT_FORMAT == "0.00%"
    # the frame itself keeps percent points (terminal and CSV)
    assert d.loc[d.locality_id == "national", "nonfacility_pct"].iloc[0] == 4.33
    s = wb["Summary"]
    # the counts table's header (notes on the diff, e.g. the GPCI floor, may stand above it)
    head = next(r for r in s.iter_rows() if r[0].value == "change")
    assert all("(count)" in str(c.value) for c in head[1:] if c.value is not None)
    ch = s._charts[0]
    assert _text(ch.y_axis.title) == "Rows (count)"


# ---------------------------------------------------------------------------
# repricing
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def priced(fs26):
    import rvucalc

    lines = pd.DataFrame({
        "claim_id": ["C1", "C1", "C2", HOSTILE[0], "C4"],
        "hcpcs": ["20983", "20983", "77013", "20983", "20983"],
        "modifiers": ["", "", "", "", ""],
        "units": ["1", "1", "1", "1", "1"],
        "pos": ["11", "11", "22", "11", "22"],
        "locality": ["01182-18", "05302-99", "01182-18", "01182-18", "01182-18"],
        "date_of_service": ["2026-07-15"] * 5,
    })
    return rvucalc.reprice(lines, releases=[fs26])


def test_reprice_workbook(priced, fs26, tmp_path):
    p = to_excel(priced, tmp_path / "r.xlsx", provenance=fs26)
    wb = load_workbook(p)
    assert wb.sheetnames == ["Summary", "By code and locality", "Claims", "Detail", "Reasons", "Provenance"]
    det = _table(wb["Detail"], 1)
    assert len(det) == 5
    s = wb["Summary"]
    top = _row_of(s, "Key figures")
    figures = {}
    r = top + 1
    while s.cell(r, 1).value is not None:
        figures[s.cell(r, 1).value] = s.cell(r, 2).value
        r += 1
    # every figure is a count, sum or mean, and says which
    assert all(k.endswith(")") and any(w in k for w in ("(count", "(sum)", "(mean)")) for k in figures)
    paid = det[det["payable"]]
    assert figures["claim lines (count)"] == 5
    assert figures["claims (count; a line without a claim_id is a claim of its own)"] == 4
    assert figures["lines paid (count)"] == len(paid) == 4  # 77013 is status C
    assert figures["lines not paid (count; reasons on the Detail sheet)"] == 1
    # hand arithmetic: 20983 office in LA 5757.50 (x3), facility in LA, office in MO
    # (GPCI2026 05302-99: work 1.0, PE 0.883, MP 0.985 ... taken from the detail, summed here)
    assert det.loc[0, "allowed"] == LA_NF_20983 and det.loc[4, "allowed"] == LA_F_20983
    assert figures["allowed amount (sum)"] == pytest.approx(round(paid["allowed"].sum(), 2), abs=1e-9)
    assert figures["Medicare payment (sum)"] == pytest.approx(round(paid["medicare_payment"].sum(), 2), abs=1e-9)
    assert det.loc[0, "medicare_payment"] == half_up(LA_NF_20983 * 0.8) == 4606.00
    ben = figures["beneficiary share: allowed - payment - sequestration (sum)"]
    assert ben == pytest.approx(figures["allowed amount (sum)"] - figures["Medicare payment (sum)"], abs=1e-9)
    assert figures["allowed amount per paid line (mean)"] == pytest.approx(paid["allowed"].mean())
    r = _row_of(s, "allowed amount (sum)")
    assert s.cell(r, 2).number_format == CURRENCY_FORMAT
    assert s.cell(_row_of(s, "claim lines (count)"), 2).number_format == "#,##0"
    # by code: sums per code, and their total is the key figure
    hdr = _row_of(s, "code")
    by_code = _table(s, hdr)
    assert by_code["allowed (sum)"].sum() == pytest.approx(figures["allowed amount (sum)"])
    assert by_code["lines (count)"].sum() == 5
    c77 = by_code[by_code.code == "77013"].iloc[0]
    assert c77["lines paid (count)"] == 0 and pd.isna(c77["allowed (sum)"])  # no amount, not $0
    assert s.auto_filter.ref == f"A{hdr}:G{hdr + len(by_code)}"
    assert s.freeze_panes is None  # the key figures sit above the table: nothing frozen there
    ch = s._charts[0]
    assert _text(ch.x_axis.title) == "HCPCS code" and _text(ch.y_axis.title) == "Allowed amount, sum ($)"
    assert ch.series[0].val.numRef.f == f"'Summary'!$E${hdr + 1}:$E${hdr + len(by_code)}"
    # by code and locality, with names
    bl = _table(wb["By code and locality"], 2)
    assert wb["By code and locality"].freeze_panes == "E3"  # code, locality id, state, name
    assert bl["allowed (sum)"].sum() == pytest.approx(figures["allowed amount (sum)"])
    assert set(bl["locality_name"]) >= {"REST OF MISSOURI"}
    # per-claim totals
    cl = _table(wb["Claims"], 3)
    assert list(cl["claim_id"]) == ["C1", "C2", HOSTILE[0], "C4"]
    c1 = cl[cl.claim_id == "C1"].iloc[0]
    assert c1["lines (count)"] == 2 and c1["lines paid (count)"] == 2
    assert c1["allowed (sum)"] == pytest.approx(det.loc[0, "allowed"] + det.loc[1, "allowed"])
    assert cl["allowed (sum)"].sum() == pytest.approx(figures["allowed amount (sum)"])
    assert cl["beneficiary share (sum)"].sum() == pytest.approx(ben)
    c2 = cl[cl.claim_id == "C2"].iloc[0]
    assert c2["lines not paid (count)"] == 1 and pd.isna(c2["allowed (sum)"])
    assert wb["Claims"].freeze_panes == "B4"
    # input columns as given: text stays text (units "1", pos "11"); computed numbers are numbers
    dws = wb["Detail"]
    dh = [c.value for c in dws[1]]
    assert dws.cell(2, dh.index("units") + 1).data_type == "s" and dws.cell(2, dh.index("units") + 1).value == "1"
    assert dws.cell(2, dh.index("pos") + 1).value == "11"
    assert dws.cell(2, dh.index("allowed") + 1).data_type == "n"
    # hostile claim id: a text cell everywhere, never a formula
    assert dws.cell(5, 1).value == HOSTILE[0] and dws.cell(5, 1).data_type == "s"
    _no_formulas(p)
    sources, _ = _provenance_rows(wb)
    assert any(x[3] == PPRRVU26 and x[4] == PPRRVU26_SHA for x in sources)


def test_reprice_cli_workbook_provenance(tmp_path, fs26):
    src = tmp_path / "claims.csv"
    src.write_text("claim_id,hcpcs,units,pos,locality,date_of_service\nC1,20983,1,11,01182-18,2026-07-15\n")
    out = tmp_path / "priced.xlsx"
    totals = tmp_path / "totals.xlsx"
    assert cli_main(["reprice", str(src), "-o", str(out), "--claims-out", str(totals), "--release", "rvu26c",
                     "--no-progress"]) == 0
    tsrc, _ = _provenance_rows(load_workbook(totals))
    assert any(x[3] == PPRRVU26 and x[4] == PPRRVU26_SHA for x in tsrc)
    wb = load_workbook(out)
    assert "Claims" in wb.sheetnames
    sources, _ = _provenance_rows(wb)
    assert any(x[3] == PPRRVU26 and x[4] == PPRRVU26_SHA for x in sources)
    assert _table(wb["Claims"], 3)["allowed (sum)"].tolist() == [LA_NF_20983]


# ---------------------------------------------------------------------------
# quotes, site comparison
# ---------------------------------------------------------------------------
def test_quotes_and_sites_workbooks(fs26, tmp_path):
    qs = [fs26.quote("20983"), fs26.quote("20983", locality="01182-18")]
    wb = load_workbook(to_excel(qs, tmp_path / "q.xlsx"))
    assert wb.sheetnames == ["Summary", "Quotes", "Reasons", "Provenance"]
    s = wb["Summary"]
    t = _table(s, 3)
    assert t["20983 nonfacility"].tolist() == [NAT_NF_20983, LA_NF_20983]
    assert _text(s._charts[0].y_axis.title) == "Allowed amount ($)"
    sites = pd.DataFrame({"hcpcs": ["20983"] * 3, "site": ["office", "hospital outpatient", "ASC"],
                          "total": [100.0, 250.5, 180.25]})
    sites.attrs["rvucalc.summary"] = {"index": ["hcpcs"], "columns": ["site"], "values": ["total"]}
    wb = load_workbook(to_excel(sites, tmp_path / "sites.xlsx"))
    ch = wb["Summary"]._charts[0]
    assert ch.type == "col" and len(ch.series) == 3
    assert _text(ch.x_axis.title) == "HCPCS code" and _text(ch.y_axis.title) == "Amount ($)"
    # a real site-of-service frame: one code, so the bars are grouped by site
    df = fs26.compare_sites("20983", locality="01182-18", county_fips="06037").to_frame()
    wb = load_workbook(to_excel(df, tmp_path / "sites2.xlsx", provenance=fs26))
    ch = wb["Summary"]._charts[0]
    assert _text(ch.x_axis.title) == "Site of service" and _text(ch.y_axis.title) == "Amount ($)"
    assert [x.tx.strRef.f for x in ch.series][:2] == ["'Summary'!$C$3", "'Summary'!$D$3"]
    assert _table(wb["Summary"], 3)["site"].tolist() == ["office", "hopd", "asc"]


def test_summary_first_with_several_rows_is_a_labelled_mean(tmp_path):
    df = pd.DataFrame({"hcpcs": ["1", "1", "2"], "amount": [10.0, 20.0, 5.0]})
    wb = load_workbook(to_excel(df, tmp_path / "m.xlsx"))
    t = _table(wb["Summary"], 3)
    assert list(t.columns) == ["hcpcs", "amount (mean)"]
    assert t["amount (mean)"].tolist() == [15.0, 5.0]


# ---------------------------------------------------------------------------
# writing: atomic, hostile text
# ---------------------------------------------------------------------------
def test_hostile_text_every_kind(fs26, tmp_path):
    df = fs26.schedule(["20983"], ["01182-18"])
    df["note"] = HOSTILE[: len(df)]
    p = to_excel(df, tmp_path / "h.xlsx", provenance={"options": "=EVIL()"}, title="=TITLE()")
    wb = load_workbook(p)
    _no_formulas(p)
    assert wb["Summary"]["A1"].value == "=TITLE()" and wb["Summary"]["A1"].data_type == "s"
    assert wb["Summary"]["A1"].quotePrefix
    d = wb["Detail"]
    j = [c.value for c in d[1]].index("note") + 1
    assert [d.cell(r, j).value for r in range(2, 2 + len(df))] == HOSTILE[: len(df)]
    assert all(d.cell(r, j).quotePrefix for r in range(2, 2 + len(df)))


def test_writes_are_atomic(tmp_path, monkeypatch):
    from rvucalc.export import writer

    target = tmp_path / "out.xlsx"
    target.write_bytes(b"previous")
    df = pd.DataFrame({"hcpcs": ["1"], "amount": [1.0]})

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "_sheet", boom)
    with pytest.raises(RuntimeError):
        to_excel(df, target)
    assert target.read_bytes() == b"previous"  # the old file is untouched
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.xlsx"]  # no temporary file left
    monkeypatch.undo()
    for ext in ("csv", "parquet", "json", "xlsx"):
        p = write_table(df, tmp_path / f"t.{ext}")
        assert p.exists() and p.stat().st_size > 0
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.xlsx", "t.csv", "t.json", "t.parquet", "t.xlsx"]
    assert load_workbook(tmp_path / "t.xlsx")["Detail"]["B2"].value == 1.0


def test_progress_bar(tmp_path, capsys):
    df = pd.DataFrame({"hcpcs": [f"{i:05d}" for i in range(50)], "amount": [float(i) for i in range(50)]})
    to_excel(df, tmp_path / "p.xlsx", progress=True)
    assert "workbook" in capsys.readouterr().err  # tqdm's bar, on standard error
    to_excel(df, tmp_path / "q.xlsx")  # small and not a terminal: no bar
    assert capsys.readouterr().err == ""


def test_reprice_workbook_units_sum_leaves_out_refused_units(fs26, tmp_path):
    import rvucalc

    lines = pd.DataFrame({"claim_id": ["A", "B", "C", "D"], "hcpcs": ["99213"] * 4, "modifiers": [""] * 4,
                          "units": ["2", "7.5", "0.5", "1,5"], "pos": ["11"] * 4,
                          "locality": ["01182-18"] * 4, "date_of_service": ["2026-07-15"] * 4})
    priced = rvucalc.reprice(lines, releases=[fs26])
    wb = load_workbook(to_excel(priced, tmp_path / "u.xlsx", provenance=fs26))
    s = wb["Summary"]
    by_code = _table(s, _row_of(s, "code"))
    # only the line billed in whole units counts: 2 (7.5, 0.5 and 1,5 are refused, not added in)
    assert by_code["units (sum)"].tolist() == [2]
    assert by_code["lines (count)"].tolist() == [4] and by_code["lines paid (count)"].tolist() == [1]
