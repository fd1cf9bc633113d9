"""Payer contracts (issue 23): contract files, pricing under them, and their arithmetic.

Expected amounts are hand arithmetic written here, from the CMS rows quoted in each test (the
mirror's CY2026 RVU26C and CY2025 RVU25D files) or from the lines' own figures.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rvucalc
from rvucalc.calc import contracts as K
from rvucalc.contracts import ContractFileError, load, price_contracts

EXAMPLE = """\
name: acme-ppo-2026
base: medicare              # Medicare of each line's date of service
lesser_of_charge: true      # never more than the billed charge
terms:                      # first match wins
  - name: surgery
    match: {fee_schedule: pfs, codes: ["10004-69990"]}
    pay: {percent_of_medicare: 135}
  - name: professional
    match: {fee_schedule: pfs}
    pay: {percent_of_medicare: 120}
  - name: lab
    match: {fee_schedule: clfs}
    pay: {percent_of_medicare: 100}
  - name: drugs
    match: {fee_schedule: asp}
    pay: {percent_of_medicare: 110}
  - name: knee case rate
    match: {codes: ["27447"], setting: hopd}
    pay: {per_claim: 25000.00}
  - name: all other
    pay: {percent_of_charge: 45}
"""

HUNDRED = """\
name: medicare-100
terms:
  - name: everything at Medicare
    pay: {percent_of_medicare: 100}
"""

# CY2026 RVU26C (PPRRVU2026_Jul_nonQPP.csv), conversion factor 33.4009; GPCI2026.csv locality
# 01182-18 (LOS ANGELES-LONG BEACH-ANAHEIM), the locality of ZIP 90012: work 1.041, PE 1.183, MP 0.664
CF26, GPCI26 = 33.4009, (1.041, 1.183, 0.664)
RVU26 = {"99214": (1.92, 2.00, 0.14), "20983": (6.71, 139.34, 0.83), "99213": (1.30, 1.46, 0.09)}
# CY2025 RVU25D (PPRRVU2025_Oct.csv), CF 32.3465; GPCI2025.csv 01182-18: 1.042, 1.194, 0.69
CF25, GPCI25 = 32.3465, (1.042, 1.194, 0.69)
RVU25 = {"99214": (1.92, 1.80, 0.15)}


def office_amount(rvus: tuple[float, float, float], gpci: tuple[float, float, float], cf: float) -> float:
    """[(work x wGPCI) + (PE x peGPCI) + (MP x mpGPCI)] x CF, rounded half up to the cent."""
    raw = sum(r * g for r, g in zip(rvus, gpci)) * cf
    return float(np.floor(raw * 100 + 0.5 + 1e-6) / 100)


def write(tmp_path: Path, text: str, name: str = "contract.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def la_lines(rows: list[dict]) -> pd.DataFrame:
    """Office lines in Los Angeles (ZIP 90012, POS 11), 2026-03-10, as a CSV gives them (text)."""
    base = {"claim_id": "c1", "modifiers": "", "units": "1", "pos": "11", "zip": "90012",
            "date_of_service": "2026-03-10", "charge": ""}
    return pd.DataFrame([{**base, **r} for r in rows])


@pytest.fixture(scope="module")
def mirror_files(mirror):
    mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv")
    mirror("pfs/rvu26c/GPCI2026.csv")
    mirror("pfs/rvu25d/PPRRVU2025_Oct.csv")
    mirror("pfs/rvu25d/GPCI2025.csv")
    mirror("pfs/zip5_jan2026/ZIP5_JAN2026.xlsx")
    return mirror


# ---------------------------------------------------------------------------
# acceptance: the example contract, one office claim in Los Angeles


def test_hand_figures_of_the_mirror_rows():
    assert office_amount(RVU26["99214"], GPCI26, CF26) == 148.89
    assert office_amount(RVU26["20983"], GPCI26, CF26) == 5757.50
    assert office_amount(RVU25["99214"], GPCI25, CF25) == 137.58


def test_example_contract_office_claim(tmp_path, mirror_files):
    acme = load(write(tmp_path, EXAMPLE))
    lines = la_lines([{"hcpcs": "99214"}, {"hcpcs": "20983", "charge": "9000"},
                      {"claim_id": "c2", "hcpcs": "20983", "charge": "$7,000.00"}])
    out = price_contracts(lines, acme, columns="all")
    assert list(out["line"]) == [0, 1, 2]
    assert list(out["term"]) == ["professional", "surgery", "surgery"]
    m = out["medicare_allowed"].tolist()
    assert m == [148.89, 5757.50, 5757.50]
    # 120% of $148.89 = $178.668 -> $178.67; 135% of $5,757.50 = $7,772.625 -> $7,772.63
    assert out["contract_allowed"].tolist() == [178.67, 7772.63, 7000.00]
    assert round(148.89 * 1.20, 3) == 178.668 and 5757.50 * 135 == 777262.5
    # with a charge of $7,000.00 the lesser of charge gives the charge
    assert "CONTRACT_CHARGE_LOWER" in out["reason"].iloc[2]
    assert "CONTRACT_CHARGE_LOWER" not in out["reason"].iloc[1]
    # the user's columns come back as given
    assert out["charge"].tolist() == ["", "9000", "$7,000.00"]
    assert out["percent_of_medicare"].iloc[0] == pytest.approx(178.67 / 148.89 * 100)


def test_lab_and_drug_terms_with_amounts_given(tmp_path):
    """80053 and J9271 priced elsewhere (CLFS, ASP): lines carry fee_schedule and medicare_allowed."""
    acme = load(write(tmp_path, EXAMPLE))
    lines = pd.DataFrame({
        "claim_id": ["c1", "c1", "c1"], "hcpcs": ["80053", "J9271", "99214"], "units": ["1", "200", "1"],
        "pos": ["11", "11", "11"], "date_of_service": ["2026-03-10"] * 3, "charge": ["", "", ""],
        "fee_schedule": ["clfs", "asp", "pfs"], "medicare_allowed": [10.56, 11945.20, 148.89]})
    out = price_contracts(lines, acme, columns="all")
    assert list(out["term"]) == ["lab", "drugs", "professional"]
    # 100% of $10.56; J9271 x 200 at 110% of $11,945.20 = $13,139.72; 120% of $148.89
    assert out["contract_allowed"].tolist() == [10.56, 13139.72, 178.67]
    assert round(11945.20 * 1.10, 2) == 13139.72
    # the columns the Medicare amounts came in come back as given, beside the ones read from them
    assert out["given_fee_schedule"].tolist() == ["clfs", "asp", "pfs"]
    assert out["given_medicare_allowed"].tolist() == [10.56, 11945.20, 148.89]
    assert out["medicare_allowed"].tolist() == [10.56, 11945.20, 148.89]


def test_lines_priced_by_rvucalc_reprice_are_accepted(tmp_path, mirror_files):
    acme = load(write(tmp_path, EXAMPLE))
    # 0001U in 2025: no CLFS file of 2025 at hand, so the PFS's reason stays (NOT_PFS_CLFS)
    priced = rvucalc.reprice(la_lines([{"hcpcs": "99214"}, {"hcpcs": "0001U", "date_of_service": "2025-03-10"}]))
    out = price_contracts(priced, acme, columns="all")
    assert out["contract_allowed"].iloc[0] == 178.67
    assert out["fee_schedule"].tolist() == ["pfs", "clfs"]
    assert np.isnan(out["contract_allowed"].iloc[1]) and "NOT_PFS_CLFS" in out["reason"].iloc[1]
    assert "CONTRACT_NO_MEDICARE_PRICER" in out["reason"].iloc[1]
    assert out["given_reason"].iloc[1] == priced["reason"].iloc[1]


def test_a_hundred_percent_contract_gives_medicare_exactly(tmp_path, mirror_files):
    c = load(write(tmp_path, HUNDRED))
    codes = ["99214", "20983", "99213", "71046-26", "99213"]
    lines = la_lines([{"hcpcs": h, "claim_id": f"c{i % 2}", "pos": "11" if i < 3 else "22"}
                      for i, h in enumerate(codes)])
    out = price_contracts(lines, c)
    priced = out["medicare_allowed"].notna()
    assert priced.all()
    assert (out["contract_allowed"] == out["medicare_allowed"]).all()
    assert (out["percent_of_medicare"] == 100.0).all()
    assert out.loc[3:, "setting"].tolist() == ["facility", "facility"]


def test_both_contracts_side_by_side(tmp_path, mirror_files):
    acme = write(tmp_path, EXAMPLE, "acme.yaml")
    hundred = write(tmp_path, HUNDRED, "hundred.yaml")
    lines = la_lines([{"hcpcs": "99214"}, {"hcpcs": "20983", "charge": "9000"}])
    out = price_contracts(lines, [acme, hundred])
    assert list(out["line"]) == [0, 1, 0, 1]  # contract after contract
    assert list(out.columns[:4]) == ["line", "claim_number", "claim_id", "modifiers"]  # then the user's
    assert list(out["contract"]) == ["acme-ppo-2026"] * 2 + ["medicare-100"] * 2
    assert out["contract_allowed"].tolist() == [178.67, 7772.63, 148.89, 5757.50]
    prov = out.attrs["rvucalc.provenance"]
    files = {Path(s["file"]).name: s["sha256"] for s in prov["sources"]}
    import hashlib

    assert files["acme.yaml"] == hashlib.sha256(acme.read_bytes()).hexdigest()
    assert "PPRRVU2026_Jul_nonQPP.csv" in files and "GPCI2026.csv" in files


def test_frozen_base_year_prices_a_2026_line_from_2025_files(tmp_path, mirror_files):
    c = load(write(tmp_path, """\
        name: frozen-2025
        base: medicare 2025
        terms:
          - name: professional
            pay: {percent_of_medicare: 120}
        """))
    out = price_contracts(la_lines([{"hcpcs": "99214"}]), c)
    r = out.iloc[0]
    assert r["base"] == "medicare 2025"
    assert r["medicare_release"] == "rvu25d"
    assert r["base_allowed"] == 137.58  # RVU25D x GPCI2025 x CF 32.3465 (hand arithmetic above)
    assert r["medicare_allowed"] == 148.89  # the date of service's Medicare, for the percent
    # 120% of $137.58 = $165.096 -> $165.10
    assert r["contract_allowed"] == 165.10
    assert r["percent_of_medicare"] == pytest.approx(165.10 / 148.89 * 100)


# ---------------------------------------------------------------------------
# methods


def test_case_rate_shared_by_medicare_amounts_in_cents_that_add_up(tmp_path):
    c = load(write(tmp_path, """\
        name: case
        terms:
          - name: knee
            match: {codes: ["27447", "01402", "L8699"]}
            pay: {per_claim: 1000.00}
          - name: rest
            pay: {percent_of_medicare: 100}
        """))
    lines = pd.DataFrame({
        "claim_id": ["k1", "k1", "k1", "k1", "k2", "k2", "k2"],
        "hcpcs": ["27447", "01402", "L8699", "99213", "27447", "27447", "01402"],
        "date_of_service": ["2026-03-10"] * 7, "fee_schedule": ["pfs"] * 7,
        "medicare_allowed": [100.00, 200.00, 300.01, 50.00, np.nan, np.nan, np.nan],
    })
    out = price_contracts(lines, c)
    a = out["contract_allowed"].tolist()
    # claim k1: 100000 cents by weights 10000, 20000, 30001 (sum 60001): 16666.39, 33332.78,
    # 50001.67 -> floors 16666, 33332, 50001 (99999); the cent left goes to the largest remainder (.78)
    assert a[:3] == [166.66, 333.33, 500.01]
    assert round(sum(a[:3]), 2) == 1000.00
    assert a[3] == 50.00  # not a case-rate code: the next term
    # claim k2: no Medicare amounts, shared equally: 33333.33 each -> 33333 x 3 + 1 cent to the first
    assert a[4:] == [333.34, 333.33, 333.33]
    assert all("CONTRACT_CASE_RATE_EQUAL_SHARES" in r for r in out["reason"].iloc[4:])


def test_case_rate_covering_the_whole_claim_and_lesser_of_charge(tmp_path):
    c = load(write(tmp_path, """\
        name: case
        lesser_of_charge: true
        terms:
          - name: knee episode
            match: {codes: "27447"}
            pay: {per_claim: 25000, covers: claim}
          - name: rest
            pay: {percent_of_medicare: 100}
        """))
    lines = pd.DataFrame({
        "claim_id": ["k1", "k1", "k2", "k2"], "hcpcs": ["27447", "99213", "27447", "01402"],
        "date_of_service": ["2026-03-10"] * 4, "fee_schedule": ["pfs"] * 4,
        "medicare_allowed": [1500.00, 500.00, 1500.00, 500.00],
        "charge": ["30000", "2000", "10000", "2000"]})
    out = price_contracts(lines, c)
    assert list(out["term"]) == ["knee episode"] * 4
    a = out["contract_allowed"].tolist()
    # k1: $25,000 shared 3:1 = 18,750.00 + 6,250.00 (charges $32,000 are higher)
    assert a[:2] == [18750.00, 6250.00]
    # k2: charges $12,000 < $25,000: the claim's charges, shared 3:1 = 9,000.00 + 3,000.00
    assert a[2:] == [9000.00, 3000.00]
    assert all("CONTRACT_CHARGE_LOWER" in r for r in out["reason"].iloc[2:])


def test_percent_of_charge_per_unit_and_first_match_wins(tmp_path):
    c = load(write(tmp_path, """\
        name: mixed
        terms:
          - name: injections
            match: {codes: ["J0120-J9999"], modifiers: [JZ]}
            pay: {per_unit: 12.35}
          - name: bilateral
            match: {modifiers: "50"}
            pay: {percent_of_charge: 62.5}
          - name: hospital
            match: {pos: [21, "22"]}
            pay: {percent_of_charge: 40}
          - name: all other
            pay: {percent_of_charge: 45}
        """))
    lines = pd.DataFrame({
        "claim_id": ["a", "a", "b", "c", "d", "e"],
        "hcpcs": ["J1100", "J1100", "20983-50", "99213", "99213", "99214"],
        "modifiers": ["jz", "", "", "", "50", ""], "units": ["3", "3", "1", "1", "1", "1"],
        "pos": ["11", "11", "22", "22", "11", "11"], "date_of_service": ["2026-03-10"] * 6,
        "charge": ["90", "90", "1000.01", "333.33", "200", ""],
        "fee_schedule": ["asp", "asp", "pfs", "pfs", "pfs", "pfs"], "medicare_allowed": [np.nan] * 6})
    out = price_contracts(lines, c)
    assert list(out["term"]) == ["injections", "all other", "bilateral", "hospital", "bilateral", "all other"]
    # 3 x $12.35; 45% of $90 = $40.50; 62.5% of $1,000.01 = $625.00625 -> $625.01;
    # 40% of $333.33 = $133.332 -> $133.33; 62.5% of $200 = $125.00; no charge: no amount
    assert out["contract_allowed"].tolist()[:5] == [37.05, 40.50, 625.01, 133.33, 125.00]
    assert np.isnan(out["contract_allowed"].iloc[5])
    assert out["reason"].iloc[5] == "CONTRACT_NO_CHARGE"


def test_fee_schedule_file_with_modifier_rows(tmp_path):
    (tmp_path / "fees.csv").write_text("code,modifier,amount\n71046,,40.00\n71046,26,12.50\n"
                                       "71046-TC,,27.50\n99213,,\"$1,100.10\"\n")
    c = load(write(tmp_path, """\
        name: own fees
        escalator: {percent: 2.5, start: 2025-03-01}
        terms:
          - name: our fee schedule
            pay: {fee_schedule_file: fees.csv}
          - name: rest
            pay: {percent_of_charge: 50}
        """))
    lines = pd.DataFrame({
        "claim_id": ["a", "b", "c", "d", "e", "f"], "hcpcs": ["71046", "71046", "71046-TC", "99213", "99214", "99213"],
        "modifiers": ["", "26 LT", "", "", "", ""], "units": ["1", "2", "1", "1", "1", "1"],
        "date_of_service": ["2026-03-10"] * 5 + ["2025-03-10"], "charge": ["100"] * 6,
        "fee_schedule": ["pfs"] * 6, "medicare_allowed": [np.nan] * 6})
    out = price_contracts(lines, c)
    assert list(out["term"]) == ["our fee schedule"] * 4 + ["rest", "our fee schedule"]
    # one anniversary of 2025-03-01 by 2026-03-10: rates x 1.025, rounded to the cent, then x units
    # $40.00 -> $41.00; $12.50 -> $12.8125 -> $12.81 x 2 = $25.62; $27.50 -> $28.1875 -> $28.19;
    # $1,100.10 -> $1,127.6025 -> $1,127.60; 99214 not listed: the next term, 50% of $100;
    # 2025-03-10 is before the first anniversary (2026-03-01): $1,100.10
    assert out["contract_allowed"].tolist() == [41.00, 25.62, 28.19, 1127.60, 50.00, 1100.10]
    assert any(s["file"].endswith("fees.csv") for s in out.attrs["rvucalc.provenance"]["sources"])


def test_versions_and_escalator_on_per_unit(tmp_path):
    c = load(write(tmp_path, """\
        name: dated
        end: 2027-12-31
        escalator: {percent: 3, start: 2026-01-01}
        versions:
          - effective: 2026-01-01
            terms:
              - name: visit
                pay: {per_unit: 100}
          - effective: 2027-01-01
            terms:
              - name: visit
                pay: {per_unit: 110}
        """))
    lines = pd.DataFrame({
        "claim_id": list("abcde"), "hcpcs": ["99213"] * 5,
        "date_of_service": ["2025-12-31", "2026-06-01", "2027-01-01", "2027-06-30", "2028-01-01"],
        "fee_schedule": ["pfs"] * 5, "medicare_allowed": [1.0] * 5})
    out = price_contracts(lines, c)
    assert out["contract_version"].tolist() == ["", "2026-01-01", "2027-01-01", "2027-01-01", ""]
    a = out["contract_allowed"].tolist()
    assert np.isnan(a[0]) and np.isnan(a[4])
    assert out["reason"].iloc[0] == "CONTRACT_NOT_IN_FORCE" and out["reason"].iloc[4] == "CONTRACT_NOT_IN_FORCE"
    # 2026: year 0, $100.00; 2027: one anniversary of 2026-01-01: $110 x 1.03 = $113.30
    assert a[1:4] == [100.00, 113.30, 113.30]


def test_escalator_helpers():
    days = np.array([(np.datetime64(d) - np.datetime64("1970-01-01")).astype(int) for d in
                     ("2024-02-28", "2025-02-27", "2025-02-28", "2028-02-28", "2028-02-29")])
    start = int((np.datetime64("2024-02-29") - np.datetime64("1970-01-01")).astype(int))
    # an anniversary of 29 February falls on 28 February in a common year
    assert K.anniversaries(days, start).tolist() == [0, 0, 1, 3, 4]
    from decimal import Decimal

    assert K.escalate(Decimal("100"), Decimal("3"), 2) == Decimal("106.09")
    assert K.escalate(Decimal("100"), Decimal("3"), 2, compound=False) == Decimal("106.00")
    assert K.escalate(Decimal("120"), Decimal("2"), 1, quantum=Decimal("0.0001")) == Decimal("122.4000")


def test_percent_arithmetic_is_exact_half_up():
    assert K.percent_of(np.array([14889, 575750, 1]), K.percent_units("120")).tolist()[:1] == [17867]
    assert K.percent_of(np.array([575750]), K.percent_units("135")).tolist() == [777263]
    # 49.9999% of 1 cent is 0.499999 cents: rounds down (a float nudge would round it up)
    assert K.percent_of(np.array([1]), K.percent_units("49.9999")).tolist() == [0]
    assert K.percent_of(np.array([1]), K.percent_units("50")).tolist() == [1]
    with pytest.raises(ValueError):
        K.percent_units("1.00001")


def test_allocate_adds_up_on_random_claims():
    rng = np.random.default_rng(7)
    group = np.sort(rng.integers(0, 500, 3000))
    group = pd.factorize(group)[0]
    n = int(group.max()) + 1
    weight = rng.integers(0, 100_000, len(group))
    weight[rng.random(len(group)) < 0.1] = 0
    total = rng.integers(0, 10_000_000, n)
    share, _ = K.allocate(group, weight, total)
    assert (K.group_sum(group, share, n) == total).all()
    assert (share >= 0).all()


# ---------------------------------------------------------------------------
# lines without a Medicare amount: the fallback, or no amount with a reason (never $0)


FALLBACK = """\
name: with fallback
fallback:
  name: no Medicare rate
  pay: {percent_of_charge: 45}
terms:
  - name: professional
    pay: {percent_of_medicare: 120}
"""


def test_fallback_for_a_service_medicare_has_no_rate_for(tmp_path, mirror_files):
    c = load(write(tmp_path, FALLBACK))
    no_fb = load(write(tmp_path, FALLBACK.replace("with fallback", "no fallback").split("fallback:\n")[0]
                       + "terms:\n  - name: professional\n    pay: {percent_of_medicare: 120}\n", "nofb.yaml"))
    lines = la_lines([{"hcpcs": "S9083", "charge": "200"},           # private payer code: no Medicare rate
                      {"hcpcs": "99214", "charge": "500"},
                      {"hcpcs": "99214", "charge": "200", "date_of_service": "2023-03-10"},  # no 2023 release
                      # a CLFS code in 2025: no CLFS file of 2025 at hand (2026's is priced: test_fee_wiring)
                      {"hcpcs": "80053", "charge": "50", "date_of_service": "2025-03-10"}])
    out = price_contracts(lines, [c, no_fb])
    out = out.sort_values(["line", "contract"], kind="stable").reset_index(drop=True)  # side by side
    a = out["contract_allowed"].tolist()
    r = out["reason"].tolist()
    # with the fallback: 45% of $200 = $90.00, said
    assert a[0] == 90.00 and out["term"].iloc[0] == "no Medicare rate"
    assert r[0].startswith("CONTRACT_FALLBACK") and "NOT_PFS_NOT_MEDICARE" in r[0]
    # without one: no amount, the reason names Medicare's
    assert np.isnan(a[1]) and r[1].startswith("CONTRACT_NO_MEDICARE") and "NOT_PFS_NOT_MEDICARE" in r[1]
    assert a[2] == 178.67 and a[3] == 178.67
    # missing data is not "no Medicare rate": no fallback, no amount
    for i in (4, 5):
        assert np.isnan(a[i]) and "REPRICE_NO_RELEASE" in r[i] and "CONTRACT_FALLBACK" not in r[i]
    for i in (6, 7):
        assert np.isnan(a[i]) and "CONTRACT_NO_MEDICARE_PRICER" in r[i] and "CONTRACT_FALLBACK" not in r[i]
    assert not (out["contract_allowed"] == 0).any()


def test_bad_lines_and_lines_no_term_prices(tmp_path, mirror_files):
    c = load(write(tmp_path, """\
        name: narrow
        terms:
          - name: visits
            match: {codes: ["99202-99499"]}
            pay: {percent_of_medicare: 120}
        """))
    lines = la_lines([{"hcpcs": "99214", "units": "1.5"}, {"hcpcs": "9921"}, {"hcpcs": "20983"},
                      {"hcpcs": "99214", "date_of_service": "13/45/2026"}])
    out = price_contracts(lines, c)
    assert out["contract_allowed"].isna().all()
    assert out["reason"].tolist() == ["CONTRACT_BAD_LINE|REPRICE_BAD_UNITS", "CONTRACT_BAD_LINE|REPRICE_BAD_CODE",
                                      "CONTRACT_NO_TERM", "CONTRACT_BAD_LINE|REPRICE_BAD_DATE"]
    for code in ("CONTRACT_BAD_LINE", "CONTRACT_NO_TERM", "CONTRACT_NO_MEDICARE", "CONTRACT_FALLBACK"):
        assert rvucalc.explain(code) is not None


# ---------------------------------------------------------------------------
# the contract file: errors name the line


@pytest.mark.parametrize("text, line, words", [
    ("name: x\nterms:\n  - name: a\n    pay: {percent_of_medicar: 120}\n", 4, "did you mean 'percent_of_medicare'"),
    ("name: x\nterms:\n  - name: a\n    pay:\n      percent_of_medicare: 120\n      per_unit: 5\n", 4,
     "exactly one way to pay"),
    ("name: x\nterms:\n  - name: a\n    pay:\n      percent_of_medicare: lots\n", 5, "expected a percentage"),
    ("name: x\nterms:\n  - name: a\n    match: {codes: [J0120-K9999]}\n    pay: {per_unit: 5}\n", 4,
     "letters in the same places"),
    ("name: x\nterms:\n  - name: a\n    pay: {per_unit: 5}\n    pay: {per_unit: 6}\n", 5, "given twice"),
    ("name: x\nterms:\n  - name: a\n    pay: {percent_of_medicare: 120.00001}\n", 4, "four decimals"),
    ("name: x\nbase: medicaid\nterms:\n  - pay: {per_unit: 5}\n", 2, "medicare YYYY"),
    ("name: x\nterms:\n  - name: a\n    pay: {per_unit: 5}\n  - name: b\n    pay: {per_unit: 5}\n"
     "    match: {setting: clinic}\n", 7, "expected a setting"),
    ("name: x\nterms: [\n", 3, "not valid YAML"),
    ("name: x\nfallback: {pay: {percent_of_medicare: 50}}\nterms:\n  - pay: {per_unit: 5}\n", 2,
     "cannot pay percent_of_medicare"),
    ("name: x\nlesser_of_charge: maybe\nterms:\n  - pay: {per_unit: 5}\n", 2, "true or false"),
])
def test_contract_errors_name_the_line(tmp_path, text, line, words):
    p = write(tmp_path, text)
    with pytest.raises(ContractFileError) as e:
        load(p)
    assert e.value.line == line, str(e.value)
    assert f"line {line}" in str(e.value) and p.name in str(e.value)
    assert words in str(e.value)


def test_codes_are_read_as_written(tmp_path):
    c = load(write(tmp_path, "name: anes\nterms:\n  - match: {codes: [00100-01999, 0001T]}\n"
                             "    pay: {per_unit: 5}\n"))
    assert c.versions[0].terms[0].match.codes == ["00100-01999", "0001T"]
    assert c.versions[0].terms[0].name == "term 1"


def test_fee_file_errors_name_its_line(tmp_path):
    (tmp_path / "fees.csv").write_text("code,amount\n99213,85.00\n99214,eighty\n")
    p = write(tmp_path, "name: x\nterms:\n  - name: fees\n    pay: {fee_schedule_file: fees.csv}\n")
    with pytest.raises(ContractFileError) as e:
        load(p)
    assert "fees.csv, line 3" in str(e.value) and "line 4" in str(e.value)


def test_lines_with_amounts_need_their_fee_schedule(tmp_path):
    c = load(write(tmp_path, HUNDRED))
    lines = pd.DataFrame({"claim_id": ["a"], "hcpcs": ["80053"], "date_of_service": ["2026-01-05"],
                          "medicare_allowed": [10.56]})
    with pytest.raises(ValueError, match="fee_schedule"):
        price_contracts(lines, c)


def test_facility_contract_on_hospital_outpatient_lines(tmp_path, mirror):
    """--setting hopd: Medicare is the OPPS facility payment (January 2025 Addendum B, wage index
    1.0: the national rate): 20983 APC 5114 $7,143.73, 96413 APC 5694 $331.69, 71046 APC 5521 $88.05."""
    mirror("opps/2025-01/January 2025 Web Addendum B.12.31.24.csv")
    c = load(write(tmp_path, """\
        name: hospital
        terms:
          - name: outpatient surgery case rate
            match: {setting: hopd, codes: ["10004-69990"]}
            pay: {per_claim: 9000}
          - name: outpatient
            match: {setting: hopd}
            pay: {percent_of_medicare: 150}
        """))
    lines = pd.DataFrame({"claim_id": ["h1", "h2", "h2"], "hcpcs": ["20983", "96413", "71046"],
                          "date_of_service": ["2025-03-10"] * 3, "wage_index": ["1.0"] * 3})
    out = price_contracts(lines, c, setting="hopd")
    assert out["setting"].tolist() == ["hopd"] * 3 and out["fee_schedule"].tolist() == ["opps"] * 3
    assert out["medicare_allowed"].tolist() == [7143.73, 331.69, 88.05]
    # the case rate once; 150% of $331.69 = $497.535 -> $497.54; 150% of $88.05 = $132.075 -> $132.08
    assert out["contract_allowed"].tolist() == [9000.00, 497.54, 132.08]
    assert out["medicare_release"].tolist() == ["opps-2025-01"] * 3


def test_versions_with_their_own_base_and_escalated_percent(tmp_path, mirror_files):
    """Until 2026-06-30 the contract pays 120% of Medicare frozen at 2025; from 2026-07-01 110% of
    the date of service's Medicare, raised 2% a year from 2025-07-01 (applies to the percentage)."""
    c = load(write(tmp_path, """\
        name: two bases
        versions:
          - effective: 2026-01-01
            base: medicare 2025
            terms:
              - name: visits
                pay: {percent_of_medicare: 120}
          - effective: 2026-07-01
            escalator: {percent: 2, start: 2025-07-01, applies_to: [percent_of_medicare]}
            terms:
              - name: visits
                pay: {percent_of_medicare: 110}
        """))
    lines = la_lines([{"hcpcs": "99214"}, {"hcpcs": "99214", "date_of_service": "2026-08-03"}])
    out = price_contracts(lines, c)
    assert out["base"].tolist() == ["medicare 2025", "medicare"]
    assert out["base_allowed"].tolist() == [137.58, 148.89]
    # 120% of $137.58 = $165.096 -> $165.10; one anniversary: 110% x 1.02 = 112.2% of $148.89
    # = $167.05458 -> $167.05
    assert out["contract_allowed"].tolist() == [165.10, 167.05]
    assert out["medicare_release"].tolist() == ["rvu25d", "rvu26c"]


def test_no_lines_and_no_columns(tmp_path, mirror_files):
    c = load(write(tmp_path, HUNDRED))
    empty = la_lines([{"hcpcs": "99214"}]).iloc[:0]
    out = price_contracts(empty, c)
    assert len(out) == 0 and "contract_allowed" in out.columns
    out = price_contracts(la_lines([{"hcpcs": "99214"}]), c, columns=None)
    assert list(out.columns[:3]) == ["line", "claim_number", "contract"]


def test_reason_codes_are_known_without_loading_contracts():
    """A reason read back from a file is explained in a new session (the contracts package itself
    is loaded on first use, its reasons with ``import rvucalc``)."""
    import subprocess
    import sys

    code = ("import sys, rvucalc; print(rvucalc.explain('CONTRACT_FALLBACK').code); "
            "print('rvucalc.contracts' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.split() == ["CONTRACT_FALLBACK", "False"]


def test_a_version_without_lines_does_not_shift_the_others(tmp_path, mirror_files):
    c = load(write(tmp_path, """\
        name: two versions
        versions:
          - effective: 2025-01-01
            base: medicare 2025
            fallback: {pay: {per_unit: 1}}
            terms:
              - name: old visits
                pay: {percent_of_medicare: 100}
          - effective: 2026-01-01
            terms:
              - name: visits
                pay: {percent_of_medicare: 100}
        """))
    out = price_contracts(la_lines([{"hcpcs": "99214"}]), c)  # 2026-03-10: the second version only
    assert out["term"].tolist() == ["visits"] and out["base"].tolist() == ["medicare"]
    assert out["contract_allowed"].tolist() == [148.89]


# ---------------------------------------------------------------------------
# the terms chosen per distinct combination of matched values, and the claims from the parsed lines


def _messy_book(n: int = 4000, seed: int = 5) -> pd.DataFrame:
    """Lines given with their Medicare amounts (no CMS file read): codes with and without
    modifiers, bad cells, claims without ids, several places, dates and fee schedules."""
    rng = np.random.default_rng(seed)
    pick = lambda xs: rng.choice(np.array(xs, dtype=object), n)  # noqa: E731
    return pd.DataFrame({
        "claim_id": pick([f"c{i}" for i in range(900)] + ["", ""]),
        "hcpcs": pick(["99213", "99214", "27447", "27130", "71046", "71046-26", "J1100", "80053", "0001U",
                       "G0463", "9921", "73721-TC"]),
        "modifiers": pick(["", "", "TC", "50", "jz", "26 RT", "LT"]),
        "units": pick(["1", "1", "2", "x"]),
        "pos": pick(["11", "22", "21", "", "99", "11.0"]),
        "date_of_service": pick(["2026-03-10", "2026-09-15", "2025-12-01", "2026-10-02", "bad", ""]),
        "charge": pick(["", "100", "2500.5", "-3", "40000", "75.25"]),
        "fee_schedule": pick(["pfs", "pfs", "clfs", "asp", "dmepos"]),
        "medicare_allowed": pick([np.nan, 10.0, 148.89, 5757.5, 0.0, 31.17]),
    })


@pytest.mark.parametrize("few", [1e9, 0.0])  # always by combos; never (every line by itself)
@pytest.mark.parametrize("counted", [1 << 22, 40, 0])  # values combined by counting: all at once,
# renumbered between values, or hashed
def test_terms_of_distinct_combos_are_those_of_each_lines_masks(tmp_path, monkeypatch, few, counted):
    """The first matching term found once per distinct (code, cells, place, schedule, setting)
    combination is the one each line's own masks give (first match wins; a case rate covering
    whole claims takes its claims' lines no earlier term took)."""
    from rvucalc.contracts import match
    from rvucalc.contracts import medicare as M

    monkeypatch.setattr(match, "FEW_COMBOS", few)
    monkeypatch.setattr(match, "COUNTED_RANGE", counted)
    from rvucalc.contracts.match import LineIndex
    from rvucalc.contracts.price import _version_of

    (tmp_path / "fees.csv").write_text("code,modifier,amount\n71046,,40.00\n71046,26,12.50\n99213,,80\n")
    c = load(write(tmp_path, """\
        name: many terms
        fallback: {name: no rate, pay: {percent_of_charge: 30}}
        versions:
          - effective: 2025-07-01
            terms:
              - name: imaging TC
                match: {codes: ["70010-79999"], modifiers: [TC]}
                pay: {percent_of_medicare: 95}
              - name: knee episode
                match: {codes: ["27447"]}
                pay: {per_claim: 20000, covers: claim}
              - name: own fees
                pay: {fee_schedule_file: fees.csv}
              - name: hospital place
                match: {pos: ["21"], fee_schedule: pfs}
                pay: {percent_of_charge: 40}
              - name: hip episode
                match: {codes: ["27130"]}
                pay: {per_claim: 15000, covers: claim}
              - name: labs and drugs
                match: {fee_schedule: [clfs, asp]}
                pay: {percent_of_medicare: 100}
          - effective: 2026-09-01
            terms:
              - name: bilateral
                match: {modifiers: ["50"]}
                pay: {percent_of_medicare: 150}
              - name: visits
                match: {codes: ["99202-99499"], not_codes: ["99214"]}
                pay: {per_unit: 90}
        """))
    lines = _messy_book()
    out = price_contracts(lines, c)
    facts, meds = M.price(lines)
    index = LineIndex(facts, meds[None])
    dense = pd.factorize(facts.lines.claim)[0]
    vline = _version_of(c, facts.day)
    want = np.full(len(lines), "", dtype=object)
    for v, version in enumerate(c.versions):
        free = (vline == v) & ~facts.refused
        for t in version.terms:  # the line-by-line masks, in the contract's order
            m = index.mask(t.match) & free
            if t.method == "fee_schedule_file":
                m &= index.fee_rates(t.fee_table) >= 0
            if t.method == "per_claim" and t.covers == "claim":
                m = np.isin(dense, dense[m]) & free
            want[m] = t.name
            free &= ~m
    got = out["term"].astype(object).to_numpy()
    fell_back = got == "no rate"  # the fallback prices lines a percent of Medicare could not
    assert (got[~fell_back] == want[~fell_back]).all()
    assert set(want[fell_back]) <= {"imaging TC", "labs and drugs", "bilateral"}
    assert len(set(want)) == 9  # every term (and no term) occurs


@pytest.mark.parametrize("threads", [False, True])
def test_price_book_claims_are_claims_side_by_side_of_its_rows(tmp_path, mirror_files, monkeypatch, threads):
    """``price_book`` makes the per-claim table from the parsed lines and the contracts' cents:
    the same table as reading the rows back (dates, places, charges, first unpriced reasons).
    With the contracts (and the claims' dates and places) priced on threads, as a large book's
    are, the rows and claims are those priced one after the other."""
    import os

    from rvucalc.contracts import claims_side_by_side, price_book
    from rvucalc.contracts import price as P

    if threads:
        monkeypatch.setattr(P, "PARALLEL_LINES", 0)
        if (os.cpu_count() or 1) > 1:
            pool = P._pool(10)
            assert pool is not None
            pool.shutdown()
        import threading

        got: list = []  # from another thread (an engine's worker): one after the other
        t = threading.Thread(target=lambda: got.append(P._pool(10)))
        t.start()
        t.join()
        assert got == [None]

    def same_as_serial(book, *args, **kw):
        if threads:
            with monkeypatch.context() as m:
                m.setattr(P, "PARALLEL_LINES", 10**12)
                serial = price_book(*args, **kw)
            pd.testing.assert_frame_equal(book.lines, serial.lines)
            pd.testing.assert_frame_equal(book.claims, serial.claims)

    acme, hundred = load(write(tmp_path, EXAMPLE, "a.yaml")), load(write(tmp_path, HUNDRED, "h.yaml"))
    frozen = load(write(tmp_path, "name: frozen\nbase: medicare 2025\nterms:\n  - pay: {percent_of_medicare: 105}\n",
                        "f.yaml"))
    lines = _messy_book(n=1500, seed=9).drop(columns=["fee_schedule", "medicare_allowed"])
    lines["zip"] = np.where(np.arange(len(lines)) % 7 == 0, "", "90012")
    lines["date_of_service"] = lines["date_of_service"].replace({"2025-12-01": "12/01/2025"})
    for cs in ([acme, hundred, frozen], [hundred]):
        book = price_book(lines, cs)
        same_as_serial(book, lines, cs)
        pd.testing.assert_frame_equal(book.claims, claims_side_by_side(book.lines))
        pd.testing.assert_frame_equal(book.lines, price_contracts(lines, cs))
    from rvucalc.contracts import to_excel
    from rvucalc.contracts.workbook import views

    pd.testing.assert_frame_equal(views(book.lines, claims=book.claims)["Claims"], views(book.lines)["Claims"])
    assert to_excel(book, tmp_path / "book.xlsx").is_file()  # the workbook takes a book as it is
    given = _messy_book(n=800, seed=3)  # lines with their Medicare amounts, some columns left out
    book = price_book(given, [hundred], columns=["claim_id", "hcpcs", "charge"])
    same_as_serial(book, given, [hundred], columns=["claim_id", "hcpcs", "charge"])
    pd.testing.assert_frame_equal(book.claims, claims_side_by_side(book.lines))
    assert "first_date_of_service" not in book.claims and "total_charges" in book.claims


def test_claim_keys_already_numbered_in_order_are_kept():
    """Claim keys are renumbered (0, 1, 2... by first line) only when they are not already so:
    the check agrees with ``pd.factorize`` on every small array."""
    from rvucalc.contracts.price import _numbered_in_order

    rng = np.random.default_rng(1)
    for _ in range(3000):
        k = rng.integers(0, 6, rng.integers(0, 12))
        assert _numbered_in_order(k) == bool((pd.factorize(k)[0] == k).all())
    assert _numbered_in_order(np.array([0, 1, 1, 0, 2])) and not _numbered_in_order(np.array([0, 2, 1]))


def test_a_fallback_fee_file_tells_modifiers_apart(tmp_path, monkeypatch):
    """A fallback paying from a fee schedule file reads the lines' modifier cells, even when no
    term of its version does (the combinations of values the contract reads include them)."""
    from rvucalc.contracts import match

    monkeypatch.setattr(match, "FEW_COMBOS", 1e9)  # always through the combinations
    (tmp_path / "fees.csv").write_text("code,modifier,amount\n71046,,40.00\n71046,26,12.50\n")
    c = load(write(tmp_path, """\
        name: fallback fees
        fallback: {name: our fees, pay: {fee_schedule_file: fees.csv}}
        terms:
          - name: professional
            match: {fee_schedule: pfs}
            pay: {percent_of_medicare: 100}
        """))
    lines = pd.DataFrame({"claim_id": ["a", "b", "c"], "hcpcs": ["71046", "71046", "71046"],
                          "modifiers": ["", "26", ""], "date_of_service": ["2026-03-10"] * 3,
                          "fee_schedule": ["pfs"] * 3, "medicare_allowed": [np.nan, np.nan, 30.0]})
    out = price_contracts(lines, c)
    # no Medicare amount: the fallback's rates, $40.00 without a modifier and $12.50 with 26
    assert out["term"].tolist() == ["our fees", "our fees", "professional"]
    assert out["contract_allowed"].tolist() == [40.00, 12.50, 30.00]


def test_first_lines_of_claims_match_a_scatter_of_the_minimum():
    """A claim's first line, found from the running maximum when claims are numbered in order of
    their first line and by a scatter otherwise (a subset, other numbers), is the smallest line
    number of that claim (np.minimum.at, the reference)."""
    from rvucalc.contracts.summary import first_lines

    rng = np.random.default_rng(7)
    for t in range(2000):
        k = rng.integers(0, int(rng.integers(1, 9)), int(rng.integers(1, 30)))
        dense = pd.factorize(k)[0] if t % 2 else k  # in order of first line / any numbers (gaps too)
        want = np.full(int(dense.max()) + 1, len(dense))
        np.minimum.at(want, dense, np.arange(len(dense)))
        assert first_lines(dense).tolist() == want.tolist()
    assert first_lines(np.zeros(0, dtype=np.int64)).tolist() == []


def test_counted_unique_and_percent_of_agree_with_numpy():
    """``small_unique`` (counting) is ``np.unique(..., return_inverse=True)`` for 32- and 64-bit
    values; ``percent_of`` is the half-up rounding of c x u / 1,000,000 (exact integers)."""
    from rvucalc.calc.contracts import percent_of, small_unique

    rng = np.random.default_rng(11)
    for dtype in (np.int32, np.int64):
        for _ in range(200):
            v = rng.integers(-50, 400, int(rng.integers(0, 60))).astype(dtype)
            u, inv = small_unique(v)
            want_u, want_inv = np.unique(v, return_inverse=True)
            assert u.tolist() == want_u.tolist() and inv.tolist() == want_inv.tolist()
            assert inv.dtype == (np.int32 if dtype == np.int32 else np.int64)
    c = rng.integers(0, 10**9, 5000)
    u = rng.integers(0, 3 * 10**6, 5000)
    want = [(2 * int(a) * int(b) + 1_000_000) // 2_000_000 for a, b in zip(c, u)]  # Python integers
    assert percent_of(c, u).tolist() == want
    assert percent_of(c, 1_200_000).tolist() == [(2 * int(a) * 1_200_000 + 1_000_000) // 2_000_000 for a in c]
    assert percent_of(14889, 1_200_000) == 17867  # 120% of $148.89 = $178.668 -> $178.67


@pytest.mark.parametrize("pay", ["{percent_of_medicare: 100}", "{percent_of_charge: 45}", "{per_unit: 12.5}",
                                 "{per_claim: 900}", "{per_claim: 900, covers: claim}",
                                 "{fee_schedule_file: fees.csv}"])
def test_a_term_taking_every_line_prices_them_as_one_taking_some(tmp_path, pay):
    """A term whose lines are every line of the book reads the lines' arrays as they are (no
    copy through their numbers): each line's amount and reason are the ones it gets when the
    term takes only some lines (the same book with lines no term takes, dated before the
    contract)."""
    (tmp_path / "fees.csv").write_text("code,amount\n99213,80\n99214,120.5\n71046,40\n")
    c = load(write(tmp_path, f"""\
        name: one term
        effective: 2026-01-01
        lesser_of_charge: true
        fallback: {{name: no rate, pay: {{percent_of_charge: 30}}}}
        terms:
          - name: every line
            pay: {pay}
        """))
    book = _messy_book(n=600, seed=4)
    clean = book[~book["units"].eq("x") & ~book["date_of_service"].isin(["bad", "", "2025-12-01"])
                 & ~book["hcpcs"].eq("9921") & ~book["charge"].eq("-3")].reset_index(drop=True)
    if "fee_schedule_file" in pay:
        clean = clean[clean["hcpcs"].isin(["99213", "99214", "71046"])].reset_index(drop=True)
    early = clean.head(40).assign(date_of_service="2025-06-01", claim_id=lambda d: "early-" + d["claim_id"])
    every = price_contracts(clean, c)
    some = price_contracts(pd.concat([clean, early], ignore_index=True), c).head(len(clean))
    assert (every["term"] == "every line").mean() > 0.5  # the term takes (nearly) every line
    cols = ["term", "method", "contract_allowed", "base_allowed", "percent_of_medicare", "reason"]
    pd.testing.assert_frame_equal(every[cols].astype(object), some[cols].astype(object))


def test_book_totals_of_stacked_rows_are_those_grouped(tmp_path):
    """Rows laid out as price_contracts lays them (contract after contract) are summed block by
    block; the table is the one grouping the same rows gives (the contract column as plain text
    takes the grouping path)."""
    from rvucalc.contracts import book_totals

    acme, hundred = load(write(tmp_path, EXAMPLE, "a.yaml")), load(write(tmp_path, HUNDRED, "h.yaml"))
    rows = price_contracts(_messy_book(n=2500, seed=12), [hundred, acme])
    grouped = book_totals(rows.assign(contract=rows["contract"].astype(object)))
    pd.testing.assert_frame_equal(book_totals(rows), grouped)
    assert grouped["lines"].tolist() == [2500, 2500]
