"""Claim lines: nothing invented, nothing silently lost (issue "Trust", claim-line section).

Expected amounts are hand arithmetic on the RVU26C rows written out in test_reprice.ROWS
(checked there against the mirror file).
"""

from __future__ import annotations

import csv
import io
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rvucalc.claims.normalise import parse_dates
from rvucalc.claims.summary import summarise_claims
from rvucalc.cli.reprice import add_parser, run
from rvucalc.reprice import reprice
from tests.test_reprice import fee, half_up, mul

ROOT = Path(__file__).resolve().parents[1]
BASE = {"claim_id": "C1", "modifiers": "", "units": "1", "pos": "11", "locality": "national",
        "date_of_service": "2026-08-03"}


def price(fs, rows, **kw):
    return reprice(pd.DataFrame([{**BASE, **r} for r in rows]), releases=[fs], **kw)


@pytest.mark.parametrize("missing", ["", "NA", "N/A", "null", "None", None, "  ", "#N/A", "nan"])
def test_lines_without_claim_id_are_never_grouped(fs26, missing):
    out = price(fs26, [{"claim_id": missing, "hcpcs": "27447", "pos": "22"},
                       {"claim_id": missing, "hcpcs": "27447", "pos": "22"},
                       {"claim_id": missing, "hcpcs": "27130", "pos": "22"}])
    # each its own claim: no multiple-procedure cut (27447 alone pays its full fee)
    knee, hip = fee("27447", facility=True), fee("27130", facility=True)
    assert out.allowed.tolist() == [knee, knee, hip]
    assert out.mult_proc_factor.tolist() == [1.0, 1.0, 1.0]
    assert all("CLAIM_ID_MISSING" in r for r in out.reason)
    assert out.payable.all()


def test_same_claim_id_with_blanks_is_one_claim(fs26):
    out = price(fs26, [{"claim_id": "A1", "hcpcs": "27447", "pos": "22"},
                       {"claim_id": " A1 ", "hcpcs": "27130", "pos": "22"}])
    assert out.allowed[0] == half_up(mul(fee("27447", facility=True), 0.5))


@pytest.mark.parametrize("text,amount", [("$100", 100.0), ("1,000.00", 1000.0), ("$1,000.50", 1000.5),
                                         (" 250 ", 250.0), ("99.9", 99.9), (100, 100.0)])
def test_money_formats_people_type(fs26, text, amount):
    out = price(fs26, [{"hcpcs": "20983", "charge": text}])
    assert out.allowed[0] == amount and "CHARGE_LOWER" in out.reason[0]


def test_empty_charge_is_no_charge(fs26):
    out = price(fs26, [{"hcpcs": "20983", "charge": ""}])
    assert out.allowed[0] == 4905.92 and out.reason[0] == ""


@pytest.mark.parametrize("text", ["-5", "-$100", "abc", "1e3", "inf", "$1,00", "200000000"])
def test_bad_charges_refuse_their_line_only(fs26, text):
    out = price(fs26, [{"hcpcs": "20983", "charge": text}, {"claim_id": "C2", "hcpcs": "20983"}])
    assert math.isnan(out.allowed[0]) and not out.payable[0] and "REPRICE_BAD_CHARGE" in out.reason[0]
    assert out.allowed[1] == 4905.92
    assert not (out.allowed < 0).any()


@pytest.mark.parametrize("units", ["0.5", "0.01", "1e12", "inf", "-1", "0", "", "two", 0.5, float("inf"),
                                   "10000"])
def test_bad_units_refuse_with_a_reason(fs26, units):
    out = price(fs26, [{"hcpcs": "20983", "units": units}])
    assert math.isnan(out.allowed[0]) and not out.payable[0]
    assert "REPRICE_BAD_UNITS" in out.reason[0]


@pytest.mark.parametrize("units", ["1,5", "1,00", "1,,0", "1e2", "2E0", "1,0000", "0x10", "1_000"])
def test_units_with_a_decimal_comma_or_exponent_are_refused_not_misread(fs26, units):
    # "1,5" is one and a half with a decimal comma, never 15; "1e2" is not how a count is billed
    out = price(fs26, [{"hcpcs": "99213", "units": units}])
    assert math.isnan(out.allowed[0]) and not out.payable[0]
    assert out.reason[0] == "REPRICE_BAD_UNITS"


@pytest.mark.parametrize("units,factor", [("2", 2), ("2.0", 2), (3, 3), ("1", 1), ("1,000", 1000),
                                          (" 4 ", 4), ("+2", 2), (2.0, 2)])
def test_whole_units(fs26, units, factor):
    out = price(fs26, [{"hcpcs": "99213", "units": units}])
    assert out.allowed[0] == half_up(mul(fee("99213"), factor))


def test_dates_one_convention_per_file():
    day, year, q = parse_dates(pd.Series(["03/08/2026", "13/08/2026", "2026-03-08", "20260308",
                                          "2026-03-08T23:30:00Z", "2026-03-08T10:00:00+02:00",
                                          "2026-03-08 10:00", "2026-02-30", "08.03.2026"]))
    march8 = (pd.Timestamp("2026-03-08") - pd.Timestamp("1970-01-01")).days
    assert day.tolist() == [march8, -1, march8, march8, march8, march8, march8, -1, -1]
    day, _, _ = parse_dates(pd.Series(["08/03/2026", "13/08/2026"]), dayfirst=True)
    assert day[0] == march8 and day[1] == (pd.Timestamp("2026-08-13") - pd.Timestamp("1970-01-01")).days


def test_a_bad_date_refuses_only_its_line(fs26):
    out = price(fs26, [{"claim_id": "a", "hcpcs": "99213", "date_of_service": "13/08/2026"},
                       {"claim_id": "b", "hcpcs": "99213", "date_of_service": "08/13/2026"},
                       {"claim_id": "c", "hcpcs": "99213", "date_of_service": "2026-08-13T09:00:00Z"},
                       {"claim_id": "d", "hcpcs": "99213", "date_of_service": "2026-08-13T09:00:00-05:00"}])
    assert out.reason[0] == "REPRICE_BAD_DATE" and not out.payable[0]
    assert out.allowed[1:].tolist() == [fee("99213")] * 3
    out = price(fs26, [{"hcpcs": "99213", "date_of_service": "13/08/2026"}], dayfirst=True)
    assert out.allowed[0] == fee("99213")


def test_unknown_modifiers_are_kept_and_said(fs26):
    out = price(fs26, [{"claim_id": "a", "hcpcs": "99213", "modifiers": "5O"},
                       {"claim_id": "b", "hcpcs": "99213", "modifiers": "xx 25"},
                       {"claim_id": "c", "hcpcs": "99213", "modifiers": "25"}])
    assert out.reason.tolist() == ["MOD_NOT_PRICED", "MOD_NOT_PRICED", ""]
    assert out.modifiers.tolist() == ["5O", "xx 25", "25"]  # the user's column is untouched


def test_modifier_in_the_hcpcs_column_is_read_like_quote(fs26):
    out = price(fs26, [{"claim_id": "a", "hcpcs": "20983-50"}, {"claim_id": "b", "hcpcs": "20983 50"},
                       {"claim_id": "c", "hcpcs": "71046-26"}])
    assert out.allowed[:2].tolist() == [half_up(mul(4905.92, 1.5))] * 2 == [7358.88] * 2
    assert out.pricing_modifier[2] == "26" and out.allowed[2] == half_up(mul(0.30, 33.4009))
    assert out.hcpcs.tolist() == ["20983-50", "20983 50", "71046-26"]


def test_zip_wins_over_locality_and_the_conflict_is_noted(fs26):
    out = price(fs26, [{"hcpcs": "20983", "zip": "90012", "locality": "national"},
                       {"claim_id": "b", "hcpcs": "20983", "zip": "90012", "locality": "01182-18"},
                       {"claim_id": "c", "hcpcs": "20983", "zip": "", "locality": "01182-18"}])
    assert out.locality_id.tolist() == ["01182-18"] * 3
    assert out.allowed.tolist() == [5757.50] * 3  # see test_reprice.test_los_angeles_by_zip
    assert out.reason.tolist() == ["LOCALITY_ZIP_CONFLICT", "", ""]


def test_output_column_names_in_the_input_are_refused(fs26):
    with pytest.raises(ValueError, match="allowed"):
        price(fs26, [{"hcpcs": "99213", "allowed": "5"}])


def test_a_release_that_cannot_be_had_costs_only_its_lines(fs26):
    lines = pd.DataFrame([{**BASE, "hcpcs": "99213", "date_of_service": "2024-05-01"},
                          {**BASE, "claim_id": "C2", "hcpcs": "99213"}])
    out = reprice(lines, releases=["rvu24b", "rvu26c"])  # RVU24B is in no mirror; offline in tests
    assert out.reason[0] == "REPRICE_NO_RELEASE" and "rvu24b" in out.release_note[0]
    assert out.allowed[1] == fee("99213") and out.release[1] == "rvu26c"


def test_named_release_is_never_swapped(fs26):
    out = reprice(pd.DataFrame([{**BASE, "hcpcs": "99213"}]), releases=["rvu24b"])
    assert out.reason[0] == "REPRICE_NO_RELEASE" and out.release[0] == ""


def test_claim_totals_add_up_to_the_lines():
    # three lines of $10.01/3: rounding an unrounded total would give 10.01, lines give 10.02
    priced = pd.DataFrame({"claim_id": ["A", "A", "A", "B"], "allowed": [3.34, 3.34, 3.34, np.nan],
                           "medicare_payment": [2.67, 2.67, 2.67, np.nan], "payable": [True, True, True, False],
                           "reason": ["", "X", "X|Y", "REPRICE_BAD_UNITS"]})
    s = summarise_claims(priced)
    assert s.claim_id.tolist() == ["A", "B"] and s.lines.tolist() == [3, 1]
    assert s.allowed[0] == 10.02 and s.medicare_payment[0] == 8.01 and s.beneficiary_share[0] == 2.01
    assert s.lines_paid.tolist() == [3, 0] and s.lines_unpaid.tolist() == [0, 1]
    assert math.isnan(s.allowed[1]) and s.reasons.tolist() == ["X|Y", "REPRICE_BAD_UNITS"]


def test_claim_totals_on_real_lines(fs26):
    out = price(fs26, [{"hcpcs": "27447", "pos": "22"}, {"hcpcs": "27130", "pos": "22"},
                       {"claim_id": "", "hcpcs": "99213"}])
    assert out.payable.all()
    s = summarise_claims(out)
    assert len(s) == 2
    assert round(s.allowed[0] * 100) == round(out.allowed[0] * 100) + round(out.allowed[1] * 100)


# ---------------------------------------------------------------------------
# the CLI: values round trip, outputs whole

HOSTILE = {
    "npi": ["0123456789", "0000000001", "1234567890"],
    "amount_text": ["007.50", "-123", "1e5"],
    "flag": ["NA", "N/A", "#N/A"],
    "nothing": ["null", "", "None"],
    "long_id": ["12345678901234567", "98765432109876543210", "00000000000000000001"],
    "formula": ["=1+1", "+SUM(A1:A2)", "@cmd"],
    "memo": ["line one\nline two", 'says "hi", then, commas', "tab\there"],
}


def _claims_csv(path: Path) -> list[list[str]]:
    head = ["claim_id", "hcpcs", "modifiers", "units", "pos", "zip", "date_of_service", "charge", *HOSTILE]
    rows = [["A", "20983", "", "1", "11", "90012", "08/03/2026", "$100"],
            ["", "99213", "25", "1", "11", "02108", "2026-08-03", ""],
            ["B", "27447", "", "0.5", "22", "10001", "2026-08-03T00:00:00Z", "1,000.00"]]
    rows = [r + [HOSTILE[k][i] for k in HOSTILE] for i, r in enumerate(rows)]
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([head, *rows])
    return [head, *rows]


def _cli(*argv: str) -> int:
    import argparse

    ap = argparse.ArgumentParser()
    add_parser(ap.add_subparsers(dest="cmd"))
    return run(ap.parse_args(["reprice", *argv, "--no-progress", "--release", "rvu26c"]))


def test_csv_cells_come_back_exactly(tmp_path):
    src = tmp_path / "claims.csv"
    written = _claims_csv(src)
    dst = tmp_path / "out.csv"
    assert _cli(str(src), "-o", str(dst)) == 0
    with open(dst, newline="") as fh:
        back = list(csv.reader(fh))
    width = len(written[0])
    assert [r[:width] for r in back] == written  # every input cell, in order, as written
    assert len(back) == len(written)
    assert back[0][width:][-2:] == ["reason", "edit_note"]  # rvucalc's columns after the user's


def test_parquet_and_xlsx_keep_text_as_text(tmp_path):
    from openpyxl import load_workbook

    src = tmp_path / "claims.csv"
    written = _claims_csv(src)
    assert _cli(str(src), "-o", str(tmp_path / "o.parquet")) == 0
    pq = pd.read_parquet(tmp_path / "o.parquet")
    for j, name in enumerate(written[0]):
        assert pq[name].tolist() == [r[j] for r in written[1:]], name
    assert _cli(str(src), "-o", str(tmp_path / "o.xlsx")) == 0
    wb = load_workbook(tmp_path / "o.xlsx")
    ws = wb["Detail"] if "Detail" in wb.sheetnames else wb[wb.sheetnames[1]]
    rows = list(ws.iter_rows(values_only=True))
    hdr = list(rows[0])
    start = next(i for i, r in enumerate(rows) if r and r[0] == "claim_id") if hdr[0] != "claim_id" else 0
    hdr = list(rows[start])
    for name in HOSTILE:
        j = hdr.index(name)
        got = [r[j] for r in rows[start + 1:start + 4]]
        want = [r[written[0].index(name)] for r in written[1:]]
        assert [("" if g is None else g) for g in got] == want, name
        assert all(isinstance(g, str) or g is None for g in got), name


def test_output_equal_to_input_is_refused_and_input_kept(tmp_path, capsys):
    src = tmp_path / "claims.csv"
    _claims_csv(src)
    before = src.read_bytes()
    assert _cli(str(src), "-o", str(src)) == 2
    assert src.read_bytes() == before
    assert _cli(str(src), "-o", str(tmp_path / "." / "claims.csv")) == 2
    assert "is the input" in capsys.readouterr().err


def test_unwritable_output_is_one_sentence_before_work(tmp_path, capsys):
    src = tmp_path / "claims.csv"
    _claims_csv(src)
    assert _cli(str(src), "-o", str(tmp_path / "no" / "such" / "out.csv")) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_no_stray_temporaries(tmp_path):
    src = tmp_path / "claims.csv"
    _claims_csv(src)
    for ext in ("csv", "parquet", "xlsx"):
        assert _cli(str(src), "-o", str(tmp_path / f"o.{ext}")) == 0
    assert _cli(str(tmp_path / "missing.csv"), "-o", str(tmp_path / "x.csv")) == 2
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == [] and not (tmp_path / "x.csv").exists()


def test_sigkill_leaves_the_previous_file_or_a_whole_one(tmp_path):
    n = 300_000
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"claim_id": rng.integers(0, n // 3, n).astype(str),
                       "hcpcs": rng.choice(["99213", "20983", "27447", "71046"], n),
                       "modifiers": "", "units": "1", "pos": "11", "zip": "90012",
                       "date_of_service": "2026-08-03"})
    src = tmp_path / "big.csv"
    df.to_csv(src, index=False)
    dst = tmp_path / "out.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "rvucalc", "reprice", str(src), "-o", str(dst), "--release", "rvu26c",
           "--no-progress"]
    for delay in (0.5, 1.5, 3.0, 5.0):
        dst.write_text("previous\n")
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        text = dst.read_text()
        if text != "previous\n":  # the rename happened: the file must be whole
            assert text.count("\n") == n + 1, delay
        assert {q.name for q in tmp_path.iterdir() if not q.name.startswith(".")} == {"big.csv", "out.csv"}
    for q in tmp_path.iterdir():  # a SIGKILL may leave a hidden temporary, never under the output name
        assert not q.name.startswith("out.csv.")


def test_stdout_csv_is_the_same_as_the_file(tmp_path):
    src = tmp_path / "claims.csv"
    _claims_csv(src)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "rvucalc", "reprice", str(src), "--release", "rvu26c",
                        "--no-progress"], env=env, capture_output=True, check=True)
    assert _cli(str(src), "-o", str(tmp_path / "o.csv")) == 0
    assert r.stdout == (tmp_path / "o.csv").read_bytes()
    assert list(csv.reader(io.StringIO(r.stdout.decode())))[1][0] == "A"


@pytest.mark.parametrize("cell,factor", [
    ("N", 0.95), ("no", 0.95), ("NP", 0.95), ("Non-Participating", 0.95), ("nonparticipating", 0.95),
    ("non par", 0.95), ("NON_PAR", 0.95), ("0", 0.95), ("false", 0.95), (False, 0.95), (0, 0.95),
    ("Y", 1.0), ("yes", 1.0), ("PAR", 1.0), ("Participating", 1.0), ("1", 1.0), (True, 1.0), (1, 1.0),
    ("", 1.0), (None, 1.0)])
def test_participating_spellings(fs26, cell, factor):
    out = price(fs26, [{"hcpcs": "99213", "participating": cell}])
    f = fee("99213")  # 95.19 (2.85 RVUs x 33.4009)
    assert out.allowed[0] == half_up(mul(f, factor)) and out.nonpar_factor[0] == factor


@pytest.mark.parametrize("cell", ["maybe", "unknown", "2", "P?", "x"])
def test_participating_not_understood_refuses_the_line(fs26, cell):
    # neither 100% nor 95% is guessed: the line says why it has no amount, the others are priced
    out = price(fs26, [{"hcpcs": "99213", "participating": cell},
                       {"claim_id": "C2", "hcpcs": "99213", "participating": "N"}])
    assert math.isnan(out.allowed[0]) and not out.payable[0]
    assert out.reason[0] == "REPRICE_BAD_PARTICIPATING"
    assert out.allowed[1] == half_up(mul(fee("99213"), 0.95)) and out.payable[1]
    assert out.participating[0] == cell  # the user's cell comes back as given


def test_missing_column_error_names_only_the_users_columns(fs26):
    lines = pd.DataFrame([{**BASE, "hcpcs": "99213"}]).drop(columns=["pos"])
    with pytest.raises(ValueError) as e:
        reprice(lines, releases=[fs26])
    msg = str(e.value)
    assert "need the column(s) pos" in msg and "have claim_id, modifiers, units" in msg
    assert "_line" not in msg  # rvucalc's own line number is not one of the user's columns


@pytest.mark.parametrize("code", ["", "9921", "99213x", "  ", "-50"])
def test_no_code_is_refused_as_such(fs26, code):
    out = price(fs26, [{"hcpcs": code}, {"claim_id": "C2", "hcpcs": "99213"}])
    assert math.isnan(out.allowed[0]) and not out.payable[0]
    assert out.reason[0] == "REPRICE_BAD_CODE"  # not "not in the PPRRVU file": there is no code
    assert out.payable[1]
