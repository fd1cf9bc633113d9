"""Excel/CSV export: workbook layout, number formats, chart, provenance and formula safety.

Expected amounts are hand arithmetic from the CMS rows quoted in the
comments (PPRRVU2026_Jul_nonQPP.csv, GPCI2026.csv in the mirror).
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

import rvucalc
from rvucalc import export
from rvucalc.export import CURRENCY_FORMAT, compare, neutralise, to_excel, write_table

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1234", "-5+3", "@SUM(A1:A9)",
           "\tcmd|' /C calc'!A0", "\r=1+1", "=1+1"]


def half_up(x: float) -> float:
    return math.floor(x * 100 + 0.5 + 1e-6) / 100


# 20983, RVU26C: work 6.71, PE non-facility 139.34, PE facility 1.52, MP 0.83; CF 33.4009
NAT_NF_20983 = half_up(146.88 * 33.4009)  # 4905.92
# LA (01182-18) GPCI2026: work 1.041, PE 1.183, MP 0.664
LA_NF_20983 = half_up((6.71 * 1.041 + 139.34 * 1.183 + 0.83 * 0.664) * 33.4009)  # 5757.50
LA_F_20983 = half_up((6.71 * 1.041 + 1.52 * 1.183 + 0.83 * 0.664) * 33.4009)


def test_hand_values():
    assert NAT_NF_20983 == 4905.92
    assert LA_NF_20983 == 5757.50


@pytest.fixture(scope="module")
def rates(fs26, tmp_path_factory):
    df = compare(fs26, ["20983", "77013"], ["CA"])
    path = tmp_path_factory.mktemp("xl") / "rates.xlsx"
    to_excel(df, path, provenance=fs26, title="Ablation rates, California")
    return df, path, load_workbook(path)


def _find(ws, value):
    for row in ws.iter_rows():
        for c in row:
            if c.value == value:
                return c
    raise AssertionError(f"{value!r} not on sheet {ws.title}")


def test_compare_frame(rates, mirror):
    df, _, _ = rates
    # every CA locality of GPCI2026.csv plus the national row, per code row
    text = mirror("pfs/rvu26c/GPCI2026.csv").read_text(encoding="latin-1")
    n_ca = sum(1 for line in text.splitlines() if line.split(",")[1:2] == ["CA"])
    per_code = df.groupby(["hcpcs", "modifier"]).size()
    assert set(per_code) == {n_ca + 1}
    assert set(df["state"]) == {"", "CA"}
    nat = df[(df.hcpcs == "20983") & (df.locality_id == "national")].iloc[0]
    assert nat["nonfacility"] == NAT_NF_20983
    la = df[(df.hcpcs == "20983") & (df.locality_id == "01182-18")].iloc[0]
    assert la["nonfacility"] == LA_NF_20983
    assert la["facility"] == LA_F_20983
    assert la["site_difference"] == half_up(LA_NF_20983 - LA_F_20983)
    # 77013 (no modifier) is status C in the 2026 file: no amount, with its reason
    c = df[(df.hcpcs == "77013") & (df.modifier == "")].iloc[0]
    assert math.isnan(c["nonfacility"]) and c["nonfacility_reason"] == "PFS_STATUS_C"


def test_workbook_sheets_values_formats(rates):
    _, _, wb = rates
    assert wb.sheetnames == ["Summary", "Detail", "Reasons", "Provenance"]
    ws = wb["Summary"]
    assert ws["A1"].value == "Ablation rates, California"
    hdr = [c.value for c in ws[3]]
    assert hdr[:3] == ["locality_id", "state", "locality_name"]
    col = hdr.index("20983 nonfacility") + 1
    fcol = hdr.index("20983 facility") + 1
    rows = {ws.cell(r, 1).value: r for r in range(4, ws.max_row + 1)}
    assert ws.cell(rows["national"], col).value == NAT_NF_20983
    assert ws.cell(rows["01182-18"], col).value == LA_NF_20983
    assert ws.cell(rows["01182-18"], fcol).value == LA_F_20983
    assert ws.cell(rows["01182-18"], col).number_format == CURRENCY_FORMAT
    assert ws.freeze_panes == "D4"  # header rows and the three label columns
    assert ws.auto_filter.ref == f"A3:{ws.cell(3, len(hdr)).column_letter}{3 + len(rows)}"
    assert ws.column_dimensions["C"].width > 20  # locality names are long

    det = wb["Detail"]
    assert det.freeze_panes == "A2"
    dh = [c.value for c in det[1]]
    assert det.auto_filter.ref.startswith("A1:")
    nf = dh.index("nonfacility") + 1
    assert det.cell(2, nf).value == NAT_NF_20983
    assert det.cell(2, nf).number_format == CURRENCY_FORMAT
    assert det.cell(2, dh.index("conversion_factor") + 1).number_format == export.CF_FORMAT
    assert det.cell(2, dh.index("hcpcs") + 1).value == "20983"  # codes stay text


def _text(title) -> str:
    """The text of a chart or axis title read back by openpyxl."""
    return "".join(r.t for p in title.tx.rich.p for r in (p.r or []))


def test_chart(rates):
    df, _, wb = rates
    ws = wb["Summary"]
    hdr = [c.value for c in ws[3]]
    # one chart per code with an amount, so each code has its own dollar axis: 20983 and 77013-26
    # (77013 without a modifier is status C and 77013-TC has no amount in the 2026 file: no chart)
    assert len(ws._charts) == 2
    ch = ws._charts[0]
    assert ch.tagname == "barChart"
    assert ch.type == "bar"  # many localities: horizontal bars
    assert len(ch.series) == 2  # office (non-facility) and facility
    # first series: the 20983 office column, rows 4.. (row 3 holds its title)
    assert hdr[3] == "20983 nonfacility"
    assert ch.series[0].val.numRef.f == f"'Summary'!$D$4:$D${ws.max_row}"
    assert [s.tx.v for s in ch.series] == ["Office (non-facility)", "Facility"]  # the code is in the title
    assert ch.series[0].cat.strRef.f == f"'Summary'!$C$4:$C${ws.max_row}"  # locality names
    assert ch.series[1].val.numRef.f == f"'Summary'!$E$4:$E${ws.max_row}"
    desc = df.loc[df.hcpcs == "20983", "description"].iloc[0]
    assert _text(ch.title) == f"20983: {desc}"
    assert _text(ch.y_axis.title) == "Allowed amount ($)"  # the value axis says what is plotted
    assert _text(ch.x_axis.title) == "Locality"
    pc = ws._charts[1]
    assert _text(pc.title).startswith("77013 26: ")
    assert hdr[7:9] == ["77013 26 nonfacility", "77013 26 facility"]
    assert [s.val.numRef.f.split("!")[1][:3] for s in pc.series] == ["$H$", "$I$"]


def test_provenance_sheet(rates):
    _, _, wb = rates
    ws = wb["Provenance"]
    # the RVU26C PPRRVU file and its sha256 (from the mirror's SOURCES.md)
    f = _find(ws, "PPRRVU2026_Jul_nonQPP.csv")
    row = [c.value for c in ws[f.row]]
    assert "b7d197e73211ef6854c213c267d5fa9dec8df995db8e1ee7d44c0556ad7cee21" in row
    assert "rvu26c" in row
    _find(ws, "GPCI2026.csv")
    cf = _find(ws, "conversion factor (rvu26c)")
    assert ws.cell(cf.row, 2).value == 33.4009
    assert ws.cell(_find(ws, "rvucalc version").row, 2).value == rvucalc.__version__
    assert ws.cell(_find(ws, "date").row, 2).value == dt.date.today().isoformat()
    assert ws.cell(_find(ws, "work GPCI 1.0 floor").row, 2).value is True


def test_hostile_text_stays_text(tmp_path):
    df = pd.DataFrame({
        "claim_id": HOSTILE,
        "hcpcs": ["20983"] * len(HOSTILE),
        "description": list(reversed(HOSTILE)),
        "amount": [1.5] * len(HOSTILE),
        "=cmd": ["x"] * len(HOSTILE),
    })
    df["cat"] = pd.Categorical(HOSTILE)
    p = to_excel(df, tmp_path / "h.xlsx", provenance={"options": "=EVIL()"}, title="=TITLE()")
    wb = load_workbook(p)
    det = wb["Detail"]
    hdr = [c.value for c in det[1]]
    assert "=cmd" in hdr
    for name in ("claim_id", "description", "cat"):
        j = hdr.index(name) + 1
        got = [det.cell(r, j).value for r in range(2, 2 + len(HOSTILE))]
        want = HOSTILE if name != "description" else list(reversed(HOSTILE))
        if name == "cat":
            want = list(df["cat"].astype(str))
        # control characters are stored as _xHHHH_ escapes, which Excel decodes (openpyxl does not)
        assert [unescape(v) for v in got] == want
        for r in range(2, 2 + len(HOSTILE)):
            assert det.cell(r, j).data_type == "s"
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            assert all(c.data_type != "f" for c in row)
    # and no formula element anywhere in the file
    with zipfile.ZipFile(p) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(n) and b"<f " not in z.read(n)
    assert wb["Summary"]["A1"].value == "=TITLE()"


def test_hostile_csv(tmp_path):
    df = pd.DataFrame({"claim_id": HOSTILE, "n": range(len(HOSTILE))})
    df["cat"] = pd.Categorical(HOSTILE)
    p = write_table(df, tmp_path / "h.csv")
    back = pd.read_csv(p, dtype=str, keep_default_na=False)
    assert all(v.startswith("'") for v in back["claim_id"])
    assert all(v.startswith("'") for v in back["cat"])
    assert neutralise(pd.DataFrame({"a": ["ok", "=1"]}))["a"].tolist() == ["ok", "'=1"]


def test_quotes_list(fs26, tmp_path):
    qs = [fs26.quote("20983"), fs26.quote("20983", locality="01182-18")]
    p = to_excel(qs, tmp_path / "q.xlsx")
    wb = load_workbook(p)
    assert wb.sheetnames == ["Summary", "Quotes", "Reasons", "Provenance"]
    s = wb["Summary"]
    hdr = [c.value for c in s[3]]
    j = hdr.index("20983 nonfacility") + 1
    assert [s.cell(r, j).value for r in (4, 5)] == [NAT_NF_20983, LA_NF_20983]
    _find(wb["Provenance"], "PPRRVU2026_Jul_nonQPP.csv")


def test_site_comparison_frame_generic(tmp_path):
    """A frame shaped like a site-of-service comparison: summary is codes x sites, chart has a series per site."""
    df = pd.DataFrame({
        "hcpcs": ["20983"] * 3 + ["77013"] * 3,
        "site": ["office", "hospital outpatient", "ASC"] * 2,
        "total": [100.0, 250.5, 180.25, 10.0, 20.0, 30.0],
        "professional": [100.0, 20.0, 20.0, 10.0, 5.0, 5.0],
    })
    df.attrs["rvucalc.summary"] = {"index": ["hcpcs"], "columns": ["site"], "values": ["total"]}
    p = to_excel(df, tmp_path / "s.xlsx", provenance={"wage index (CBSA 31084)": 1.2345, "options": "none"})
    wb = load_workbook(p)
    s = wb["Summary"]
    assert [c.value for c in s[3]] == ["hcpcs", "office", "hospital outpatient", "ASC"]
    assert [c.value for c in s[5]] == ["77013", 10.0, 20.0, 30.0]
    assert s["C4"].number_format == CURRENCY_FORMAT
    ch = s._charts[0]
    assert ch.type == "col" and len(ch.series) == 3
    prov = wb["Provenance"]
    assert prov.cell(_find(prov, "wage index (CBSA 31084)").row, 2).value == 1.2345


def test_summary_guess_for_schedule(fs26, tmp_path):
    df = fs26.schedule(["20983"], ["01182-18", "05302-99"])
    spec = export.summary_spec(df)
    assert spec.index == ("locality_id",) and spec.columns == ("hcpcs", "setting")
    p = to_excel(df, tmp_path / "sched.xlsx", chart=False)
    s = load_workbook(p)["Summary"]
    assert s._charts == []
    assert [c.value for c in s[3]] == ["locality_id", "20983 nonfacility", "20983 facility"]
    assert s["B4"].value == LA_NF_20983 and s["C4"].value == LA_F_20983


def test_long_frames_continue_on_more_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 11)  # 10 data rows per sheet
    df = pd.DataFrame({"hcpcs": [f"{i:05d}" for i in range(25)], "amount": [float(i) for i in range(25)]})
    wb = load_workbook(to_excel(df, tmp_path / "long.xlsx", summary=False))
    assert wb.sheetnames == ["Detail", "Detail 2", "Detail 3", "Reasons", "Provenance"]
    assert wb["Detail 3"]["A2"].value == "00020" and wb["Detail 3"].max_row == 6


def test_column_formats():
    f = export.column_format
    assert f("nonfacility_old", float) == CURRENCY_FORMAT
    assert f("nonfacility_pct", float) == export.PERCENT_FORMAT
    assert f("total_nonfacility_old", float) == export.RVU_FORMAT
    assert f("work_gpci", float) == export.GPCI_FORMAT
    assert f("conversion_factor_new", float) == export.CF_FORMAT
    assert f("hcpcs", object) is None
