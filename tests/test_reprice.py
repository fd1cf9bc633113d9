"""Claim-line repricing: each payment-policy rule with hand arithmetic on real PPRRVU rows.

RVUs written out below are those of PPRRVU2026_Jul_nonQPP.csv (RVU26C) and are
checked against the mirror file in ``test_rows_are_cms_rows``. "national"
means every GPCI is 1.000, so an amount is (work + PE + MP) × CF, rounded to
cents half up; policy factors then apply to that rounded amount and the
result is rounded once more.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest

from rvucalc.reasons import explain
from rvucalc.reprice import OUTPUT_COLUMNS, choose_for_quarter, reprice

CF26 = 33.4009  # CY2026 non-QP conversion factor (PPRRVU2026 CONV FACTOR column)

# hcpcs, modifier -> (work, PE non-facility, PE facility, MP, mult proc, bilat, asst, co-surg, team)
ROWS = {
    ("27447", ""): (19.11, 11.58, 11.58, 4.02, "2", "1", "2", "1", "0"),
    ("27130", ""): (19.11, 11.63, 11.63, 4.05, "2", "1", "2", "1", "0"),
    ("20983", ""): (6.71, 139.34, 1.52, 0.83, "2", "1", "1", "0", "0"),
    ("71046", ""): (0.21, 0.76, 0.76, 0.02, "0", "0", "0", "0", "0"),
    ("71046", "26"): (0.21, 0.08, 0.08, 0.01, "0", "0", "0", "0", "0"),
    ("71046", "TC"): (0.00, 0.68, 0.68, 0.01, "0", "0", "0", "0", "0"),
    ("43235", ""): (2.04, 7.38, 1.03, 0.24, "2", "0", "1", "0", "0"),
    ("43239", ""): (2.33, 9.94, 1.10, 0.27, "3", "0", "1", "0", "0"),
    ("43249", ""): (2.60, 32.44, 1.18, 0.30, "3", "0", "1", "0", "0"),
    ("70450", ""): (0.83, 2.30, 2.30, 0.06, "4", "0", "0", "0", "0"),
    ("70450", "26"): (0.83, 0.30, 0.30, 0.05, "4", "0", "0", "0", "0"),
    ("70450", "TC"): (0.00, 2.00, 2.00, 0.01, "4", "0", "0", "0", "0"),
    ("74177", ""): (1.77, 7.09, 7.09, 0.13, "4", "0", "9", "0", "0"),
    ("74177", "26"): (1.77, 0.63, 0.63, 0.11, "4", "0", "9", "0", "0"),
    ("74177", "TC"): (0.00, 6.46, 6.46, 0.02, "4", "0", "9", "0", "0"),
    ("97110", ""): (0.45, 0.41, 0.41, 0.01, "5", "0", "0", "0", "0"),
    ("97140", ""): (0.43, 0.39, 0.39, 0.01, "5", "0", "0", "0", "0"),
    ("70030", ""): (0.18, 0.78, 0.78, 0.02, "0", "3", "0", "0", "0"),
    ("11300", ""): (0.59, 2.24, 0.18, 0.06, "2", "9", "0", "0", "0"),
    ("22818", ""): (33.47, 16.63, 16.63, 7.14, "2", "0", "2", "2", "2"),
    ("45378", ""): (3.18, 7.73, 1.34, 0.41, "2", "0", "1", "0", "0"),
    ("45378", "53"): (1.59, 3.87, 0.67, 0.21, "2", "0", "1", "0", "0"),
    ("99213", ""): (1.30, 1.46, 0.33, 0.09, "0", "0", "0", "0", "0"),
}


def D(x: float | Decimal) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(repr(x))


def half_up(x: float | Decimal) -> float:
    """Round to cents half up, in exact decimal arithmetic."""
    return float(D(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def mul(*xs: float | Decimal) -> Decimal:
    """Exact decimal product (what the written-out arithmetic means)."""
    out = Decimal(1)
    for x in xs:
        out *= D(x)
    return out


def fee(code: str, mod: str = "", facility: bool = False) -> float:
    """National fee schedule amount, by hand: (work + PE + MP) x CF, rounded."""
    w, pen, pef, mp = ROWS[(code, mod)][:4]
    return half_up((D(w) + D(pef if facility else pen) + D(mp)) * D(CF26))


def run(fs, rows: list[dict], **kw) -> pd.DataFrame:
    base = {"claim_id": "C1", "modifiers": "", "units": 1, "pos": "11", "locality": "national",
            "date_of_service": "2026-08-03"}
    return reprice(pd.DataFrame([{**base, **r} for r in rows]), releases=[fs], **kw)


def test_rows_are_cms_rows(fs26):
    rv = fs26.rvus.set_index(["hcpcs", "modifier"])
    for key, vals in ROWS.items():
        r = rv.loc[key]
        got = (r.work_rvu, r.pe_nonfacility, r.pe_facility, r.mp_rvu, r.mult_proc, r.bilat_surg,
               r.asst_surg, r.co_surg, r.team_surg)
        assert got == vals, key


def test_output_columns_and_release(fs26):
    out = run(fs26, [{"hcpcs": "99213"}])
    # rvucalc's columns, then the claim edits' note (issue 22; none without edits)
    assert list(out.columns[-len(OUTPUT_COLUMNS) - 1:]) == [*OUTPUT_COLUMNS, "edit_note"]
    assert list(run(fs26, [{"hcpcs": "99213"}], edits=False).columns[-len(OUTPUT_COLUMNS):]) == list(OUTPUT_COLUMNS)
    r = out.iloc[0]
    assert r.release == "rvu26c" and r.release_note == "" and r.setting == "nonfacility"
    assert r.allowed == fee("99213") == half_up(mul(2.85, CF26)) and r.payable and r.reason == ""


def test_two_indicator_2_surgeries_lower_pays_half(fs26):
    out = run(fs26, [{"hcpcs": "27447", "pos": "22"}, {"hcpcs": "27130", "modifiers": "51", "pos": "22"}])
    hip, knee = fee("27130", facility=True), fee("27447", facility=True)
    assert hip > knee  # 34.79 RVUs vs 34.71
    assert out.allowed.tolist() == [half_up(mul(knee, 0.5)), hip]
    assert out.mult_proc_factor.tolist() == [0.5, 1.0] and out.mult_proc_rank.tolist() == [2, 1]
    assert out.reason[0] == "MPPR_SURGERY" and out.setting[0] == "facility"


def test_six_surgeries_sixth_is_by_report(fs26):
    out = run(fs26, [{"hcpcs": "27447", "pos": "22", "units": 5}, {"hcpcs": "27130", "pos": "22"}])
    # 27130 ranks first (100%); the five units of 27447 are procedures 2-6, all at 50%
    assert out.allowed[1] == fee("27130", facility=True)
    assert out.allowed[0] == half_up(mul(fee("27447", facility=True), 5, 0.5))
    assert "MPPR_BY_REPORT" in out.reason[0]


def test_bilateral_indicator_1_with_50_pays_150(fs26):
    out = run(fs26, [{"hcpcs": "20983", "modifiers": "50"}])
    assert fee("20983") == 4905.92
    assert out.allowed[0] == half_up(mul(4905.92, 1.5)) == 7358.88
    assert out.bilateral_factor[0] == 1.5 and out.units_factor[0] == 1.0


def test_bilateral_other_indicators(fs26):
    out = run(fs26, [
        {"claim_id": "a", "hcpcs": "70030", "modifiers": "50"},  # indicator 3: each side 100%
        {"claim_id": "b", "hcpcs": "43235", "modifiers": "50", "pos": "22"},  # indicator 0: 100%, flagged
        {"claim_id": "c", "hcpcs": "11300", "modifiers": "50"},  # indicator 9: refused
        {"claim_id": "d", "hcpcs": "27447", "units": 2, "pos": "21"},  # indicator 1, 2 units: 150%
    ])
    assert out.allowed[0] == half_up(mul(fee("70030"), 2))
    assert out.allowed[1] == fee("43235", facility=True) and "BILAT_0_100PCT" in out.reason[1]
    assert math.isnan(out.allowed[2]) and out.reason[2] == "BILAT_NOT_APPLICABLE" and not out.payable[2]
    assert out.allowed[3] == half_up(mul(fee("27447", facility=True), 1.5)) and "BILAT_BY_UNITS" in out.reason[3]


def test_rt_lt_pair_is_one_bilateral_procedure(fs26):
    out = run(fs26, [{"hcpcs": "27447", "modifiers": "RT", "pos": "22"},
                     {"hcpcs": "27447", "modifiers": "lt", "pos": "22"}])
    knee = fee("27447", facility=True)
    # 150% of one knee, half on each line; not a second procedure at 50%
    assert out.allowed.tolist() == [half_up(mul(knee, 0.75))] * 2
    assert set(out.reason) == {"BILAT_RT_LT"}
    assert abs(out.allowed.sum() - knee * 1.5) <= 0.01


def test_pc_plus_tc_on_one_claim_equals_global(fs26):
    for lid in ("national", "01182-18", "13202-01"):
        out = run(fs26, [{"hcpcs": "71046", "modifiers": "26", "locality": lid},
                         {"hcpcs": "71046", "modifiers": "TC", "locality": lid},
                         {"claim_id": "G", "hcpcs": "71046", "locality": lid}])
        assert abs(out.allowed[0] + out.allowed[1] - out.allowed[2]) <= 0.01 + 1e-9, lid
        assert out.pricing_modifier.tolist() == ["26", "TC", ""]
    nat = run(fs26, [{"hcpcs": "71046", "modifiers": "26"}, {"hcpcs": "71046", "modifiers": "TC"}])
    assert nat.allowed.tolist() == [half_up(mul(0.30, CF26)), half_up(mul(0.69, CF26))]  # 10.02 + 23.05 = 33.07
    assert fee("71046") == half_up(mul(0.99, CF26)) == 33.07


def test_los_angeles_by_zip(fs26):
    # 20983 LA non-facility: (6.71*1.041 + 139.34*1.183 + 0.83*0.664) * 33.4009 = 5757.4951 -> 5757.50
    out = run(fs26, [{"hcpcs": "20983", "locality": None, "zip": "90012"}])
    assert out.locality_id[0] == "01182-18" and out.allowed[0] == 5757.50


def test_assistant_at_surgery(fs26):
    out = run(fs26, [
        {"claim_id": "a", "hcpcs": "20983", "modifiers": "80"},  # indicator 1: refused
        {"claim_id": "b", "hcpcs": "27447", "modifiers": "80", "pos": "21"},  # indicator 2: 16%
        {"claim_id": "c", "hcpcs": "27447", "modifiers": "AS", "pos": "21"},  # 85% of 16%
        {"claim_id": "d", "hcpcs": "45378", "modifiers": "82", "pos": "22"},  # indicator 1
        {"claim_id": "e", "hcpcs": "70450", "modifiers": "81"},  # indicator 0: priced, flagged
    ])
    assert math.isnan(out.allowed[0]) and out.reason[0] == "ASST_NOT_ALLOWED"
    assert "statutory" in explain("ASST_NOT_ALLOWED").message
    knee = fee("27447", facility=True)
    assert out.allowed[1] == half_up(mul(knee, 0.16))
    assert out.allowed[2] == half_up(mul(knee, 0.16, 0.85)) == half_up(mul(knee, 0.136))
    assert not out.payable[3]
    assert out.allowed[4] == half_up(mul(fee("70450"), 0.16)) and out.reason[4] == "ASST_DOC_REQUIRED"


def test_cosurgery_and_team(fs26):
    out = run(fs26, [
        {"claim_id": "a", "hcpcs": "27447", "modifiers": "62", "pos": "21"},  # co-surgery 1: 62.5%, doc
        {"claim_id": "b", "hcpcs": "20983", "modifiers": "62"},  # co-surgery 0: refused
        {"claim_id": "c", "hcpcs": "22818", "modifiers": "62", "pos": "21"},  # co-surgery 2: 62.5%
        {"claim_id": "d", "hcpcs": "22818", "modifiers": "66", "pos": "21"},  # team 2: by report
        {"claim_id": "e", "hcpcs": "27447", "modifiers": "66", "pos": "21"},  # team 0: refused
    ])
    assert out.allowed[0] == half_up(mul(fee("27447", facility=True), 0.625))
    assert out.reason[0] == "COSURG_DOC_REQUIRED"
    assert math.isnan(out.allowed[1]) and out.reason[1] == "COSURG_NOT_ALLOWED"
    assert out.allowed[2] == half_up(mul(fee("22818", facility=True), 0.625)) and out.reason[2] == ""
    assert math.isnan(out.allowed[3]) and out.reason[3] == "TEAM_BY_REPORT"
    assert "by report" in explain("TEAM_BY_REPORT").message
    assert out.reason[4] == "TEAM_NOT_ALLOWED"


def test_endoscopy_family(fs26):
    out = run(fs26, [{"hcpcs": "43239", "pos": "24"}, {"hcpcs": "43249", "pos": "24"},
                     {"hcpcs": "43235", "pos": "24"}])
    f39, f49, base = fee("43239", facility=True), fee("43249", facility=True), fee("43235", facility=True)
    # highest (43249) in full, 43239 minus the base 43235, the base itself not paid
    assert out.allowed.tolist() == [half_up(D(f39) - D(base)), f49, 0.0]
    assert out.reason.tolist() == ["MPPR_ENDOSCOPY", "", "ENDO_BASE_INCLUDED"]
    # the family is then ranked with another surgery: 27447 is higher, the whole family at 50%
    out2 = run(fs26, [{"hcpcs": "43239", "pos": "22"}, {"hcpcs": "43249", "pos": "22"},
                      {"hcpcs": "27447", "pos": "22"}])
    knee = fee("27447", facility=True)
    assert out2.allowed.tolist() == [half_up(mul(D(f39) - D(base), 0.5)), half_up(mul(f49, 0.5)), knee]


def test_imaging_family_88(fs26):
    out = run(fs26, [{"hcpcs": "70450"}, {"hcpcs": "74177"}])
    g70, tc70, pc70 = fee("70450"), fee("70450", "TC"), fee("70450", "26")
    assert (g70, tc70, pc70) == (106.55, 67.14, 39.41)
    # 74177 has the higher TC: paid in full; 70450: TC 50%, PC 95%
    assert out.allowed[1] == fee("74177")
    assert out.allowed[0] == half_up(D(g70) - mul(0.5, tc70) - mul(0.05, pc70))
    assert out.reason[0] == "MPPR_IMAGING"
    # components billed apart: TCs ranked by TC, PCs by PC
    out2 = run(fs26, [{"hcpcs": "70450", "modifiers": "TC"}, {"hcpcs": "74177", "modifiers": "TC"},
                      {"hcpcs": "70450", "modifiers": "26"}, {"hcpcs": "74177", "modifiers": "26"}])
    assert out2.allowed.tolist() == [half_up(mul(tc70, 0.5)), fee("74177", "TC"), half_up(mul(pc70, 0.95)),
                                     fee("74177", "26")]


def test_therapy_mppr(fs26):
    out = run(fs26, [{"hcpcs": "97110", "units": 2}, {"hcpcs": "97140"}])
    pe110, pe140 = mul(0.41, CF26), mul(0.39, CF26)
    # first unit of the highest PE (97110) in full; the other units lose half their PE
    assert out.allowed[0] == half_up(mul(fee("97110"), 2) - mul(0.5, pe110))
    assert out.allowed[1] == half_up(D(fee("97140")) - mul(0.5, pe140))
    assert set(out.reason) == {"MPPR_THERAPY"}


def test_cardiovascular_and_ophthalmology_tc(fs26):
    rv = fs26.rvus.set_index(["hcpcs", "modifier"])
    for ind, code, rate in (("6", "75605", 0.75), ("7", "76512", 0.80)):
        assert rv.loc[(code, ""), "mult_proc"] == ind
        w, pe, mp = rv.loc[(code, "TC"), ["work_rvu", "pe_nonfacility", "mp_rvu"]]
        tc = half_up((D(w) + D(pe) + D(mp)) * D(CF26))
        out = run(fs26, [{"hcpcs": code, "modifiers": "TC", "units": 2}])
        # second unit is a later procedure: TC paid at 75% (cardiovascular) / 80% (ophthalmology)
        assert out.allowed[0] == half_up(D(tc) + mul(rate, tc)), code


def test_units_multiply_and_bad_units(fs26):
    out = run(fs26, [{"hcpcs": "99213", "units": 3}, {"hcpcs": "99213", "units": 0, "claim_id": "x"},
                     {"hcpcs": "99213", "units": "two", "claim_id": "y"}])
    assert out.allowed[0] == half_up(mul(fee("99213"), 3)) and out.units_factor[0] == 3
    assert out.reason[1] == out.reason[2] == "REPRICE_BAD_UNITS"


def test_nonpar_limiting_charge_charge_and_sequestration(fs26):
    out = run(fs26, [{"hcpcs": "99213", "participating": "N"},
                     {"hcpcs": "99213", "claim_id": "b", "charge": 50.0},
                     {"hcpcs": "99213", "claim_id": "c", "charge": 500.0}], sequestration=True)
    f = fee("99213")  # 2.85 * 33.4009 = 95.19
    assert f == 95.19
    assert out.allowed[0] == half_up(mul(f, 0.95)) and out.limiting_charge[0] == half_up(mul(f, 1.0925))
    assert "NONPAR_95" in out.reason[0]
    assert out.allowed[1] == 50.0 and out.charge_limited[1] and out.reason[1] == "CHARGE_LOWER"
    assert out.allowed[2] == f and not out.charge_limited[2]
    # sequestration: 2% of Medicare's 80% share
    assert out.sequestration[2] == half_up(mul(f, 0.8, 0.02))
    assert out.medicare_payment[2] == half_up(D(half_up(mul(f, 0.8))) - D(half_up(mul(f, 0.8, 0.02))))


@pytest.mark.parametrize("pos,setting", [
    ("11", "nonfacility"), ("12", "nonfacility"), ("99", "nonfacility"), ("02", "facility"),
    *[(p, "facility") for p in ("19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52",
                                "53", "56", "61")],
])
def test_pos_setting(fs26, pos, setting):
    out = run(fs26, [{"hcpcs": "20983", "pos": pos}])
    assert out.setting[0] == setting
    assert out.allowed[0] == fee("20983", facility=setting == "facility")


def test_pos_ints_and_unknown(fs26):
    out = run(fs26, [{"hcpcs": "99213", "pos": 11}, {"hcpcs": "99213", "pos": "7", "claim_id": "b"},
                     {"hcpcs": "99213", "pos": "xx", "claim_id": "c"}, {"hcpcs": "99213", "pos": None,
                                                                      "claim_id": "d"}])
    assert out.setting[0] == "nonfacility"
    assert out.reason[1:].tolist() == ["REPRICE_BAD_POS"] * 3


def test_facility_na(fs26):
    out = run(fs26, [{"hcpcs": "27447", "pos": "11"}])  # total knee: non-facility NA
    assert math.isnan(out.allowed[0]) and out.reason[0] == "PFS_NA_NONFACILITY"


def test_modifier_rows(fs26):
    out = run(fs26, [{"hcpcs": "45378", "modifiers": "53", "pos": "22"},
                     {"hcpcs": "27447", "modifiers": "53", "pos": "22", "claim_id": "b"},
                     {"hcpcs": "99213", "modifiers": "26", "claim_id": "c"},
                     {"hcpcs": "71046", "modifiers": "26 TC", "claim_id": "d"}])
    assert out.allowed[0] == fee("45378", "53", facility=True)
    assert out.reason[1] == "MOD53_BY_REPORT" and out.reason[2] == "MOD_PCTC_NOT_ALLOWED"
    assert "MOD_PCTC_BOTH" in out.reason[3] and not out.payable[3]


def test_status_t_bundled_with_another_service(fs26):
    out = run(fs26, [{"hcpcs": "96523"}, {"hcpcs": "99213"}, {"hcpcs": "96523", "claim_id": "alone"}])
    assert out.status[0] == "T"
    assert out.allowed[0] == 0.0 and out.reason[0] == "STATUS_T_BUNDLED" and out.payable[0]
    assert out.allowed[2] > 0 and out.reason[2] == ""


def test_status_not_payable_and_unknown(fs26):
    out = run(fs26, [{"hcpcs": "G0463"}, {"hcpcs": "0000Z"}, {"hcpcs": "not a code"}])
    # a well-formed code the file does not list is unknown; text that is no code says so
    assert out.reason.tolist() == ["PFS_STATUS_X", "REPRICE_UNKNOWN_CODE", "REPRICE_BAD_CODE"]
    assert out.allowed.isna().all() and not out.payable.any()


def test_locality_problems(fs26):
    out = run(fs26, [{"hcpcs": "99213", "locality": "99999-99"}, {"hcpcs": "99213", "locality": None},
                     {"hcpcs": "99213", "locality": None, "zip": "00000"},
                     {"hcpcs": "99213", "locality": "01112-18"}])  # LA under the other California MAC
    assert out.reason[:3].tolist() == ["REPRICE_NO_LOCALITY"] * 3
    assert out.locality_id[3] == "01182-18" and out.payable[3]


def test_dates_pick_releases(fs26, fs25):
    rows = [{"hcpcs": "99213", "date_of_service": d, "claim_id": d} for d in
            ("2026-08-03", "2025-11-20", "2026-02-10", "2024-06-01", "not a date", None)]
    base = {"modifiers": "", "units": 1, "pos": "11", "locality": "national"}
    out = reprice(pd.DataFrame([{**base, **r} for r in rows]), releases={"a": fs26, "b": fs25})
    assert out.release.tolist()[:3] == ["rvu26c", "rvu25d", "rvu26c"]
    assert out.release_note[0] == out.release_note[1] == ""
    assert "rvu26a" in out.release_note[2] and "rvu26c" in out.release_note[2]
    assert out.reason[2] == "REPRICE_RELEASE_FALLBACK" and out.payable[2]
    assert out.payable[1] and out.reason[1] == ""
    assert out.reason[3] == "REPRICE_NO_RELEASE"
    assert out.reason[4] == "REPRICE_BAD_DATE"
    assert out.reason[5] == "CLAIM_ID_MISSING|REPRICE_BAD_DATE"  # its claim id (the date) is None too


def test_choose_for_quarter_rules(fs26):
    from rvucalc import catalogue

    avail = {"rvu26c": catalogue.get("rvu26c")}
    assert choose_for_quarter(2026, 3, avail) == ("rvu26c", "")
    rid, note = choose_for_quarter(2026, 1, avail)
    assert rid == "rvu26c" and note.startswith("rvu26a")
    rid, note = choose_for_quarter(2026, 4, avail)  # October: an earlier quarter's release is used
    assert rid == "rvu26c" and "rvu26d" in note
    assert choose_for_quarter(2024, 2, avail)[0] is None


def test_default_releases_loaded_from_mirror():
    df = pd.DataFrame({"claim_id": [1], "hcpcs": ["99213"], "pos": ["11"], "locality": ["national"],
                       "date_of_service": [pd.Timestamp("2026-07-15")]})
    out = reprice(df)
    assert out.release[0] == "rvu26c" and out.allowed[0] == half_up(mul(2.85, CF26))


def test_missing_columns_raise():
    with pytest.raises(ValueError, match="zip or locality"):
        reprice(pd.DataFrame({"claim_id": [1], "hcpcs": ["99213"], "pos": ["11"], "date_of_service": ["2026-01-01"]}))


def test_ten_thousand_bad_lines_keep_count_and_order(fs26):
    rng = np.random.default_rng(4)
    n = 12_000
    pick = lambda vals: [vals[i] for i in rng.integers(0, len(vals), n)]  # noqa: E731
    df = pd.DataFrame({
        "claim_id": pick([1, 2, "x", None, 3.5]),
        "hcpcs": pick(["99213", "27447", "71046", "ZZZZZ", "", None, 12345, "43239", "9921"]),
        "modifiers": pick(["", "26", "TC", "50", "51 LT", "80", "62", "66", "zz", None, "50,lt", 26]),
        "units": pick([1, 2, 0, -1, None, "a", 1.5, 3]),
        "pos": pick(["11", "22", "00", "", None, 11, "XX", "21"]),
        "zip": pick(["90012", "00000", "abc", None, 2108, "10001-1234"]),
        "date_of_service": pick(["2026-08-03", "2025-12-01", "2019-01-01", "bad", None, "2026-13-45"]),
        "charge": pick([100.0, None, "n/a", 5.0]),
    })
    df["row"] = np.arange(n)
    out = reprice(df, releases=[fs26])
    assert len(out) == n and out["row"].tolist() == list(range(n))
    assert (out.index == df.index).all()
    bad = ~out.payable
    assert (out.loc[bad, "reason"] != "").all()  # every unpriced line says why
    assert out.loc[bad, "allowed"].isna().all() and out.loc[~bad, "allowed"].notna().all()
    for cell in out.reason.unique():
        for code in filter(None, cell.split("|")):
            assert explain(code) is not None


def test_a_lines_reasons_do_not_depend_on_the_other_lines_of_its_chunk(fs26, fs25):
    """Streaming parts and Dask partitions hold other lines than the whole file: a line's reason
    text must come out the same in each (here: a 2025 line priced alone, or after a 2026 line
    whose release is looked up first)."""
    a = {"claim_id": "A", "hcpcs": "99213", "modifiers": "", "units": "1", "pos": "11", "zip": "00000",
         "date_of_service": "2026-08-03"}  # no locality
    b = {**a, "claim_id": "B", "hcpcs": "ZZZZZ", "date_of_service": "2025-08-03"}  # unknown code too
    releases = {"a": fs26, "b": fs25}
    both = reprice(pd.DataFrame([a, b]), releases=releases)
    alone = reprice(pd.DataFrame([b]), releases=releases)
    # the release stage's reason first (rvu25d stands in for July 2025's release), then the
    # lookup's in the order it checks them: the code, then the locality
    assert both["reason"][1] == alone["reason"][0] == \
        "REPRICE_RELEASE_FALLBACK|REPRICE_UNKNOWN_CODE|REPRICE_NO_LOCALITY"
