"""Issue 6: a million claim lines, a share of them bad, come back complete, in order, each explained."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rvucalc.reasons import explain
from rvucalc.reprice import reprice


def test_million_lines_with_bad_values(fs25, fs26):
    rng = np.random.default_rng(2026)
    n = 1_000_000
    codes = fs26.rvus.loc[fs26.rvus.modifier == "", "hcpcs"].astype(str).to_numpy()
    zips = fs26.zip5["zip"].astype(str).to_numpy()
    df = pd.DataFrame({
        "claim_id": rng.integers(0, 300_000, n).astype(str),
        "hcpcs": codes[rng.integers(0, len(codes), n)].astype(object),
        "modifiers": np.array(["", "", "", "26", "TC", "50", "51 LT", "80", "50,LT", "lt", "62"],
                              dtype=object)[rng.integers(0, 11, n)],
        "units": rng.integers(1, 4, n).astype(object),
        "pos": np.array(["11", "22", "21", "19", "24", "11"], dtype=object)[rng.integers(0, 6, n)],
        "zip": zips[rng.integers(0, len(zips), n)].astype(object),
        "date_of_service": np.array(["2025-11-03", "2026-08-14", "2026-09-30"], dtype=object)[rng.integers(0, 3, n)],
    })
    # 10% bad values of every kind, in known rows
    bad = rng.random(n) < 0.10
    kinds = rng.integers(0, 7, n)
    df.loc[bad & (kinds == 0), "hcpcs"] = "ZZZ99"            # unknown code
    df.loc[bad & (kinds == 1), "date_of_service"] = "31/02/2026"  # bad date
    df.loc[bad & (kinds == 2), "zip"] = None                 # missing locality
    df.loc[bad & (kinds == 3), "pos"] = "77"                 # unknown place of service
    df.loc[bad & (kinds == 4), "units"] = 0                  # zero units
    df.loc[bad & (kinds == 5), "units"] = -2                 # negative units
    df.loc[bad & (kinds == 6), "date_of_service"] = "2019-05-01"  # no release for the year
    df["seq"] = np.arange(n)

    out = reprice(df, releases=[fs25, fs26])

    assert len(out) == n
    assert (out["seq"].to_numpy() == np.arange(n)).all()  # same order
    unpaid = ~out["payable"].to_numpy(dtype=bool)
    reasons = out["reason"].astype(str).to_numpy()
    assert (reasons[unpaid] != "").all()  # every unpaid line says why
    assert out["allowed"].isna().to_numpy()[unpaid].all() and out["allowed"].notna().to_numpy()[~unpaid].all()
    # every deliberately bad line is unpaid, and its reason names the fault
    expect = {0: "REPRICE_UNKNOWN_CODE", 1: "REPRICE_BAD_DATE", 2: "REPRICE_NO_LOCALITY", 3: "REPRICE_BAD_POS",
              4: "REPRICE_BAD_UNITS", 5: "REPRICE_BAD_UNITS", 6: "REPRICE_NO_RELEASE"}
    # a lab test, drug or DME item is priced on its own schedule (issue 21): the CLFS national limit
    # and the ASP payment limit need no locality, a DME fee its state (its own reasons say so);
    # a missing ZIP code refuses the PFS lines with REPRICE_NO_LOCALITY
    sched = out["fee_schedule"].astype(str).to_numpy()
    national = sched != "pfs"
    no_zip = bad & (kinds == 2)
    assert national[no_zip].any() and out["payable"].to_numpy(dtype=bool)[no_zip & np.isin(sched, ["clfs", "asp"])].any()
    for k, code in expect.items():
        rows = bad & (kinds == k)
        if k == 2:
            rows &= ~national
        assert unpaid[rows].all(), code
        assert pd.Series(reasons[rows]).str.contains(code, regex=False).all(), code
    for cell in pd.unique(reasons):
        for c in filter(None, cell.split("|")):
            assert explain(c) is not None
    print(f"1,000,000 lines: {int((~unpaid).sum()):,} payable, {int(unpaid.sum()):,} unpaid with reasons")
