"""Issue 20: ASC device-intensive (J8) procedures with Addendum FF.

42 CFR 416.171-416.172 (CY 2026 OPPS/ASC final rule, CMS-1834-FC; Addendum FF "Device Offset
Amount / Device Portion"): the device portion of a J8 procedure is paid at its OPPS-based amount,
neither wage adjusted nor scaled by the ASC conversion factor; the rest of the rate (the service
portion) is wage adjusted at the 50% labor share and set by the ASC CF. Without the quarter's FF
the whole rate is adjusted and the amount is flagged approximate (``ASC_J8_WAGE_WHOLE_RATE``),
also at wage index 1.0 when a what-if CF is used.

Figures from the mirror's CMS files, read below with the csv module, and hand arithmetic:
20983 CY2026: Addendum AA J8 $5,274.34 (93.6462 x $56.322); Addendum FF 49.60% of the OPPS rate
$6,878.60 = $3,411.79 device portion (every 2026 quarter), so the service portion is $1,862.55.
CY2026 ASC CF $56.322 (final rule); the CY2026 ASC wage index of CBSA 31084 (Los Angeles) is 1.2699
(wage_index/asc-cy2026/wage_index.csv).
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pytest

import rvucalc
from rvucalc.calc.asc import asc_payment

CF26 = 56.322
LA = 1.2699


def half_up(x: float) -> float:
    return math.floor(x * 100 + 0.5 + 1e-9) / 100


def _money(cell: str) -> float:
    t = cell.strip().replace("$", "").replace(",", "").replace("%", "")
    return float(t) if t not in ("", ".", "-") else float("nan")


def _rows(path) -> list[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    return list(csv.reader(io.StringIO(text, newline="")))


def _j8(mirror, q: str) -> pd.DataFrame:
    """Every J8 code of quarter *q*: AA rate and FF device portion, read with the csv module."""
    aa = {r[0]: r for r in _rows(mirror(f"asc/{q}/AA.csv")) if len(r) > 6 and r[4].strip() == "J8"}
    ff = {r[0]: r for r in _rows(mirror(f"asc/{q}/FF.csv")) if len(r) > 8 and r[3].strip() == "J8"}
    assert set(aa) == set(ff) and len(aa) > 700
    return pd.DataFrame({"hcpcs": sorted(aa), "rate": [_money(aa[c][6]) for c in sorted(aa)],
                         "device": [_money(ff[c][8]) for c in sorted(aa)]})


def test_hand_arithmetic() -> None:
    assert half_up(93.6462 * CF26) == 5274.34
    assert half_up(0.4960 * 6878.60) == 3411.79 and round(5274.34 - 3411.79, 2) == 1862.55
    # Los Angeles: 3,411.79 + 1,862.55 x (0.5 x 1.2699 + 0.5) = 3,411.79 + 2,113.8999 = 5,525.69
    assert half_up(3411.79 + 1862.55 * (0.5 * LA + 0.5)) == 5525.69
    # what-if CF $60: 3,411.79 + 1,862.55 x 60 / 56.322 = 3,411.79 + 1,984.1798 = 5,395.97
    assert half_up(3411.79 + 1862.55 * 60.0 / CF26) == 5395.97


def test_20983_device_portion_from_ff(fs26, mirror) -> None:
    assert fs26.asc.release.id == "asc-2026-07"
    assert "FF.csv" in [s.file for s in fs26.asc.sources]
    assert fs26.asc.device_portions["20983"] == 3411.79
    aa = fs26.asc.addendum_aa.set_index("hcpcs")
    assert aa.loc["20983", "device_portion"] == 3411.79 and aa.loc["20983", "payment_rate"] == 5274.34
    # only J8 rows carry a device portion
    assert aa.loc[aa["payment_indicator"] != "J8", "device_portion"].isna().all()


def test_j8_at_a_wage_index_other_than_one_by_hand(fs26) -> None:
    p = fs26.asc.price(LA, ["20983"]).iloc[0]
    assert p["payment"] == 5525.69 and p["approximate"] == ""
    assert p["coinsurance"] == half_up(0.2 * (3411.79 + 1862.55 * (0.5 * LA + 0.5)))
    # the site comparison, by wage index and by the ASC's CBSA
    for kw in ({"wage_index": LA}, {"cbsa": "31084"}):
        asc = next(r for r in fs26.compare_sites("20983", **kw).rows if r.site == "asc")
        assert asc.facility == 5525.69, kw
        assert "ASC_J8_WAGE_WHOLE_RATE" not in {x.code for x in asc.reasons}
    # claim lines (July 2026 date: asc-2026-07 and its FF)
    lines = pd.DataFrame({"claim_id": ["a", "b"], "hcpcs": ["20983", "20983"],
                          "date_of_service": ["2026-08-03", "2026-08-03"],
                          "wage_index": [str(LA), ""], "cbsa": ["", "31084"]})
    out = rvucalc.reprice_asc(lines)
    assert out["facility_payment"].tolist() == [5525.69, 5525.69]
    assert not any("ASC_J8_WAGE_WHOLE_RATE" in str(r) for r in out["reason"])


def test_what_if_cf_scales_only_the_service_portion_on_fs_asc_tables(fs26) -> None:
    """The issue: the what-if CF raised ValueError on the tables fs.asc holds (the cached table
    lost its quarter)."""
    r = asc_payment(fs26.asc.addendum_aa, 1.0, conversion_factor=60.0).set_index("hcpcs").loc["20983"]
    assert r["national_rate"] == 5395.97 and r["payment"] == 5395.97 and r["approximate"] == ""
    p = fs26.asc.price(LA, ["20983"], conversion_factor=60.0).iloc[0]
    assert p["payment"] == half_up(3411.79 + (5395.97 - 3411.79) * (0.5 * LA + 0.5))
    # the release's own CF gives back the file's rate
    assert fs26.asc.price(1.0, ["20983"], conversion_factor=CF26).iloc[0]["payment"] == 5274.34
    assert asc_payment(fs26.asc.addendum_bb, 1.0, conversion_factor=60.0) is not None


@pytest.mark.parametrize("q", ["2026-01", "2026-04", "2026-07"])
def test_every_j8_code_in_ff_at_two_wage_indexes(mirror, q: str) -> None:
    from rvucalc.iotools.asc import read_addendum_aa
    from rvucalc.iotools.asc_final_rule import read_addendum_ff

    want = _j8(mirror, q)
    assert (want["device"] <= want["rate"]).all() and want["device"].notna().all()
    aa = read_addendum_aa(mirror(f"asc/{q}/AA.csv"))
    ff = read_addendum_ff(mirror(f"asc/{q}/FF.csv")).set_index("hcpcs")["device_portion"]
    aa = aa.assign(device_portion=aa["hcpcs"].map(ff).where(aa["payment_indicator"] == "J8"))
    for wi in (0.8734, LA):
        got = asc_payment(aa, wi).set_index("hcpcs").loc[want["hcpcs"]]
        expect = [half_up(d + (r - d) * (0.5 * wi + 0.5)) for r, d in zip(want["rate"], want["device"])]
        np.testing.assert_array_equal(got["payment"].to_numpy(), np.array(expect))
        assert (got["approximate"] == "").all()


def test_every_j8_code_in_ff_through_claims_at_two_wage_indexes(mirror) -> None:
    want = _j8(mirror, "2026-07")
    for wi in (0.8734, LA):
        lines = pd.DataFrame({"claim_id": [f"c{i}" for i in range(len(want))], "hcpcs": want["hcpcs"],
                              "date_of_service": "2026-08-03", "wage_index": str(wi)})
        out = rvucalc.reprice_asc(lines)
        expect = [half_up(d + (r - d) * (0.5 * wi + 0.5)) for r, d in zip(want["rate"], want["device"])]
        np.testing.assert_array_equal(out["facility_payment"].to_numpy(), np.array(expect))
        assert not any("ASC_J8_WAGE_WHOLE_RATE" in str(r) for r in out["reason"])


def test_device_credit_and_73_on_j8_with_ff(mirror) -> None:
    """42 CFR 416.179; Pub. 100-04 ch. 14 s. 40.8, 40.10: FB takes the device portion off, FC
    half of it, and 73 removes it before the 50% (wage index 1.0)."""
    lines = pd.DataFrame({"claim_id": ["a", "b", "c"], "hcpcs": ["20983-FB", "20983-FC", "20983-73"],
                          "date_of_service": "2026-08-03", "wage_index": "1.0"})
    out = rvucalc.reprice_asc(lines)
    assert out["facility_payment"].tolist() == [1862.55, half_up(3411.79 * 0.5 + 1862.55),
                                                half_up(1862.55 * 0.5)]
    assert not any("ASC_DEVICE_OFFSET_NOT_AT_HAND" in str(r) for r in out["reason"])


def test_without_ff_the_j8_amount_says_approximate(mirror) -> None:
    """No FF for CY2025: the whole rate is adjusted, flagged; also at wage index 1.0 with a
    what-if CF (20983 CY2025 $4,911.21)."""
    from rvucalc.iotools.asc import read_addendum_aa

    aa = read_addendum_aa(mirror("asc/2025-07/AA.csv"))
    one = asc_payment(aa, 1.0, conversion_factor=54.895).set_index("hcpcs").loc["20983"]
    assert one["payment"] == 4911.21 and one["approximate"] == ""
    cf = asc_payment(aa, 1.0, conversion_factor=60.0).set_index("hcpcs")
    assert cf.loc["20983", "payment"] == half_up(4911.21 * 60.0 / 54.895)
    assert cf.loc["20983", "approximate"] == "ASC_J8_WAGE_WHOLE_RATE"
    j8 = (cf["payment_indicator"] == "J8") & (cf["reason"] == "")
    assert (cf.loc[j8, "approximate"] == "ASC_J8_WAGE_WHOLE_RATE").all()
    assert (cf.loc[~j8, "approximate"] == "").all()
    lines = pd.DataFrame({"claim_id": ["a"], "hcpcs": ["20983"], "date_of_service": ["2025-08-04"],
                          "wage_index": ["1.2"]})
    out = rvucalc.reprice_asc(lines)
    assert out["facility_payment"][0] == half_up(4911.21 * (0.5 * 1.2 + 0.5))
    assert "ASC_J8_WAGE_WHOLE_RATE" in str(out["reason"][0])
