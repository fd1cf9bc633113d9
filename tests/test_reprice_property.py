"""Real-data property over the whole CY2026 file (RVU26C): for every code with
PC/TC indicator 1, a -26 line plus a -TC line on one claim are paid what the
global code is paid, within a cent, in every locality and both settings.

CMS's PC/TC indicator 1 (RVU file documentation, Attachment A) splits a
diagnostic test into a professional and a technical component; the global is
their sum, and each amount is rounded to cents on its own (hence "within a
cent"). The exceptions are where CMS's own rows make a component or the
global unpayable in a setting; the test derives that list from the rows'
status and NA indicators (independently of the repricer) and requires the
repricer's misses to be exactly that list. In RVU26C they are (code ×
setting, same in every locality): 819 codes with TC and global NA in the
facility setting (the hospital bills the technical component), 98 with TC and
global carrier-priced (status C) under a payable -26, 118 carrier-priced
throughout, 72 status R codes NA in facilities (or with no RVUs), 62 status R
codes with no RVUs in the office (carrier priced: "if no RVUs are shown, the
service is carrier priced"; they used to come out as $0.00 + $0.00 = $0.00), non-covered (N), invalid (I)
and bundled (B) codes, and 2 codes whose TC row is bundled (status B) under a
payable global.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rvucalc.calc.pfs import PAYABLE_STATUS
from rvucalc.reprice import reprice


def test_global_equals_pc_plus_tc_everywhere(fs26):
    rv = fs26.rvus
    p1 = rv[rv["pctc"] == "1"]
    mods = p1.groupby("hcpcs")["modifier"].apply(set)
    codes = mods[mods.apply(lambda s: {"", "26", "TC"} <= s)].index.to_numpy()
    assert len(codes) > 1000  # 1,119 codes in RVU26C
    locs = fs26.gpci["locality_id"].to_numpy()
    c, loc, s = (a.ravel() for a in np.meshgrid(np.arange(len(codes)), np.arange(len(locs)), np.arange(2),
                                                  indexing="ij"))
    k = len(c)
    df = pd.DataFrame({
        "claim_id": np.repeat(np.arange(k) * 2, 3) + np.tile([0, 0, 1], k),
        "hcpcs": np.repeat(codes[c], 3),
        "modifiers": np.tile(np.array(["26", "TC", ""], dtype=object), k),
        "pos": np.repeat(np.array(["11", "22"])[s], 3),
        "locality": np.repeat(locs[loc], 3),
        "date_of_service": "2026-08-03",
    })
    out = reprice(df, releases=[fs26])
    assert len(out) == 3 * k
    a = out["allowed"].to_numpy().reshape(k, 3)
    same = np.abs(a[:, 0] + a[:, 1] - a[:, 2]) <= 0.01 + 1e-9

    # CMS's exceptions from the rows alone: a component or the global not payable in the setting
    rows = rv.set_index(["hcpcs", "modifier"])
    unpayable = {}
    for setting, na_col in ((0, "na_nonfacility"), (1, "na_facility")):
        for mod in ("26", "TC", ""):
            r = rows.xs(mod, level="modifier").loc[codes]
            pe = r["pe_nonfacility" if setting == 0 else "pe_facility"]
            no_rvus = (r["work_rvu"] == 0) & (pe == 0) & (r["mp_rvu"] == 0)  # carrier priced
            unpayable[(setting, mod)] = (~r["status"].isin(list(PAYABLE_STATUS)) | (r[na_col] == "NA")
                                         | no_rvus).to_numpy()
    expected_miss = np.zeros(k, dtype=bool)
    for mod in ("26", "TC", ""):
        for setting in (0, 1):
            expected_miss |= (s == setting) & unpayable[(setting, mod)][c]
    assert ((~same) == expected_miss).all()
    # what the exceptions are, with counts (codes x settings)
    kinds = pd.Series([f"{'/'.join(out['status'].to_numpy()[3 * i:3 * i + 3])} {'facility' if s[i] else 'office'}"
                       for i in np.flatnonzero(expected_miss & (loc == 0))]).value_counts()
    # statuses of the -26 / -TC / global rows, and the setting; "A/A/A facility" are codes whose
    # TC and global rows carry the facility NA indicator
    assert kinds.to_dict() == {
        "A/A/A facility": 819, "C/C/C office": 118, "C/C/C facility": 118, "A/C/C office": 98,
        "A/C/C facility": 98, "R/R/R facility": 72, "R/R/R office": 62, "N/N/N office": 7, "N/N/N facility": 7,
        "I/I/I office": 2, "I/I/I facility": 2, "A/B/A office": 2, "A/B/A facility": 2,
        "B/B/B office": 1, "B/B/B facility": 1,
    }
    assert int(same.sum()) > 90_000
