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
sys.path.insert(0, str(ROOT))  # the checkout's rvucalc, installed or not (as the other benchmarks)
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
    from rvucalc.claims import asc as A
    from rvucalc.claims import lines as L
    from rvucalc.claims import opps as O

    line = np.arange(len(df), dtype=np.int64)
    claim = pd.factorize(df["claim_id"])[0].astype(np.int64)
    day = pd.factorize(df["date_of_service"])[0].astype(np.int64)
    session = pd.factorize(claim * 8 + day)[0].astype(np.int64)
    code = L.code_index(table.hcpcs, df["hcpcs"])
    kw = {"claim": claim, "session": session, "line": line, "code": code,
          "units": df["units"].to_numpy(float), "wage_index": df["wage_index"].to_numpy(float)}
    if isinstance(table, O.OppsTable):
        return O.price_opps(table, **kw)
    return A.price_asc(table, **kw)


def reference(table, df: pd.DataFrame) -> list:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "tests"))
    from facility_reference import asc_rows, opps_rows, ref_asc, ref_opps

    from rvucalc.claims import opps as O

    lines = [{"line": i, "claim": c, "date": d, "hcpcs": h, "units": u, "wi": w, "mods": set()}
             for i, (c, d, h, u, w) in enumerate(df.itertuples(index=False))]
    if isinstance(table, O.OppsTable):
        return ref_opps(opps_rows(table), lines, table.deductible)
    return ref_asc(asc_rows(table), lines)


def main() -> int:
    from rvucalc.claims import asc as A
    from rvucalc.claims import opps as O
    from rvucalc.claims import pipeline
    from rvucalc.iotools.asc import read_addendum_aa, read_addendum_bb
    from rvucalc.iotools.opps import read_addendum_b

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    addb = read_addendum_b(MIRROR / "opps/2025-01/January 2025 Web Addendum B.12.31.24.csv")
    opps = O.prepare_opps(addb, year=2025)
    asc = A.prepare_asc(read_addendum_aa(MIRROR / "asc/2025-01/AA.csv"),
                        read_addendum_bb(MIRROR / "asc/2025-01/BB.csv"), year=2025)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, table, system, rel in (("OPPS", opps, "hopd", "opps-2025-01"),
                                     ("ASC", asc, "asc", "asc-2025-01")):
        paid = np.asarray(table.hcpcs)[table.rate[:-1] > 0]
        codes = np.concatenate([paid[:: max(len(paid) // 400, 1)], np.asarray(table.hcpcs)[::500]])
        df = make_lines(codes, n)
        # the pipeline from text columns, as a CSV is read (every cell text)
        text = df.assign(units=df["units"].astype(int).astype(str),
                         wage_index=df["wage_index"].astype(str))
        opts = pipeline.options(system, releases=[rel], mirror=str(MIRROR))
        pipeline.price_frame(text.head(1000), opts)  # warm up: prepared tables built once
        t, c = time.perf_counter(), time.process_time()
        pipeline.price_frame(text, opts)
        dp, cp = time.perf_counter() - t, time.process_time() - c
        vectorised(table, df.head(1000))
        t, c = time.perf_counter(), time.process_time()
        vectorised(table, df)
        dt, ct = time.perf_counter() - t, time.process_time() - c
        sub = df.head(REFERENCE_LINES)
        t, c = time.perf_counter(), time.process_time()
        reference(table, sub)
        dr, cr = time.perf_counter() - t, time.process_time() - c
        # wall time, and CPU time (what the run costs when other processes share the cores)
        p_rate, v_rate, r_rate = n / dp, n / dt, len(sub) / dr
        pc_rate, r_crate = n / cp, len(sub) / cr
        print(f"{name}: pipeline (text in: normalise + rules + money) {n:,} lines in {dp:.2f} s "
              f"wall / {cp:.2f} s CPU = {p_rate:,.0f} / {pc_rate:,.0f} lines/s "
              f"({pc_rate / PEER_LINES_PER_S:.1f}x {PEER_LINES_PER_S:,} by CPU time); "
              f"claim keys + rules + money {dt:.2f} s wall / {ct:.2f} s CPU "
              f"= {v_rate:,.0f} lines/s; per-claim loop {r_rate:,.0f} lines/s wall, "
              f"{r_crate:,.0f} CPU (pipeline {pc_rate / r_crate:.0f}x the loop by CPU time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
