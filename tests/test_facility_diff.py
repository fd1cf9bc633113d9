"""OPPS and ASC diffs between quarters and years, with each rate change split into causes.

Expected values are hand arithmetic from the CMS rows quoted in comments (OPPS Addendum B
January 2024, January 2025, October 2025; ASC Addendum AA January 2025 and January 2026)
and the conversion factors of the final rules (OPPS CY2024 $87.382, CY2025 $89.169; ASC
CY2025 $54.895, CY2026 $56.322).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rvucalc.calc import decompose as dec
from rvucalc.calc.money import round_cents
from rvucalc.facility_diff import facility_diff, facility_release_diff
from rvucalc.iotools.opps import read_addendum_b


def cents(x) -> np.ndarray:
    return np.rint(np.asarray(x, dtype=float) * 100).astype(np.int64)


def parts_add_up(d: pd.DataFrame) -> bool:
    return bool((sum(cents(d[f"from_{p}"]) for p in dec.RATE_PARTS) == cents(d["rate_change"])).all())


def test_two_factor_split_by_hand():
    # rate 100.00 at CF 50 (weight 2) -> 110.00 at CF 55 (weight 2): all CF
    d = dec.decompose_rates(np.array([100.0, 100.0, np.nan, 40.0, 40.0]), np.array([110.0, 121.0, 30.0, np.nan, 44.0]),
                            50.0, 55.0, moved=np.array([False, True, False, False, False]),
                            other_basis=np.array([False, False, False, False, True]),
                            unpaid0=np.array(["indicator", "indicator", "code", "indicator", "indicator"]),
                            unpaid1=np.array(["indicator", "indicator", "indicator", "code", "indicator"]))
    assert d.change.tolist() == [1000, 2100, 3000, -4000, 400]
    assert d.parts["conversion_factor"].tolist() == [1000, 1050, 0, 0, 0]
    # 121 at CF 55 is weight 2.2: CF part 5 x (2 + 2.2) / 2 = 10.50, weight part 0.2 x 52.5 = 10.50
    assert d.parts["apc_move"].tolist() == [0, 1050, 0, 0, 0]
    assert d.parts["code"].tolist() == [0, 0, 3000, -4000, 0]
    assert d.parts["rate_basis"].tolist() == [0, 0, 0, 0, 400]


@pytest.fixture(scope="module")
def opps_years():
    return facility_release_diff("opps-2024-01", "opps-2025-01")


def test_opps_year_over_year(opps_years):
    d = opps_years
    assert parts_add_up(d)
    r = d.set_index("hcpcs")
    # Addendum B: 20983,...,J1,5114,78.0061,6816.33 (Jan 2024); J1,5114,80.1145,7143.73 (Jan 2025)
    x = r.loc["20983"]
    assert (x["payment_rate_old"], x["payment_rate_new"], x["rate_change"]) == (6816.33, 7143.73, 327.40)
    c0, c1 = 87.382, 89.169
    w0, w1 = 6816.33 / c0, 7143.73 / c1
    cf, wt = (c1 - c0) * (w0 + w1) / 2, (w1 - w0) * (c0 + c1) / 2  # 141.2808 and 186.1192
    assert cf + wt == pytest.approx(327.40, abs=1e-9)
    # cents floors 14128 + 18611 = 32739; the missing cent to the weight (.92 > .08)
    assert (x["from_conversion_factor"], x["from_weight"]) == (141.28, 186.12)
    assert not x["apc_moved"] and x["changed_fields"] == "relative_weight, payment_rate, minimum_copay"
    # 0525T moved from APC 5223 (10174.16) to APC 5224 (19071.16): the weight change is an APC move
    y = r.loc["0525T"]
    assert y["apc_moved"] and (y["apc_old"], y["apc_new"]) == ("5223", "5224")
    w0, w1 = 10174.16 / c0, 19071.16 / c1
    assert y["from_apc_move"] == pytest.approx((w1 - w0) * (c0 + c1) / 2, abs=0.01)
    assert y["from_weight"] == 0
    assert y["from_conversion_factor"] + y["from_apc_move"] == pytest.approx(19071.16 - 10174.16, abs=1e-6)
    # provenance names both CMS files
    files = {s["file"] for s in d.attrs["rvucalc.provenance"]["sources"]}
    assert {"January 2025 Web Addendum B.12.31.24.csv"} <= files
    assert set(d["change"]) == {"added", "deleted", "changed", "unchanged"}


def test_opps_quarters_from_the_mirror(mirror):
    """January -> October 2025 (one conversion factor): status indicator changes, codes added and
    deleted; a code that becomes payable or stops being payable is its indicator's part."""
    jan = read_addendum_b(mirror("opps/2025-01/January 2025 Web Addendum B.12.31.24.csv"))
    octo = read_addendum_b(mirror("opps/2025-10/508 version of October 2025 Web Addendum B.10.31.25.csv"))
    d = facility_diff(jan, octo, system="opps", year_old=2025, year_new=2025, changed_only=True)
    assert parts_add_up(d)
    assert (d["from_conversion_factor"] == 0).all()  # same CF within a year
    assert "unchanged" not in set(d["change"])
    si = d[d["changed_fields"].str.contains("status_indicator")]
    assert len(si) > 0
    gained = d[d["payment_rate_old"].isna() & d["payment_rate_new"].notna() & (d["change"] == "changed")]
    # drug rates printed to a tenth of a cent are compared rounded half up (J9072, SI E2 -> G: 9.105 -> 9.11)
    assert (gained["from_indicator"] == round_cents(gained["payment_rate_new"])).all()
    assert gained.set_index("hcpcs").loc["J9072", "from_indicator"] == 9.11
    added = d[(d["change"] == "added") & d["payment_rate_new"].notna() & (d["reason_new"] == "")]
    assert (added["from_code"] == round_cents(added["payment_rate_new"])).all()


def test_asc_year_over_year_and_codes_not_listed():
    d = facility_release_diff("asc-2025-01", "asc-2026-01", codes=["29881", "C2618"])
    assert parts_add_up(d)
    r = d.set_index("hcpcs")
    # AA 2025: 29881,,...,A2,28.767,"$1,579.16"; AA 2026: 29881,,...,A2,29.2047,"$1,644.87"
    x = r.loc["29881"]
    assert (x["payment_rate_old"], x["payment_rate_new"]) == (1579.16, 1644.87)
    c0, c1 = 54.895, 56.322
    w0, w1 = 1579.16 / c0, 1644.87 / c1
    # CF 1.427 x 29.1840 = 41.3628, weight 0.4267 x 55.6085 = 24.3472; floors 4136 + 2434 = 6570,
    # the missing cent to the weight (.72 > .36)
    assert (c1 - c0) * (w0 + w1) / 2 == pytest.approx(41.3628, abs=1e-4)
    assert (x["from_conversion_factor"], x["from_weight"], x["rate_change"]) == (41.36, 24.35, 65.71)
    c = r.loc["C2618"]
    assert c["change"] == "not listed" and c["reason_new"] == "FACILITY_CODE_ABSENT"
    assert "hospital outpatient (OPPS) code" in c["description"]


def test_cli_facility_diff(capsys):
    from rvucalc.cli import main

    assert main(["diff", "asc-2025-01", "asc-2026-01", "--codes", "29881", "20983", "--by", "dollars",
                 "--sort", "increase"]) == 0
    out = capsys.readouterr().out
    assert "# asc-2025-01 -> asc-2026-01: CY2025 $54.895 -> CY2026 $56.322" in out
    rows = [ln.split("\t") for ln in out.splitlines() if ln and not ln.startswith("#")]
    table = rows[next(i for i, r in enumerate(rows) if r[0] == "code"):]
    body = [dict(zip(table[0], r, strict=True)) for r in table[1:]]
    # AA: 20983 J8 $4,911.21 -> $5,274.34 (+363.13) before 29881 A2 $1,579.16 -> $1,644.87 (+65.71)
    assert [r["code"] for r in body] == ["20983", "29881"]
    assert body[1]["$"] == "$65.71" and body[1]["largest causes"] == "CF +$41.36, weight +$24.35"
