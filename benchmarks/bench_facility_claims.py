"""Benchmark: facility claim repricing (OPPS and ASC claim rules), vectorised vs a per-claim loop.

Random claims (1-6 lines, codes drawn from CY2025 Addendum B / Addenda AA+BB, units 1-3, two
dates, one wage index per claim) are priced from their text columns (claim id, date, HCPCS)
to rounded line amounts. The per-claim reference loop (tests/facility_reference.py) is timed on
a slice and reported as lines per second.

Run: ``RVUCALC_MIRROR=../shared/cms python benchmarks/bench_facility_claims.py [lines]``
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("RVUCALC_MIRROR", ROOT.parent / "shared" / "cms"))
REFERENCE_LINES = 50_000
PEER_LINES_PER_S = 51_700  # fastest open-source ASC claim pricer measured on this machine


def make_lines(codes: np.ndarray, n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 7, size=n // 3 + 1)
    claim_of_line = np.repeat(np.arange(len(per)), per)[:n]
    wi_claim = rng.choice([1.0, 0.8734, 1.2311], size=len(per))
    return pd.DataFrame({
        "claim_id": pd.Series(claim_of_line).map("C{:08d}".format).to_numpy(dtype=object),
        "date_of_service": rng.choice(["2025-03-01", "2025-03-02"], size=n).astype(object),
        "hcpcs": rng.choice(codes, size=n).astype(object),
        "units": rng.choice([1.0, 1.0, 1.0, 2.0, 3.0], size=n),
        "wage_index": wi_claim[claim_of_line],
    })


def vectorised(table, df: pd.DataFrame) -> dict:  # type: ignore[no-untyped-def]
    from rvucalc.claims import facility as F

    line = np.arange(len(df), dtype=np.int64)
    claim = pd.factorize(df["claim_id"])[0].astype(np.int64)
    day = pd.factorize(df["date_of_service"])[0].astype(np.int64)
    session = pd.factorize(claim * 8 + day)[0].astype(np.int64)
    code = F.code_index(table.hcpcs, df["hcpcs"])
    kw = {"claim": claim, "session": session, "line": line, "code": code,
          "units": df["units"].to_numpy(float), "wage_index": df["wage_index"].to_numpy(float)}
    if isinstance(table, F.OppsTable):
        return F.price_opps(table, **kw)
    return F.price_asc(table, **kw)


def reference(table, df: pd.DataFrame) -> list:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "tests"))
    from facility_reference import asc_rows, opps_rows, ref_asc, ref_opps

    from rvucalc.claims import facility as F

    lines = [{"line": i, "claim": c, "date": d, "hcpcs": h, "units": u, "wi": w, "mods": set()}
             for i, (c, d, h, u, w) in enumerate(df.itertuples(index=False))]
    if isinstance(table, F.OppsTable):
        return ref_opps(opps_rows(table), lines, table.deductible)
    return ref_asc(asc_rows(table), lines)


def main() -> int:
    from rvucalc.claims import facility as F
    from rvucalc.iotools.asc import read_addendum_aa, read_addendum_bb
    from rvucalc.iotools.opps import read_addendum_b

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    addb = read_addendum_b(MIRROR / "opps/2025-01/January 2025 Web Addendum B.12.31.24.csv")
    opps = F.prepare_opps(addb, year=2025)
    asc = F.prepare_asc(read_addendum_aa(MIRROR / "asc/2025-01/AA.csv"),
                        read_addendum_bb(MIRROR / "asc/2025-01/BB.csv"), year=2025)
    for name, table in (("OPPS", opps), ("ASC", asc)):
        paid = np.asarray(table.hcpcs)[table.rate[:-1] > 0]
        codes = np.concatenate([paid[:: max(len(paid) // 400, 1)], np.asarray(table.hcpcs)[::500]])
        df = make_lines(codes, n)
        vectorised(table, df.head(1000))  # warm up
        t = time.perf_counter()
        vectorised(table, df)
        dt = time.perf_counter() - t
        sub = df.head(REFERENCE_LINES)
        t = time.perf_counter()
        reference(table, sub)
        dr = time.perf_counter() - t
        v_rate, r_rate = n / dt, len(sub) / dr
        print(f"{name}: vectorised {n:,} lines in {dt:.2f} s = {v_rate:,.0f} lines/s; "
              f"per-claim loop {r_rate:,.0f} lines/s ({v_rate / r_rate:.0f}x); "
              f"{v_rate / PEER_LINES_PER_S:.1f}x the {PEER_LINES_PER_S:,} lines/s target base")
    return 0


if __name__ == "__main__":
    sys.exit(main())
