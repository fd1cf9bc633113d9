"""The Python API as a notebook uses it (issue 11): lazy submodules, forgiving inputs, unknown codes kept
with their reasons, a volume-table helper, Quote.to_frame and one missing-value convention."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rvucalc

ROOT = Path(__file__).resolve().parents[1]


def test_submodules_are_attributes_of_a_fresh_import():
    code = ("import rvucalc; f = rvucalc.export.to_excel; p = rvucalc.plot.plot_localities; "
            "d = rvucalc.diff.diff; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    with pytest.raises(AttributeError):
        rvucalc.nope  # noqa: B018


def test_zip_as_int_and_short_text_is_padded(fs26):
    a = fs26.quote("99213", zip=90012)
    assert a.zip == "90012" and a.locality.locality_id == "01182-18" and a.nonfacility.amount == 104.89
    pr = fs26.quote("99213", zip="601")  # Adjuntas, PR
    assert pr.zip == "00601" and pr.locality.state == "PR"
    with pytest.raises(rvucalc.UnknownLocalityError, match="not a ZIP code"):
        fs26.quote("99213", zip="9001x")


def test_explain_unknown_code_is_a_clear_error():
    with pytest.raises(rvucalc.UnknownReasonError) as e:
        rvucalc.explain("NOPE")
    assert isinstance(e.value, KeyError)
    assert str(e.value).startswith("'NOPE' is not a reason code rvucalc gives")
    assert rvucalc.explain("") is None and rvucalc.explain(float("nan")) is None


def test_schedule_keeps_unknown_codes_with_reasons_in_asked_order(fs26, fee_files_not_at_hand):
    """0001U where no CLFS file is at hand (with one it is priced: tests/test_fee_wiring.py)."""
    df = fs26.schedule(codes=["99213", "0001U", "20983", "NOPE1", "99213-25"], localities=["01182-18"])
    office = df[df["setting"] == "nonfacility"]
    assert list(office["hcpcs"].astype(str)) == ["99213", "0001U", "20983", "NOPE1", "99213"]
    assert list(office["modifier"].astype(str)) == ["", "", "", "", "25"]
    r = dict(zip(office["hcpcs"].astype(str) + office["modifier"].astype(str), office["reason"].astype(str),
                 strict=True))
    assert r["0001U"] == "NOT_PFS_CLFS" and r["NOPE1"] == "PFS_CODE_ABSENT" and r["99213"] == ""
    amt = dict(zip(office["hcpcs"].astype(str) + office["modifier"].astype(str), office["amount"], strict=True))
    assert math.isnan(amt["0001U"]) and amt["99213"] == amt["99213" + "25"] == 104.89
    assert rvucalc.explain("NOT_PFS_CLFS").message.startswith("laboratory test")
    with pytest.raises(rvucalc.UnknownCodeError, match="Clinical Laboratory Fee Schedule"):
        fs26.schedule(codes=["99213", "0001U"], errors="raise")
    # only codes not on the PFS: their rows with reasons, no crash on an empty fee schedule part
    only = fs26.schedule(codes=["0001U", "NOPE1"], localities=["01182-18"])
    assert only["hcpcs"].astype(str).tolist() == ["0001U", "NOPE1"] * 2
    assert only["reason"].astype(str).tolist() == ["NOT_PFS_CLFS", "PFS_CODE_ABSENT"] * 2
    assert only["amount"].isna().all() and only["setting"].astype(str).tolist()[::2] == ["nonfacility", "facility"]


def test_quote_to_frame(fs26):
    f = fs26.quote("99213-25", locality="01182-18").to_frame()
    assert list(f["setting"]) == ["nonfacility", "facility"]
    assert list(f["amount"]) == [104.89, 60.24]
    assert f["code"].tolist() == ["99213-25"] * 2 and "modifier 25" in f["notes"].iloc[0]
    assert f["reason"].tolist() == ["", ""]


def test_price_volumes(fs26, fee_files_not_at_hand):
    vol = pd.DataFrame({
        "hcpcs": ["99213", "99213-25", "0001U", "20983", "71046", "xyz", "99213", "99213"],
        "zip": ["90012", 90012, "", "", "90012", "", "99999", ""],
        "setting": ["office", "facility", "office", "office", "facility", "office", "office", ""],
        "count": [10, 2, 5, 1, 3, 1, 1, 1],
        "note_from_user": ["a", "b", "c", "d", "e", "f", "g", "h"],
    })
    out = fs26.price_volumes(vol)
    pd.testing.assert_frame_equal(out[vol.columns], vol)  # the user's data comes back as given
    assert list(out["locality_id"][:4]) == ["01182-18", "01182-18", "national", "national"]
    # 99213 LA office $104.89 x 10; facility $60.24 x 2; 20983 national office $4,905.92
    assert out["revenue"].iloc[0] == 1048.90 and out["revenue"].iloc[1] == 120.48
    assert out["amount"].iloc[3] == 4905.92
    assert list(out["reason"]) == ["", "", "NOT_PFS_CLFS", "", "PFS_NA_FACILITY", "BAD_CODE", "BAD_LOCALITY", ""]
    assert out["note"].iloc[1] == "MOD_NO_PRICE_EFFECT"
    # a row with no place and no setting: national, office, each said (issue 20; "lab" is refused,
    # tests/test_api_guesses.py)
    assert out["note"].iloc[7] == "VOL_NATIONAL|VOL_SETTING_OFFICE" and out["amount"].iloc[7] == 95.19
    assert np.isnan(out["revenue"].iloc[2]) and len(out) == len(vol)
    for code in out["reason"]:
        assert code == "" or rvucalc.explain(code) is not None


def _text_columns_clean(df: pd.DataFrame) -> None:
    for c in df.columns:
        s = df[c]
        if s.dtype == object or isinstance(s.dtype, (pd.StringDtype, pd.CategoricalDtype)) or s.dtype == "str":
            vals = s.astype(object)
            assert not vals.isna().any(), f"{c} has missing text (NaN/None/NA) instead of ''"


def test_one_missing_value_convention(fs26):
    """Amounts missing -> NaN (float); text missing -> "" (README, 'Missing values')."""
    frames = {
        "schedule": fs26.schedule(codes=["99213", "0001U", "77013"], localities=["01182-18"]),
        "quote": fs26.quote("77013").to_frame(),
        "sites": fs26.compare_sites("20983").to_frame(),
        "volumes": fs26.price_volumes(pd.DataFrame({"hcpcs": ["99213", "0001U"]})),
        "anesthesia": fs26.anesthesia("00400", 90, base_units=7).to_frame(),
    }
    for name, df in frames.items():
        _text_columns_clean(df)
        for c in ("amount", "professional", "facility", "total", "revenue"):
            if c in df:
                assert df[c].dtype == float, (name, c)


def test_fs_opps_readme_call_answers_with_the_reason(fs26):
    r = fs26.opps.rate("20983")
    assert r.payment_rate is None and r.source is None
    assert r.reason.code == "OPPS_RELEASE_MISSING" and "rvucalc fetch opps-2026-01" in r.reason.message
    assert "no rate" in str(r)
    p = fs26.opps.price(1.0, ["20983"])
    assert np.isnan(p["payment"].iloc[0]) and p["reason"].iloc[0] == "OPPS_RELEASE_MISSING"


def test_fs_opps_with_a_year_at_hand(fs25):
    r = fs25.opps.rate("71046")
    assert r.indicator == "Q3" and r.condition.startswith("conditionally packaged (SI Q3)")
    assert fs25.opps.rate("20983").payment_rate == 7143.73  # CY2025 APC 5114 J1 (reference figure)
