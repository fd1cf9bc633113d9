"""OPPS: real Addendum B files from the mirror, and the pricing rules.

Expected values come from the CMS files themselves (as listed in the mirror's
SOURCES.md) or from hand arithmetic written out here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rvucalc.calc.opps import (
    INPATIENT_DEDUCTIBLE,
    STATUS_INDICATORS,
    national_rate,
    opps_payment,
    round_cents,
    status_reason,
    t_discount,
)
from rvucalc.errors import UnknownCodeError
from rvucalc.iotools.opps import read_addendum_b
from rvucalc.reasons import explain

B2025 = "opps/2025-01/January 2025 Web Addendum B.12.31.24.csv"
B2024_DOLLARS = "opps/2024-01/ADD_B.csv"
B2024_PLAIN = "opps/2024-01/January_Web_2024_Addendum_B.04.24.24.csv"


@pytest.fixture(scope="module")
def b2025(mirror):
    return read_addendum_b(mirror(B2025))


@pytest.fixture(scope="module")
def b2024(mirror):
    return read_addendum_b(mirror(B2024_DOLLARS)), read_addendum_b(mirror(B2024_PLAIN))


# --- the real files load completely --------------------------------------------------

def test_2025_loads_every_row(b2025):
    assert len(b2025) == 18562
    assert b2025["hcpcs"].is_unique
    assert b2025["hcpcs"].iloc[0] == "0001F" and b2025["hcpcs"].iloc[-1] == "V5364"
    assert int(b2025["payment_rate"].notna().sum()) == 6636
    # SI mix from SOURCES.md
    counts = b2025["status_indicator"].value_counts()
    for si, n in {"J1": 3141, "N": 2228, "A": 1952, "C": 1731, "M": 1469, "Q4": 1306, "T": 1049,
                  "B": 998, "J2": 13, "K1": 5, "H1": 5, "F": 1}.items():
        assert counts[si] == n, si


def test_2025_spot_checks(b2025):
    r = b2025.set_index("hcpcs")
    assert (r.loc["20983", "status_indicator"], r.loc["20983", "apc"]) == ("J1", "5114")
    assert r.loc["20983", "payment_rate"] == 7143.73
    assert r.loc["20983", "relative_weight"] == 80.1145
    assert r.loc["20983", "minimum_copay"] == 1428.75
    assert (r.loc["G0463", "status_indicator"], r.loc["G0463", "apc"]) == ("J2", "5012")
    assert r.loc["G0463", "payment_rate"] == 128.87
    assert r.loc["99213", "status_indicator"] == "B"
    assert math.isnan(r.loc["99213", "payment_rate"])
    assert (r.loc["71046", "status_indicator"], r.loc["71046", "apc"],
            r.loc["71046", "payment_rate"]) == ("Q3", "5521", 88.05)
    assert r.loc["99285", "payment_rate"] == 613.1


def test_2025_weight_times_cf_is_rate(b2025):
    w = b2025.dropna(subset=["relative_weight", "payment_rate"])
    assert len(w) == 5976
    diff = (w["relative_weight"] * 89.169 - w["payment_rate"]).abs()
    assert diff.max() <= 0.005 + 1e-9  # CMS rounds weight × CF to the cent


def test_2024_weight_times_cf_is_rate(b2024):
    for df in b2024:
        w = df.dropna(subset=["relative_weight", "payment_rate"])
        assert len(w) == 5908
        assert (w["relative_weight"] * 87.382 - w["payment_rate"]).abs().max() <= 0.005 + 1e-9


def test_2024_both_copies_agree(b2024):
    dollars, plain = b2024
    assert len(dollars) == len(plain) == 18109
    assert list(dollars.columns) == list(plain.columns)
    r = plain.set_index("hcpcs")
    assert (r.loc["G0463", "status_indicator"], r.loc["G0463", "apc"],
            r.loc["G0463", "relative_weight"], r.loc["G0463", "payment_rate"]) == (
        "J2", "5012", 1.4414, 125.95)
    assert r.loc["20983", "payment_rate"] == 6816.33
    assert r.loc["J9271", "payment_rate"] == 55.73
    # codes with U+FFFD (ADD_B) or a trailing space (plain) come out clean and equal
    assert (dollars["hcpcs"] == plain["hcpcs"]).all()
    for col in dollars.columns:
        a, b = dollars[col], plain[col]
        if col == "description":
            # ADD_B lost two Greek letters to '?' (an encoding accident upstream)
            differ = a != b
            assert int(differ.sum()) == 2
            assert a[differ].str.contains("?", regex=False).all()
            continue
        if a.dtype.kind == "f":
            same = (a == b) | (a.isna() & b.isna())
            if col == "payment_rate":
                # ADD_B prints five drug rates with 3 decimals ($0.047) where the re-saved
                # copy keeps the workbook's 4 (0.0474): same number, rounded for display
                assert int((~same).sum()) == 5
                assert (a[~same] == b[~same].round(3)).all()
                continue
            assert same.all(), col
        else:
            assert (a == b).all(), col


# --- CMS's own copayment figures are reproduced -----------------------------------------

@pytest.mark.parametrize("rel,deductible,n_adjusted", [
    (B2025, 1676.0, 956), (B2024_DOLLARS, 1632.0, 392), (B2024_PLAIN, 1632.0, 392)])
def test_copay_reproduces_cms_adjusted_copayment(mirror, rel, deductible, n_adjusted):
    df = read_addendum_b(mirror(rel))
    p = opps_payment(df, 1.0)
    # the deductible is read from the file's Note column and equals the published one
    assert p.attrs["inpatient_deductible"] == deductible
    shown = p["adjusted_copay"].notna() & (p["reason"] == "")
    # (CY2025: 957 rows print one; J2002's rate is printed as $0.00 and is refused, OPPS_ZERO_RATE)
    assert int(shown.sum()) == n_adjusted
    # where CMS prints the deductible itself ("Copayments capped at inpatient deductible"),
    # that is a cap, not the copayment: 17 CY2025 rows (APC 5222, C9780) have an unadjusted
    # copayment below it, and at wage index 1.0 pay that (42 CFR 419.41(c)(4); issue 9)
    at_cap = shown & (p["adjusted_copay"] >= deductible - 0.005)
    exact = shown & ~at_cap
    assert (p.loc[exact, "copay"] - p.loc[exact, "adjusted_copay"]).abs().max() < 0.005
    # elsewhere: the larger of national and minimum copayment, capped at the deductible
    rest = (~p["adjusted_copay"].notna() & (p["reason"] == "")) | at_cap
    expect = np.minimum(np.fmax(p["national_copay"], p["minimum_copay"]), deductible)
    assert (p.loc[rest, "copay"] - expect[rest]).abs().max() < 0.005


def test_minimum_copay_is_20_percent_rounded_up(b2025):
    # CMS prints the minimum unadjusted copayment as 20% of the rate rounded up to the cent
    # ($0.00 where coinsurance is waived); allow one cent for rates CMS rounded first.
    # Only APC rates (rows with a relative weight): this copy of the file prints drug rates
    # rounded to the cent (J0208 "96") while CMS computed their copayment from the rate
    # with three decimals, so drug rows can differ by more.
    r = b2025.dropna(subset=["payment_rate", "minimum_copay", "relative_weight"])
    r = r[r["minimum_copay"] > 0]
    assert len(r) > 5800
    up = np.ceil(np.round(0.2 * r["payment_rate"] * 100, 6)) / 100
    assert (up - r["minimum_copay"]).abs().max() <= 0.01 + 1e-9
    assert float(np.ceil(0.2 * 7143.73 * 100) / 100) == 1428.75


# --- pricing rules by hand arithmetic ------------------------------------------------------

def _frame(**cols):
    base = {"hcpcs": ["Z0001"], "status_indicator": ["T"], "apc": ["5000"],
            "relative_weight": [np.nan], "payment_rate": [np.nan], "national_copay": [np.nan],
            "minimum_copay": [np.nan]}
    base.update({k: v if isinstance(v, list) else [v] for k, v in cols.items()})
    return pd.DataFrame(base)


def test_wage_adjustment_by_hand():
    df = _frame(payment_rate=262.31, national_copay=119.75, minimum_copay=52.47)
    out = opps_payment(df, 1.1186, year=2025).iloc[0]
    # 262.31 × (0.6 × 1.1186 + 0.4) = 262.31 × 1.07116 = 280.9760...
    assert out["payment"] == 280.98
    # 119.75 × 1.07116 = 128.2714...
    assert out["copay"] == 128.27
    assert out["medicare"] == 152.71  # 280.98 − 128.27
    assert out["reason"] == "" and bool(out["wage_adjusted"]) and not out["copay_capped"]


def test_wage_adjustment_on_real_rows(b2025):
    rows = b2025[b2025["hcpcs"].isin(["20983", "G0463"])]
    out = opps_payment(rows, 1.1186, year=2025).set_index("hcpcs")
    # 7143.73 × 1.07116 = 7652.0798...; copay 1428.75 × 1.07116 = 1530.4198...
    assert out.loc["20983", "payment"] == 7652.08
    assert out.loc["20983", "copay"] == 1530.42
    assert out.loc["20983", "medicare"] == 6121.66
    # 128.87 × 1.07116 = 138.0403...; copay 25.78 × 1.07116 = 27.6145...
    assert out.loc["G0463", "payment"] == 138.04
    assert out.loc["G0463", "copay"] == 27.61


def test_copay_cap_by_year():
    df = _frame(status_indicator="J1", payment_rate=20000.0, minimum_copay=4000.0)
    for year, cap in ((2024, 1632.0), (2025, 1676.0), (2026, 1736.0)):
        out = opps_payment(df, 1.0, year=year).iloc[0]
        assert out["copay"] == cap and bool(out["copay_capped"])
        assert out["medicare"] == round(20000.0 - cap, 2)
    assert INPATIENT_DEDUCTIBLE == {2024: 1632.0, 2025: 1676.0, 2026: 1736.0}
    # an explicit deductible wins: 4000 × (0.6 × 0.1 + 0.4) = 1840 > 1000 → capped at 1000
    assert opps_payment(df, 0.1, deductible=1000.0).iloc[0]["copay"] == 1000.0
    # below the cap the wage-adjusted copay stands: 1000 × (0.6 × 0.1 + 0.4) = 460
    low = _frame(status_indicator="J1", payment_rate=5000.0, minimum_copay=1000.0)
    out = opps_payment(low, 0.1, year=2025).iloc[0]
    assert out["copay"] == 460.0 and not out["copay_capped"]


def test_no_minimum_copay_uses_20_percent():
    df = _frame(status_indicator="S", payment_rate=100.0)
    assert opps_payment(df, 1.0, year=2025).iloc[0]["copay"] == 20.0


def test_drugs_are_not_wage_adjusted(b2025):
    row = b2025[b2025["hcpcs"] == "J0349"]  # SI G, $10.42, IRA coinsurance, CMS copay $2.08
    out = opps_payment(row, 1.5, year=2025).iloc[0]
    assert out["status_indicator"] == "G"
    assert out["payment"] == 10.42 and out["copay"] == 2.08 and not out["wage_adjusted"]


def test_unpayable_rows_have_reasons_not_zero(b2025):
    out = opps_payment(b2025, 1.0).set_index("hcpcs")
    assert out.loc["99213", "reason"] == "OPPS_SI_B"
    assert math.isnan(out.loc["99213", "payment"]) and math.isnan(out.loc["99213", "copay"])
    assert "alternate code" in explain("OPPS_SI_B").message
    # every row: amounts present exactly where the reason is empty, never a silent 0
    ok = out["reason"] == ""
    assert out.loc[ok, "payment"].notna().all() and out.loc[~ok, "payment"].isna().all()
    # no payable $0.00: J2002's rate is printed as $0.00 (its minimum copayment is $0.01, so
    # CMS's rate is a fraction of a cent) and gets a reason, not $0.00 paid with a $0.01 copay
    assert out.index[ok & (out["payment"] <= 0)].tolist() == []
    assert out.loc["J2002", "reason"] == "OPPS_ZERO_RATE" and math.isnan(out.loc["J2002", "payment"])
    assert set(out.loc[out["status_indicator"] == "N", "reason"]) == {"OPPS_SI_N"}
    assert set(out.loc[out["status_indicator"] == "Q4", "reason"]) == {"OPPS_SI_Q4"}
    assert bool(out.loc["71046", "conditional"])  # Q3


def test_status_indicator_table_and_reasons():
    for si in ("A", "B", "C", "E1", "E2", "M", "N", "Q4", "Y", "L", "F", "H", "P"):
        info = STATUS_INDICATORS[si]
        assert not info.separately_paid and info.reason is not None
        assert explain(info.reason.code) is info.reason or explain(info.reason.code) == info.reason
    for si in ("J1", "J2", "T", "S", "V", "Q1", "Q2", "Q3", "G", "K", "R", "U"):
        assert STATUS_INDICATORS[si].separately_paid and STATUS_INDICATORS[si].reason is None
    assert STATUS_INDICATORS["T"].discounted and not STATUS_INDICATORS["S"].discounted
    s = status_reason(pd.Series(["ZZ", "T", "N"]), pd.Series([np.nan, np.nan, np.nan]))
    assert s.tolist() == ["OPPS_SI_UNKNOWN", "OPPS_NO_RATE", "OPPS_SI_N"]


def test_wage_index_series_per_row():
    df = _frame(hcpcs=["Z0001", "Z0002", "Z0003"], status_indicator=["T", "T", "S"],
                apc=["1", "2", "3"], relative_weight=[np.nan] * 3,
                payment_rate=[100.0, 100.0, 100.0], national_copay=[np.nan] * 3,
                minimum_copay=[20.0] * 3)
    wi = pd.Series([1.0, 0.5, np.nan], index=df.index)
    out = opps_payment(df, wi, year=2025)
    # 100 × (0.6 × 0.5 + 0.4) = 70
    assert out["payment"].tolist()[:2] == [100.0, 70.0]
    assert out["reason"].tolist() == ["", "", "OPPS_NO_WAGE_INDEX"]
    with pytest.raises(ValueError):
        opps_payment(df, [1.0, 1.0], year=2025)


def test_deductible_must_be_known():
    with pytest.raises(ValueError, match="deductible"):
        opps_payment(_frame(payment_rate=10.0), 1.0)


def test_round_cents_half_up():
    assert round_cents(2.675) == 2.68  # binary 2.67499999... still rounds up
    assert round_cents(1.005) == 1.01
    assert math.isnan(round_cents(float("nan")))


# --- multiple procedure discount ------------------------------------------------------------

def test_t_discount():
    lines = pd.DataFrame({
        "claim": ["c1", "c1", "c1", "c1", "c2", "c3"],
        "status_indicator": ["T", "T", "S", "T", "T", "T"],
        "payment": [600.0, 1000.0, 500.0, 600.0, 300.0, 100.0],
        "copay": [120.0, 200.0, 100.0, 120.0, 60.0, 20.0],
        "units": [1, 1, 1, 1, 1, 3],
    })
    out = t_discount(lines, units="units")
    assert out["t_rank"].tolist() == [2, 1, 0, 3, 1, 1]
    # c1: 1000 in full, both 600s at 50%; the S line untouched
    assert out["payment"].tolist()[:4] == [300.0, 1000.0, 500.0, 300.0]
    assert out["copay"].tolist()[:4] == [60.0, 200.0, 100.0, 60.0]
    assert out["payment"].iloc[4] == 300.0
    # c3: 3 units of $100: first unit in full, two more at 50% = 100 + 50 + 50
    assert out["payment"].iloc[5] == 200.0
    assert out["reason"].tolist() == ["OPPS_T_DISCOUNT", "", "", "OPPS_T_DISCOUNT", "", ""]


# --- lookup -------------------------------------------------------------------------------

def test_national_rate(b2025):
    rec = national_rate(b2025, "20983")
    assert rec["status_indicator"] == "J1" and rec["apc"] == "5114"
    assert rec["payment_rate"] == 7143.73 and rec["national_copay"] == 1428.75
    assert rec["reason"] == ""
    b = national_rate(b2025, "99213")
    assert b["reason"] == "OPPS_SI_B" and b["payment_rate"] is None and b["reason_message"]
    assert national_rate(b2025, " g0463 ")["payment_rate"] == 128.87
    with pytest.raises(UnknownCodeError):
        national_rate(b2025, "ZZZZZ")
