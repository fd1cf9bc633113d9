"""Benchmark (issue 21, part 3): a book of claims in every setting, ``rvucalc sites --claims``.

A book like a real extract (E/M visits, procedures, imaging, venipuncture and labs, Part B drugs,
hospital clinic visits G0463, DME; claims of 1-4 lines, CY2025 dates so every setting has its CMS
files in the mirror, placed by ZIP and CBSA) is written as CSV; then, each in its own process so
that peak memory is the command's own (``ru_maxrss`` of the child):

- ``reprice --setting pfs``, ``--setting hopd`` and ``--setting asc`` on the book (``-o x.csv``):
  the three repricings the comparison combines;
- ``sites --claims book.csv -o x.csv`` and ``-o x.xlsx``.

Targets: peak memory within 2x that of ``rvucalc reprice``; the CSV within 2x the time of the
three ``reprice`` runs; the workbook (summaries and one row per claim) within 60 s for 198,470
lines. Also printed: the share of claims each setting priced of those it can bill (target 95%).

    python3 benchmarks/bench_sites.py --lines 198470 --runs 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
MIRROR = os.path.abspath(os.environ.get("RVUCALC_MIRROR") or ROOT.parent / "shared" / "cms")

#: (codes, weight) of a clinic's book; every code is a real HCPCS code
MIX = [
    (["99213", "99214", "99215", "99203", "99204", "99212"], 0.40),  # E/M visits
    (["36415", "80053", "85025", "80061", "83036", "84443"], 0.20),  # venipuncture and labs
    (["J1100", "J3301", "J1885", "J0897", "J9271"], 0.07),  # Part B drugs
    (["71046", "74177", "70450", "73721", "77067", "93000"], 0.10),  # imaging, ECG
    (["20610", "11042", "17000", "64483", "29881", "45378", "66984", "20983", "43239"], 0.13),  # procedures
    (["96372", "97110", "97140"], 0.06),  # injections, therapy
    (["G0463"], 0.03),  # the hospital's clinic visit (hospital claims)
    (["E0601", "L3908"], 0.01),  # DME
]
ZIPS = ["90012", "10001", "60601", "77002", "85004", "97201", "98101", "33101", "02115", "55401"]
CBSA = {"90012": "31084", "10001": "35614", "60601": "16984", "77002": "26420", "85004": "38060",
        "97201": "38900", "98101": "42644", "33101": "33124", "02115": "14454", "55401": "33460"}


def write_book(path: Path, n: int, year: int = 2025, seed: int = 21) -> int:
    """*n* claim lines of claims with 1-4 lines, as text; returns the number of claims."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 1, 1, 2, 2, 3, 4], size=n)
    claim = np.repeat(np.arange(len(sizes)), sizes)[:n]
    nclaims = int(claim.max()) + 1
    weights = np.array([w for _, w in MIX])
    kinds = rng.choice(len(MIX), size=n, p=weights / weights.sum())
    pick = np.empty(n, dtype=object)
    for k, (cs, _w) in enumerate(MIX):  # a few kinds: vectorised per kind
        sel = kinds == k
        pick[sel] = np.asarray(cs, dtype=object)[rng.integers(0, len(cs), int(sel.sum()))]
    units = np.where(pd.Series(pick).str.startswith("J").to_numpy(), rng.integers(1, 20, n), 1)
    z = np.asarray(ZIPS, dtype=object)[rng.integers(0, len(ZIPS), nclaims)][claim]
    pos = np.asarray(["11", "11", "22", "19", "24"], dtype=object)[rng.integers(0, 5, nclaims)][claim]
    day = pd.date_range(f"{year}-01-02", f"{year}-12-30").strftime("%Y-%m-%d").to_numpy(dtype=object)
    dates = day[rng.integers(0, len(day), nclaims)][claim]
    df = pd.DataFrame({"claim_id": pd.Series(claim).map("CLM{:07d}".format), "hcpcs": pick,
                       "modifiers": np.where(pick == "E0601", "RR", ""), "units": units.astype(str),
                       "pos": pos, "zip": z, "cbsa": pd.Series(z).map(CBSA), "date_of_service": dates,
                       "charge": rng.uniform(20, 900, n).round(2).astype(str), "rural": "N"})
    df.to_csv(path, index=False)
    return nclaims


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak MiB) of ``python -m rvucalc *args`` in a child process."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run([sys.executable, '-m', 'rvucalc', *sys.argv[1:]], stdout=subprocess.DEVNULL, "
            "stderr=subprocess.PIPE, text=True); dt = time.perf_counter() - t; "
            "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; "
            "sys.stderr.write(r.stderr if r.returncode else ''); print(f'{dt} {m}'); sys.exit(r.returncode)")
    p = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"rvucalc {' '.join(args)} failed:\n{p.stderr}")
    dt, mem = p.stdout.split()
    return float(dt), float(mem)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=198_470)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--no-xlsx", action="store_true")
    ap.add_argument("--year", type=int, default=2025, help="dates of service in this year (2025: every setting "
                    "has its files in the mirror but the CLFS and DMEPOS; 2026: all but the OPPS Addendum B)")
    a = ap.parse_args()
    env = {**os.environ, "RVUCALC_MIRROR": MIRROR, "RVUCALC_OFFLINE": "1",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.setdefault("RVUCALC_CACHE", tempfile.mkdtemp(prefix="rvucalc-bench-"))
    with tempfile.TemporaryDirectory(prefix="rvucalc-bench-sites-") as tmp:
        work = Path(tmp)
        book = work / "book.csv"
        claims = write_book(book, a.lines, year=a.year)
        print(f"{a.lines:,} lines, {claims:,} claims", flush=True)
        t: dict[str, list[tuple[float, float]]] = {}
        jobs = {f"reprice {s}": ["reprice", str(book), "--setting", s, "-o", str(work / f"r_{s}.csv"),
                                 "--no-edits", "--no-progress"] for s in ("pfs", "hopd", "asc")}
        jobs["sites --claims csv"] = ["sites", "--claims", str(book), "-o", str(work / "s.csv")]
        if not a.no_xlsx:
            jobs["sites --claims xlsx"] = ["sites", "--claims", str(book), "-o", str(work / "s.xlsx")]
        for _ in range(a.runs):
            for name, args in jobs.items():  # one after the other, each run
                t.setdefault(name, []).append(run(args, env))
        for name, v in t.items():
            print(f"{name:>20}: {statistics.median(x for x, _ in v):7.2f} s, peak {max(m for _, m in v):7.0f} MiB")
        three = sum(statistics.median(x for x, _ in t[f"reprice {s}"]) for s in ("pfs", "hopd", "asc"))
        rep_mem = max(m for s in ("pfs", "hopd", "asc") for _, m in t[f"reprice {s}"])
        csv_t = statistics.median(x for x, _ in t["sites --claims csv"])
        csv_m = max(m for _, m in t["sites --claims csv"])
        print(f"CSV time / three reprice runs: {csv_t / three:.2f}x (target <= 2); "
              f"peak memory / reprice: {csv_m / rep_mem:.2f}x (target <= 2)")
        if not a.no_xlsx:
            x = statistics.median(s for s, _ in t["sites --claims xlsx"])
            size = (work / "s.xlsx").stat().st_size / 2**20
            print(f"workbook: {x:.1f} s (target <= 60 s for 198,470 lines), {size:.1f} MiB")
        per = pd.read_csv(work / "s.csv", dtype=str, keep_default_na=False)
        for site in ("office", "hopd", "asc"):
            billable = per[f"{site}_billable"].str.lower() == "true"
            priced = per[f"{site}_total"] != ""
            print(f"{site:>7}: priced {priced.sum():,} of {billable.sum():,} claims it can bill "
                  f"({priced.sum() / max(billable.sum(), 1):.1%}; target >= 95%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
