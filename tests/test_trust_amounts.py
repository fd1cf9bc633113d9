"""Amounts that are wrong or should not exist (issue 9): each is refused with its reason or right.

Expected values come from the CMS files in the mirror or from hand arithmetic written here.
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pandas as pd
import pytest

import rvucalc
from rvucalc.calc.asc import asc_payment
from rvucalc.calc.opps import opps_payment
from rvucalc.calc.pfs import price_matrix
from rvucalc.iotools.asc import read_addendum_aa
from rvucalc.iotools.opps import read_addendum_b
from rvucalc.iotools.pprrvu import read_pprrvu


def half_up(x: float | np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=float) * 100 + 0.5 + 1e-9) / 100


# --------------------------------------------------------------------------------------------
# 1. Status R with no RVUs: carrier priced ("if no RVUs are shown, the service is carrier priced")

R_EXAMPLES = ["D0120", "15824", "17380", "99455"]


def test_status_r_examples_quote_and_schedule_give_no_amount(fs26):
    for code in R_EXAMPLES:
        q = fs26.quote(code)
        assert q.status == "R"
        for s in (q.nonfacility, q.facility):
            assert s.amount is None and s.nonpar_amount is None and s.limiting_charge is None
            assert s.reason is not None and s.reason.code == "PFS_STATUS_R_CARRIER"
            assert "carrier" in s.reason.message
        q = fs26.quote(code, locality="01182-18")
        assert q.nonfacility.amount is None and q.facility.amount is None
    sched = fs26.schedule(codes=R_EXAMPLES)
    assert len(sched) == 4 * 109 * 2  # every row kept
    assert sched["amount"].isna().all()
    assert (sched["reason"].astype(str) == "PFS_STATUS_R_CARRIER").all()
    pm = fs26.price_matrix(R_EXAMPLES, national=True)
    for s in ("nonfacility", "facility"):
        assert np.isnan(pm.amount[s]).all()
        assert (pm.reason[s] == "PFS_STATUS_R_CARRIER").all()


def test_status_r_reprice_gives_no_amount_and_the_reason():
    lines = pd.DataFrame({
        "claim_id": ["c1", "c2", "c3", "c4", "c5"],
        "hcpcs": ["D0120", "15824", "17380", "99455", "99213"],
        "units": [1] * 5, "pos": ["11", "22", "11", "11", "11"],
        "locality": ["01182-18"] * 5, "date_of_service": ["2026-08-03"] * 5})
    out = rvucalc.reprice(lines)
    r = out.iloc[:4]
    assert r["allowed"].isna().all() and not r["payable"].any()
    assert r["reason"].astype(str).str.contains("PFS_STATUS_R_CARRIER").all()
    # the control line is still priced: 99213 office in LA (RVU26C) is $104.89
    assert bool(out["payable"].iloc[4]) and out["allowed"].iloc[4] > 0


@pytest.mark.parametrize("path,n_none", [("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv", 978),
                                         ("pfs/rvu25d/PPRRVU2025_Oct.csv", 954)])
def test_every_status_r_row_is_carrier_priced_or_priced_by_formula(mirror, path, n_none):
    rv = read_pprrvu(mirror(path))
    r = rv[rv["status"] == "R"].reset_index(drop=True)
    cf = float(rv["conversion_factor"].iloc[0])
    pm = price_matrix(r, None, cf)
    no_rvus = ((r["work_rvu"] == 0) & (r["pe_nonfacility"] == 0) & (r["mp_rvu"] == 0)).to_numpy()
    assert int(no_rvus.sum()) == n_none
    for s in ("nonfacility", "facility"):
        none = ((r["work_rvu"] == 0) & (r[f"pe_{s}"] == 0) & (r["mp_rvu"] == 0)).to_numpy()
        amt, why = pm.amount[s][:, 0], pm.reason[s]
        # no RVUs shown: no amount, the carrier-priced reason, never $0.00
        assert np.isnan(amt[none]).all()
        assert (why[none] == "PFS_STATUS_R_CARRIER").all()
        # RVUs shown: (work + PE + MP) x CF by hand, unless CMS marks the setting NA
        na = (r[f"na_{s}"] == "NA").to_numpy() & ~none
        assert (why[na] == f"PFS_NA_{s.upper()}").all() and np.isnan(amt[na]).all()
        ok = ~none & ~na
        assert ok.sum() > 50
        expect = half_up((r["work_rvu"] + r[f"pe_{s}"] + r["mp_rvu"]).to_numpy()[ok] * cf)
        got = amt[ok]
        capped = pm.capped[s][ok, 0]
        assert (got[~capped] == expect[~capped]).all()
        assert (got[capped] <= expect[capped]).all()  # the OPPS cap only lowers
        assert (why[ok] == "").all()
    # and in every locality: a carrier-priced row has no amount anywhere
    fs = rvucalc.load(release="rvu26c") if "2026" in path else rvucalc.load(release="rvu25d")
    pm_all = price_matrix(r, fs.gpci, cf)
    assert np.isnan(pm_all.amount["nonfacility"][no_rvus]).all()


def test_payable_status_with_no_rvus_is_never_a_silent_zero():
    """The same CMS sentence for A and T: no RVUs shown -> carrier priced, not $0.00."""
    rv = pd.DataFrame({"hcpcs": ["10001", "10002", "10003"], "modifier": [""] * 3,
                       "status": ["A", "T", "A"], "na_nonfacility": [""] * 3, "na_facility": [""] * 3,
                       "work_rvu": [0.0, 0.0, 1.0], "pe_nonfacility": [0.0, 0.0, 1.0],
                       "pe_facility": [0.0, 0.0, 0.0], "mp_rvu": [0.0, 0.0, 0.0],
                       "not_used_for_medicare": ["", "", "+"],
                       "opps_pe_nonfacility": [0.0] * 3, "opps_pe_facility": [0.0] * 3, "opps_mp": [0.0] * 3})
    pm = price_matrix(rv, None, 30.0)
    assert list(pm.reason["nonfacility"]) == ["PFS_NO_RVUS_SHOWN", "PFS_NO_RVUS_SHOWN",
                                              "PFS_NOT_USED_FOR_MEDICARE"]
    assert np.isnan(pm.amount["nonfacility"]).all() and np.isnan(pm.amount["facility"]).all()
    refusing = importlib.import_module("rvucalc.claims.pfs").refusing_codes()
    for code in set(pm.reason["nonfacility"]):
        assert code in refusing


# --------------------------------------------------------------------------------------------
# 2. OPPS copayment: the inpatient deductible caps it (42 CFR 419.41(c)(4)); it never raises it

B2025 = "opps/2025-01/January 2025 Web Addendum B.12.31.24.csv"
ADDB = {B2025: 1676.0, "opps/2024-01/ADD_B.csv": 1632.0,
        "opps/2024-01/January_Web_2024_Addendum_B.04.24.24.csv": 1632.0}


def test_33210_copayment_is_20_percent_not_the_deductible(mirror):
    b = read_addendum_b(mirror(B2025))
    rows = b[b["hcpcs"].isin(["33210", "0410T"])]
    one = opps_payment(rows, 1.0, year=2025).set_index("hcpcs")
    for code in ("33210", "0410T"):
        assert one.loc[code, "payment_rate"] == 8275.98 and one.loc[code, "minimum_copay"] == 1655.20
        # 20% of $8,275.98 = $1,655.196 -> CMS prints $1,655.20; at wage index 1.0 that is the copay
        assert one.loc[code, "copay"] == 1655.20
        assert one.loc[code, "medicare"] == 6620.78  # 8,275.98 - 1,655.20
        assert not one.loc[code, "copay_capped"]
    # at wage index 1.3: 1,655.20 x (0.6 x 1.3 + 0.4) = 1,953.14 > $1,676 -> capped at $1,676
    hi = opps_payment(rows, 1.3, year=2025).set_index("hcpcs")
    assert hi.loc["33210", "payment"] == half_up(8275.98 * 1.18) == 9765.66
    assert hi.loc["33210", "copay"] == 1676.0 and hi.loc["33210", "copay_capped"]
    # at wage index 0.8: 1,655.20 x 0.88 = 1,456.576 -> $1,456.58
    lo = opps_payment(rows, 0.8, year=2025).set_index("hcpcs")
    assert lo.loc["33210", "copay"] == 1456.58


@pytest.mark.parametrize("path", sorted(ADDB))
@pytest.mark.parametrize("wi", [0.35, 0.8, 0.9999, 1.0, 1.02, 1.25, 1.9])
def test_every_addendum_b_row_copay_by_hand(mirror, path, wi):
    b = read_addendum_b(mirror(path))
    ded = ADDB[path]
    p = opps_payment(b, wi, deductible=ded)
    ok = p["reason"] == ""
    assert ok.sum() > 5000
    si = p["status_indicator"]
    factor = np.where(si.isin(["G", "K", "K1"]), 1.0, 0.6 * wi + 0.4)
    rate = p["payment_rate"].to_numpy()
    # payment: rate x (0.60 x wage index + 0.40), drugs G/K/K1 not wage adjusted
    assert (p.loc[ok, "payment"].to_numpy() == half_up(rate * factor)[ok.to_numpy()]).all()
    # unadjusted copayment: larger of national and minimum (20%), else 20% of the rate; IRA
    # drugs: their percentage (CMS's own figure where printed below the deductible);
    # H, H1, L, F: none. Then wage adjusted and capped at the deductible, never raised.
    base = np.fmax(p["national_copay"], p["minimum_copay"]).fillna(0.2 * p["payment_rate"])
    ira = p["ira_coinsurance_pct"].notna()
    base = base.mask(ira, p["payment_rate"] * p["ira_coinsurance_pct"] / 100)
    cms = ira & p["adjusted_copay"].notna() & (p["adjusted_copay"] < ded - 0.005)
    base = base.mask(cms, p["adjusted_copay"])
    base = base.mask(si.isin(["H", "H1", "L", "F"]), 0.0)
    expect = half_up(np.minimum(base.to_numpy() * factor, ded))
    assert (p.loc[ok, "copay"].to_numpy() == expect[ok.to_numpy()]).all()
    # the class of the bug: the copay never exceeds the wage-adjusted unadjusted copayment
    assert (p.loc[ok, "copay"] <= (base * factor)[ok] + 0.005 + 1e-6).all()  # half a cent up at most
    assert (p.loc[ok, "copay"] <= ded).all()
    assert (p.loc[ok, "medicare"] + p.loc[ok, "copay"] - p.loc[ok, "payment"]).abs().max() < 0.005
    assert p.loc[~ok, ["payment", "copay", "medicare"]].isna().all().all()


# --------------------------------------------------------------------------------------------
# 3. What-if ASC conversion factor: the release's own CF gives the file's rates; others scale

ASC_Q = {"2024-01": "txt", "2024-04": "csv", "2024-07": "txt", "2024-10": "csv", "2025-01": "csv",
         "2025-04": "csv", "2025-07": "csv", "2025-10": "csv", "2026-01": "csv", "2026-04": "csv"}
ASC_CF = {2024: 53.514, 2025: 54.895, 2026: 56.322}  # CY OPPS/ASC final rules


def test_0973t_0981t_keep_the_file_rate_with_the_release_cf(mirror):
    aa = read_addendum_aa(mirror("asc/2025-07/AA.csv"))
    r = asc_payment(aa, 1.0, conversion_factor=54.895).set_index("hcpcs")
    assert r.loc["0973T", "payment"] == 214.39  # not 1.0843 x 54.895 = $59.52
    assert r.loc["0981T", "payment"] == 12304.24  # not 31.7872 x 54.895 = $1,744.98
    r60 = asc_payment(aa, 1.0, conversion_factor=60.0).set_index("hcpcs")
    assert r60.loc["0973T", "national_rate"] == half_up(214.39 * 60.0 / 54.895) == 234.33
    assert r60.loc["0981T", "national_rate"] == half_up(12304.24 * 60.0 / 54.895)


@pytest.mark.parametrize("quarter", sorted(ASC_Q))
def test_what_if_asc_cf_over_every_row(mirror, quarter):
    aa = read_addendum_aa(mirror(f"asc/{quarter}/AA.{ASC_Q[quarter]}"))
    cf = ASC_CF[int(quarter[:4])]
    base = asc_payment(aa, 1.0)
    same = asc_payment(aa, 1.0, conversion_factor=cf)
    np.testing.assert_array_equal(same["national_rate"].to_numpy(), base["national_rate"].to_numpy())
    np.testing.assert_array_equal(same["payment"].to_numpy(), base["payment"].to_numpy())
    k = 1.1
    up = asc_payment(aa, 1.0, conversion_factor=cf * k)
    cf_pi = ["A2", "D2", "G2", "J8", "P2", "R2", "S2", "Z2"]
    scaled = aa["payment_indicator"].isin(cf_pi).to_numpy() & aa["payment_rate"].notna().to_numpy()
    rate = aa["payment_rate"].to_numpy(dtype=float)
    assert (up["national_rate"].to_numpy()[scaled] == half_up(rate * (cf * k) / cf)[scaled]).all()
    other = ~scaled & base["national_rate"].notna().to_numpy()
    np.testing.assert_array_equal(up["national_rate"].to_numpy()[other], base["national_rate"].to_numpy()[other])


def test_what_if_asc_cf_without_a_release_cf_is_refused():
    aa = pd.DataFrame({"hcpcs": ["30000"], "payment_indicator": ["G2"], "payment_rate": [100.0],
                       "relative_weight": [2.0]})
    with pytest.raises(ValueError, match="release"):
        asc_payment(aa, 1.0, conversion_factor=50.0)
    r = asc_payment(aa, 1.0, conversion_factor=50.0, release_conversion_factor=40.0)
    assert r["payment"].iloc[0] == 125.0 and not math.isnan(r["payment"].iloc[0])


# --------------------------------------------------------------------------------------------
# 4. work_floor=False with a GPCI file that has only the floored column (RVU26C: 7 columns)

CF26 = 33.4009
AL = "10112-00"


def test_work_floor_false_on_rvu26c_uses_rvu26a_no_floor_values(mirror):
    fs = rvucalc.load(release="rvu26c")
    assert not fs.gpci["has_floor_variants"].any()  # RVU26C's GPCI2026.csv: floored column only
    floored = fs.quote("99213", locality=AL)
    no_floor = fs.quote("99213", locality=AL, work_floor=False)
    # 99213 RVU26C: work 1.30, PE 1.46, MP 0.09; Alabama PE 0.875, MP 0.566; work GPCI 1.000 with
    # the floor and 0.988 without it (RVU26A's 8-column GPCI2026.csv)
    assert floored.nonfacility.amount == half_up((1.30 * 1.000 + 1.46 * 0.875 + 0.09 * 0.566) * CF26)
    assert no_floor.nonfacility.amount == half_up((1.30 * 0.988 + 1.46 * 0.875 + 0.09 * 0.566) * CF26)
    assert no_floor.nonfacility.amount != floored.nonfacility.amount
    assert no_floor.locality.work_gpci_no_floor == 0.988
    src = no_floor.sources[-1]
    assert (src.release, src.file, src.verified) == ("rvu26a", "GPCI2026.csv", True)
    assert "without the 1.0 floor" in src.note
    # loading with work_floor=False: schedule, price_matrix and claim repricing agree
    fs_nf = rvucalc.load(release="rvu26c", work_floor=False)
    s = fs_nf.schedule(codes=["99213"], localities=[AL])
    assert s.loc[s["setting"] == "nonfacility", "amount"].iloc[0] == no_floor.nonfacility.amount
    lines = pd.DataFrame({"claim_id": ["a"], "hcpcs": ["99213"], "units": [1], "pos": ["11"],
                          "locality": [AL], "date_of_service": ["2026-08-03"]})
    out = rvucalc.reprice(lines, releases=[fs_nf])
    assert out["allowed"].iloc[0] == no_floor.nonfacility.amount


def test_work_floor_false_every_locality_takes_rvu26a_no_floor_column(mirror):
    from rvucalc.iotools.gpci import read_gpci

    a = read_gpci(mirror("pfs/rvu26a/GPCI2026.csv")).set_index("locality_id")
    fs = rvucalc.load(release="rvu26c")
    pm = fs.price_matrix(["99213"], work_floor=False)
    ids = pm.locality_ids
    i = int(np.flatnonzero((pm.rvus["modifier"] == "").to_numpy())[0])
    expect = half_up((1.30 * a.loc[ids, "work_gpci_no_floor"].to_numpy() + 1.46 * a.loc[ids, "pe_gpci"].to_numpy()
                      + 0.09 * a.loc[ids, "mp_gpci"].to_numpy()) * CF26)
    np.testing.assert_array_equal(pm.amount["nonfacility"][i], expect)
    assert (a.loc[ids, "work_gpci_no_floor"] < a.loc[ids, "work_gpci"]).sum() > 40  # the floor bites


def test_work_floor_false_without_a_no_floor_file_is_refused(mirror):
    from rvucalc.iotools.gpci import read_gpci

    # CY2025: only RVU25D's 7-column GPCI2025.csv is at hand
    with pytest.raises(rvucalc.MissingFileError, match="only the work GPCI with the 1.0 floor"):
        rvucalc.load(release="rvu25d", work_floor=False)
    fs25 = rvucalc.load(release="rvu25d")
    with pytest.raises(rvucalc.MissingFileError, match="without 1.0 Floor"):
        fs25.quote("99213", locality=AL, work_floor=False)
    # the calculator itself refuses a floored-only table rather than return floored amounts
    g = read_gpci(mirror("pfs/rvu26c/GPCI2026.csv"))
    rv = read_pprrvu(mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv"))
    with pytest.raises(ValueError, match="1.0 floor"):
        price_matrix(rv.head(3), g, CF26, work_floor=False)


# --------------------------------------------------------------------------------------------
# 5. A wage-index area that has no single value never shows national amounts

@pytest.mark.parametrize("cbsa,why", [("01", "WI_AMBIGUOUS"), ("99999", "WI_UNKNOWN_CBSA")])
def test_ambiguous_or_unknown_area_gives_no_facility_amount(fs25, cbsa, why):
    cmp = fs25.compare_sites("20983", cbsa=cbsa)
    rows = {r.site: r for r in cmp.rows}
    for site, no_wi in (("hopd", "OPPS_NO_WAGE_INDEX"), ("asc", "ASC_NO_WAGE_INDEX")):
        r = rows[site]
        assert r.facility is None and r.total is None and r.medicare is None and r.beneficiary is None
        codes = {x.code for x in r.reasons}
        assert why in codes and no_wi in codes
    # the office amount does not depend on a wage index
    assert rows["office"].total == 4702.21
    # with no place at all the national rate is shown, and said to be national
    nat = {r.site: r for r in fs25.compare_sites("20983").rows}
    assert nat["hopd"].facility == 7143.73 and nat["asc"].facility == 4911.21
    assert "FACILITY_NATIONAL_RATE" in {x.code for x in nat["asc"].reasons}


# --------------------------------------------------------------------------------------------
# 6. Device-intensive ASC procedures (J8): approximate away from wage index 1.0

def test_j8_amount_is_flagged_approximate_away_from_wage_index_one(mirror):
    aa = read_addendum_aa(mirror("asc/2026-01/AA.csv"))
    one = asc_payment(aa, 1.0).set_index("hcpcs")
    assert one.loc["20983", "payment"] == 5274.34 and one.loc["20983", "approximate"] == ""
    la = asc_payment(aa, 1.2699).set_index("hcpcs")
    assert la.loc["20983", "payment"] == half_up(5274.34 * (0.5 * 1.2699 + 0.5))
    assert la.loc["20983", "approximate"] == "ASC_J8_WAGE_WHOLE_RATE"
    j8 = (la["payment_indicator"] == "J8") & (la["reason"] == "")
    assert j8.sum() > 100 and (la.loc[j8, "approximate"] == "ASC_J8_WAGE_WHOLE_RATE").all()
    assert (la.loc[~j8, "approximate"] == "").all()
    # with a device portion given (national dollars), only the service portion is wage adjusted
    dev = aa[aa["hcpcs"] == "20983"].assign(device_portion=3000.0)
    r = asc_payment(dev, 1.2699).iloc[0]
    assert r["payment"] == half_up(3000.0 + 2274.34 * (0.5 * 1.2699 + 0.5)) and r["approximate"] == ""
    assert asc_payment(dev, 1.0).iloc[0]["payment"] == 5274.34


def test_j8_site_comparison_says_approximate(fs25):
    # CY2025: no Addendum FF at hand, so the whole rate is wage adjusted and said to be approximate:
    # 4911.21 x (0.5 x 1.2699 + 0.5) = 5573.978 -> 5573.98 (with CY2026's FF: tests/test_asc_device_portion.py)
    cmp = fs25.compare_sites("20983", wage_index=1.2699)
    asc = next(r for r in cmp.rows if r.site == "asc")
    assert asc.facility == half_up(4911.21 * (0.5 * 1.2699 + 0.5)) == 5573.98
    assert "ASC_J8_WAGE_WHOLE_RATE" in {x.code for x in asc.reasons}


def test_a_rate_printed_as_zero_is_never_paid_as_zero(mirror):
    """J2002 (lidocaine, 1 mg): CMS prints $0.00 with a $0.01 copayment in Addendum B and $0.00 in
    ASC Addendum BB; the library used to pay $0.00 with Medicare's share -$0.01."""
    b = opps_payment(read_addendum_b(mirror(B2025)), 1.0, year=2025).set_index("hcpcs")
    assert b.loc["J2002", "reason"] == "OPPS_ZERO_RATE" and math.isnan(b.loc["J2002", "medicare"])
    ok = b["reason"] == ""
    assert (b.loc[ok, "payment"] > 0).all() and (b.loc[ok, "medicare"] >= 0).all()
    from rvucalc.iotools.asc import read_addendum_bb

    for q in ("2025-01", "2025-07", "2025-10"):
        bb = asc_payment(read_addendum_bb(mirror(f"asc/{q}/BB.csv")), 1.0).set_index("hcpcs")
        assert bb.loc["J2002", "reason"] == "ASC_ZERO_RATE" and math.isnan(bb.loc["J2002", "payment"])
        assert (bb.loc[bb["reason"] == "", "payment"] > 0).all()


def test_cli_no_floor_names_the_file_or_refuses(capsys):
    from rvucalc.cli import main

    assert main(["quote", "99213", "--locality", AL, "--no-floor"]) == 0
    out = capsys.readouterr().out
    assert "$87.27" in out and "rvu26a" in out and "without the 1.0 floor" in out
    assert main(["quote", "99213", "--locality", AL, "--no-floor", "--year", "2025"]) == 2
    err = capsys.readouterr().err
    assert "only the work GPCI with the 1.0 floor" in err and "Traceback" not in err
