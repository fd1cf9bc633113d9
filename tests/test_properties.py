"""Property-based tests (hypothesis) over the readers and the calculators.

Readers: real rows from the mirror are mutated (numbers re-written in other
plausible spellings, cells padded with spaces, codes in lower case), written as
a synthetic file under ``tmp_path`` in CMS's layout, read back, and the typed
output must equal the values that were written.

Calculators: for arbitrary non-negative RVUs, GPCIs, conversion factors, rates
and wage indexes, amounts are never negative, scale linearly with the
conversion factor (within the one final cent rounding), increase weakly with
each GPCI and with the wage index, and the national amount equals the
locality amount when every GPCI is 1.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rvucalc.calc.asc import PAYMENT_INDICATORS, asc_payment
from rvucalc.calc.opps import opps_payment
from rvucalc.calc.pfs import price_matrix
from rvucalc.iotools.asc import read_addendum_aa
from rvucalc.iotools.gpci import read_gpci
from rvucalc.iotools.opps import read_addendum_b
from rvucalc.iotools.pprrvu import read_pprrvu

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --------------------------------------------------------------------------- reader round trips


def _csv_rows(path: Path, delimiter: str = ",") -> list[list[str]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _write(rows: list[list[str]], delimiter: str = ",") -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    fd, name = tempfile.mkstemp(suffix=".csv", prefix="rvucalc-prop-")
    with open(fd, "wb") as fh:
        fh.write(buf.getvalue().encode("cp1252"))
    return Path(name)


@pytest.fixture(scope="module")
def pprrvu_real(mirror) -> tuple[list[list[str]], list[list[str]]]:
    rows = _csv_rows(mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv"))
    hdr = next(i for i, r in enumerate(rows) if r[0] == "HCPCS")
    return rows[: hdr + 1], rows[hdr + 1:]


#: raw positions of the PPRRVU 2026 float columns mutated below (work, PE nf, PE f, MP, totals, CF)
PPRRVU_FLOATS = {5: "work_rvu", 6: "pe_nonfacility", 8: "pe_facility", 10: "mp_rvu",
                 11: "total_nonfacility", 12: "total_facility", 25: "conversion_factor"}

values = st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False, allow_infinity=False)


def _spell(v: object, style: int, places: int = 2) -> str:
    """One of the ways a spreadsheet or CMS writes the same number."""
    s = f"{float(v):.{places}f}"
    return [s, s.rstrip("0").rstrip(".") or "0", f" {s} ", f"{float(v):.{places + 2}f}", f"0{s}"][style]


def _pad(cell: str, pad: int) -> str:
    return [cell, f" {cell}", f"{cell}  ", f"\t{cell} ".replace("\t", " ")][pad]


@SETTINGS
@given(data=st.data())
def test_pprrvu_round_trip(pprrvu_real, data: st.DataObject) -> None:
    head, body = pprrvu_real
    idx = data.draw(st.lists(st.integers(0, len(body) - 1), min_size=1, max_size=8, unique=True))
    written: list[dict[str, object]] = []
    rows = []
    for i in idx:
        r = list(body[i])
        exp: dict[str, object] = {"hcpcs": r[0].upper(), "modifier": r[1].upper(), "status": r[3].upper()}
        dec: dict[str, object] = {}
        for pos, name in PPRRVU_FLOATS.items():
            if name.startswith("total_"):  # CMS's layout: total = work + PE + MP (the reader checks it)
                pe = "pe_" + name.removeprefix("total_")
                v = dec["work_rvu"] + dec[pe] + dec["mp_rvu"]  # type: ignore[operator]
            else:
                v = data.draw(values)
            dec[name] = v
            r[pos] = _spell(v, data.draw(st.integers(0, 4)))
            exp[name] = float(v)
        if data.draw(st.booleans()):
            r[0], r[1], r[3] = r[0].lower(), r[1].lower(), r[3].lower()
        r = [_pad(c, data.draw(st.integers(0, 3))) if c else c for c in r]
        rows.append(r)
        written.append(exp)
    p = _write(head + rows)
    try:
        df = read_pprrvu(p)
    finally:
        p.unlink()
    assert len(df) == len(written)
    for got, exp in zip(df.to_dict("records"), written, strict=True):
        for k, v in exp.items():
            assert got[k] == (pytest.approx(v, abs=1e-9) if isinstance(v, float) else v), k


@SETTINGS
@given(data=st.data())
def test_gpci_round_trip_unpadded_ids(mirror, data: st.DataObject) -> None:
    """A GPCI file re-saved by a spreadsheet (ids lose leading zeros, values their trailing ones)."""
    rows = _csv_rows(mirror("pfs/rvu26c/GPCI2026.csv"))
    hdr = next(i for i, r in enumerate(rows) if "State" in r)
    body = [r for r in rows[hdr + 1:] if re.fullmatch(r"\d{5}", r[0])]
    pick = data.draw(st.lists(st.integers(0, len(body) - 1), min_size=1, max_size=10, unique=True))
    gp = st.decimals(min_value=0, max_value=3, places=3)
    out, exp = [], []
    for i in pick:
        r = list(body[i])
        w, pe, mp = (data.draw(gp) for _ in range(3))
        r[0], r[2] = str(int(r[0])), str(int(r[2]))
        r[4], r[5], r[6] = (_spell(x, data.draw(st.integers(0, 4)), 3) for x in (w, pe, mp))
        out.append(r)
        exp.append((body[i][0] + "-" + body[i][2], float(w), float(pe), float(mp)))
    p = _write(rows[: hdr + 1] + out)
    try:
        df = read_gpci(p)
    finally:
        p.unlink()
    got = list(zip(df["locality_id"], df["work_gpci"], df["pe_gpci"], df["mp_gpci"], strict=True))
    assert [(a, round(b, 3), round(c, 3), round(d, 3)) for a, b, c, d in got] == exp


def _money(v: float, style: int) -> str:
    return [f"${v:,.2f}", f"{v:.2f}", f" ${v:,.2f} ", f"${v:.2f}"][style]


@SETTINGS
@given(data=st.data())
def test_addendum_b_money_round_trip(mirror, data: st.DataObject) -> None:
    rows = _csv_rows(mirror("opps/2024-01/January_Web_2024_Addendum_B.04.24.24.csv"))
    hdr = next(i for i, r in enumerate(rows) if r[0] == "HCPCS Code")
    body = [r for r in rows[hdr + 1:] if len(r) > 5 and r[5].strip()]
    pick = data.draw(st.lists(st.integers(0, len(body) - 1), min_size=1, max_size=8, unique=True))
    money = st.decimals(min_value=0, max_value=250000, places=2)
    out, exp = [], []
    for i in pick:
        r = list(body[i])
        rate, nat = float(data.draw(money)), float(data.draw(money))
        r[5] = _money(rate, data.draw(st.integers(0, 3)))
        r[6] = _money(nat, data.draw(st.integers(0, 3)))
        if data.draw(st.booleans()):
            r[0] = r[0].lower() + " "
        out.append(r)
        exp.append((body[i][0].strip().upper(), rate, nat))
    p = _write(rows[: hdr + 1] + out)
    try:
        df = read_addendum_b(p)
    finally:
        p.unlink()
    got = list(zip(df["hcpcs"], df["payment_rate"], df["national_copay"], strict=True))
    assert [(h, round(a, 2), round(b, 2)) for h, a, b in got] == exp


@SETTINGS
@given(data=st.data())
def test_asc_aa_round_trip_tab_delimited(mirror, data: st.DataObject) -> None:
    rows = _csv_rows(mirror("asc/2024-01/AA.txt"), "\t")
    hdr = next(i for i, r in enumerate(rows) if r and r[0] == "HCPCS Code")
    body = [r for r in rows[hdr + 1:] if r and re.fullmatch(r"[A-Z0-9]{5}", r[0]) and r[6].strip()]
    pick = data.draw(st.lists(st.integers(0, len(body) - 1), min_size=1, max_size=8, unique=True))
    out, exp = [], []
    for i in pick:
        r = list(body[i])
        w = float(data.draw(st.decimals(min_value=0, max_value=9999, places=4)))
        rate = float(data.draw(st.decimals(min_value=0, max_value=250000, places=2)))
        r[5], r[6] = f"{w:.4f}", _money(rate, data.draw(st.integers(0, 3)))
        out.append(r)
        exp.append((body[i][0], w, rate))
    p = _write(rows[: hdr + 1] + out, "\t")
    try:
        df = read_addendum_aa(p)
    finally:
        p.unlink()
    got = list(zip(df["hcpcs"], df["relative_weight"], df["payment_rate"], strict=True))
    assert [(h, round(a, 4), round(b, 2)) for h, a, b in got] == exp


# --------------------------------------------------------------------------- PFS calculator

rvu = st.floats(min_value=0, max_value=500, allow_nan=False, allow_infinity=False)
gpci_v = st.floats(min_value=0.2, max_value=2.5, allow_nan=False, allow_infinity=False)
cf_v = st.floats(min_value=1, max_value=100, allow_nan=False, allow_infinity=False)


def _rvus(n: int, data: st.DataObject, *, opps: bool = True) -> pd.DataFrame:
    cols = {c: [data.draw(rvu) for _ in range(n)]
            for c in ("work_rvu", "pe_nonfacility", "pe_facility", "mp_rvu")}
    for c in ("opps_pe_nonfacility", "opps_pe_facility", "opps_mp"):
        cols[c] = [data.draw(rvu) if opps and data.draw(st.booleans()) else 0.0 for _ in range(n)]
    return pd.DataFrame({"hcpcs": [f"{10000 + i:05d}" for i in range(n)], "modifier": [""] * n,
                         "status": ["A"] * n, "na_nonfacility": [""] * n, "na_facility": [""] * n,
                         **cols})


def _gpci(rows: list[tuple[float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame({"locality_id": [f"99999-{i:02d}" for i in range(len(rows))],
                         "work_gpci": [r[0] for r in rows], "work_gpci_no_floor": [r[0] for r in rows],
                         "pe_gpci": [r[1] for r in rows], "mp_gpci": [r[2] for r in rows]})


@SETTINGS
@given(data=st.data(), cf=cf_v, k=st.floats(min_value=0.1, max_value=10))
def test_pfs_nonnegative_and_linear_in_cf(data: st.DataObject, cf: float, k: float) -> None:
    rv = _rvus(data.draw(st.integers(1, 6)), data)
    g = _gpci([(data.draw(gpci_v), data.draw(gpci_v), data.draw(gpci_v)) for _ in range(3)])
    a = price_matrix(rv, g, cf)
    b = price_matrix(rv, g, cf * k)
    for s in ("nonfacility", "facility"):
        # a row with no RVUs in a setting is carrier priced: no amount, with its reason
        none = (rv[["work_rvu", f"pe_{s}", "mp_rvu"]] == 0).all(axis=1).to_numpy()
        assert (np.isnan(a.amount[s]).all(axis=1) == none).all()
        assert (a.reason[s][none] == "PFS_NO_RVUS_SHOWN").all()
        assert (a.amount[s][~none] >= 0).all()
        # each amount is rounded once, so each side is within half a cent of the exact value
        np.testing.assert_allclose(b.amount[s], k * a.amount[s], rtol=0, atol=0.005 * (1 + k) + 1e-6)


@SETTINGS
@given(data=st.data(), cf=cf_v, which=st.sampled_from([0, 1, 2]),
       bump=st.floats(min_value=0, max_value=1.5))
def test_pfs_weakly_increasing_in_each_gpci(data: st.DataObject, cf: float, which: int, bump: float) -> None:
    rv = _rvus(data.draw(st.integers(1, 6)), data)
    base = [data.draw(gpci_v) for _ in range(3)]
    up = list(base)
    up[which] += bump
    lo = price_matrix(rv, _gpci([tuple(base)]), cf)
    hi = price_matrix(rv, _gpci([tuple(up)]), cf)
    for s in ("nonfacility", "facility"):
        assert not (hi.amount[s] < lo.amount[s]).any()  # NaN (no RVUs) on both sides
        np.testing.assert_array_equal(np.isnan(hi.amount[s]), np.isnan(lo.amount[s]))


@SETTINGS
@given(data=st.data(), cf=cf_v)
def test_pfs_national_equals_locality_with_all_gpcis_one(data: st.DataObject, cf: float) -> None:
    rv = _rvus(data.draw(st.integers(1, 6)), data)
    nat = price_matrix(rv, None, cf)
    loc = price_matrix(rv, _gpci([(1.0, 1.0, 1.0)]), cf)
    for s in ("nonfacility", "facility"):
        np.testing.assert_array_equal(nat.amount[s], loc.amount[s])
        np.testing.assert_array_equal(nat.capped[s], loc.capped[s])


def test_pfs_hand_example() -> None:
    """CY2026 20983 (mirror README): (6.71 + 139.34 + 0.83) x 33.4009 = 4905.924... -> $4,905.92."""
    rv = pd.DataFrame({"hcpcs": ["20983"], "modifier": [""], "status": ["A"], "na_nonfacility": [""],
                       "na_facility": [""], "work_rvu": [6.71], "pe_nonfacility": [139.34],
                       "pe_facility": [1.52], "mp_rvu": [0.83], "opps_pe_nonfacility": [0.0],
                       "opps_pe_facility": [0.0], "opps_mp": [0.0]})
    assert price_matrix(rv, None, 33.4009).amount["nonfacility"][0, 0] == 4905.92


# --------------------------------------------------------------------------- OPPS and ASC

# a rate printed as $0.00 has no amount (OPPS_ZERO_RATE, ASC_ZERO_RATE; test_trust_amounts.py)
rate_v = st.floats(min_value=0.01, max_value=100000, allow_nan=False, allow_infinity=False)
wi_v = st.floats(min_value=0.2, max_value=2.5, allow_nan=False, allow_infinity=False)


def _addb(rates: list[float], si: list[str]) -> pd.DataFrame:
    n = len(rates)
    return pd.DataFrame({"hcpcs": [f"{20000 + i:05d}" for i in range(n)], "status_indicator": si,
                         "payment_rate": rates, "national_copay": [r * 0.2 for r in rates],
                         "minimum_copay": [r * 0.2 for r in rates]})


@SETTINGS
@given(rates=st.lists(rate_v, min_size=1, max_size=8), w1=wi_v, w2=wi_v,
       si=st.sampled_from(["J1", "T", "S", "V", "K", "G"]))
def test_opps_monotone_in_wage_index(rates: list[float], w1: float, w2: float, si: str) -> None:
    lo, hi = sorted((w1, w2))
    b = _addb(rates, [si] * len(rates))
    a_lo = opps_payment(b, lo, year=2025)
    a_hi = opps_payment(b, hi, year=2025)
    for col in ("payment", "copay", "medicare"):
        assert (a_lo[col] >= 0).all() and (a_hi[col] >= 0).all(), col
    assert (a_hi["payment"] >= a_lo["payment"]).all()
    assert (a_hi["copay"] >= a_lo["copay"]).all()
    np.testing.assert_allclose(a_lo["payment"] + 0, a_lo["copay"] + a_lo["medicare"], atol=1e-9)


@SETTINGS
@given(rates=st.lists(rate_v, min_size=1, max_size=8))
def test_opps_wage_index_one_pays_the_national_rate(rates: list[float]) -> None:
    out = opps_payment(_addb(rates, ["J1"] * len(rates)), 1.0, year=2026)
    expect = np.floor(np.asarray(rates) * 100 + 0.5 + 1e-9) / 100
    np.testing.assert_allclose(out["payment"].to_numpy(), expect, atol=1e-9)


WAGE_PI = [p.code for p in PAYMENT_INDICATORS.values() if p.paid and p.wage_adjusted]


def _aa(rates: list[float], weights: list[float], pi: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"hcpcs": [f"{30000 + i:05d}" for i in range(len(rates))], "payment_indicator": pi,
                         "payment_rate": rates, "relative_weight": weights,
                         "preventive": [False] * len(rates)})


@SETTINGS
@given(rates=st.lists(rate_v, min_size=1, max_size=8), w1=wi_v, w2=wi_v, pi=st.sampled_from(WAGE_PI))
def test_asc_monotone_in_wage_index(rates: list[float], w1: float, w2: float, pi: str) -> None:
    lo, hi = sorted((w1, w2))
    aa = _aa(rates, [1.0] * len(rates), [pi] * len(rates))
    a_lo, a_hi = asc_payment(aa, lo), asc_payment(aa, hi)
    for col in ("payment", "coinsurance", "medicare_payment"):
        assert (a_lo[col] >= 0).all() and (a_hi[col] >= 0).all(), col
    assert (a_hi["payment"] >= a_lo["payment"]).all()
    assert (a_hi["medicare_payment"] >= a_lo["medicare_payment"] - 0.01).all()
    one = asc_payment(aa, 1.0)
    np.testing.assert_allclose(one["payment"], np.floor(np.asarray(rates) * 100 + 0.5 + 1e-9) / 100, atol=1e-9)


@SETTINGS
@given(rates=st.lists(rate_v, min_size=1, max_size=8),
       cf=st.floats(min_value=10, max_value=100), k=st.floats(min_value=0.5, max_value=3),
       wi=wi_v, pi=st.sampled_from([p.code for p in PAYMENT_INDICATORS.values() if p.cf_based]))
def test_asc_linear_in_conversion_factor(rates: list[float], cf: float, k: float, wi: float, pi: str) -> None:
    # a what-if CF scales the file's rate by CF / the release's CF (issue 9: the file's rate,
    # not weight x CF, is the base); the release's own CF gives the file's rate back
    rates = [float(np.floor(r * 100 + 0.5) / 100) for r in rates]  # CMS prints cents
    aa = _aa(rates, [1.0] * len(rates), [pi] * len(rates))
    a = asc_payment(aa, wi, conversion_factor=cf, release_conversion_factor=cf)
    b = asc_payment(aa, wi, conversion_factor=cf * k, release_conversion_factor=cf)
    assert (a["payment"] >= 0).all()
    np.testing.assert_array_equal(a["national_rate"], rates)
    # the rate (file rate x k) and the payment are each rounded to the cent
    factor = 0.5 * wi + 0.5
    tol = (0.005 * factor + 0.005) * (1 + k) + 1e-6
    np.testing.assert_allclose(b["payment"], k * a["payment"], rtol=0, atol=tol)


def test_pfs_blank_rvu_gets_a_reason_not_a_silent_nan() -> None:
    rv = pd.DataFrame({"hcpcs": ["10001", "10002"], "modifier": ["", ""], "status": ["A", "A"],
                       "na_nonfacility": ["", ""], "na_facility": ["", ""], "work_rvu": [np.nan, 1.0],
                       "pe_nonfacility": [1.0, 1.0], "pe_facility": [1.0, 1.0], "mp_rvu": [1.0, 1.0],
                       "opps_pe_nonfacility": [0.0, 0.0], "opps_pe_facility": [0.0, 0.0], "opps_mp": [0.0, 0.0]})
    pm = price_matrix(rv, None, 10.0)
    for s in ("nonfacility", "facility"):
        assert list(pm.reason[s]) == ["PFS_NO_RVU", ""]
        assert np.isnan(pm.amount[s][0, 0]) and pm.amount[s][1, 0] == 30.0  # (1 + 1 + 1) x 10
