"""Facility claims through the claims pipeline: reprice_opps / reprice_asc, site of service per
claim, the CLI. CY2025 CMS files from the mirror; expected values by hand arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rvucalc
from rvucalc.claims import pipeline
from rvucalc.claims.contract import LINE, claim_partition

OPPS = ["opps-2025-01"]
ASC = ["asc-2025-01"]


def _lines(claims: dict[str, list[str]], date: str = "2025-02-03", **cols) -> pd.DataFrame:
    rows = [{"claim_id": c, "hcpcs": h, "date_of_service": date, **cols}
            for c, codes in claims.items() for h in codes]
    return pd.DataFrame(rows)


def test_reprice_opps_acceptance_claims(mirror):
    mirror("opps/2025-01/January 2025 Web Addendum B.12.31.24.csv")
    lines = _lines({"A": ["20983", "77013", "C2618"], "B": ["11043", "11042"],
                    "C": ["96372", "11042"], "D": ["96372"]})
    out = rvucalc.reprice_opps(lines, releases=OPPS)
    pd.testing.assert_frame_equal(out[lines.columns], lines)  # the user's columns as given
    assert out["release"].astype(str).unique().tolist() == ["opps-2025-01"]
    assert out["facility_payment"].tolist() == [7143.73, 0.0, 0.0, 612.13, 199.77, 0.0, 399.53,
                                                71.17]
    assert out["line_status"].astype(str).tolist() == [
        "paid", "packaged", "packaged", "paid", "discounted", "packaged", "paid", "paid"]
    # 612.13 + 50% x 399.53 = 811.895, lines rounded once: 612.13 + 199.77 = 811.90
    assert out["claim_total"].tolist()[:5] == [7143.73] * 3 + [811.90] * 2
    assert "OPPS_Q1_PACKAGED" in str(out["reason"].iloc[5])
    assert "FACILITY_NATIONAL_RATE" in str(out["reason"].iloc[0])  # no wage index given: said


def test_reprice_asc_acceptance_claims(mirror):
    mirror("asc/2025-01/AA.csv")
    lines = _lines({"A": ["20983", "77013", "C2618"], "B": ["29881", "64721"]})
    out = rvucalc.reprice_asc(lines, releases=ASC)
    assert out["payment_indicator"].astype(str).tolist() == ["J8", "N1", "N1", "A2", "A2"]
    assert out["facility_payment"].tolist() == [4911.21, 0.0, 0.0, 1579.16, 462.47]
    assert out["claim_total"].tolist() == [4911.21] * 3 + [2041.63] * 2
    # the lines add up to the claim total exactly
    b = out[out["claim_id"] == "B"]
    assert int(np.round(b["facility_payment"] * 100).sum()) == round(2041.63 * 100)


def test_wage_index_column_and_cbsa(mirror):
    mirror("wage_index/asc-cy2025/wage_index.txt")
    lines = pd.DataFrame({"claim_id": ["A", "B"], "hcpcs": ["29881", "29881"],
                          "date_of_service": ["2025-02-03"] * 2,
                          "wage_index": ["0.9", ""], "cbsa": ["", "31084"]})
    out = rvucalc.reprice_asc(lines, releases=ASC)
    # 1579.16 x (0.5 x 0.9 + 0.5) = 1500.202; CBSA 31084 CY2025 ASC wage index 1.2969:
    # 1579.16 x (0.5 x 1.2969 + 0.5) = 1579.16 x 1.14845 = 1813.5863
    assert out["facility_wage_index"].tolist() == [0.9, 1.2969]
    assert out["facility_payment"].tolist() == [1500.20, 1813.59]


def test_opps_cbsa_is_flagged_as_approximation(mirror):
    lines = pd.DataFrame({"claim_id": ["A"], "hcpcs": ["11042"], "date_of_service": ["2025-02-03"],
                          "cbsa": ["31084"]})
    out = rvucalc.reprice_opps(lines, releases=OPPS)
    assert "WI_APPROX_OPPS" in str(out["reason"].iloc[0])
    # 399.53 x (0.6 x 1.2969 + 0.4) = 399.53 x 1.17814 = 470.7023 (the CY2025 table: no FY2025 IPPS table at hand)
    assert out["facility_payment"].iloc[0] == 470.70


def test_no_release_for_the_year_is_refused_not_substituted(mirror):
    lines = _lines({"A": ["11042"]}, date="2019-05-01")
    out = rvucalc.reprice_opps(lines)
    assert np.isnan(out["facility_payment"].iloc[0])
    assert "FACILITY_NO_RELEASE" in str(out["reason"].iloc[0])
    assert not bool(out["payable"].iloc[0])


def test_bad_units_and_dates_cost_only_their_line(mirror):
    lines = pd.DataFrame({"claim_id": ["A", "A", "B"], "hcpcs": ["11043", "11042", "11042"],
                          "units": ["1", "0.5", "1"],
                          "date_of_service": ["2025-02-03", "2025-02-03", "31/31/2025"]})
    out = rvucalc.reprice_opps(lines, releases=OPPS)
    assert out["facility_payment"].iloc[0] == 612.13
    assert np.isnan(out["facility_payment"].iloc[1]) and np.isnan(out["facility_payment"].iloc[2])
    assert "REPRICE_BAD_UNITS" in str(out["reason"].iloc[1])
    assert "REPRICE_BAD_DATE" in str(out["reason"].iloc[2])


def test_asc_modifiers_from_hcpcs_cell_and_column(mirror):
    lines = pd.DataFrame({"claim_id": ["A", "B", "C"], "hcpcs": ["29881-73", "29881", "29881"],
                          "modifiers": ["", "52", "50"], "date_of_service": ["2025-02-03"] * 3})
    out = rvucalc.reprice_asc(lines, releases=ASC)
    assert out["facility_payment"].tolist() == [789.58, 789.58, 1579.16]
    reasons = out["reason"].astype(str).tolist()
    assert "MOD_NOT_PRICED" not in reasons[0] and "MOD_NOT_PRICED" not in reasons[1]
    assert "MOD_NOT_PRICED" in reasons[2]  # 50 is not applied to ASC lines: said


def test_chunks_by_claim_partition_give_the_same_result(mirror):
    rng = np.random.default_rng(3)
    codes = ["20983", "77013", "C2618", "11042", "11043", "96372", "29881", "64721", "G0121"]
    n = 400
    lines = pd.DataFrame({"claim_id": [f"C{i}" for i in rng.integers(0, 90, n)],
                          "hcpcs": rng.choice(codes, n), "units": rng.choice(["1", "2"], n),
                          "date_of_service": rng.choice(["2025-02-03", "2025-02-04"], n)})
    for system, rel in (("hopd", OPPS), ("asc", ASC)):
        opts = pipeline.options(system, releases=rel)
        whole = pipeline.price_frame(lines, opts)
        chunk = lines.assign(**{LINE: np.arange(n)})
        part = claim_partition(chunk["claim_id"], chunk[LINE].to_numpy(), 3)
        pieces = [pipeline.price_chunk(chunk[part == p], opts) for p in range(3)]
        merged = pd.concat(pieces).sort_values(LINE).drop(columns=[LINE]).reset_index(drop=True)
        for c in ("facility_payment", "beneficiary_copay", "claim_total"):
            np.testing.assert_array_equal(merged[c].to_numpy(), whole[c].to_numpy())
        assert merged["reason"].astype(str).tolist() == whole["reason"].astype(str).tolist()


def test_claim_in_three_settings(mirror):
    """20983 with CT guidance (77013) and the cryoablation probe (C2618), CY2025, national.

    PFS RVU25D (CF 32.3465): 20983 non-facility 145.37 RVUs = 4702.21, facility 10.19 RVUs =
    329.61; 77013 global is status C (contractor priced: no amount), 77013-26 5.42 RVUs = 175.32;
    C2618 is not on the PFS. OPPS: 20983 J1 $7,143.73 (77013, C2618 packaged); ASC: J8
    $4,911.21 (77013, C2618 N1).
    """
    mirror("pfs/rvu25d/PPRRVU2025_Oct.csv")
    lines = _lines({"A": ["20983", "77013", "C2618"]}, date="2025-10-15", locality="national")
    per = rvucalc.compare_sites_claims(lines, pfs_releases=["rvu25d"], opps_releases=OPPS,
                                       asc_releases=["asc-2025-10"])
    r = per.iloc[0]
    # the office has no amount for 77013 (status C: the MAC prices it): no office total (4702.21
    # would be 20983 alone), the reason of the first such line said; C2618, a hospital-only
    # device code, is not billed in an office ($0.00 there, named in office_note)
    assert np.isnan(r["office_professional"]) and np.isnan(r["office_total"])
    assert r["office_lines_unpaid"] == 1 and r["office_reason"] == "PFS_STATUS_C"
    assert r["office_note"] == "SITE_NOT_BILLED_OFFICE" and r["office_billable"]
    assert np.isnan(r["hopd_minus_office"]) and np.isnan(r["asc_minus_office"])
    assert r["hopd_lines_unpaid"] == r["asc_lines_unpaid"] == 0  # C2618 packaged (N, N1): 0.00
    assert r["hopd_professional"] == round(329.61 + 175.32, 2) == 504.93
    assert (r["hopd_facility"], r["hopd_total"]) == (7143.73, 7648.66)
    assert (r["asc_facility"], r["asc_total"]) == (4911.21, 5416.14)
    # beneficiary: 20% of each professional line (329.61 -> Medicare 263.69, patient 65.92;
    # 175.32 -> 140.26 / 35.06) plus the facility copayment (OPPS 1,428.75; ASC 982.24)
    assert r["hopd_beneficiary"] == round(65.92 + 35.06 + 1428.75, 2)
    assert r["asc_beneficiary"] == round(65.92 + 35.06 + 982.24, 2)
    assert r["hopd_medicare"] == round(7648.66 - 1529.73, 2)
    assert r["asc_minus_hopd"] == round(5416.14 - 7648.66, 2)
    lines_hopd = per.attrs["lines"]["hopd_professional"]
    assert lines_hopd["pricing_modifier"].astype(str).tolist() == ["", "26", ""]
    book = rvucalc.summarise_sites(per)
    # each setting's total over the claims it priced (the office none: $0.00 over 0 claims)
    assert book["total"].tolist() == [0.0, 7648.66, 5416.14]
    assert book["claims_not_priced"].tolist() == [1, 0, 0]
    assert book["like_for_like_claims"].tolist() == [0, 0, 0]  # no claim priced in every setting
    assert book["minus_hopd"].tolist() == [0.0, 0.0, 0.0]
    priced = rvucalc.summarise_sites(per.assign(office_total=4702.21))  # as if 20983 were alone
    assert priced["minus_office"].tolist() == [0.0, 2946.45, 713.93]


def test_cli_reprice_setting_and_sites_claims(mirror, tmp_path):
    from rvucalc.cli import main

    src = tmp_path / "claims.csv"
    src.write_text("claim_id,hcpcs,date_of_service,locality\n"
                   "A,20983,2025-10-15,national\nA,77013,2025-10-15,national\n"
                   "A,C2618,2025-10-15,national\n")
    out = tmp_path / "asc.csv"
    assert main(["reprice", str(src), "--setting", "asc", "--release", "asc-2025-10",
                 "-o", str(out)]) == 0
    got = pd.read_csv(out, dtype=str)
    assert got["facility_payment"].astype(float).tolist() == [4911.21, 0.0, 0.0]
    streamed = tmp_path / "asc_stream.csv"
    assert main(["reprice", str(src), "--setting", "asc", "--release", "asc-2025-10",
                 "--engine", "stream", "-o", str(streamed)]) == 0
    assert streamed.read_bytes() == out.read_bytes()
    book = tmp_path / "sites.xlsx"
    assert main(["sites", "--claims", str(src), "--release", "rvu25d", "--line-sheets", "-o", str(book)]) == 0
    import openpyxl

    wb = openpyxl.load_workbook(book, read_only=True)
    assert {"Claims", "HOPD facility lines", "ASC facility lines"} <= set(wb.sheetnames)
    # the provenance names every CMS file behind the amounts, as the Python path does
    prov = " ".join(str(c) for row in wb["Provenance"].iter_rows(values_only=True) for c in row if c)
    assert "none given" not in prov
    for name in ("PPRRVU2025_Oct.csv", "GPCI2025.csv"):
        assert name in prov, name
    assert "opps-2025-10" in prov and "asc-2025-" in prov  # the October 2025 quarter of the dates
    priced = tmp_path / "asc.xlsx"
    assert main(["reprice", str(src), "--setting", "asc", "--release", "asc-2025-10",
                 "-o", str(priced)]) == 0
    wb = openpyxl.load_workbook(priced, read_only=True)
    prov = " ".join(str(c) for row in wb["Provenance"].iter_rows(values_only=True) for c in row if c)
    assert "asc-2025-10" in prov and "AA" in prov


@pytest.mark.parametrize("system", ["hopd", "asc"])
def test_input_column_named_like_an_output_is_refused(system):
    lines = _lines({"A": ["11042"]}, facility_payment="1")
    with pytest.raises(ValueError, match="facility_payment"):
        pipeline.price_frame(lines, pipeline.options(system))


def _random_claims(n_claims: int = 300, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = ["20983", "77013", "C2618", "11042", "11043", "96372", "29881", "64721", "G0121",
             "70450", "XXXXX"]
    rows = []
    for c in rng.permutation(n_claims):
        for _ in range(int(rng.integers(1, 5))):
            rows.append({"claim_id": f"C{c:04d}", "hcpcs": str(rng.choice(codes)),
                         "units": str(rng.choice(["1", "2"])), "date_of_service": "2025-02-03",
                         "wage_index": str(rng.choice(["", "0.9", "1.1"]))})
    df = pd.DataFrame(rows)
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)  # claims scattered


@pytest.mark.parametrize("system,rel", [("hopd", OPPS), ("asc", ASC)])
def test_streaming_engine_equals_in_memory(system, rel, tmp_path):
    from rvucalc.claims.io import read_claims, write_claims
    from rvucalc.claims.stream import reprice_file

    src = tmp_path / "claims.csv"
    _random_claims().to_csv(src, index=False)
    opts = pipeline.PricingOptions(system=system, releases=tuple(rel))
    reprice_file(src, tmp_path / "s.csv", options=opts, chunk_lines=60, progress=False)
    whole = pipeline.price_frame(read_claims(src).drop(columns=[LINE]), opts)
    write_claims(whole, tmp_path / "m.csv")
    assert (tmp_path / "s.csv").read_bytes() == (tmp_path / "m.csv").read_bytes()


@pytest.mark.parametrize("system,rel", [("hopd", OPPS), ("asc", ASC)])
def test_dask_engine_equals_in_memory(system, rel):
    import dask.dataframe as dd

    from rvucalc import dask as rdask

    lines = _random_claims(120, seed=9)
    opts = pipeline.PricingOptions(system=system, releases=tuple(rel))
    out = rdask.reprice(dd.from_pandas(lines, npartitions=3), options=opts).compute(
        scheduler="sync").sort_values(LINE).reset_index(drop=True)
    whole = pipeline.price_frame(lines, opts)
    np.testing.assert_array_equal(out["facility_payment"].to_numpy(float),
                                  whole["facility_payment"].to_numpy(float))
    np.testing.assert_array_equal(out["claim_total"].to_numpy(float),
                                  whole["claim_total"].to_numpy(float))
    assert out["reason"].astype(str).tolist() == whole["reason"].astype(str).tolist()


def test_no_code_and_no_release_say_so_and_nothing_else(mirror):
    """An empty or malformed hcpcs cell is REPRICE_BAD_CODE (not "not in Addendum B"); a line
    dated where no addendum is at hand says FACILITY_NO_RELEASE, and no wage index reason (none
    was looked up: its CBSA exists)."""
    mirror("opps/2025-01/January 2025 Web Addendum B.12.31.24.csv")
    mirror("wage_index/asc-cy2025/wage_index.txt")
    lines = pd.DataFrame({"claim_id": ["A", "B", "C", "D"], "hcpcs": ["", "9921", "11043", "11043"],
                          "date_of_service": ["2025-02-03", "2025-02-03", "2025-02-03", "2031-02-03"],
                          "cbsa": ["14454"] * 4})
    out = rvucalc.reprice_opps(lines, releases=OPPS)
    reasons = [set(str(r).split("|")) for r in out["reason"]]
    for r in reasons[:2]:
        assert "REPRICE_BAD_CODE" in r and "OPPS_CODE_NOT_IN_ADDENDUM_B" not in r
    assert out["payable"].tolist() == [False, False, True, False]
    assert "FACILITY_NO_RELEASE" in reasons[3] and "FACILITY_WAGE_INDEX_NOT_FOUND" not in reasons[3]
    assert not any("FACILITY_WAGE_INDEX_NOT_FOUND" in r for r in reasons)
