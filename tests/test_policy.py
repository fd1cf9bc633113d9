"""Payment-policy rules on small synthetic arrays, with hand arithmetic from the RVU file text."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rvucalc.calc import policy as P


def arr(*x: float) -> np.ndarray:
    return np.array(x, dtype=float)


def test_group_rank_highest_first_ties_by_order():
    rank, _ = P.group_rank(np.array([1, 1, 1, 2]), arr(50, 80, 80, 10), arr(0, 1, 2, 3))
    assert rank.tolist() == [2, 0, 1, 0]


def test_parse_modifiers_forms():
    m = P.parse_modifiers(pd.Series(["51 LT", "50,lt", "26", "tc", None, "80;AS", "62-59"]), 7)
    assert m["mLT"].tolist() == [True, True, False, False, False, False, False]
    assert m["m50"].tolist()[1] and m["m26"][2] and m["mTC"][3] and m["m80"][5] and m["mAS"][5]
    assert m["m62"][6] and not m.iloc[4].any()
    assert P.pricing_modifier(m).tolist() == [0, 0, 1, 2, 0, 0, 0]


def test_setting_from_pos_and_pos10_by_year():
    pos = np.array(["11", "22", "10", "10", "", "07"], dtype=object)
    assert P.setting_from_pos(pos, np.array([2026, 2026, 2026, 2023, 2026, 2026])).tolist() == [0, 1, 0, 1, 2, 2]
    assert P.normalise_pos(pd.Series([11, "2", " 22 ", "11.0", None, "abc"])).tolist() == \
        ["11", "02", "22", "11", "", ""]


def test_bilateral_indicators():
    b = np.array([1, 2, 3, 0, 9, 1, 2])
    m50 = np.array([True] * 5 + [False, False])
    units = arr(1, 1, 1, 1, 1, 2, 2)
    f, u, flags = P.bilateral(b, m50, units, np.zeros(7, dtype=bool))
    assert f.tolist() == [1.5, 1.0, 2.0, 1.0, 1.0, 1.5, 1.0]
    assert u.tolist() == [1.0] * 7
    assert flags["BILAT_NOT_APPLICABLE"].tolist() == [False] * 4 + [True, False, False]
    assert flags["BILAT_BY_UNITS"].tolist() == [False] * 5 + [True, True]


def test_surgery_ranked_100_50_50():
    n = 3
    f, rank, flags = P.surgery_mppr(np.zeros(n, dtype=np.int64), np.array([2, 2, 2]), arr(60, 100, 80), arr(1, 1, 1),
                                    np.arange(n), np.full(n, -1), np.full(n, np.nan), np.arange(n),
                                    np.ones(n, dtype=bool))
    assert f.tolist() == [0.5, 1.0, 0.5] and rank.tolist() == [2, 0, 1]
    assert (arr(60, 100, 80) * f).sum() == 100 + 40 + 30


def test_endoscopy_family_then_ranked():
    # codes: 0 = base endoscopy ($50), 1 and 2 = family members ($120, $90), 3 = other surgery
    code = np.array([1, 2, 0])
    f, _, flags = P.surgery_mppr(np.zeros(3, dtype=np.int64), np.array([3, 3, 2]), arr(120, 90, 50), arr(1, 1, 1),
                                 code, np.array([0, 0, -1]), arr(50, 50, np.nan), np.arange(3),
                                 np.ones(3, dtype=bool))
    # 120 in full, 90 - 50 = 40, base not paid
    assert (arr(120, 90, 50) * f).round(10).tolist() == [120, 40, 0]
    assert flags["ENDO_BASE_INCLUDED"].tolist() == [False, False, True]
    # with a $200 surgery on the same claim the family (160) is second: 50%
    code = np.array([1, 2, 3])
    f, _, _ = P.surgery_mppr(np.zeros(3, dtype=np.int64), np.array([3, 3, 2]), arr(120, 90, 200), arr(1, 1, 1),
                             code, np.array([0, 0, -1]), arr(50, 50, np.nan), np.arange(3), np.ones(3, dtype=bool))
    assert (arr(120, 90, 200) * f).round(10).tolist() == [60, 20, 200]


def test_diagnostic_imaging_tc_and_pc_rank_separately():
    # two family-88 globals: TC 70 / PC 40 and TC 200 / PC 80
    f, _, _ = P.diagnostic_mppr(np.zeros(2, dtype=np.int64), np.array([4, 4]), np.array([88, 88]), arr(110, 280),
                                arr(70, 200), arr(40, 80), arr(1, 1), np.ones(2, dtype=bool))
    assert (arr(110, 280) * f).round(10).tolist() == [110 - 35 - 2, 280]
    # cardiovascular: one code, two units, TC 100: second unit 75%
    f, _, _ = P.diagnostic_mppr(np.zeros(1, dtype=np.int64), np.array([6]), np.array([99]), arr(100), arr(100),
                                arr(0), arr(2), np.ones(1, dtype=bool))
    assert round(100 * 2 * f[0], 10) == 175


def test_therapy_half_pe_after_first_unit():
    f, _ = P.therapy_mppr(np.zeros(2, dtype=np.int64), np.array([5, 5]), arr(30, 28), arr(13, 12), arr(2, 1),
                          np.ones(2, dtype=bool))
    assert (arr(30, 28) * arr(2, 1) * f).round(10).tolist() == [60 - 6.5, 28 - 6]


def test_roles_and_charge():
    f, fl = P.cosurgery(np.array([0, 1, 2, 9]), np.array([True] * 4))
    assert f.tolist() == [0.625] * 4 and fl["COSURG_NOT_ALLOWED"].tolist() == [True, False, False, True]
    f, fl = P.assistant(np.array([0, 1, 2, 9, 2]), np.array([True] * 4 + [False]), np.array([False] * 4 + [True]))
    assert f.tolist() == [0.16] * 4 + [0.16 * 0.85]
    assert fl["ASST_NOT_ALLOWED"].tolist() == [False, True, False, True, False]
    f, fl = P.team(np.array([0, 2]), np.array([True, True]))
    assert np.isnan(f).all() and fl["TEAM_BY_REPORT"].tolist() == [False, True]
    allowed, lower = P.lower_of_charge(arr(100, 100, np.nan), arr(80, np.nan, 5))
    assert allowed[:2].tolist() == [80, 100] and lower.tolist() == [True, False, False]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0, 2, 3, 4, 5, 6, 7]),
                          st.floats(1, 5000), st.integers(1, 4)), min_size=1, max_size=40))
def test_reductions_never_raise_a_payment(rows):
    g = np.array([r[0] for r in rows], dtype=np.int64)
    mp = np.array([r[1] for r in rows])
    fee = arr(*[r[2] for r in rows])
    u = arr(*[r[3] for r in rows])
    n = len(rows)
    ok = np.ones(n, dtype=bool)
    s, _, _ = P.surgery_mppr(g, mp, fee, u, np.arange(n), np.where(mp == 3, n, -1), fee / 2, np.arange(n), ok)
    d, _, _ = P.diagnostic_mppr(g, mp, np.full(n, 88), fee, fee * 0.6, fee * 0.4, u, ok)
    t, _ = P.therapy_mppr(g, mp, fee, fee * 0.3, u, ok)
    for f in (s, d, t):
        assert len(f) == n and (f <= 1 + 1e-12).all() and (f >= 0).all()
    # the highest-valued procedure of each group keeps its first unit in full
    assert (s[mp == 2] >= 0.5).all()
