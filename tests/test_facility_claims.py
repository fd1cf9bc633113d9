"""Facility claim rules (OPPS and ASC) on whole claims: CMS's CY2025 files from the mirror,
expected values by hand arithmetic, and equality with a plain per-claim reference loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from facility_reference import asc_rows, opps_rows, ref_asc, ref_opps

from rvucalc.claims import asc as A
from rvucalc.claims import lines as L
from rvucalc.claims import opps as O

ADDB_2025 = "opps/2025-01/January 2025 Web Addendum B.12.31.24.csv"


@pytest.fixture(scope="module")
def opps25(mirror):
    from rvucalc.iotools.opps import read_addendum_b

    return O.prepare_opps(read_addendum_b(mirror(ADDB_2025)), year=2025, release="opps-2025-01")


@pytest.fixture(scope="module")
def asc25(mirror):
    from rvucalc.iotools.asc import read_addendum_aa, read_addendum_bb

    return A.prepare_asc(read_addendum_aa(mirror("asc/2025-01/AA.csv")),
                         read_addendum_bb(mirror("asc/2025-01/BB.csv")), year=2025,
                         release="asc-2025-01")


def _arrays(lines: list[dict]) -> dict:
    df = pd.DataFrame(lines)
    claim = pd.factorize(df["claim"])[0].astype(np.int64)
    session = pd.factorize(pd.Series(list(zip(df["claim"], df["date"]))))[0].astype(np.int64)
    return {"claim": claim, "session": session, "line": df["line"].to_numpy(np.int64),
            "units": df["units"].to_numpy(float), "wage_index": df["wi"].to_numpy(float),
            "hcpcs": df["hcpcs"].to_numpy(dtype=object),
            "mods": df["mods"].tolist() if "mods" in df else [set()] * len(df)}


def price(table, claims: list[list[str]], *, wi: float = 1.0, units=None, mods=None):
    """Price claims given as lists of codes (one date each); returns a DataFrame per line."""
    lines = []
    for c, codes in enumerate(claims):
        for j, hc in enumerate(codes):
            lines.append({"line": len(lines), "claim": f"c{c}", "date": "2025-03-01", "hcpcs": hc,
                          "units": (units[c][j] if units else 1.0), "wi": wi,
                          "mods": (mods[c][j] if mods else set())})
    return _vectorised(table, lines), lines


def _vectorised(table, lines: list[dict]) -> pd.DataFrame:
    a = _arrays(lines)
    code = L.code_index(table.hcpcs, a["hcpcs"])
    kw = {k: a[k] for k in ("claim", "session", "line", "units", "wage_index")}
    m = {k: np.array([k in s for s in a["mods"]]) for k in ("73", "52", "74", "FB", "FC")}
    if isinstance(table, O.OppsTable):
        out = O.price_opps(table, code=code, modifiers=m, **kw)
    else:
        out = A.price_asc(table, code=code, modifiers=m, **kw)
    df = pd.DataFrame(out)
    df.insert(0, "hcpcs", a["hcpcs"])
    return df


def _reasons(df: pd.DataFrame, i: int) -> set[str]:
    return {c for c in str(df["reason"].iloc[i]).split("|") if c}


# ---------------------------------------------------------------------------------------------
# HOPD acceptance (CY2025 Addendum B, national, wage index 1.0)


def test_hopd_j1_packages_guidance_and_probe(opps25):
    # Addendum B CY2025: 20983 J1 APC 5114 $7,143.73; 77013 N; C2618 N.
    df, _ = price(opps25, [["20983", "77013", "C2618"]])
    assert list(df["status_indicator"]) == ["J1", "N", "N"]
    assert df["apc"].iloc[0] == "5114"
    assert df["facility_payment"].tolist() == [7143.73, 0.0, 0.0]
    assert list(df["line_status"]) == ["paid", "packaged", "packaged"]
    assert "OPPS_SI_N" in _reasons(df, 1) and "OPPS_SI_N" in _reasons(df, 2)
    assert (df["claim_total"] == 7143.73).all()
    # J1 copayment: Addendum B minimum unadjusted copayment $1,428.75 (below the deductible)
    assert df["beneficiary_copay"].iloc[0] == 1428.75
    assert df["medicare_payment"].iloc[0] == 7143.73 - 1428.75


def test_hopd_two_t_procedures_discounted(opps25):
    # 11043 T $612.13 (highest, 100%) + 11042 T $399.53 at 50% = 199.765 -> 199.77 (half up)
    df, _ = price(opps25, [["11043", "11042"]])
    assert df["facility_payment"].tolist() == [612.13, 199.77]
    assert df["claim_total"].iloc[0] == round(612.13 + 199.77, 2) == 811.90
    assert list(df["line_status"]) == ["paid", "discounted"]
    assert "OPPS_T_DISCOUNT" in _reasons(df, 1)
    # copays: $122.43 in full, $79.91 x 50% = 39.955 -> 39.96
    assert df["beneficiary_copay"].tolist() == [122.43, 39.96]


def test_hopd_t_order_does_not_matter(opps25):
    df, _ = price(opps25, [["11042", "11043"]])
    assert df["facility_payment"].tolist() == [199.77, 612.13]


def test_hopd_q1_packaged_with_t_paid_alone(opps25):
    df, _ = price(opps25, [["96372", "11042"], ["96372"]])
    assert df["status_indicator"].iloc[0] == "Q1"
    assert df["facility_payment"].tolist() == [0.0, 399.53, 71.17]
    assert "OPPS_Q1_PACKAGED" in _reasons(df, 0)
    assert df["line_status"].iloc[0] == "packaged" and df["line_status"].iloc[2] == "paid"
    assert df["claim_total"].tolist() == [399.53, 399.53, 71.17]


def test_hopd_two_j1_pays_highest_and_flags_complexity(opps25):
    # 29881 J1 APC 5113 $3,244.61 and 64721 J1 APC 5431 $1,952.77: the higher is primary
    df, _ = price(opps25, [["64721", "29881"]])
    assert df["facility_payment"].tolist() == [0.0, 3244.61]
    assert "OPPS_J1_SECONDARY" in _reasons(df, 0)
    assert "OPPS_J1_COMPLEXITY_NOT_ASSESSED" in _reasons(df, 1)


def test_hopd_j1_paid_once_whatever_units(opps25):
    df, _ = price(opps25, [["20983"]], units=[[2.0]])
    assert df["facility_payment"].tolist() == [7143.73]
    assert {"OPPS_J1_ONCE_PER_CLAIM", "OPPS_J1_COMPLEXITY_NOT_ASSESSED"} <= _reasons(df, 0)


def test_hopd_preventive_service_not_packaged_into_j1(opps25):
    # G0121 (screening colonoscopy) is T $911.71 with $0.00 copayments (preventive)
    df, _ = price(opps25, [["20983", "G0121"]])
    assert df["facility_payment"].tolist() == [7143.73, 911.71]
    assert "OPPS_CAPC_EXCLUDED_PREVENTIVE" in _reasons(df, 1)
    assert df["beneficiary_copay"].iloc[1] == 0.0
    assert df["claim_total"].iloc[0] == 8055.44  # 7143.73 + 911.71


def test_hopd_unknown_and_other_system_codes_keep_reasons(opps25):
    df, _ = price(opps25, [["20983", "77067", "XXXXX"]])
    assert np.isnan(df["facility_payment"].iloc[1]) and np.isnan(df["facility_payment"].iloc[2])
    assert "OPPS_SI_A" in _reasons(df, 1)
    assert "OPPS_CODE_NOT_IN_ADDENDUM_B" in _reasons(df, 2)
    assert df["line_status"].iloc[2] == "not paid"


def test_hopd_wage_index_60_percent_labor(opps25):
    # 11042: 399.53 x (0.6 x 1.2 + 0.4) = 447.4736 -> 447.47; copay 79.91 x 1.12 = 89.4992
    df, _ = price(opps25, [["11042"]], wi=1.2)
    assert df["facility_payment"].iloc[0] == 447.47
    assert df["beneficiary_copay"].iloc[0] == 89.50


def test_hopd_copay_capped_at_inpatient_deductible(opps25):
    # 20983 at wage index 1.5: copay 1428.75 x 1.3 = 1857.375 > $1,676 (CY2025 deductible)
    df, _ = price(opps25, [["20983"]], wi=1.5)
    assert df["facility_payment"].iloc[0] == 9286.85  # 7143.73 x 1.3 = 9286.849
    assert df["beneficiary_copay"].iloc[0] == 1676.00
    assert "OPPS_COPAY_CAPPED" in _reasons(df, 0)


# ---------------------------------------------------------------------------------------------
# ASC acceptance (CY2025 January Addenda AA/BB, national, wage index 1.0)


def test_asc_j8_packages_guidance_and_probe(asc25):
    df, _ = price(asc25, [["20983", "77013", "C2618"]])
    assert list(df["payment_indicator"]) == ["J8", "N1", "N1"]
    assert df["facility_payment"].tolist() == [4911.21, 0.0, 0.0]
    assert "ASC_PI_N1" in _reasons(df, 1) and "ASC_PI_N1" in _reasons(df, 2)
    assert (df["claim_total"] == 4911.21).all()
    # 20% coinsurance: 982.242 -> 982.24
    assert df["beneficiary_copay"].iloc[0] == 982.24


def test_asc_multiple_procedure_lines_add_up(asc25):
    # 29881 A2 $1,579.16 in full; 64721 A2 $924.93 x 50% = 462.465 -> 462.47
    df, _ = price(asc25, [["64721", "29881"]])
    assert df["facility_payment"].tolist() == [462.47, 1579.16]
    assert df["claim_total"].iloc[0] == 2041.63
    cents = np.round(df["facility_payment"].to_numpy() * 100).astype(int)
    assert cents.sum() == round(df["claim_total"].iloc[0] * 100)
    assert "ASC_MULT_PROC_50" in _reasons(df, 0)


def test_lines_add_up_where_rounding_the_total_alone_would_drift(asc25):
    # 3 x 11042 (A2 $214.39) on one claim: the first in full, the others at 50% = 107.195.
    # Rounded once per line: 214.39 + 107.20 + 107.20 = 428.79, and the claim total is that
    # sum; a total rounded on its own from the unrounded 428.78 would drift a cent from it.
    df, _ = price(asc25, [["11042", "11042", "11042"]])
    assert df["facility_payment"].tolist() == [214.39, 107.20, 107.20]
    assert df["claim_total"].iloc[0] == 428.79
    assert round(214.39 + 0.5 * 214.39 * 2, 2) == 428.78  # what a separately rounded total gives


def test_asc_modifiers_73_52_74(asc25):
    # 29881 $1,579.16: 73 -> 789.58; 52 -> 789.58; 74 -> 1579.16
    df, _ = price(asc25, [["29881"], ["29881"], ["29881"]], mods=[[{"73"}], [{"52"}], [{"74"}]])
    assert df["facility_payment"].tolist() == [789.58, 789.58, 1579.16]
    assert "ASC_MOD73_50PCT" in _reasons(df, 0) and "ASC_MOD74_FULL" in _reasons(df, 2)


def test_asc_device_credit_without_offset_has_reason_not_amount(asc25):
    df, _ = price(asc25, [["20983"], ["20983"]], mods=[[{"FB"}], [{"73"}]])
    assert df["facility_payment"].isna().all()
    assert all("ASC_DEVICE_OFFSET_NOT_AT_HAND" in _reasons(df, i) for i in range(2))


def test_asc_wage_index_50_percent_labor(asc25):
    # 29881: 1579.16 x (0.5 x 0.9 + 0.5) = 1500.202 -> 1500.20; coinsurance 300.0404 -> 300.04
    df, _ = price(asc25, [["29881"]], wi=0.9)
    assert df["facility_payment"].iloc[0] == 1500.20
    assert df["beneficiary_copay"].iloc[0] == 300.04


def test_asc_ancillary_paid_only_with_a_procedure(asc25):
    # 70450 (CT head) is Z2 $56.71 on Addendum BB: paid beside 29881, not on its own
    df, _ = price(asc25, [["70450"], ["29881", "70450"]])
    assert np.isnan(df["facility_payment"].iloc[0])
    assert "ASC_ANCILLARY_WITHOUT_PROCEDURE" in _reasons(df, 0)
    assert df["facility_payment"].tolist()[1:] == [1579.16, 56.71]
    assert df["claim_total"].iloc[1] == 1635.87  # 1579.16 + 56.71


# ---------------------------------------------------------------------------------------------
# vectorised path == per-claim reference loop


def _random_lines(codes: list[str], n_claims: int, seed: int, with_mods: bool) -> list[dict]:
    rng = np.random.default_rng(seed)
    lines: list[dict] = []
    mods_pool = [set(), set(), set(), {"73"}, {"52"}, {"74"}, {"FB"}, {"FC"}]
    for c in range(n_claims):
        k = int(rng.integers(1, 7))
        wi = float(rng.choice([1.0, 0.8734, 1.2311, np.nan], p=[0.4, 0.25, 0.3, 0.05]))
        for _ in range(k):
            lines.append({
                "line": len(lines), "claim": f"C{c}", "date": f"2025-0{int(rng.integers(1, 3))}-01",
                "hcpcs": str(rng.choice(codes)), "units": float(rng.choice([1, 1, 1, 2, 3])),
                "wi": wi,
                "mods": mods_pool[int(rng.integers(len(mods_pool)))] if with_mods else set(),
            })
    return lines


def _compare(df: pd.DataFrame, ref: list[dict]) -> None:
    assert len(df) == len(ref)
    for i, r in enumerate(ref):
        pay = df["facility_payment"].iloc[i]
        assert df["line_status"].iloc[i] == r["status"], (i, r)
        if r["payment"] is None:
            assert np.isnan(pay), (i, r)
        else:
            assert round(pay * 100) == r["payment"], (i, r, pay)
            assert round(df["beneficiary_copay"].iloc[i] * 100) == r["copay"], (i, r)
        if r["claim_total"] is None:  # a line's amount is unknown for want of data: no total
            assert np.isnan(df["claim_total"].iloc[i]), (i, r)
        else:
            assert round(df["claim_total"].iloc[i] * 100) == r["claim_total"], (i, r)
        assert _reasons(df, i) == r["reasons"], (i, _reasons(df, i), r["reasons"])


def _sample_codes(hcpcs: pd.Index, groups: dict[str, np.ndarray], per: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for mask in groups.values():  # a few indicator groups
        pool = np.asarray(hcpcs)[mask]
        if len(pool):
            out += list(rng.choice(pool, size=min(per, len(pool)), replace=False))
    return out + ["ZZZZZ"]


def test_opps_vectorised_equals_reference_loop(opps25):
    from rvucalc.claims.opps import SI_CODES

    groups = {s: opps25.si[:-1] == SI_CODES.index(s) for s in
              ("J1", "J2", "T", "S", "V", "Q1", "Q2", "Q3", "Q4", "N", "G", "K", "A", "U", "E1")}
    groups["excl"] = opps25.exclusion[:-1] >= 0
    codes = _sample_codes(opps25.hcpcs, groups, 6, 1) + ["20983", "11042", "11043", "96372"]
    lines = _random_lines(codes, 3000, 7, with_mods=True)
    df = _vectorised(opps25, lines)
    _compare(df, ref_opps(opps_rows(opps25), lines, opps25.deductible))


def test_asc_vectorised_equals_reference_loop(asc25):
    pis = np.array(asc25.pi_labels + [""], dtype=object)[asc25.pi[:-1]]
    groups = {p: pis == p for p in ("A2", "G2", "J8", "P3", "R2", "N1", "Z2", "Z3", "K2", "D5",
                                     "L1")}
    codes = _sample_codes(asc25.hcpcs, groups, 6, 2) + ["20983", "29881", "64721", "77013"]
    lines = _random_lines(codes, 3000, 11, with_mods=True)
    df = _vectorised(asc25, lines)
    _compare(df, ref_asc(asc_rows(asc25), lines))


def test_hopd_discontinued_modifier_is_applied(opps25):
    # 42 CFR 419.44(b): 11042 $399.53 x 50% = 199.765 -> $199.77 (tests/test_opps_discontinued.py)
    lines = [{"line": 0, "claim": "a", "date": "d", "hcpcs": "11042", "units": 1.0, "wi": 1.0}]
    a = _arrays(lines)
    out = O.price_opps(opps25, claim=a["claim"], session=a["session"], line=a["line"],
                       code=L.code_index(opps25.hcpcs, a["hcpcs"]), units=a["units"],
                       wage_index=a["wage_index"], modifiers={"73": np.array([True])})
    assert out["facility_payment"][0] == 199.77
    assert "OPPS_MOD73_50PCT" in str(out["reason"][0])


def test_asc_device_offset_when_at_hand(mirror):
    """With a device offset (a made-up $3,000.00 for 20983, as Addendum FF would give), FB takes
    it off, FC half of it, 73 removes it before the 50%, and only the service portion is wage
    adjusted: 20983 $4,911.21 national."""
    from rvucalc.iotools.asc import read_addendum_aa, read_addendum_bb

    t = A.prepare_asc(read_addendum_aa(mirror("asc/2025-01/AA.csv")),
                      read_addendum_bb(mirror("asc/2025-01/BB.csv")), year=2025,
                      device_offset=pd.Series({"20983": 3000.0}))
    df, _ = price(t, [["20983"], ["20983"], ["20983"], ["20983"]],
                  mods=[[{"FB"}], [{"FC"}], [{"73"}], [set()]])
    # FB: 4911.21 - 3000 = 1911.21; FC: 4911.21 - 1500 = 3411.21; 73: (4911.21 - 3000) x 50%
    # = 955.605 -> 955.61; none: 4911.21
    assert df["facility_payment"].tolist() == [1911.21, 3411.21, 955.61, 4911.21]
    df, _ = price(t, [["20983"]], wi=1.2)
    # 3000 + 1911.21 x (0.5 x 1.2 + 0.5) = 3000 + 2102.331 = 5102.331 -> 5102.33
    assert df["facility_payment"].tolist() == [5102.33]
    assert "ASC_J8_WAGE_WHOLE_RATE" not in _reasons(df, 0)
