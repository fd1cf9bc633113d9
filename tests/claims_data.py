"""Synthetic claims for the engine tests: every claim-level rule, lines of a claim scattered.

Each claim follows one template below (codes and expectations as in ``test_reprice.py``,
whose RVUs are checked against the mirror's PPRRVU2026 file). The lines of all claims are
shuffled, so a claim's lines sit far apart in the file and fall in different batches, parts,
windows and (for Dask) files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: (hcpcs, modifiers, units, pos) per line of a claim, by the rule the claim exercises.
TEMPLATES: dict[str, list[tuple[str, str, str, str]]] = {
    "mppr": [("27447", "", "1", "22"), ("27130", "51", "1", "22")],  # second surgery at 50%
    "rt_lt": [("27447", "RT", "1", "22"), ("27447", "LT", "1", "22")],  # one bilateral procedure
    "status_t": [("96523", "", "1", "11"), ("99213", "", "1", "11")],  # T bundled into the visit
    "pc_tc": [("71046", "26", "1", "11"), ("71046", "TC", "1", "11")],
    "endoscopy": [("43239", "", "1", "24"), ("43249", "", "1", "24"), ("43235", "", "1", "24")],
    "imaging": [("70450", "", "1", "11"), ("74177", "", "1", "11")],
    "therapy": [("97110", "", "2", "11"), ("97140", "", "1", "11")],
    "bilateral_50": [("20983", "50", "1", "11")],
    "status_t_alone": [("96523", "", "1", "11")],
    "six_surgeries": [("27447", "", "5", "22"), ("27130", "", "1", "22")],
    "unknown": [("ZZZZZ", "", "1", "11")],
}


def claims_frame(n_claims: int, seed: int = 10, text: bool = True) -> pd.DataFrame:
    """*n_claims* claims (templates in turn), lines shuffled; a ``seq`` column gives each line's place.

    All cells are text (as a CSV reads) when *text*; else ``units`` is an integer column.
    """
    rng = np.random.default_rng(seed)
    names = list(TEMPLATES)
    rows = []
    for c in range(n_claims):
        kind = names[c % len(names)]
        day = "2026-08-03" if c % 3 else "2026-07-14"
        loc = "01182-18" if c % 4 == 0 else "national"  # Los Angeles, else national
        for hcpcs, mods, units, pos in TEMPLATES[kind]:
            rows.append((f"CLM{c:06d}", kind, hcpcs, mods, units, pos, day, loc))
    df = pd.DataFrame(rows, columns=["claim_id", "kind", "hcpcs", "modifiers", "units", "pos",
                                     "date_of_service", "locality"])
    df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    df["note"] = [f'"{i:07d}", n/a' if i % 9 == 0 else f"{i:07d}" for i in range(len(df))]
    if not text:
        df["units"] = df["units"].astype(np.int64)
    return df
