"""Why an amount changed: the decomposition of PFS changes (rvucalc.calc.decompose, diff, diff_volumes).

Expected values are hand arithmetic from the CMS rows quoted in comments
(PPRRVU2025_Oct.csv of RVU25D, PPRRVU2026_Jul_nonQPP.csv of RVU26C, GPCI2025.csv,
GPCI2026.csv of RVU26C and RVU26A), or from an independent brute-force Shapley
computation (every subset of factors) written here.
"""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from rvucalc.calc import decompose as dec
from rvucalc.diff import book_causes, cause_text, diff, sort_changes

PARTS = dec.PARTS
SETTINGS = ("nonfacility", "facility")


def half_up(x: float) -> float:
    return math.floor(x * 100 + 0.5 + 1e-6) / 100


def cents(x) -> np.ndarray:
    return np.rint(np.asarray(x, dtype=float) * 100).astype(np.int64)


# -- the pure arithmetic --------------------------------------------------------------------

def brute_shapley(old: list[float], new: list[float]) -> list[float]:
    """Shapley values by definition over the 8 factors (c, w, p, m, Wnf, F, P, M)."""
    def v(s: frozenset[int]) -> float:
        c, w, p, m, wn, f, pg, mg = (new[i] if i in s else old[i] for i in range(8))
        return c * (w * (wn + f) + p * pg + m * mg)

    n = 8
    out = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        tot = 0.0
        for k in range(n):
            for sub in itertools.combinations(others, k):
                s = frozenset(sub)
                weight = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
                tot += weight * (v(s | {i}) - v(s))
        out.append(tot)
    return out


def formula(vals: list[float]) -> dec.Formula:
    c, w, p, m, wn, f, pg, mg = (np.asarray(x, dtype=float) for x in vals)
    return dec.Formula(c, w, p, m, wn, f, pg, mg)


def test_closed_form_equals_shapley_by_definition():
    rng = np.random.default_rng(7)
    for _ in range(20):
        old = list(rng.uniform(0.2, 40, 8))
        new = list(np.array(old) * rng.uniform(0.8, 1.25, 8))
        got = dec.shapley_parts(formula(old), formula(new))
        want = brute_shapley(old, new)
        for name, w in zip(dec.FACTORS, want, strict=True):
            assert float(got[name]) == pytest.approx(w, rel=1e-12, abs=1e-12)
        assert sum(float(got[k]) for k in dec.FACTORS) == pytest.approx(
            float(formula(new).value() - formula(old).value()), abs=1e-9)


def test_closed_form_broadcasts_rows_by_localities():
    """RVUs as a column and GPCIs as a row: every cell equals its own scalar computation."""
    rng = np.random.default_rng(3)
    rv0, rv1 = rng.uniform(0, 5, (3, 4)), rng.uniform(0, 5, (3, 4))
    g0, g1 = rng.uniform(0.5, 1.5, (4, 5)), rng.uniform(0.5, 1.5, (4, 5))
    old = dec.Formula(33.0, *(rv0[i][:, None] for i in range(3)), *(g0[i][None, :] for i in range(4)))
    new = dec.Formula(34.0, *(rv1[i][:, None] for i in range(3)), *(g1[i][None, :] for i in range(4)))
    got = dec.shapley_parts(old, new)
    r, c = 2, 3
    want = brute_shapley([33.0, *rv0[:, r], *g0[:, c]], [34.0, *rv1[:, r], *g1[:, c]])
    for name, w in zip(dec.FACTORS, want, strict=True):
        assert got[name].shape == (4, 5)
        assert got[name][r, c] == pytest.approx(w, rel=1e-12)


def test_largest_remainder():
    # the 99214 parts below, in dollars; the rounded change is 11.31 -> 1131 cents
    parts = np.array([[4.5928, 7.8139, -0.2225, -0.0631, -0.6873, -0.1239]])
    # floors (cents): 459, 781, -23, -7, -69, -13 -> 1128; remainders .28 .39 .75 .69 .27 .61
    out = dec.allocate_cents(parts, np.array([1131]))
    # 3 cents missing: to the remainders .75 (MP RVU), .69 (work GPCI), .61 (MP GPCI)
    assert out.tolist() == [[459, 781, -22, -6, -69, -12]]
    assert out.sum() == 1131
    # ties go to the earlier part; a zero part never takes a cent
    assert dec.allocate_cents(np.array([[0.005, 0.005, 0.0]]), np.array([1])).tolist() == [[1, 0, 0]]
    with pytest.raises(ValueError, match="within one cent"):
        dec.allocate_cents(np.array([[1.0, 1.0]]), np.array([500]))


def _side(cf, w, pe, mp, W, P, M, amount, *, cap=None, unpaid="status", floor=0.0):
    one = np.asarray
    f = dec.Formula(cf, one(w), one(pe), one(mp), one(W) - floor, one(floor), one(P), one(M))
    cw, ope, omp = cap if cap is not None else (0.0, 0.0, 0.0)
    c = dec.Formula(cf, one(cw), one(ope), one(omp), one(W) - floor, one(floor), one(P), one(M))
    return dec.Side(f, c, one(cap is not None), one(amount, dtype=float), one(unpaid, dtype=object))


def test_opps_cap_both_sides_and_switch():
    # fee schedule: 30 x (1 + 10 + 1) = 360; cap: 30 x (1 + 4 + 1) = 180 -> paid 180
    # new: CF 33: fee schedule 396, cap 198 -> paid 198: capped on both sides, the cap's formula
    # is split: all of the change (+18.00) is the CF's; the cap itself did not change
    old = _side(30.0, 1.0, 10.0, 1.0, 1.0, 1.0, 1.0, 180.0, cap=(1.0, 4.0, 1.0))
    new = _side(33.0, 1.0, 10.0, 1.0, 1.0, 1.0, 1.0, 198.0, cap=(1.0, 4.0, 1.0))
    d = dec.decompose(old, new)
    assert int(d.change) == 1800
    assert int(d.parts["cf"]) == 1800 and int(d.parts["opps_cap"]) == 0
    # new: the OPPS PE RVU rises to 12 so the cap (30 x 14 = 420) exceeds the fee schedule
    # (396 at CF 33): the fee schedule formula's change 396 - 360 = 36 is the CF's, and the cut
    # the cap made on the old side (360 - 180 = 180) comes back: opps_cap = +180.00
    new = _side(33.0, 1.0, 10.0, 1.0, 1.0, 1.0, 1.0, 396.0, cap=(1.0, 12.0, 1.0))
    d = dec.decompose(old, new)
    assert int(d.change) == 396_00 - 180_00
    assert int(d.parts["cf"]) == 3600 and int(d.parts["opps_cap"]) == 18000


def test_one_sided_changes():
    paid = _side(30.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 60.0)
    for why in ("na", "code", "status", "PFS_STATUS_C"):
        gone = _side(30.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, np.nan, unpaid=why)
        d = dec.decompose(paid, gone)
        part = why if why in dec.UNPAID_PARTS else "status"
        assert int(d.change) == -6000 and int(d.parts[part]) == -6000
        assert sum(int(v) for v in d.parts.values()) == -6000
        d = dec.decompose(gone, paid)
        assert int(d.change) == 6000 and int(d.parts[part]) == 6000
    both = dec.decompose(_side(30.0, 1, 1, 0, 1, 1, 1, np.nan), _side(31.0, 1, 1, 0, 1, 1, 1, np.nan))
    assert int(both.change) == 0 and all(int(v) == 0 for v in both.parts.values())


# -- the real schedules ---------------------------------------------------------------------

def test_99214_los_angeles_office_by_hand(fs25, fs26):
    """99214, office, Los Angeles (locality 01182-18, ZIP 90012): $137.58 -> $148.89.

    PPRRVU2025_Oct.csv: 99214 work 1.92, non-facility PE 1.80, MP 0.15, CF 32.3465
    PPRRVU2026_Jul_nonQPP.csv: 99214 work 1.92, non-facility PE 2.00, MP 0.14, CF 33.4009
    GPCI2025.csv 01182-18: work 1.042, PE 1.194, MP 0.690 (RVU25D)
    GPCI2026.csv 01182-18: work 1.041, PE 1.183, MP 0.664 (RVU26C)
    """
    assert fs25.resolve_locality(zip="90012") == fs26.resolve_locality(zip="90012") == "01182-18"
    c0, c1 = 32.3465, 33.4009
    w0, w1, p0, p1, m0, m1 = 1.92, 1.92, 1.80, 2.00, 0.15, 0.14
    W0, W1, P0, P1, M0, M1 = 1.042, 1.041, 1.194, 1.183, 0.690, 0.664
    old = half_up(c0 * (w0 * W0 + p0 * P0 + m0 * M0))  # 32.3465 x 4.25334 = 137.5816...
    new = half_up(c1 * (w1 * W1 + p1 * P1 + m1 * M1))  # 33.4009 x 4.45768 = 148.8905...
    assert (old, new) == (137.58, 148.89)

    def k(b0, b1, x0, x1):  # Shapley weight of the third factor of a product of three
        return (b0 + b1) / 2 * (x0 + x1) / 2 + (b1 - b0) * (x1 - x0) / 12

    exact = {
        # CF: 1.0544 x [1.92 x 1.0415 + (1.9 x 1.1885 - 0.2 x 0.011 / 12) + (0.145 x 0.677 + 0.01 x 0.026 / 12)]
        "cf": (c1 - c0) * (k(w0, w1, W0, W1) + k(p0, p1, P0, P1) + k(m0, m1, M0, M1)),  # 4.5928
        "work_rvu": (w1 - w0) * k(c0, c1, W0, W1),  # 0 (1.92 both years)
        "pe_rvu": (p1 - p0) * k(c0, c1, P0, P1),  # 0.20 x (32.8737 x 1.1885 - ...) = 7.8139
        "mp_rvu": (m1 - m0) * k(c0, c1, M0, M1),  # -0.01 x (32.8737 x 0.677 + ...) = -0.2225
        "work_gpci": (W1 - W0) * k(c0, c1, w0, w1),  # -0.001 x 32.8737 x 1.92 = -0.0631
        "pe_gpci": (P1 - P0) * k(c0, c1, p0, p1),  # -0.011 x (32.8737 x 1.9 + ...) = -0.6873
        "mp_gpci": (M1 - M0) * k(c0, c1, m0, m1),  # -0.026 x (32.8737 x 0.145 - ...) = -0.1239
    }
    assert exact["cf"] == pytest.approx(4.5928, abs=1e-4)
    assert exact["pe_rvu"] == pytest.approx(7.8139, abs=1e-4)
    assert exact["mp_rvu"] == pytest.approx(-0.2225, abs=1e-4)
    assert exact["work_gpci"] == pytest.approx(-0.0631, abs=1e-4)
    assert exact["pe_gpci"] == pytest.approx(-0.6873, abs=1e-4)
    assert exact["mp_gpci"] == pytest.approx(-0.1239, abs=1e-4)
    assert sum(exact.values()) == pytest.approx(c1 * 4.45768 - c0 * 4.25334, abs=1e-9)
    # to cents: floors 4.59, 7.81, -0.23, -0.07, -0.69, -0.13 (sum 11.28); 3 cents to 11.31 go to
    # the largest remainders: MP RVU (.75), work GPCI (.69), MP GPCI (.61)
    want = {"cf": 4.59, "work_rvu": 0.0, "pe_rvu": 7.81, "mp_rvu": -0.22, "work_gpci": -0.06,
            "pe_gpci": -0.69, "mp_gpci": -0.12}
    assert round(sum(want.values()), 2) == round(new - old, 2) == 11.31

    d = diff(fs25, fs26, localities=["01182-18"], codes=["99214"])
    r = d[(d.locality_id == "01182-18") & (d.modifier == "")].iloc[0]
    assert (r["nonfacility_old"], r["nonfacility_new"], r["nonfacility_change"]) == (137.58, 148.89, 11.31)
    for p in PARTS:
        assert r[f"nonfacility_from_{p}"] == want.get(p, 0.0), p
    assert "PE RVU +$7.81, CF +$4.59, PE GPCI -$0.69" == cause_text(d.loc[[r.name]]).iloc[0]
    # GPCI2025.csv (7 columns) has no work GPCI without the floor: the floor is not separated, and said so
    assert any("floor is not a part of its own" in n for n in d.attrs["rvucalc.decomposition_notes"])
    assert "change decomposition" in d.attrs["rvucalc.provenance"]["parameters"]


@pytest.fixture(scope="module")
def whole(fs25, fs26):
    return diff(fs25, fs26, localities="all")


def test_parts_add_up_to_the_cent_on_the_whole_schedule(whole, fs25, fs26):
    d = whole
    assert d["locality_id"].nunique() == 1 + len(fs26.gpci)  # national + 109 localities
    assert len(d) == (1 + len(fs26.gpci)) * d[d.locality_id == "national"].shape[0]
    for s in SETTINGS:
        change = cents(d[f"{s}_change"])
        total = sum(cents(d[f"{s}_from_{p}"]) for p in PARTS)
        assert (total == change).all(), s
        old = np.nan_to_num(d[f"{s}_old"].to_numpy(float))
        new = np.nan_to_num(d[f"{s}_new"].to_numpy(float))
        assert (change == cents(new) - cents(old)).all()
        # where both sides have an amount: the change is the diff, and only the formula's
        # factors and the cap take part
        both = d[f"{s}_old"].notna() & d[f"{s}_new"].notna()
        assert (change[both] == cents(d.loc[both, f"{s}_diff"])).all()
        for p in dec.UNPAID_PARTS:
            assert (d.loc[both, f"{s}_from_{p}"] == 0).all()
        # where one side has none: one part takes the whole change
        one = d[f"{s}_old"].isna() != d[f"{s}_new"].isna()
        unpaid = np.column_stack([cents(d.loc[one, f"{s}_from_{p}"]) for p in dec.UNPAID_PARTS])
        assert ((unpaid != 0).sum(axis=1) == 1).all()
        assert (unpaid.sum(axis=1) == change[one.to_numpy()]).all()
        # a code added counts in "code"
        added = (d["change"] == "added") & d[f"{s}_new"].notna()
        assert (d.loc[added, f"{s}_from_code"] == d.loc[added, f"{s}_new"]).all()
        # the cap's part only on rows with OPPS RVUs
        capped = d[f"{s}_from_opps_cap"] != 0
        ope = d[f"opps_pe_{s}_old"].fillna(0) + d[f"opps_pe_{s}_new"].fillna(0) \
            + d["opps_mp_old"].fillna(0) + d["opps_mp_new"].fillna(0)
        assert (ope[capped] > 0).all()
    # national rows (GPCIs 1.0 both years) have no GPCI parts
    nat = d[d.locality_id == "national"]
    for p in ("work_gpci", "gpci_floor", "pe_gpci", "mp_gpci"):
        assert (nat[f"nonfacility_from_{p}"] == 0).all()


def test_20983_national_facility_by_hand(whole):
    """20983 facility, national: 10.19 x 32.3465 = 329.61 -> 9.06 x 33.4009 = 302.61.

    RVU25D: work 6.88, facility PE 2.51, MP 0.80; RVU26C: work 6.71, facility PE 1.52, MP 0.83.
    """
    r = whole[(whole.hcpcs == "20983") & (whole.modifier == "") & (whole.locality_id == "national")].iloc[0]
    c0, c1 = 32.3465, 33.4009
    cbar, dc = (c0 + c1) / 2, c1 - c0
    work = (6.71 - 6.88) * cbar  # GPCIs 1.0: the weight is the mean CF
    pe = (1.52 - 2.51) * cbar
    mp = (0.83 - 0.80) * cbar
    cf = dc * ((6.88 + 6.71) / 2 + (2.51 + 1.52) / 2 + (0.80 + 0.83) / 2)
    assert cf + work + pe + mp == pytest.approx(9.06 * c1 - 10.19 * c0, abs=1e-9)
    # exact: CF 10.1486, work RVU -5.5885, PE RVU -32.5450, MP RVU 0.9862 (sum -26.9987)
    assert (half_up(10.19 * c0), half_up(9.06 * c1)) == (329.61, 302.61)  # change -27.00
    # cents floors 1014, -559, -3255, 98 = -2702; 2 cents to -2700 go to the largest
    # remainders: CF (.86) and MP RVU (.62)
    got = [r[f"facility_from_{p}"] for p in ("cf", "work_rvu", "pe_rvu", "mp_rvu")]
    assert got == [10.15, -5.59, -32.55, 0.99]
    assert all(abs(g - x) < 0.01 for g, x in zip(got, (cf, work, pe, mp), strict=True))
    assert all(r[f"facility_from_{p}"] == 0 for p in PARTS if p not in ("cf", "work_rvu", "pe_rvu", "mp_rvu"))
    assert r["facility_change"] == -27.0


def test_floor_part(fs26):
    """The 1.0 floor as a part of its own: RVU26A's GPCI2026.csv gives Alabama (10112-00) a work
    GPCI of 0.988 without the floor, 1.000 with it. A copy of CY2026 whose no-floor work GPCI is
    0.950 pays the same (the floor holds it at 1.0): the work GPCI part and the floor part cancel.
    """
    new = copy.copy(fs26)
    g = fs26.gpci_for(False).copy()
    al = g["locality_id"] == "10112-00"
    assert g.loc[al, "work_gpci_no_floor"].item() == 0.988 and g.loc[al, "work_gpci"].item() == 1.0
    g.loc[al, "work_gpci_no_floor"] = 0.950
    new.gpci = g
    d = diff(fs26, new, localities=["10112-00"], codes=["99214"])
    r = d[d.locality_id == "10112-00"].iloc[0]
    assert r["nonfacility_change"] == 0
    # work RVU 1.92 x CF 33.4009 x (0.950 - 0.988) = -2.4370 -> -2.44 and +2.44
    assert r["nonfacility_from_work_gpci"] == half_up(1.92 * 33.4009 * (0.950 - 0.988)) == -2.44
    assert r["nonfacility_from_gpci_floor"] == 2.44
    assert d.attrs["rvucalc.decomposition_notes"] == []


def test_status_na_and_code_parts(fs26):
    """A copy of RVU26C where 99214 turns carrier-priced (status C), 99213 has NA in the office
    and 99215 is deleted: each whole change is one part."""
    new = copy.copy(fs26)
    rv = fs26.rvus.copy()
    rv.loc[(rv.hcpcs == "99214") & (rv.modifier == ""), "status"] = "C"
    rv.loc[(rv.hcpcs == "99213") & (rv.modifier == ""), "na_nonfacility"] = "NA"
    new.rvus = rv[rv.hcpcs != "99215"]
    d = diff(fs26, new, codes=["99213", "99214", "99215"]).set_index("hcpcs")
    old = d["nonfacility_old"]
    assert d.loc["99214", "nonfacility_from_status"] == -old["99214"] == d.loc["99214", "nonfacility_change"]
    assert d.loc["99214", "facility_from_status"] == -d.loc["99214", "facility_old"]
    assert d.loc["99213", "nonfacility_from_na"] == -old["99213"]
    assert d.loc["99213", "facility_change"] == 0
    assert d.loc["99215", "change"] == "deleted"
    assert d.loc["99215", "nonfacility_from_code"] == -old["99215"]


def test_code_not_on_pfs_is_listed(fs25, fs26):
    d = diff(fs25, fs26, codes=["C2618", "99214"], localities=["01182-18"])
    c = d[d.hcpcs == "C2618"]
    assert list(c["locality_id"]) == ["national", "01182-18"]
    assert (c["change"] == "not on PFS").all()
    assert (c["nonfacility_reason_new"] == "NOT_PFS_OPPS").all()
    assert c["description"].iloc[0].startswith("not on the PFS: a hospital outpatient (OPPS) code")
    assert c["nonfacility_old"].isna().all() and (c["nonfacility_change"] == 0).all()
    # changed_only keeps it (it is not "unchanged")
    d = diff(fs25, fs26, codes=["C2618"], changed_only=True)
    assert list(d["hcpcs"]) == ["C2618"]
    # every code asked for in one release only (0988T is only in RVU26C): no IndexError
    d = diff(fs25, fs26, codes=["0988T", "C2618"], localities=["01182-18"])
    assert list(d["change"]) == ["added", "not on PFS", "added", "not on PFS"]
    assert list(diff(fs25, fs26, codes=["0042T"])["change"]) == ["deleted"]


def test_sort(whole):
    nat = whole[(whole.locality_id == "national") & (whole.change != "unchanged")]
    inc = sort_changes(nat, "increase", "dollars")
    assert inc["nonfacility_change"].iloc[0] == nat["nonfacility_change"].max()
    dec_ = sort_changes(nat, "decrease", "dollars")
    assert dec_["nonfacility_change"].iloc[0] == nat["nonfacility_change"].min()
    ab = sort_changes(nat, "abs", "pct")
    assert abs(ab["nonfacility_pct"].iloc[0]) == nat["nonfacility_pct"].abs().max()
    pcts = sort_changes(nat, "decrease", "pct")["nonfacility_pct"]
    k = pcts.notna().sum()
    assert pcts.iloc[:k].is_monotonic_increasing and pcts.iloc[k:].isna().all()
    with pytest.raises(ValueError):
        sort_changes(nat, "up")


def test_book(fs25, fs26):
    """A book of four lines: revenue change and causes, to the cent.

    99214 office at ZIP 90012 x 100: 100 x (148.89 - 137.58) = +1,131.00 (the 99214 test's parts x 100).
    20983 facility national x 3: 3 x (302.61 - 329.61) = -81.00.
    C2618 x 5: not on the PFS (paid under OPPS): no revenue either year.
    99214 office at ZIP 90012 x 2.5: 2.5 x 137.58 = 343.95 -> 2.5 x 148.89 = 372.225 -> 372.23.
    """
    vol = pd.DataFrame({"hcpcs": ["99214", "20983", "C2618", "99214"], "zip": ["90012", "", "", "90012"],
                        "setting": ["office", "facility", "office", "office"], "count": ["100", "3", "5", "2.5"],
                        "note": ["a", "b", "c", "007.50"]})
    d = fs25.diff_volumes(fs26, vol)  # rvucalc.diff.diff_volumes
    assert list(d["note"]) == ["a", "b", "c", "007.50"]  # the user's data as given
    assert list(d["locality_id_old"]) == ["01182-18", "national", "national", "01182-18"]
    assert (half_up(2.5 * 137.58), half_up(2.5 * 148.89)) == (343.95, 372.23)
    assert d["revenue_change"].tolist() == [1131.0, -81.0, 0.0, 28.28]
    r = d.iloc[0]
    assert [r[f"from_{p}"] for p in ("cf", "pe_rvu", "mp_rvu", "work_gpci", "pe_gpci", "mp_gpci")] == \
        [459.0, 781.0, -22.0, -6.0, -69.0, -12.0]
    assert d.iloc[2]["reason_old"] == d.iloc[2]["reason_new"] == "NOT_PFS_OPPS"
    parts = sum(cents(d[f"from_{p}"]) for p in PARTS)
    assert (parts == cents(d["revenue_change"])).all()
    t = book_causes(d).set_index("part")
    assert t.loc["total", "dollars"] == round(1131.0 - 81.0 + 28.28, 2)
    assert cents(t.loc[list(PARTS), "dollars"]).sum() == cents(t.loc["total", "dollars"])
    assert "change decomposition" in d.attrs["rvucalc.provenance"]["parameters"]


def _tsv(out: str) -> list[list[str]]:
    return [ln.split("\t") for ln in out.splitlines() if ln and not ln.startswith("#")]


def test_cli_sort_and_causes(capsys):
    from rvucalc.cli import main

    assert main(["diff", "2025", "2026", "--codes", "99214", "71046", "C2618", "--localities", "01182-18",
                 "--sort", "decrease", "--by", "dollars"]) == 0
    out = capsys.readouterr().out
    rows = _tsv(out)
    table = rows[rows.index(next(r for r in rows if r[0] == "code")):]
    head = table[0]
    body = [dict(zip(head, r, strict=True)) for r in table[1:]]
    # 71046-26 in Los Angeles: $10.73 -> $10.68, the largest decrease in dollars
    assert (body[0]["code"], body[0]["place"], body[0]["office $"]) == ("71046-26", "01182-18", "$-0.05")
    la = next(r for r in body if r["code"] == "99214" and r["place"] == "01182-18")
    assert la["office $"] == "$11.31" and la["office: largest causes"] == "PE RVU +$7.81, CF +$4.59, PE GPCI -$0.69"
    assert body[-1]["code"] == "99214"  # the largest increase last
    assert any(r["code"] == "C2618" and r["change"] == "not on PFS" for r in body)
    assert "# C2618: not on the PFS: a hospital outpatient (OPPS) code" in out and "[NOT_PFS_OPPS]" in out


def test_cli_book(tmp_path, capsys):
    from rvucalc.cli import main

    book = tmp_path / "book.csv"
    book.write_text("hcpcs,zip,setting,count\n99214,90012,office,100\n20983,,facility,3\nC2618,,office,5\n")
    assert main(["diff", "2025", "2026", "--volumes", str(book)]) == 0
    out = capsys.readouterr().out
    assert "# 3 lines: revenue $14,746.83 (" in out  # 100 x 137.58 + 3 x 329.61
    causes = {r[0]: r[1] for r in _tsv(out)}
    # 100 x the 99214 parts + 3 x the 20983 facility parts (see the tests above)
    assert causes["conversion factor"] == f"${100 * 4.59 + 3 * 10.15:,.2f}"
    assert causes["practice expense RVU"] == f"${100 * 7.81 + 3 * -32.55:,.2f}"
    assert causes["total change"] == "$1,050.00"  # 1,131.00 - 81.00
    dest = tmp_path / "book_diff.csv"
    assert main(["diff", "2025", "2026", "--volumes", str(book), "--out", str(dest)]) == 0
    got = pd.read_csv(dest, dtype=str, keep_default_na=False)
    assert list(got["revenue_change"]) == ["1131.0", "-81.0", "0.0"]
    assert list(got["reason_new"]) == ["", "", "NOT_PFS_OPPS"]
