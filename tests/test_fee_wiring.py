"""Lab, drug and DME lines priced from their own fee schedule on every surface (issue 21).

Figures from the CMS files in the mirror (each checked against the file by
tests/test_fee_schedule_payments.py) and hand arithmetic:

* CLFS_2026_Q1V1.xlsx: 80053 rate 10.56; 36415 rate 9.34;
* January 2026 ASP file: J9271 (1 MG) payment limit 59.726, co-insurance 20%:
  59.726 x 200 = 11,945.20; beneficiary 20% = 2,389.04; Medicare 9,556.16;
* DMEPOS26_JAN.xlsx row 756 (E0601 RR): CA non-rural 50.44, CA rural 93.04, TX non-rural 50.91;
  Medicare 80%: 50.44 - 10.09 = 40.35;
* RVU26C (2026-03-10 falls back to it, REPRICE_RELEASE_FALLBACK): 99214 in locality 01182-18 (ZIP
  90012): [(1.92 x 1.041) + (2.00 x 1.183) + (0.14 x 0.664)] x 33.4009 = 148.888... -> $148.89
  (tests/test_contracts.py).

Claim total: 148.89 + 10.56 + 11,945.20 + 50.44 = 12,155.09.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

import rvucalc
from rvucalc.cli import main
from rvucalc.contracts import load as load_contract
from rvucalc.contracts import price_contracts

CLAIM = pd.DataFrame({
    "claim_id": ["A1"] * 4, "hcpcs": ["99214", "80053", "J9271", "E0601"], "modifiers": ["", "", "", "RR"],
    "units": ["1", "1", "200", "1"], "pos": ["11"] * 4, "zip": ["90012"] * 4,
    "date_of_service": ["2026-03-10"] * 4, "charge": [""] * 4, "rural": ["", "", "", "N"]})
WANT_ALLOWED = [148.89, 10.56, 11945.20, 50.44]
WANT_SCHEDULE = ["pfs", "clfs", "asp", "dmepos"]
TOTAL = 12155.09  # 148.89 + 10.56 + 11,945.20 + 50.44


@pytest.fixture(scope="module")
def files(mirror):
    for rel in ("clfs/2026-01/CLFS_2026_Q1V1.xlsx", "dmepos/2026-01/DMEPOS26_JAN.xlsx",
                "asp/2026-01/section 508 version of January 2026 Medicare Part B Payment Limit File 121725.csv",
                "pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv", "pfs/zip5_jan2026/ZIP5_JAN2026.xlsx"):
        mirror(rel)
    return mirror


def test_hand_arithmetic():
    assert round(59.726 * 200, 2) == 11945.20 and round(11945.20 * 0.20, 2) == 2389.04
    assert round(148.89 + 10.56 + 11945.20 + 50.44, 2) == TOTAL


def test_reprice_in_memory(files):
    out = rvucalc.reprice(CLAIM)
    assert out["fee_schedule"].astype(str).tolist() == WANT_SCHEDULE
    assert out["allowed"].tolist() == WANT_ALLOWED
    assert round(out["allowed"].sum(), 2) == TOTAL
    # Medicare: 80% of 148.89 = 119.112 -> 119.11; the lab test 100%; the drug 9,556.16; DME 40.35
    assert out["medicare_payment"].tolist() == [119.11, 10.56, 9556.16, 40.35]
    assert out["release"].astype(str).tolist()[1:] == ["clfs-2026-01", "asp-2026-01", "dmepos-2026-01"]
    assert out["reason"].astype(str).tolist()[1:] == ["", "", ""]
    assert out["payable"].tolist() == [True] * 4
    assert out["base_amount"].tolist()[1:] == [10.56, 59.726, 50.44]
    # the user's columns come back as given
    assert out["rural"].tolist() == ["", "", "", "N"]


def test_reprice_cli_memory_and_stream_give_the_same_lines(files, tmp_path):
    src = tmp_path / "claim.csv"
    CLAIM.to_csv(src, index=False)
    outs = {}
    for engine in ("memory", "stream"):
        dst = tmp_path / f"{engine}.csv"
        totals = tmp_path / f"{engine}-claims.csv"
        assert main(["reprice", str(src), "-o", str(dst), "--claims-out", str(totals), "--engine", engine,
                     "--no-progress"]) == 0
        outs[engine] = dst.read_bytes()
        got = pd.read_csv(dst, dtype=str, keep_default_na=False)
        assert got["allowed"].astype(float).tolist() == WANT_ALLOWED
        assert got["fee_schedule"].tolist() == WANT_SCHEDULE
        claims = pd.read_csv(totals)
        assert claims["allowed"].tolist() == [TOTAL]
    assert outs["memory"] == outs["stream"]


def test_dask_gives_the_same_lines(files):
    import dask
    import dask.dataframe as dd

    import rvucalc.dask
    from rvucalc.claims.pipeline import options, price_chunk

    frame = pd.concat([CLAIM.assign(claim_id=f"A{i}") for i in range(6)], ignore_index=True)
    opts = options()
    whole = price_chunk(frame.assign(_line=np.arange(len(frame), dtype=np.int64)), opts)
    with dask.config.set(scheduler="sync"):
        got = rvucalc.dask.reprice(dd.from_pandas(frame, npartitions=3), price=price_chunk,
                                   options=opts).compute()
    got = got.sort_values("_line").reset_index(drop=True)
    for c in ("allowed", "medicare_payment", "fee_schedule_amount", "base_amount"):
        np.testing.assert_array_equal(got[c].to_numpy(dtype=float), whole[c].to_numpy(dtype=float))
    for c in ("fee_schedule", "reason", "release", "release_note"):
        assert got[c].astype(str).tolist() == whole[c].astype(str).tolist()
    assert whole["allowed"].tolist() == WANT_ALLOWED * 6


def test_rural_never_assumed_and_rural_fee(files):
    lines = CLAIM.iloc[[3, 3, 3]].assign(claim_id=["a", "b", "c"], rural=["", "Y", "perhaps"])
    out = rvucalc.reprice(lines)
    assert out["reason"].astype(str).tolist()[0] == "DMEPOS_RURAL_UNKNOWN"
    assert np.isnan(out["allowed"].iloc[0]) and not out["payable"].iloc[0]
    why = rvucalc.explain("DMEPOS_RURAL_UNKNOWN").message
    assert "rural value" in why and "never assumed" in why
    assert out["allowed"].iloc[1] == 93.04  # CA rural fee
    assert out["reason"].astype(str).iloc[2] == "DMEPOS_RURAL_UNREADABLE"
    # no rural column at all: the same reason
    assert rvucalc.reprice(CLAIM.drop(columns="rural"))["reason"].astype(str).iloc[3] == "DMEPOS_RURAL_UNKNOWN"


def test_state_column_and_zip_state(files):
    tx = CLAIM.iloc[[3]].assign(zip="77002")  # Houston: TX
    assert rvucalc.reprice(tx)["allowed"].tolist() == [50.91]
    given = CLAIM.iloc[[3]].assign(zip="", locality="01182-18", state="TX")
    assert rvucalc.reprice(given)["allowed"].tolist() == [50.91]
    nowhere = CLAIM.iloc[[3]].assign(zip="", locality="01182-18")
    assert rvucalc.reprice(nowhere)["reason"].astype(str).tolist() == ["DMEPOS_NO_STATE"]


def test_lower_of_charge_units_and_sequestration(files):
    lines = CLAIM.iloc[[1, 2]].assign(charge=["8.00", ""], units=["1", "10"])
    out = rvucalc.reprice(lines, sequestration=True)
    # 80053: charge 8.00 < 10.56 -> 8.00, no beneficiary share; sequestration 2% of 8.00 = 0.16
    assert out["allowed"].tolist() == [8.00, 597.26]  # 59.726 x 10 = 597.26
    assert out["charge_limited"].tolist() == [True, False]
    assert "CHARGE_LOWER" in out["reason"].iloc[0]
    assert out["sequestration"].tolist() == [0.16, 9.56]  # 597.26 - 119.45 = 477.81; x 2% = 9.5562
    assert out["medicare_payment"].tolist() == [7.84, 468.25]


def test_year_without_files_keeps_the_other_schedule_reason(files):
    """2025: no CLFS or DMEPOS file of 2025 in the mirror; the ASP file of July 2025 is there."""
    lines = CLAIM.assign(date_of_service="2025-08-04")
    out = rvucalc.reprice(lines)
    r = out["reason"].astype(str).tolist()
    assert "NOT_PFS_CLFS" in r[1] and np.isnan(out["allowed"].iloc[1])
    assert "NOT_PFS_DMEPOS" in r[3] and np.isnan(out["allowed"].iloc[3])
    assert out["fee_schedule"].astype(str).tolist() == WANT_SCHEDULE
    assert out["release"].astype(str).iloc[2] == "asp-2025-07" and out["payable"].iloc[2]


def test_another_quarter_of_the_year_with_a_note(files):
    out = rvucalc.reprice(CLAIM.iloc[[1]].assign(date_of_service="2026-08-03"))
    assert out["allowed"].tolist() == [10.56]
    assert out["reason"].astype(str).tolist() == ["REPRICE_RELEASE_FALLBACK"]
    assert "clfs-2026-01" in out["release_note"].iloc[0] or out["release"].iloc[0] == "clfs-2026-01"
    assert "July 2026" in out["release_note"].iloc[0]


CONTRACT = """\
name: acme-ppo-2026
terms:
  - name: professional
    match: {fee_schedule: pfs}
    pay: {percent_of_medicare: 120}
  - name: lab
    match: {fee_schedule: clfs}
    pay: {percent_of_medicare: 100}
  - name: drugs
    match: {fee_schedule: asp}
    pay: {percent_of_medicare: 110}
  - name: all other
    pay: {percent_of_charge: 45}
"""


def test_contract_reads_the_fee_schedule_of_raw_lines(files, tmp_path):
    p = tmp_path / "acme.yaml"
    p.write_text(textwrap.dedent(CONTRACT))
    out = price_contracts(CLAIM.iloc[[1, 2, 0]].reset_index(drop=True), load_contract(p), columns="all")
    assert list(out["term"]) == ["lab", "drugs", "professional"]
    assert out["fee_schedule"].tolist() == ["clfs", "asp", "pfs"]
    assert out["medicare_allowed"].tolist() == [10.56, 11945.20, 148.89]
    # 100% of $10.56; 110% of $11,945.20 = $13,139.72; 120% of $148.89 = $178.668 -> $178.67
    assert out["contract_allowed"].tolist() == [10.56, 13139.72, 178.67]


def test_contract_reads_the_fee_schedule_of_repriced_lines(files, tmp_path):
    p = tmp_path / "acme.yaml"
    p.write_text(textwrap.dedent(CONTRACT))
    priced = rvucalc.reprice(CLAIM.iloc[[1, 2]].reset_index(drop=True))
    out = price_contracts(priced, load_contract(p), columns="all")
    assert out["contract_allowed"].tolist() == [10.56, 13139.72]
    # a lab line of a year with no CLFS at hand: no Medicare amount, no pricer (never a guess)
    old = rvucalc.reprice(CLAIM.iloc[[1]].assign(date_of_service="2025-08-04"))
    out = price_contracts(old, load_contract(p), columns="all")
    assert np.isnan(out["contract_allowed"].iloc[0])
    assert "CONTRACT_NO_MEDICARE_PRICER" in out["reason"].iloc[0]


def test_one_answer_on_every_surface(files, fs26):
    """36415, 80053 (CLFS), J1100, J9271 (ASP) and E0601-RR (DMEPOS, rural N, CA): the same schedule
    and amount for one unit from quote, schedule, compare, price_volumes and reprice (RVU26C is July
    2026: the January 2026 files of the same year, with a note). CLFS 36415 9.34, 80053 10.56;
    J9271 59.726 -> $59.73 for one unit; E0601 RR CA non-rural 50.44."""
    codes = ["36415", "80053", "J1100", "J9271", "E0601-RR"]
    keys = ["clfs", "clfs", "asp", "asp", "dmepos"]
    got: dict[str, list[float]] = {}
    quotes = [fs26.quote(c, zip="90012", rural="N") for c in codes]
    assert [q.fee_schedule for q in quotes] == keys
    assert [q.fee_release for q in quotes] == ["clfs-2026-01"] * 2 + ["asp-2026-01"] * 2 + ["dmepos-2026-01"]
    assert all("July 2026 (Q3)" in q.fee_release_note for q in quotes)
    got["quote"] = [q.nonfacility.amount for q in quotes]
    assert [q.facility.amount for q in quotes] == got["quote"]
    s = fs26.schedule(codes, ["01182-18"], rural="N")
    s = s[s["setting"] == "nonfacility"]
    assert s["fee_schedule"].astype(str).tolist() == keys
    got["schedule"] = s["amount"].tolist()
    c = fs26.compare(codes, ["01182-18"], national=False, rural="N")
    assert c["fee_schedule"].astype(str).tolist() == keys
    got["compare"] = c["nonfacility"].tolist()
    v = fs26.price_volumes(pd.DataFrame({"hcpcs": codes, "zip": "90012", "count": 1, "rural": "N"}))
    assert v["fee_schedule"].tolist() == keys
    got["price_volumes"] = v["amount"].tolist()
    mods = [c.split("-")[1] if "-" in c else "" for c in codes]
    lines = pd.DataFrame({"claim_id": [f"c{i}" for i in range(len(codes))], "hcpcs": [c[:5] for c in codes],
                          "modifiers": mods, "pos": "11", "zip": "90012", "rural": "N",
                          "date_of_service": "2026-08-03"})
    out = rvucalc.reprice(lines, releases=[fs26])
    assert out["fee_schedule"].astype(str).tolist() == keys
    assert set(out["reason"].astype(str)) == {"REPRICE_RELEASE_FALLBACK"}  # July 2026: January's files
    got["reprice"] = out["allowed"].tolist()
    assert got["quote"][:2] == [9.34, 10.56] and got["quote"][3:] == [59.73, 50.44]
    for surface, amounts in got.items():
        assert amounts == got["quote"], surface


def test_price_volumes_revenue_rounds_once(files, fs26):
    v = fs26.price_volumes(pd.DataFrame({"hcpcs": ["J9271", "80053"], "zip": "90012", "count": [200, 5]}))
    # 59.726 x 200 = 11,945.20 (not 59.73 x 200 = 11,946.00); 10.56 x 5 = 52.80
    assert v["revenue"].tolist() == [11945.20, 52.80]
    assert v["release"].tolist() == ["asp-2026-01", "clfs-2026-01"]


def test_quote_cli_prints_all_four(files, capsys):
    # 99213 RVU26C in 01182-18: (1.30 x 1.041 + 1.46 x 1.183 + 0.09 x 0.664) x 33.4009 = 104.887 -> $104.89
    assert main(["quote", "99213", "80053", "J9271", "E0601-RR", "--zip", "90012", "--rural", "N"]) == 0
    text = capsys.readouterr().out
    for code, amount, sched in (("99213", "$104.89", "PFS"), ("80053", "$10.56", "CLFS"),
                                ("J9271", "$59.73", "ASP"), ("E0601-RR", "$50.44", "DMEPOS")):
        row = next(line for line in text.splitlines() if line.lstrip("# ").startswith(code))
        assert amount in row and sched in row, row
    # without --rural the DME fee is not given (rural never assumed), the other three are
    assert main(["quote", "99213", "80053", "J9271", "E0601-RR", "--zip", "90012", "--csv"]) == 0
    df = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    office = df[df["setting"] == "nonfacility"]
    assert office["fee_schedule"].tolist() == ["pfs", "clfs", "asp", "dmepos"]
    assert office["reason"].fillna("").tolist() == ["", "", "", "DMEPOS_RURAL_UNKNOWN"]
    assert office["amount"].tolist()[:3] == [104.89, 10.56, 59.73] and np.isnan(office["amount"].iloc[3])
