"""Issue 20, "Reasons that mislead".

* ``WI_APPROX_OPPS``, an informational note, was reported as the reason a line or claim was not
  paid: in the run summary, in ``sites --claims`` ``hopd_reason`` and on the workbook's Summary.
  The reason a line is not paid is the code that refused it (``OPPS_SI_B``,
  ``OPPS_CODE_NOT_IN_ADDENDUM_B`` ...). Swept: every informational code against every summary,
  and every code found on a paid line of a broad book (every status and payment indicator,
  modifier and wage index source) must be one of them.
* 36415 got ``PFS_STATUS_X`` from ``schedule``, ``compare`` and ``price_volumes``,
  ``PFS_STATUS_X|NOT_PFS_CLFS`` from ``reprice`` and a separate note from ``quote``; J1100
  likewise. One answer on every surface, swept over every such code of the CY2026 PPRRVU file.
* ``MOD_NOT_PRICED`` was given for 97110-GP: GP (GO, GN, and every modifier of no price effect) is
  required and changes nothing, so it gets no warning-like code.

CMS facts (files in the mirror): RVU26C PPRRVU 36415 status X, J1100 status E, 97110 status A;
CY2025 Addendum B 99213 SI B, 11042 T $399.53.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rvucalc
from rvucalc.claims import sites as S
from rvucalc.claims.tally import (
    FACILITY_INFORMATIONAL,
    NO_REASON,
    WAGE_INDEX_CAUSES,
    LineTally,
    _primary,
    refusing_for,
)
from rvucalc.cli import main
from rvucalc.codes import QUIET, WAIVES_COST_SHARING, fee_schedule_of
from rvucalc.reasons import REGISTRY

# --------------------------------------------------------------------------------------------
# 1. informational codes are never the reason


def _book() -> pd.DataFrame:
    """Claims with a HOPD line refused by a rule, placed by CBSA (so every line says WI_APPROX_OPPS)."""
    return pd.DataFrame({
        "claim_id": ["a", "a", "b", "c"], "hcpcs": ["11042", "99213", "ZZZZ9", "11042-73"],
        "pos": ["22"] * 4, "zip": ["90012"] * 4, "cbsa": ["31084"] * 4,
        "date_of_service": ["2025-03-10"] * 4})


def test_run_summary_names_the_refusing_code_not_wi_approx_opps(tmp_path: Path, capsys) -> None:
    src = tmp_path / "c.csv"
    _book().to_csv(src, index=False)
    assert main(["reprice", str(src), "--setting", "hopd", "-o", str(tmp_path / "o.csv")]) == 0
    err = capsys.readouterr().err
    assert "4 lines priced: 2 payable, 2 not payable" in err, err
    assert "OPPS_SI_B 1" in err and "OPPS_CODE_NOT_IN_ADDENDUM_B 1" in err, err
    assert "WI_APPROX_OPPS" not in err.split("\n")[0] and "OPPS_MOD73" not in err


def test_sites_claims_hopd_reason_and_workbook_summary(tmp_path: Path, capsys) -> None:
    # without the clinic visit (G0463 in place of the E/M's facility part), 99213 is SI B
    per = rvucalc.compare_sites_claims(_book(), clinic_visit=False)
    by = per.set_index("claim_id")
    assert by.loc["a", "hopd_reason"] == "OPPS_SI_B"
    assert by.loc["b", "hopd_reason"] == "OPPS_CODE_NOT_IN_ADDENDUM_B"
    assert by.loc["c", "hopd_reason"] == ""  # priced: 11042-73 at 50%
    assert not per["hopd_reason"].isin(list(FACILITY_INFORMATIONAL)).any()
    notes = S.not_priced_notes(per)
    assert notes and not any("WI_APPROX_OPPS" in n for n in notes)
    src = tmp_path / "c.csv"
    _book().to_csv(src, index=False)
    out = tmp_path / "sites.xlsx"
    assert main(["sites", "--claims", str(src), "--no-clinic-visit", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "WI_APPROX_OPPS" not in err and "[OPPS_SI_B]" in err
    import openpyxl

    wb = openpyxl.load_workbook(out, read_only=True)
    text = " ".join(str(c) for ws in wb.worksheets[:2] for row in ws.iter_rows(values_only=True)
                    for c in row if c is not None)
    assert "OPPS_SI_B" in text and "WI_APPROX_OPPS" not in text


def test_every_informational_code_against_every_summary() -> None:
    """For each informational code X and each refusing code R on one line, in either order, the
    run summary, the per-claim reason of the site comparison and its not-priced table name R."""
    refusing = ["OPPS_SI_B", "OPPS_CODE_NOT_IN_ADDENDUM_B", "FACILITY_NO_RELEASE", "ASC_NOT_COVERED",
                "OPPS_NO_WAGE_INDEX", "ASC_ANCILLARY_WITHOUT_PROCEDURE", "ASC_PI_D5"]
    for x in sorted(FACILITY_INFORMATIONAL):
        assert x in REGISTRY, x
        assert _primary(x, None) == NO_REASON  # alone, a note is no reason
        for r in refusing:
            for cell in (f"{x}|{r}", f"{r}|{x}", f"{x}|FACILITY_LINE_NOT_PRICED|{r}"):
                assert _primary(cell, None) == r, (cell, _primary(cell, None))
            priced = pd.DataFrame({"reason": [f"{x}|{r}", x], "payable": [False, True]})
            t = LineTally(refusing_for("hopd"))(priced).text()
            assert f"not payable ({r} 1)" in t and x not in t.split("\n")[0], t
            assert list(S._first_codes(pd.Series([f"{x}|{r}"]), "facility")) == [r]
    # why a line has no wage index: a note beside another refusal, the reason in place of
    # OPPS_NO_WAGE_INDEX / ASC_NO_WAGE_INDEX (the more specific)
    for x in sorted(WAGE_INDEX_CAUSES):
        assert x in REGISTRY, x
        assert _primary(f"{x}|OPPS_SI_B", None) == "OPPS_SI_B"
        for no_wi in ("OPPS_NO_WAGE_INDEX", "ASC_NO_WAGE_INDEX"):
            assert _primary(f"WI_APPROX_OPPS|{x}|FACILITY_WAGE_INDEX_NOT_FOUND|{no_wi}", None) == x


def _sweep_lines(system: str, year: int, codes: list[str], n_claims: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mods = ["", "", "73", "52", "74", "FB", "FC", "50", "GP", "LT", "73 74"]
    # a ZIP alone: placed in one CBSA (92101 San Diego), or not (90012: two CBSAs; 00000 unknown)
    places = [{"wage_index": "1.2"}, {"cbsa": "31084"}, {"county_fips": "06037"}, {},
              {"cbsa": "01"}, {"wage_index": "0.8734"}, {"zip": "92101"}, {"zip": "90012"},
              {"zip": "00000"}]
    rows = []
    for c in range(n_claims):
        place = places[int(rng.integers(len(places)))]
        for _ in range(int(rng.integers(1, 6))):
            rows.append({"claim_id": f"{system}{c}", "hcpcs": str(rng.choice(codes)),
                         "modifiers": str(rng.choice(mods)), "units": str(rng.choice([1, 1, 2])),
                         "date_of_service": f"{year}-0{int(rng.integers(1, 9))}-15", **place})
    return pd.DataFrame(rows).fillna("")


@pytest.mark.parametrize("system,year", [("hopd", 2025), ("asc", 2025), ("asc", 2026)])
def test_every_code_on_a_paid_line_is_informational(mirror, system: str, year: int) -> None:
    """A broad book: one code per status / payment indicator, every modifier kind, every wage index
    source. Any code on a payable line must be informational (so it can never be named as the
    reason a line was not paid), and every line not payable has a refusing code."""
    from rvucalc.iotools.asc import read_addendum_aa, read_addendum_bb
    from rvucalc.iotools.opps import read_addendum_b

    if system == "hopd":
        b = read_addendum_b(mirror("opps/2025-01/January 2025 Web Addendum B.12.31.24.csv"))
        codes = list(b.groupby("status_indicator")["hcpcs"].first())
        codes += ["20983", "77013", "11042", "11043", "96372", "29881", "64721", "C9399", "ZZZZ9"]
    else:
        q = f"{year}-01"
        parts = [read_addendum_aa(mirror(f"asc/{q}/AA.csv")), read_addendum_bb(mirror(f"asc/{q}/BB.csv"))]
        codes = [c for p in parts for c in p.groupby("payment_indicator")["hcpcs"].first()]
        codes += ["20983", "29881", "64721", "77013", "99213"]
    lines = _sweep_lines(system, year, codes, 800, 5)
    f = rvucalc.reprice_opps if system == "hopd" else rvucalc.reprice_asc
    out = f(lines)
    paid = out["payable"].to_numpy(bool)
    packaged = (out["line_status"] == "packaged").to_numpy(bool)
    notes = FACILITY_INFORMATIONAL | WAGE_INDEX_CAUSES
    on_paid = {c for cell in out.loc[paid & ~packaged, "reason"].astype(str) for c in cell.split("|") if c}
    assert on_paid - notes == set(), on_paid - notes
    # a packaged line (0.00) may also keep its own status reason (Q4: "packaged with other OPPS
    # services, otherwise paid under the clinical laboratory fee schedule")
    on_packaged = {c for cell in out.loc[packaged, "reason"].astype(str) for c in cell.split("|") if c}
    assert {c for c in on_packaged - notes if not c.startswith("OPPS_SI_")} == set(), on_packaged
    for cell in out.loc[~paid, "reason"].astype(str).unique():
        assert _primary(cell, None) not in (NO_REASON, *FACILITY_INFORMATIONAL), cell
    assert paid.any() and (~paid).any()


# --------------------------------------------------------------------------------------------
# 2. 36415 / J1100: one answer on every surface

def _surfaces(fs, codes: list[str], quoted: list[str] | None = None) -> dict[str, list[str]]:
    """The reason each surface gives each code (national office amounts); ``quote`` (one call per
    code) for *quoted* only, the others for every code."""
    got: dict[str, list[str]] = {}
    q = {c: fs.quote(c) for c in (codes if quoted is None else quoted)}
    got["quote"] = [q[c].nonfacility.reason.code if c in q else "" for c in codes]
    got["quote frame"] = [q[c].to_frame()["reason"].iloc[0] if c in q else "" for c in codes]
    s = fs.schedule(codes=codes, national=True)
    s = s[s["setting"] == "nonfacility"].drop_duplicates("hcpcs").set_index("hcpcs")
    got["schedule"] = [str(s.loc[c, "reason"]) for c in codes]
    cmp = fs.compare(codes, []).drop_duplicates("hcpcs").set_index("hcpcs")
    got["compare"] = [str(cmp.loc[c, "nonfacility_reason"]) for c in codes]
    v = fs.price_volumes(pd.DataFrame({"hcpcs": codes, "setting": "office", "count": 1}))
    got["price_volumes"] = v["reason"].astype(str).tolist()
    lines = pd.DataFrame({"claim_id": [f"c{i}" for i in range(len(codes))], "hcpcs": codes,
                          "pos": "11", "locality": "national", "date_of_service": "2026-08-03"})
    got["reprice"] = rvucalc.reprice(lines, releases=[fs])["reason"].astype(str).tolist()
    return got


def test_36415_and_j1100_one_answer(fs26, fee_files_not_at_hand) -> None:
    """Where the CLFS and ASP files are not at hand (with them, the codes are priced: one answer
    again, tests/test_fee_wiring.py)."""
    got = _surfaces(fs26, ["36415", "J1100"])
    for surface, reasons in got.items():
        assert reasons == ["PFS_STATUS_X|NOT_PFS_CLFS", "PFS_STATUS_E|NOT_PFS_ASP"], surface
    q = fs26.quote("36415")
    assert q.notes == []  # said once, in the reason, not again as a note
    assert "Clinical Laboratory Fee Schedule" in q.nonfacility.reason.message
    assert rvucalc.explain("PFS_STATUS_X|NOT_PFS_CLFS").message.startswith("statutory exclusion")


def test_one_answer_for_every_code_another_schedule_pays(fs26, fee_files_not_at_hand) -> None:
    """Every code of RVU26C whose status the PFS does not pay (not A, R, T, J) and whose form names
    another fee schedule: the same reason from every surface (where that schedule's file is not at
    hand; with it, tests/test_fee_wiring.py)."""
    rv = fs26.rvus[(fs26.rvus["modifier"] == "") & ~fs26.rvus["status"].isin(list("ARTJ"))]
    codes = sorted(c for c in rv["hcpcs"].unique() if fee_schedule_of(c) is not None)
    assert len(codes) > 1000 and "36415" in codes and "J1100" in codes
    status = rv.drop_duplicates("hcpcs").set_index("hcpcs")["status"]
    # quote (a call per code): the first code of each status x fee schedule
    quoted = sorted({(status[c], fee_schedule_of(c).reason.code): c for c in reversed(codes)}.values())
    got = _surfaces(fs26, codes, quoted)
    first = got.pop("reprice")
    assert all("|NOT_PFS_" in r for r in first)
    for surface, reasons in got.items():
        if surface.startswith("quote"):
            assert [r for c, r in zip(codes, reasons) if c in quoted] == \
                [r for c, r in zip(codes, first) if c in quoted], surface
        else:
            assert reasons == first, surface


# --------------------------------------------------------------------------------------------
# 3. informational modifiers: no warning-like code

def test_97110_gp_gets_no_mod_not_priced(fs26) -> None:
    lines = pd.DataFrame({"claim_id": ["a", "b", "c", "d"], "hcpcs": ["97110"] * 4,
                          "modifiers": ["GP", "GO", "GN", ""], "pos": "11", "locality": "national",
                          "date_of_service": "2026-08-03"})
    out = rvucalc.reprice(lines, releases=[fs26])
    assert out["reason"].astype(str).tolist() == ["", "", "", ""]
    assert out["allowed"].nunique() == 1


@pytest.mark.parametrize("system", ["pfs", "hopd", "asc"])
def test_every_modifier_of_no_price_effect_is_quiet(fs26, system: str) -> None:
    mods = sorted(QUIET)
    code = {"pfs": "97110", "hopd": "11042", "asc": "29881"}[system]
    lines = pd.DataFrame({"claim_id": [f"c{i}" for i in range(len(mods) + 1)], "hcpcs": code,
                          "modifiers": ["", *mods], "pos": "11", "locality": "national",
                          "date_of_service": "2026-08-03" if system == "pfs" else "2025-03-10"})
    if system == "pfs":
        out = rvucalc.reprice(lines, releases=[fs26])
        amount = out["allowed"]
    else:
        out = (rvucalc.reprice_opps if system == "hopd" else rvucalc.reprice_asc)(lines)
        amount = out["facility_payment"]
    assert not any("MOD_NOT_PRICED" in str(r) for r in out["reason"]), system
    assert amount.nunique() == 1 and amount.notna().all()
    assert out["reason"].astype(str).nunique() == 1  # the same reasons with or without the modifier
    # a cost-sharing waiver is not applied by the repricer: said
    for m in sorted(WAIVES_COST_SHARING):
        one = lines.head(1).assign(modifiers=m)
        r = (rvucalc.reprice(one, releases=[fs26]) if system == "pfs" else
             (rvucalc.reprice_opps if system == "hopd" else rvucalc.reprice_asc)(one))
        assert "MOD_NOT_PRICED" in str(r["reason"][0]), (system, m)
