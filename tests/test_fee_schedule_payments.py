"""CLFS, ASP and DMEPOS payment rules (rvucalc.calc.clfs/asp/dmepos) on the mirror's files and on
small synthetic tables.

Every expected amount is CMS's printed figure (where in the file: see
tests/test_fee_schedule_readers.py, which checks the same cells) or hand arithmetic written out
here; none comes from rvucalc's own output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rvucalc.calc import asp as asp_rules
from rvucalc.calc import clfs as clfs_rules
from rvucalc.calc import dmepos as dme_rules
from rvucalc.calc._lines import match_rows, modifier_pairs
from rvucalc.iotools.asp import read_asp
from rvucalc.iotools.clfs import read_clfs
from rvucalc.iotools.dmepos import read_dmepos, read_pen
from rvucalc.reasons import explain

ASP_2026_01 = "asp/2026-01/section 508 version of January 2026 Medicare Part B Payment Limit File 121725.csv"


@pytest.fixture(scope="module")
def clfs(mirror):
    return read_clfs(mirror("clfs/2026-01/CLFS_2026_Q1V1.xlsx"))


@pytest.fixture(scope="module")
def asp(mirror):
    return read_asp(mirror(ASP_2026_01))


@pytest.fixture(scope="module")
def dme(mirror):
    a = read_dmepos(mirror("dmepos/2026-01/DMEPOS26_JAN.xlsx")).assign(schedule="dmepos")
    b = read_pen(mirror("dmepos/2026-01/DMEPEN26_JAN.xlsx")).assign(schedule="pen")
    return pd.concat([a, b], ignore_index=True)


# ----------------------------------------------------------------------------- CLFS


def test_clfs_issue_figures(clfs) -> None:
    # CLFS_2026_Q1V1.xlsx column F: 80053 10.56 (row 570), 85025 7.77 (row 1456), 36415 9.34 (row 561),
    # 0001U 720.00 (row 6). National limit x 1 unit; no beneficiary share (SSA §1833(a)(1)(D), (b)(3)).
    out = clfs_rules.clfs_payment(clfs, ["80053", "85025", "36415", "0001U"])
    assert out["allowed"].tolist() == [10.56, 7.77, 9.34, 720.00]
    assert out["medicare"].tolist() == out["allowed"].tolist()
    assert out["beneficiary"].tolist() == [0.0] * 4
    assert (out["reason"] == "").all() and (out["fee_schedule"] == "clfs").all()


def test_clfs_units_modifiers_and_reasons(clfs) -> None:
    out = clfs_rules.clfs_payment(
        clfs, ["80053", "85025", "80053", 36415, "0526U", "99213", "80053", "80053"],
        ["QW", "QW 91", "59", None, "", "", "", ""], [3, 1, 1, 2, 1, 1, 0, "x"])
    # 3 x 10.56 = 31.68; QW picks the QW row (same rate); 91/59 do not select a row; 2 x 9.34 = 18.68
    assert out["allowed"].tolist()[:4] == [31.68, 7.77, 10.56, 18.68]
    assert out["modifier"].tolist()[:4] == ["QW", "QW", "", ""]
    assert out["hcpcs"].iloc[3] == "36415"  # a number is read as the code it shows
    # 0526U: rate 0.00, indicator L (contractor priced); 99213 is not a lab test; units 0 / "x" refused
    assert out["reason"].tolist()[4:] == ["CLFS_NO_NATIONAL_LIMIT", "CLFS_CODE_ABSENT", "FEE_BAD_UNITS", "FEE_BAD_UNITS"]
    assert out["allowed"].iloc[4:].isna().all() and out["beneficiary"].iloc[4:].isna().all()
    assert explain("CLFS_NO_NATIONAL_LIMIT").rule.startswith("42 CFR 414.508")


def test_clfs_qw_only_row_needs_its_modifier() -> None:
    table = pd.DataFrame({"hcpcs": ["87999"], "modifier": ["QW"], "rate": [5.0], "indicator": ["N"]})
    out = clfs_rules.clfs_payment(table, ["87999", "87999"], ["", "QW"])
    assert out["reason"].tolist() == ["CLFS_MODIFIER_ABSENT", ""] and out["allowed"].iloc[1] == 5.0


# ----------------------------------------------------------------------------- ASP


def test_asp_issue_figures(asp) -> None:
    # J9271 (1 MG), line 745 of the January 2026 file: limit 59.726, co-insurance 20.000.
    # 59.726 x 200 = 11,945.200 -> $11,945.20; 20% of it = $2,389.04; Medicare 11,945.20 - 2,389.04 = 9,556.16
    out = asp_rules.asp_payment(asp, ["J9271"], units=[200])
    assert (out["allowed"].iloc[0], out["beneficiary"].iloc[0], out["medicare"].iloc[0]) == (11945.20, 2389.04, 9556.16)
    # J0897 (line 217): 29.457 per 1 MG, co-insurance 17.585% (inflation-adjusted).
    # 120 units: 29.457 x 120 = 3,534.84; 17.585% of 3,534.84 = 621.6016... -> $621.60; Medicare $2,913.24
    out = asp_rules.asp_payment(asp, ["J0897"], units=[120])
    assert out["coinsurance_pct"].iloc[0] == 17.585
    assert (out["allowed"].iloc[0], out["beneficiary"].iloc[0], out["medicare"].iloc[0]) == (3534.84, 621.60, 2913.24)


def test_asp_rounds_once_and_reasons(asp) -> None:
    # J1100 dexamethasone 1 MG: 0.105 per unit (file); 3 units = 0.315 -> $0.32 (half up, once);
    # 20% of $0.32 = 0.064 -> $0.06
    out = asp_rules.asp_payment(asp, ["J1100", "A9606", "J3490", "90653", "J9271"], units=[3, 1, 1, 1, -2])
    assert out["allowed"].iloc[0] == 0.32 and out["beneficiary"].iloc[0] == 0.06
    assert out["reason"].tolist() == ["", "ASP_NO_LIMIT", "ASP_CODE_ABSENT", "", "FEE_BAD_UNITS"]
    assert "microCurie" in out["notes"].iloc[1]  # the file's note comes with the reason
    # 90653 (flu vaccine, 0.5 ML): limit 98.160, co-insurance 0.000 -> no beneficiary share
    assert (out["allowed"].iloc[3], out["beneficiary"].iloc[3]) == (98.16, 0.0)


# ----------------------------------------------------------------------------- DMEPOS


def test_dmepos_issue_figures(dme) -> None:
    # DMEPOS26_JAN.xlsx row 756 (E0601 RR): column N CA (NR) 50.44, column CL TX (NR) 50.91.
    # Allowed 50.44; 20% coinsurance 10.088 -> $10.09; Medicare 50.44 - 10.09 = 40.35.
    out = dme_rules.dmepos_payment(dme, ["E0601", "E0601"], ["RR", "RR"], state=["CA", "TX"], rural=["N", "N"])
    assert out["allowed"].tolist() == [50.44, 50.91]
    assert out["beneficiary"].tolist() == [10.09, 10.18] and out["medicare"].tolist() == [40.35, 40.73]
    assert out["area"].tolist() == ["non-rural", "non-rural"] and (out["reason"] == "").all()


def test_dmepos_rural_never_assumed(dme) -> None:
    # E0601 RR CA: NR 50.44, R 93.04 (row 756, columns N and O): unknown rural -> no amount
    out = dme_rules.dmepos_payment(dme, ["E0601"] * 4, ["RR"] * 4, state="CA", rural=[None, "Y", "maybe", ""])
    assert out["reason"].tolist() == ["DMEPOS_RURAL_UNKNOWN", "", "DMEPOS_RURAL_UNREADABLE", "DMEPOS_RURAL_UNKNOWN"]
    assert out["allowed"].iloc[1] == 93.04 and out[["allowed"]].iloc[[0, 2, 3]].isna().all().all()
    assert "rural" in explain("DMEPOS_RURAL_UNKNOWN").message and "never assumed" in explain(
        "DMEPOS_RURAL_UNKNOWN").message
    # A4216 (row 8): CA (NR) 0.63, CA (R) 0.00 = no separate rural fee: 0.63 whatever the ZIP
    out = dme_rules.dmepos_payment(dme, ["A4216"] * 3, None, state="CA", rural=[None, "Y", "N"])
    assert out["allowed"].tolist() == [0.63] * 3 and out["area"].tolist() == ["any", "rural", "non-rural"]


def test_dmepos_modifiers_select_the_row(dme) -> None:
    codes = ["E0601", "E0601", "E0601", "E0776", "E0776", "A4636", "ZZZZZ"]
    mods = ["RR KX", ["KX", "RR"], "", "NU", "BA-NU", "RR,KE", "RR"]
    out = dme_rules.dmepos_payment(dme, codes, mods, state="TX", rural="N")
    # KX does not select a row; E0601 without NU/RR/UE cannot be priced; E0776 NU is the DMEPOS row,
    # E0776 NU with BA the PEN row; A4636 RR KE its RR/KE row
    assert out["pricing_modifiers"].tolist() == ["RR", "RR", "", "NU", "BA+NU", "KE+RR", ""]
    assert out["reason"].tolist()[:3] == ["", "", "DMEPOS_MODIFIER_NEEDED"]
    assert out["schedule"].tolist()[3:5] == ["dmepos", "pen"]
    assert out["reason"].iloc[6] == "DMEPOS_CODE_ABSENT"
    # E0776 NU in TX: DMEPOS26_JAN TX (NR); E0776 NU BA: DMEPEN26_JAN TX(NR) 62.06 (row 50, column CH)
    assert out["allowed"].iloc[4] == 62.06


def test_dmepos_state_and_zero_fees(dme) -> None:
    out = dme_rules.dmepos_payment(dme, ["E0601"] * 3 + ["E0776"], ["RR"] * 3 + ["NU KE"],
                                   state=["", "GU", "ca", "CA"], rural="N")
    # no state; Guam not in the file; 'ca' is CA; E0776 NU KE (DMEPEN26_JAN row 51): CA(NR) 0.00, CA(R) 112.28
    assert out["reason"].tolist() == ["DMEPOS_NO_STATE", "DMEPOS_STATE_ABSENT", "", "DMEPOS_NO_FEE"]


def test_dmepos_january_2026_fees_within_limits(dme) -> None:
    # Checked independently: for every row with Ceiling > 0, every NR and R fee > 0 of the 49 continental
    # jurisdictions lies between Floor and Ceiling (the AK/HI/PR/VI columns are marked "Not subject to
    # ceiling and floor" in the title block); 3,338 of their fees lie outside, as the file allows.
    assert dme_rules.limit_violations(dme).empty
    states = dme_rules.states_of(dme)
    nc = [s for s in states if s in dme_rules.NON_CONTINENTAL]
    assert nc == ["AK", "HI", "PR", "VI"]
    f = dme[[f"{s.lower()}_nr" for s in nc]].to_numpy()
    c, fl = dme["ceiling"].to_numpy()[:, None], dme["floor"].to_numpy()[:, None]
    assert int(((f > 0) & (c > 0) & ((f > c) | (f < fl))).sum()) == 3338


def test_dmepos_fee_outside_limits_is_not_clamped() -> None:
    t = pd.DataFrame({"hcpcs": ["L1234", "L1234"], "modifier": ["", "RR"], "modifier2": ["", ""],
                      "ceiling": [10.0, 10.0], "floor": [8.0, 8.0],
                      "ca_nr": [12.0, 9.0], "ca_r": [0.0, 0.0], "ak_nr": [12.0, 9.0], "ak_r": [0.0, 0.0]})
    out = dme_rules.dmepos_payment(t, ["L1234", "L1234", "L1234"], ["", "RR", ""], state=["CA", "CA", "AK"],
                                   rural="N")
    assert out["reason"].tolist() == ["DMEPOS_OUTSIDE_LIMITS", "", ""]
    assert np.isnan(out["allowed"].iloc[0]) and out["fee"].iloc[0] == 12.0  # shown, not clamped to 10
    assert out["allowed"].iloc[2] == 12.0  # AK is not subject to ceiling and floor
    v = dme_rules.limit_violations(t)
    assert v[["hcpcs", "state", "area", "fee"]].values.tolist() == [["L1234", "CA", "NR", 12.0]]


def test_rural_from_zip_and_values() -> None:
    rz = pd.DataFrame({"zip": ["93514", "04001"], "state": ["CA", "ME"], "year_quarter": ["20261"] * 2})
    got = dme_rules.rural_from_zip(["93514", "90012", "4001", "93514-1234", "", None, "12"], rz, 7)
    assert got[:4].tolist() == [1.0, 0.0, 1.0, 1.0] and np.isnan(got[4:]).all()
    assert np.isnan(dme_rules.rural_from_zip(["93514"], None, 1)).all()  # no file: unknown, never "not rural"
    vals, bad = dme_rules.rural_values([True, False, "Y", "nr", "Rural", "non-rural", None, "", "x", 1, 0], 11)
    assert vals[:6].tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0] and np.isnan(vals[6:9]).all()
    assert bad.tolist() == [False] * 8 + [True, False, False]


def test_match_rows_is_order_free_and_vectorised() -> None:
    th = np.array(["A", "A", "A", "B"], dtype=object)
    m1 = np.array(["RR", "RR", "NU", ""], dtype=object)
    m2 = np.array(["", "KE", "", ""], dtype=object)
    lines = np.array(["A", "A", "A", "B", "B", "C"], dtype=object)
    got = match_rows(th, [m1, m2], lines, ["KE RR", "RR 59", "UE", "", "RR", "RR"])
    assert got.row.tolist() == [1, 0, -1, 3, 3, -1]
    assert got.key.tolist() == ["KE+RR", "RR", "", "", "", ""] and got.known.tolist() == [True] * 5 + [False]
    with pytest.raises(ValueError, match="two fee schedule rows"):
        match_rows(np.array(["A", "A"], dtype=object), [np.array(["RR", "RR"], dtype=object)], lines, None)
    pairs = modifier_pairs(["RR-KX", ["NU", "ke"], None, "", "26,TC"], 5)
    assert pairs.values.tolist() == [[0, "RR"], [0, "KX"], [1, "NU"], [1, "KE"], [4, "26"], [4, "TC"]]


def test_office_claim_from_the_issue_non_pfs_lines(clfs, asp, dme) -> None:
    # Issue 21's claim in Los Angeles on 2026-03-10, office: 80053 $10.56 + J9271 x200 $11,945.20 +
    # E0601-RR (rural N) $50.44 = $12,006.20 (plus the PFS line 99214 $148.89 = $12,155.09, priced elsewhere)
    total = (clfs_rules.clfs_payment(clfs, ["80053"])["allowed"].sum()
             + asp_rules.asp_payment(asp, ["J9271"], units=[200])["allowed"].sum()
             + dme_rules.dmepos_payment(dme, ["E0601"], ["RR"], state="CA", rural="N")["allowed"].sum())
    assert round(total, 2) == 12006.20 and round(total + 148.89, 2) == 12155.09
