"""Benchmark (issue 23): a book of claim lines priced under three payer contracts.

Target: the lines and claims of a contract run on 1 M lines with 3 contracts take no more than
1.5x the time of ``rvucalc.reprice`` on the same lines. Measured in one process, alternating, after
a warm-up (releases loaded, tables prepared):

- ``reprice``: :func:`rvucalc.reprice` on the lines (what ``rvucalc reprice`` prices);
- ``contracts``: :func:`rvucalc.price_contracts` on the same lines with three contracts (its own
  Medicare repricing included: the whole run), and ``+ claims``: the rows and the per-claim
  totals side by side (:func:`rvucalc.contracts.price_book`, what ``rvucalc contract
  --claims-out`` runs);
- the parts of a contracts run: the Medicare stage (the repricing, keeping the parsed lines),
  the contract stage (versions, terms, amounts, reasons: three contracts) and assembling the
  output rows (1 M x 3 rows, every column of the lines repeated, as by default).

The lines are generated as ``benchmarks/bench_scale.py`` does (real CY2026 codes and ZIP codes,
claims of 1-6 lines scattered, July-September 2026 dates, every cell text as a CSV is read) and
nothing is written to the repository. The three contracts: the issue's example (percent of
Medicare by fee schedule and code range, a case rate, percent of charge, lesser of charge), 100%
of Medicare, and one with dated versions, an escalator, a fee schedule file of 2,000 codes, a
case rate covering whole claims and a fallback.

    python3 benchmarks/bench_contracts.py --lines 1000000 --runs 3 [--cli]

``--cli`` also times the commands as whole processes, in turn: ``rvucalc reprice book.csv -o
r.csv`` against ``rvucalc contract book.csv --contract x3 -o c.csv --claims-out cc.csv`` (one row
per line per contract: three times the rows to write) and the same with ``--layout wide`` (one
row per line, the contracts side by side, as ``reprice`` writes one row per line).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ["RVUCALC_MIRROR"] = os.path.abspath(os.environ.get("RVUCALC_MIRROR") or ROOT.parent / "shared" / "cms")
os.environ["RVUCALC_OFFLINE"] = "1"
os.environ.setdefault("RVUCALC_CACHE", tempfile.mkdtemp(prefix="rvucalc-bench-"))

EXAMPLE = """\
name: acme-ppo-2026
base: medicare
lesser_of_charge: true
terms:
  - name: surgery
    match: {fee_schedule: pfs, codes: ["10004-69990"]}
    pay: {percent_of_medicare: 135}
  - name: professional
    match: {fee_schedule: pfs}
    pay: {percent_of_medicare: 120}
  - name: lab
    match: {fee_schedule: clfs}
    pay: {percent_of_medicare: 100}
  - name: drugs
    match: {fee_schedule: asp}
    pay: {percent_of_medicare: 110}
  - name: knee case rate
    match: {codes: ["27447"], setting: hopd}
    pay: {per_claim: 25000.00}
  - name: all other
    pay: {percent_of_charge: 45}
"""
HUNDRED = """\
name: medicare-100
terms:
  - name: all
    pay: {percent_of_medicare: 100}
"""
DATED = """\
name: dated-2026
lesser_of_charge: true
escalator: {percent: 3, start: 2025-01-01}
fallback: {name: no Medicare rate, pay: {percent_of_charge: 40}}
versions:
  - effective: 2026-01-01
    terms:
      - name: knee episode
        match: {codes: ["27447", "27130"]}
        pay: {per_claim: 30000, covers: claim}
      - name: imaging technical
        match: {codes: ["70010-79999"], modifiers: [TC]}
        pay: {percent_of_medicare: 95}
      - name: our fees
        pay: {fee_schedule_file: fees.csv}
      - name: office
        match: {setting: office}
        pay: {percent_of_medicare: 115}
      - name: facility
        pay: {percent_of_medicare: 110.5}
  - effective: 2026-09-01
    terms:
      - name: office
        match: {setting: office}
        pay: {percent_of_medicare: 118}
      - name: other
        pay: {percent_of_medicare: 112}
"""


def _stats(ts: list[float]) -> str:
    return f"{min(ts):.2f} / {statistics.median(ts):.2f} s"


def _cli(work: Path, runs: int) -> None:
    """The commands as a user runs them (start-up, reading the book and writing the outputs
    included), in turn, and each contract run's time over the ``rvucalc reprice`` run before it."""
    import subprocess

    run = [sys.executable, "-m", "rvucalc"]
    book, rel = str(work / "book.csv"), ["--release", "rvu26c"]
    terms = [x for n in ("acme", "hundred", "dated") for x in ("--contract", str(work / f"{n}.yaml"))]
    cmds = {
        "rvucalc reprice": [*run, "reprice", book, *rel, "-o", str(work / "r.csv")],
        "contract (long rows)": [*run, "contract", book, *terms, *rel, "-o", str(work / "c.csv"),
                                 "--claims-out", str(work / "cc.csv")],
        "contract --layout wide": [*run, "contract", book, *terms, *rel, "--layout", "wide", "-o",
                                   str(work / "w.csv"), "--claims-out", str(work / "wc.csv")],
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for k, cmd in cmds.items():
            s = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t[k].append(time.perf_counter() - s)
    for k, ts in t.items():
        paired = statistics.median(x / r for x, r in zip(ts, t["rvucalc reprice"]))
        print(f"{k:>24}: {_stats(ts)}  ({paired:.2f}x reprice, paired median)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cli", action="store_true", help="also time the commands, each a whole process: "
                    "rvucalc reprice against rvucalc contract (rows one per line per contract, and --layout wide)")
    a = ap.parse_args()

    import bench_scale

    import rvucalc
    from rvucalc.claims.contract import LINE
    from rvucalc.claims.io import read_claims
    from rvucalc.contracts import load, price_book
    from rvucalc.contracts import medicare as M
    from rvucalc.contracts import price as P
    from rvucalc.contracts.match import LineIndex

    work = Path(tempfile.mkdtemp(prefix="rvucalc-bench-contracts-"))
    try:
        src = work / "book.csv"
        bench_scale.write_claims(src, a.lines)
        lines = read_claims(src).drop(columns=[LINE])
        codes, _mods, _zips, _pos = bench_scale._pools()
        rng = np.random.default_rng(23)
        pick = rng.choice(np.unique(codes), 2000, replace=False)
        (work / "fees.csv").write_text("code,amount\n" + "".join(
            f"{c},{rng.uniform(10, 900):.2f}\n" for c in pick))
        for name, text in (("acme.yaml", EXAMPLE), ("hundred.yaml", HUNDRED), ("dated.yaml", DATED)):
            (work / name).write_text(text)
        contracts = [load(work / n) for n in ("acme.yaml", "hundred.yaml", "dated.yaml")]
        rel = ["rvu26c"]
        print(f"{len(lines):,} lines, {lines['claim_id'].nunique():,} claims, 3 contracts; warming up", flush=True)
        rvucalc.reprice(lines.head(1000), releases=rel)
        out = rvucalc.price_contracts(lines, contracts, releases=rel)
        assert len(out) == 3 * len(lines)
        priced = out["contract_allowed"].notna().to_numpy().reshape(3, -1).mean(axis=1)
        print("lines priced per contract: " + ", ".join(f"{c.name} {p:.1%}" for c, p in zip(contracts, priced)))
        del out
        t: dict[str, list[float]] = {k: [] for k in ("reprice", "contracts", "contracts + claims", "medicare",
                                                    "contract stage", "assemble")}
        for _ in range(a.runs):
            s = time.perf_counter()
            r = rvucalc.reprice(lines, releases=rel)
            t["reprice"].append(time.perf_counter() - s)
            del r
            s = time.perf_counter()
            out = rvucalc.price_contracts(lines, contracts, releases=rel)
            t["contracts"].append(time.perf_counter() - s)
            del out
            s = time.perf_counter()
            book = price_book(lines, contracts, releases=rel)  # what `rvucalc contract --claims-out` runs
            t["contracts + claims"].append(time.perf_counter() - s)
            del book
            # the parts, one after the other (price_contracts prices the contracts of a large book on threads)
            s = time.perf_counter()
            facts, meds = M.price(lines, base_years=(None,), releases=rel)
            t["medicare"].append(time.perf_counter() - s)
            s = time.perf_counter()
            index = LineIndex(facts, meds[None])
            claims = P._Claims(facts)
            parts = [P._price_one(c, facts, meds, index, claims) for c in contracts]
            t["contract stage"].append(time.perf_counter() - s)
            s = time.perf_counter()
            P._assemble(lines, P._output_names(lines, "all"), parts, meds[None], claims.dense)
            t["assemble"].append(time.perf_counter() - s)
            del facts, meds, parts, index, claims
        base = min(t["reprice"])
        for k, ts in t.items():
            paired = statistics.median(x / r for x, r in zip(ts, t["reprice"]))
            print(f"{k:>20}: {_stats(ts)}  ({min(ts) / base:.2f}x reprice, best runs; {paired:.2f}x paired median)")
        ratio = statistics.median(x / r for x, r in zip(t["contracts + claims"], t["reprice"]))
        print(f"target: contracts + claims <= 1.5x reprice (median of the runs' ratios): {ratio:.2f}x -> "
              f"{'met' if ratio <= 1.5 else 'NOT met'}")
        if a.cli:
            _cli(work, a.runs)
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
