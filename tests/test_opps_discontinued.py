"""Issue 20: OPPS modifiers 73 and 52 paid 100%.

42 CFR 419.44(b) (Medicare Claims Processing Manual, Pub. 100-04, ch. 4 s. 20.6.4): a procedure
discontinued after the patient was prepared and taken to the room but before anesthesia (73), or
a reduced or discontinued procedure not requiring anesthesia (52), is paid "50 percent of the
full program and the beneficiary coinsurance amounts"; one discontinued after anesthesia or after
it started (74) is paid in full. The I/OCE pays a terminated line once (discount formula T/U,
and TD/U when it is also a discounted T procedure).

Figures: CMS's CY2025 OPPS Addendum B (opps/2025-01), read with the csv module below, and hand
arithmetic: 11042 T APC 5052 $399.53, copayment $79.91; 11043 T $612.13, $122.43; 29881 J1 APC
5113 $3,244.61, $648.93; 64721 J1 APC 5431 $1,952.77.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd

import rvucalc
from rvucalc.calc.opps import TERMINATED_SI
from rvucalc.codes import QUIET

ADDB = "opps/2025-01/January 2025 Web Addendum B.12.31.24.csv"


def half_up(x: float) -> float:
    return math.floor(x * 100 + 0.5 + 1e-9) / 100


def _hopd(rows: list[tuple], wi: str = "") -> pd.DataFrame:
    """Price (claim, hcpcs, modifiers, units) rows, CY2025 dates, one wage index for all."""
    df = pd.DataFrame(rows, columns=["claim_id", "hcpcs", "modifiers", "units"])
    df["date_of_service"] = "2025-03-10"
    if wi:
        df["wage_index"] = wi
    return rvucalc.reprice_opps(df)


def _codes(out: pd.DataFrame, i: int) -> set[str]:
    return {c for c in str(out["reason"].iloc[i]).split("|") if c}


def test_hand_arithmetic() -> None:
    assert half_up(399.53 * 0.5) == 199.77 and half_up(79.91 * 0.5) == 39.96
    assert half_up(3244.61 * 0.5) == 1622.31 and half_up(648.93 * 0.5) == 324.47
    assert half_up(612.13 * 0.5) == 306.07 and half_up(399.53 * 0.25) == 99.88


def test_issue_examples_73_and_52_pay_half(mirror) -> None:
    out = _hopd([("a", "11042-73", "", "1"), ("b", "29881", "73", "1"), ("c", "11042", "52", "1"),
                 ("d", "11042", "74", "1"), ("e", "11042-73", "", "3")])
    # 11042-73: $399.53 x 50% = $199.765 -> $199.77; copayment $79.91 x 50% = $39.955 -> $39.96
    assert out["facility_payment"].tolist()[0] == 199.77 and out["beneficiary_copay"][0] == 39.96
    assert out["medicare_payment"][0] == round(199.77 - 39.96, 2) and out["claim_total"][0] == 199.77
    assert "OPPS_MOD73_50PCT" in _codes(out, 0) and out["line_status"][0] == "discounted"
    # J1 29881-73: the comprehensive APC payment $3,244.61 x 50% = $1,622.31; copay $324.47
    assert out["facility_payment"][1] == 1622.31 and out["beneficiary_copay"][1] == 324.47
    # 52: the same 50%; 74: in full, and said
    assert out["facility_payment"][2] == 199.77 and "OPPS_MOD52_50PCT" in _codes(out, 2)
    assert out["facility_payment"][3] == 399.53 and "OPPS_MOD74_FULL" in _codes(out, 3)
    # a terminated procedure is paid once, whatever its units (I/OCE formula T/U)
    assert out["facility_payment"][4] == 199.77 and out["paid_units"][4] == 0.5
    assert "OPPS_DISCONTINUED_MODIFIER_NOT_APPLIED" not in "|".join(out["reason"].astype(str))


def test_a_50pct_line_ranks_among_t_lines_by_its_apc_rate(mirror) -> None:
    """42 CFR 419.44(a): the procedure with the highest APC payment rate is paid in full, every
    other at one half. A terminated line ranks by its APC rate, not by its reduced amount."""
    out = _hopd([("a", "11043-73", "", "1"), ("a", "11042", "", "1"),
                 ("b", "11043", "", "1"), ("b", "11042-52", "", "1")])
    # claim a: 11043 (rate $612.13) ranks first although terminated: 50% = $306.07;
    # 11042 ($399.53) is the second T procedure: 50% = $199.77. Total $505.84
    assert out["facility_payment"].tolist()[:2] == [306.07, 199.77]
    assert out["claim_total"][0] == round(306.07 + 199.77, 2) == 505.84
    # claim b: 11043 in full $612.13; 11042-52 below it: 50% x 50% = 25% of $399.53 = $99.88
    assert out["facility_payment"].tolist()[2:] == [612.13, 99.88]
    assert {"OPPS_T_DISCOUNT", "OPPS_MOD52_50PCT"} <= _codes(out, 3)
    assert out["beneficiary_copay"][3] == half_up(79.91 * 0.25)


def test_a_50pct_line_in_a_comprehensive_claim(mirror) -> None:
    """The primary J1 service is the J1 line with the highest APC rate, 73 or not; when it carries
    73 or 52 the claim's one comprehensive APC payment is 50%; a 73 on a packaged line changes
    nothing."""
    out = _hopd([("a", "29881-73", "", "1"), ("a", "64721", "", "1"), ("a", "11042", "", "1"),
                 ("b", "29881", "", "1"), ("b", "64721-73", "", "1")])
    assert out["facility_payment"].tolist()[:3] == [1622.31, 0.0, 0.0]
    assert "OPPS_J1_SECONDARY" in _codes(out, 1) and "OPPS_J1_PACKAGED" in _codes(out, 2)
    assert out["claim_total"][0] == 1622.31
    assert out["facility_payment"].tolist()[3:] == [3244.61, 0.0]
    assert "OPPS_MOD73_50PCT" not in _codes(out, 4)  # packaged: nothing to reduce


# --------------------------------------------------------------------------------------------
# sweep: every OPPS status indicator x every kind of modifier

def _addendum_rows(path) -> dict[str, dict[str, str]]:
    """Addendum B read with the csv module: code -> row (the file's column names)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["HCPCS Code"].strip(): r for r in csv.DictReader(fh)}


MODS = ["", "73", "52", "74", "73 74", "25", "59", "GP", "GO", "LT", "F1", "XU", "50", "26", "ZZ"]


def test_every_modifier_on_every_status_indicator(mirror) -> None:
    rows = _addendum_rows(mirror(ADDB))
    by_si: dict[str, str] = {}
    for code, r in sorted(rows.items()):
        si = r["SI"].strip()
        if si and si not in by_si and len(code) == 5:
            by_si[si] = code
    assert {"J1", "J2", "Q1", "Q2", "Q3", "Q4", "S", "T", "V", "N", "G", "K", "B", "E1", "A"} <= set(by_si)
    wi = 1.2
    lines = [(f"{si}/{m}", code, m, "1") for si, code in by_si.items() for m in MODS]
    out = _hopd(lines, wi=str(wi))
    out["si"] = [x.split("/")[0] for x in out["claim_id"]]
    base = out[out["modifiers"] == ""].set_index("si")
    for si, code in by_si.items():
        b = base.loc[si]
        rate = rows[code]["Payment Rate"].strip()
        if si in TERMINATED_SI and b["line_status"] == "paid":
            # the hand formula: rate x (0.60 x 1.2 + 0.40) (42 CFR 419.43)
            assert b["facility_payment"] == half_up(float(rate) * (0.6 * wi + 0.4)), (si, code)
        for m in MODS[1:]:
            r = out[(out["si"] == si) & (out["modifiers"] == m)].iloc[0]
            mods = set(m.split())
            extra = {c for c in str(r["reason"]).split("|") if c} - {
                c for c in str(b["reason"]).split("|") if c}
            paid = b["line_status"] == "paid"
            if paid and si in TERMINATED_SI and mods & {"73", "52"}:
                # 50% of the unrounded wage-adjusted payment, rounded once
                want = half_up(float(rate) * (0.6 * wi + 0.4) * 0.5)
                assert r["facility_payment"] == want, (si, code, m)
                assert extra == {"OPPS_MOD73_50PCT" if "73" in mods else "OPPS_MOD52_50PCT"}, (si, m, extra)
                continue
            # every other case: the amount without the modifier, to the cent
            same = (r["facility_payment"] == b["facility_payment"]) or (
                np.isnan(r["facility_payment"]) and np.isnan(b["facility_payment"]))
            assert same and r["line_status"] == b["line_status"], (si, code, m)
            if paid and mods & {"73", "52"}:  # not a procedure: said, nothing reduced
                assert extra == {"OPPS_MOD_NOT_A_PROCEDURE"}, (si, m, extra)
            elif paid and m == "74" and si in TERMINATED_SI:
                assert extra == {"OPPS_MOD74_FULL"}, (si, m, extra)
            elif m in QUIET:  # informational: no note at all
                assert extra == set(), (si, m, extra)
            elif m in ("50", "26", "ZZ"):  # not applied by the OPPS rules: said
                assert extra == {"MOD_NOT_PRICED"}, (si, m, extra)
            else:
                assert extra <= {"OPPS_MOD74_FULL"}, (si, m, extra)
