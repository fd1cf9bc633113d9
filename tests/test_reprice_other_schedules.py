"""Claim lines whose code another fee schedule pays get the reason ``quote`` gives them.

Issue: ``rvucalc.reprice`` said ``REPRICE_UNKNOWN_CODE`` for 0001U, ``PFS_STATUS_X`` for 80047
and ``PFS_STATUS_E`` for J1100, while ``quote``/``schedule`` and the README say which fee
schedule pays them (``NOT_PFS_CLFS``, ``NOT_PFS_ASP``). Now: a code not in the PPRRVU file gets
the other schedule's reason instead of ``REPRICE_UNKNOWN_CODE``; a code in the file with a status
that is not payable keeps its status reason and gets the other schedule's reason too (quote
prints both). The lines stay unpaid.

Facts from the CMS file (RVU26C PPRRVU, read from the mirror below): 0001U is not in it; 80047
has status X, J1100 status E, 88305 status A, G0463 status X.

Since issue 21 a lab, drug or DME line is priced from its own schedule when the quarter's file
(or another of the same year) is at hand (tests/test_fee_wiring.py); these reasons are what such
lines say when it is not. The tests here make every CLFS/ASP/DMEPOS file "not at hand"
(:func:`no_fee_files`), so they check exactly that case.
"""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from rvucalc import explain
from rvucalc.claims.pipeline import options
from rvucalc.claims.stream import reprice_file
from rvucalc.errors import UnknownCodeError
from rvucalc.reprice import reprice

PPRRVU = "pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv"
BASE = {"claim_id": "C1", "modifiers": "", "units": "1", "pos": "11", "locality": "national",
        "date_of_service": "2026-08-03"}
#: code -> the reason column written out by hand (status letters from the CMS file)
WANT = {
    "0001U": "NOT_PFS_CLFS",                # not in the file; a PLA lab code (####U)
    "80047": "PFS_STATUS_X|NOT_PFS_CLFS",   # status X; lab panel (80047-89398)
    "J1100": "PFS_STATUS_E|NOT_PFS_ASP",    # status E; a drug (J code)
    "J9999": "PFS_STATUS_E|NOT_PFS_ASP",    # in the file (status E): "not otherwise classified" drug
    "88305": "",                            # status A: paid on the PFS although in the lab range
    "G0463": "PFS_STATUS_X",                # status X; a G code says nothing about another schedule
    "ZZZZZ": "REPRICE_UNKNOWN_CODE",        # not a code of any schedule
}


@pytest.fixture(autouse=True)
def no_fee_files(fee_files_not_at_hand):
    """No CLFS, ASP or DMEPOS file at hand, for any quarter (conftest.fee_files_not_at_hand)."""


def _status_in_file(mirror) -> dict[str, str]:
    with open(mirror(PPRRVU), newline="", encoding="utf-8-sig") as fh:
        return {r[0]: r[3] for r in csv.reader(fh) if r and r[0] in WANT and r[1] == ""}


def _lines(codes: list[str]) -> pd.DataFrame:
    return pd.DataFrame([{**BASE, "claim_id": f"C{i}", "hcpcs": c} for i, c in enumerate(codes)])


def test_cms_file_facts(mirror):
    st = _status_in_file(mirror)
    assert "0001U" not in st and "ZZZZZ" not in st
    assert (st["80047"], st["J1100"], st["J9999"], st["88305"], st["G0463"]) == ("X", "E", "E", "A", "X")


def test_reprice_says_which_fee_schedule_pays(fs26):
    out = reprice(_lines(list(WANT)), releases=[fs26])
    assert out.reason.astype(str).tolist() == list(WANT.values())
    unpaid = [c != "88305" for c in WANT]
    assert (~out.payable.to_numpy(bool) == np.array(unpaid)).all()
    assert out.allowed[np.array(unpaid)].isna().all()
    for cell in out.reason.astype(str):
        for c in filter(None, cell.split("|")):
            assert explain(c) is not None


def test_reprice_agrees_with_quote_and_schedule(fs26):
    out = reprice(_lines(["80047", "J1100", "0001U"]), releases=[fs26])
    for i, code in enumerate(["80047", "J1100"]):
        q = fs26.quote(code)  # one answer: the same reason cell (issue 20)
        assert q.nonfacility.reason.code == q.facility.reason.code == str(out.reason[i]), code
    with pytest.raises(UnknownCodeError, match="Clinical Laboratory Fee Schedule"):
        fs26.quote("0001U")
    sched = fs26.schedule(codes=["99213", "0001U"], national=True)
    assert set(sched.loc[sched.hcpcs == "0001U", "reason"]) == {str(out.reason[2])} == {"NOT_PFS_CLFS"}


def test_reason_does_not_depend_on_other_lines(fs26):
    alone = [str(reprice(_lines([c]), releases=[fs26]).reason[0]) for c in WANT]
    together = reprice(_lines(list(WANT)[::-1]), releases=[fs26]).reason.astype(str).tolist()[::-1]
    assert alone == together == list(WANT.values())


def test_modifier_rows_and_stream_engine(fs26, tmp_path):
    codes = list(WANT) * 3
    df = _lines(codes)
    df.loc[len(WANT):2 * len(WANT) - 1, "modifiers"] = "26"  # 26 where the code has no -26 row
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    whole = reprice(pd.read_csv(src, dtype=str, keep_default_na=False), releases=[fs26])
    reprice_file(src, tmp_path / "out.csv", options=options(releases=["rvu26c"]), chunk_lines=5,
                 progress=False)
    streamed = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert streamed.reason.tolist() == whole.reason.astype(str).tolist()
    first = whole.reason.astype(str).tolist()[:len(WANT)]
    assert first == list(WANT.values())
    # 26 on a code without a -26 row: that fault; the unknown code keeps its other-schedule reason
    mod26 = dict(zip(codes[len(WANT):2 * len(WANT)], whole.reason.astype(str)[len(WANT):2 * len(WANT)]))
    assert mod26["0001U"] == "NOT_PFS_CLFS" and mod26["ZZZZZ"] == "REPRICE_UNKNOWN_CODE"
    assert mod26["80047"] == "MOD_PCTC_NOT_ALLOWED"
