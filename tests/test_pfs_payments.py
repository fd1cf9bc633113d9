"""PFS payments: CMS's seed figures, hand arithmetic per locality, reasons, OPPS cap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import rvucalc
from rvucalc.calc.money import round_cents
from rvucalc.calc.pfs import price_matrix
from rvucalc.iotools.gpci import read_gpci
from rvucalc.iotools.oppscap import read_oppscap
from rvucalc.iotools.pprrvu import read_pprrvu

CF26 = 33.4009  # CY2026 non-QP conversion factor (PPRRVU2026 CONV FACTOR column)


def half_up(x: float) -> float:
    """Hand rounding to cents, half up, with exact decimal arithmetic."""
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_seed_20983_national(fs26):
    q = fs26.quote("20983")
    assert (q.rvus.work, q.rvus.pe_nonfacility, q.rvus.mp, q.rvus.total_nonfacility) == (6.71, 139.34, 0.83, 146.88)
    assert q.global_days == "000" and q.conversion_factor == CF26
    assert q.nonfacility.amount == 4905.92  # 146.88 x 33.4009 = 4905.924...
    assert q.facility.amount == 302.61  # (6.71 + 1.52 + 0.83) x 33.4009 = 302.612...
    assert q.nonfacility.reason is None and q.release == "rvu26c"
    assert q.sources[0].file == "PPRRVU2026_Jul_nonQPP.csv" and q.sources[0].verified


def test_qp_and_what_if_conversion_factor(fs26):
    assert fs26.quote("20983", qp=True).nonfacility.amount == half_up(146.88 * 33.5675)  # 4930.39
    assert fs26.quote("20983", qp=True).nonfacility.amount == 4930.39
    assert fs26.quote("20983", conversion_factor=30.0).nonfacility.amount == 4406.40


# GPCI rows of GPCI2026.csv (RVU26C), written out: work (with floor), PE, MP
GPCI = {
    "01182-18": (1.041, 1.183, 0.664),  # Los Angeles
    "02102-01": (1.500, 1.065, 0.551),  # Alaska
    "10112-00": (1.000, 0.875, 0.566),  # Alabama
    "13202-01": (1.064, 1.162, 1.586),  # Manhattan
    "09102-04": (1.000, 1.041, 2.529),  # Miami
}


@pytest.mark.parametrize("lid", list(GPCI))
def test_20983_by_locality_hand_arithmetic(fs26, lid):
    w, pe, mp = GPCI[lid]
    nonfac = half_up((6.71 * w + 139.34 * pe + 0.83 * mp) * CF26)
    fac = half_up((6.71 * w + 1.52 * pe + 0.83 * mp) * CF26)
    q = fs26.quote("20983", locality=lid)
    assert (q.nonfacility.amount, q.facility.amount) == (nonfac, fac)
    assert q.nonfacility.nonpar_amount == half_up(nonfac * 0.95)
    assert q.nonfacility.limiting_charge == half_up(nonfac * 1.0925)


def test_los_angeles_literal_and_zip(fs26):
    # (6.71*1.041 + 139.34*1.183 + 0.83*0.664) * 33.4009 = 172.37545 * 33.4009 = 5757.4951...
    q = fs26.quote("20983", zip="90012")
    assert q.locality.locality_id == "01182-18" and q.nonfacility.amount == 5757.50
    assert fs26.resolve_locality(zip="90012") == "01182-18"
    assert fs26.resolve_locality("0118218") == fs26.resolve_locality("01182 18") == "01182-18"
    # California locality listed under the other California MAC resolves to the GPCI row
    assert fs26.resolve_locality("01112-18") == "01182-18"


def test_unpayable_status_and_na_have_reasons(fs26):
    b = fs26.quote("20930")  # status B (bundled)
    assert b.status == "B" and b.nonfacility.amount is None and b.nonfacility.reason.code == "PFS_STATUS_B"
    assert "bundled" in b.nonfacility.reason.message and "Attachment A" in b.nonfacility.reason.rule
    x = fs26.quote("G0463")  # status X
    assert x.facility.amount is None and x.facility.reason.code == "PFS_STATUS_X"
    c = fs26.quote("77013")  # carrier-priced global
    assert c.nonfacility.reason.code == "PFS_STATUS_C"
    na = fs26.quote("99221")  # non-facility NA
    assert na.nonfacility.amount is None and na.nonfacility.reason.code == "PFS_NA_NONFACILITY"
    assert na.facility.amount == half_up((1.63 + 0.41 + 0.19) * CF26)


def test_modifier_rows_26_tc(fs26):
    pc = fs26.quote("71046", "26")
    tc = fs26.quote("71046-TC")
    assert pc.nonfacility.amount == half_up((0.21 + 0.08 + 0.01) * CF26)
    assert tc.nonfacility.amount == half_up((0.00 + 0.68 + 0.01) * CF26)
    assert tc.facility.reason.code == "PFS_NA_FACILITY"
    with pytest.raises(rvucalc.UnknownCodeError, match="modifier"):
        fs26.quote("20983", "TC")
    with pytest.raises(rvucalc.UnknownCodeError, match="did you mean"):
        fs26.quote("20984")


def test_work_gpci_floor_selectable(mirror):
    """RVU26A's GPCI file has both work GPCIs: Alabama 0.988 without the floor, 1.000 with it."""
    g = read_gpci(mirror("pfs/rvu26a/GPCI2026.csv"))
    rv = read_pprrvu(mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv"))
    rv = rv[(rv.hcpcs == "99213") & (rv.modifier == "")]
    al = g[g.locality_id == "10112-00"]
    with_floor = price_matrix(rv, al, CF26).amount["nonfacility"][0, 0]
    no_floor = price_matrix(rv, al, CF26, work_floor=False).amount["nonfacility"][0, 0]
    assert with_floor == half_up((1.30 * 1.000 + 1.46 * 0.875 + 0.09 * 0.566) * CF26)
    assert no_floor == half_up((1.30 * 0.988 + 1.46 * 0.875 + 0.09 * 0.566) * CF26)


def test_round_cents_half_up():
    assert round_cents(np.array([0.125, 0.135, 2.675, 1.005, -0.0])).tolist() == [0.13, 0.14, 2.68, 1.01, 0.0]
    assert math.isnan(float(round_cents(np.nan)))


def test_schedule_every_locality_and_setting(fs26):
    df = fs26.schedule(codes=["99213", "20983"])
    assert len(df) == 2 * 109 * 2
    assert df.groupby(["hcpcs", "setting"], observed=True).size().eq(109).all()
    la = df[(df.hcpcs == "20983") & (df.locality_id == "01182-18") & (df.setting == "nonfacility")]
    assert la.amount.iloc[0] == 5757.50 and la.release.iloc[0] == "rvu26c"
    nat = fs26.schedule(codes=["20983"], national=True)
    assert nat.set_index("setting").amount.to_dict() == {"nonfacility": 4905.92, "facility": 302.61}


def test_schedule_never_drops_unpayable_rows(fs26):
    df = fs26.schedule(codes=["20930", "71046"])
    assert set(zip(df.hcpcs, df.modifier)) == {("20930", ""), ("71046", ""), ("71046", "26"), ("71046", "TC")}
    bad = df[df.amount.isna()]
    assert (bad.reason.astype(str) != "").all()


def test_localities_table(fs26):
    loc = fs26.localities
    assert len(loc) == 109
    la = loc.set_index("locality_id").loc["01182-18"]
    assert la.state == "CA" and "LOS ANGELES" in la.counties


def test_cy2025_seed(fs25):
    q = fs25.quote("20983")
    assert (q.nonfacility.amount, q.facility.amount) == (4702.21, 329.61)  # 145.37 / 10.19 x 32.3465


def test_opps_cap_reproduces_cms_oppscap_file(mirror):
    """Every amount in CMS's OPPSCAP_Oct.csv from PPRRVU2025_Oct.csv + GPCI2025.csv.

    Status A rows: the payment (lower of PFS and OPPS-based amount). Status C
    rows (carrier-priced): CMS lists only the OPPS-based cap. Comparable rows =
    all rows; the match rate must be 100%.
    """
    rv = read_pprrvu(mirror("pfs/rvu25d/PPRRVU2025_Oct.csv"))
    g = read_gpci(mirror("pfs/rvu25d/GPCI2025.csv"))
    cap = read_oppscap(mirror("pfs/rvu25d/OPPSCAP_Oct.csv"))
    fs = rvucalc.load(release="rvu25d")
    cap["locality_id"] = [fs._canonical_locality(x) for x in cap["locality_id"]]
    pm = price_matrix(rv, g, 32.3465, mask_unpayable=False)  # CMS lists NA-setting amounts too
    row_of = pd.Series(np.arange(len(rv)), index=pd.MultiIndex.from_arrays([rv.hcpcs, rv.modifier]))
    col_of = pd.Series(np.arange(len(g)), index=g.locality_id)
    i = row_of.reindex(pd.MultiIndex.from_arrays([cap.hcpcs, cap.modifier])).to_numpy()
    j = col_of.reindex(cap.locality_id).to_numpy()
    assert not np.isnan(i.astype(float)).any() and not np.isnan(j.astype(float)).any()
    matches = 0
    for setting, col in (("facility", "facility_price"), ("nonfacility", "nonfacility_price")):
        ours = np.where(cap.status.to_numpy() == "A", pm.amount[setting][i, j], pm.cap_for(setting)[i, j])
        ok = np.isclose(ours, cap[col].to_numpy(), atol=0.001)
        matches += ok.sum()
    rate = matches / (2 * len(cap))
    print(f"OPPSCAP match rate: {rate:.4%} of {2 * len(cap)} amounts")
    assert rate == 1.0
    assert pm.capped["nonfacility"].any()  # the cap really bites somewhere
