"""Benchmark: the claim edit stage on 1,000,000 lines against a PTP table of about 2 million pairs.

Issue 22's target: the edit stage (duplicate lines, NCCI PTP edits, MUEs, and the dollars they
removed) costs no more than 25% of the time ``reprice`` takes without it, on 1 M lines with the
edit files at hand.

The lines are ``bench_reprice.synthetic_lines`` (real RVU26C codes, ZIP codes and places of
service; claims of 1-6 lines on one date in 2026 Q3) with 1% of them duplicated exactly in their
claim (the issue's warehouse extract). The edit files are synthetic, written to a temporary
folder in CMS's layouts under the catalogue's 2026 Q3 names: a practitioner PTP table of about 2
million edits between the codes (split over the four ``ccipra-v322r0-f<n>.TXT`` parts, mostly
modifier indicator 1, some 0, a few 9 or deleted) and a practitioner MUE table with a value and
MAI for every code. Reads the CMS mirror through ``$RVUCALC_MIRROR`` (default ``../shared/cms``),
never downloads.

    python3 benchmarks/bench_edits.py [--lines 1000000] [--pairs 2000000] [--repeat 3]

Times are the best of ``--repeat`` warm runs each way (the machine is shared); the edit tables
are loaded by a first, untimed run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("RVUCALC_MIRROR", str((ROOT.parent / "shared" / "cms").resolve()))
os.environ["RVUCALC_OFFLINE"] = "1"
os.environ.setdefault("RVUCALC_CACHE", tempfile.mkdtemp(prefix="rvucalc-bench-"))

from bench_reprice import synthetic_lines  # noqa: E402

import rvucalc  # noqa: E402
from rvucalc.claims import edits as stage_module  # noqa: E402
from rvucalc.claims.tally import LineTally, refusing_for  # noqa: E402
from rvucalc.reprice import reprice  # noqa: E402

PTP_HEAD = ("CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t\n"
            "Column1/Column2 Edits\t\t\t\t\t\t\n"
            "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\n"
            "\t\tprior to 1996\tDate\tDate\t0=not allowed\t\n"
            "\t\t\t\t*=no data\t1=allowed\t\n"
            "\t\t\t\t\t9=not applicable\t\n")


def with_duplicates(lines: pd.DataFrame, share: float, seed: int = 22) -> pd.DataFrame:
    """*lines* with a copy of *share* of them placed right after the original (same claim)."""
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(lines), int(len(lines) * share), replace=False))
    order = np.concatenate([np.arange(len(lines)), pick])
    key = np.concatenate([np.arange(len(lines)) * 2, pick * 2 + 1])
    return lines.iloc[order[np.argsort(key, kind="stable")]].reset_index(drop=True)


def write_edit_files(folder: Path, codes: np.ndarray, pairs: int, seed: int = 2026) -> int:
    """A synthetic PTP table of about *pairs* edits between *codes* (four parts) and an MUE table."""
    rng = np.random.default_rng(seed)
    k = len(codes)
    key = np.unique(rng.integers(0, k, int(pairs * 1.05)).astype(np.int64) * k + rng.integers(0, k, int(pairs * 1.05)))
    key = key[(key // k) != (key % k)][:pairs]
    n = len(key)
    ind = rng.choice(np.array(["1", "0", "9"]), n, p=[0.9, 0.09, 0.01])
    dele = np.where(rng.random(n) < 0.1, "20251231", "*")
    df = pd.DataFrame({"c1": codes[key // k], "c2": codes[key % k], "old": "", "eff": "20150101", "del": dele,
                       "ind": ind, "why": "Standards of medical/surgical practice"})
    for f, part in enumerate(np.array_split(np.arange(n), 4), start=1):
        path = folder / f"ccipra-v322r0-f{f}.TXT"
        with open(path, "w", newline="", encoding="latin-1") as fh:
            fh.write(PTP_HEAD.replace("\n", "\r\n"))
            df.iloc[part].to_csv(fh, sep="\t", header=False, index=False, lineterminator="\r\n")
    mue = pd.DataFrame({"c": codes, "v": rng.integers(1, 10, k),
                        "m": rng.choice(np.array(["1 Line Edit", "2 Date of Service Edit: Policy",
                                                  "3 Date of Service Edit: Clinical"]), k),
                        "r": "Clinical: Data"})
    with open(folder / "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv", "w", newline="", encoding="latin-1") as fh:
        fh.write('"CPT codes, descriptions and other data only are copyright 2025 American Medical Association.\r\n'
                 'All Rights Reserved.",,,\r\n"HCPCS/\r\nCPT Code",Practitioner Services MUE Values,'
                 "MUE Adjudication Indicator,MUE Rationale\r\n")
        mue.to_csv(fh, header=False, index=False, lineterminator="\r\n")
    return n


def best(fn, repeat: int) -> tuple[float, float, pd.DataFrame]:
    """Best wall-clock time, best CPU time (all threads of the process) and the result."""
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu), out  # type: ignore[return-value]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=2_000_000)
    ap.add_argument("--duplicates", type=float, default=0.01, help="share of lines duplicated (default 1%%)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cli", action="store_true", help="also time `rvucalc reprice` on a CSV of the lines, "
                                                       "with and without --no-edits")
    args = ap.parse_args()
    fs = rvucalc.load(2026, progress=False)
    _ = fs.zip5
    base = synthetic_lines(fs, args.lines)
    lines = with_duplicates(base, args.duplicates).iloc[:args.lines].reset_index(drop=True)
    codes = np.asarray(pd.unique(fs.rvus["hcpcs"].astype(str)), dtype=object)
    folder = Path(tempfile.mkdtemp(prefix="rvucalc-ncci-"))
    t0 = time.perf_counter()
    n_pairs = write_edit_files(folder, codes, args.pairs)
    print(f"release {fs.release.id}; {len(lines):,} lines in {lines['claim_id'].nunique():,} claims "
          f"({args.duplicates:.0%} duplicated); synthetic PTP table of {n_pairs:,} edits between {len(codes):,} "
          f"codes and MUEs for every code, written in {time.perf_counter() - t0:.1f} s")
    mirror = str(folder)
    t0 = time.perf_counter()
    reprice(lines.iloc[:1000], releases=[fs], mirror=mirror)  # loads and prepares the edit tables (untimed)
    t_load = time.perf_counter() - t0
    t = stage_module.table("ptp", stage_module.release_for("ptp", "practitioner", 2026, 3), mirror)
    print(f"edit tables read and prepared in {t_load:.1f} s (first use; cached as parquet after): "
          f"{t.pairs:,} PTP edits in effect in 2026 Q3, pair bits {t.pair_bits.nbytes / 2**20:.0f} MiB")
    reprice(lines, releases=[fs], edits=False)  # warm both paths once
    t_off, c_off, off = best(lambda: reprice(lines, releases=[fs], edits=False), args.repeat)
    t_on, c_on, on = best(lambda: reprice(lines, releases=[fs], mirror=mirror), args.repeat)
    # the stage alone (no pricing): the three rules and the notes
    from rvucalc.claims import pipeline
    from rvucalc.claims.normalise import normalise

    opts = pipeline.options("pfs", releases=("rvu26c",), mirror=mirror)
    chunk = lines.assign(_line=np.arange(len(lines)))

    def stage_alone() -> None:
        parsed = normalise(chunk)
        _ = parsed.claim  # the claim ids hashed (normalise's own work, not the stage's)
        st = stage_module.Stage(opts)
        t0, c0 = time.perf_counter(), time.process_time()
        st.attach(parsed)
        _ = parsed.reasons.bits
        st.note()
        times.append((time.perf_counter() - t0, time.process_time() - c0))

    times: list[tuple[float, float]] = []
    for _ in range(args.repeat):
        stage_alone()
    t_stage, c_stage = min(t for t, _ in times), min(c for _, c in times)
    import functools

    from rvucalc.claims import pipeline as pl
    from rvucalc.claims.edits import removed_rows

    again = functools.partial(pl.price_chunk, opts=pl.options("pfs", releases=("rvu26c",), edits=False),
                              schedules={"rvu26c": fs})
    t0, c0 = time.perf_counter(), time.process_time()
    removed_rows(on, again)
    t_dollars, c_dollars = time.perf_counter() - t0, time.process_time() - c0
    tally = LineTally(refusing_for("pfs"), reprice=again)(on).text().splitlines()
    denied = (on["edit_note"].astype(str) != "").sum()
    affected = on["claim_id"].isin(on.loc[on["edit_note"].astype(str) != "", "claim_id"]).sum()
    print("\n".join(tally[1:]))
    print(f"reprice without edits: best of {args.repeat} {t_off:.2f} s wall, {c_off:.2f} s CPU; with edits: "
          f"{t_on:.2f} s wall, {c_on:.2f} s CPU ({denied:,} lines denied, {affected:,} lines in claims with a "
          f"denial; {int(off['payable'].sum()):,} -> {int(on['payable'].sum()):,} payable)")
    print(f"edit stage alone (duplicates, PTP and MUE rules, notes): {t_stage:.3f} s wall, {c_stage:.3f} s CPU "
          f"= {t_stage / t_off:.1%} / {c_stage / c_off:.1%} of reprice")
    ratio, cratio = (t_on - t_off) / t_off, (c_on - c_off) / c_off
    print(f"edit stage cost = reprice with edits - without = {t_on - t_off:.3f} s wall ({ratio:.1%} of reprice), "
          f"{c_on - c_off:.3f} s CPU ({cratio:.1%}); target <= 25%: "
          f"{'met' if max(ratio, cratio) <= 0.25 else 'NOT met'}")
    print(f"the summary's dollars removed (the claims with a payable denied line priced again without edits; "
          f"done where a summary is made): {t_dollars:.3f} s wall, {c_dollars:.3f} s CPU = {c_dollars / c_off:.1%} "
          f"of reprice")
    if args.cli:
        import contextlib
        import io

        from rvucalc.cli import main as cli

        src = folder / "claims.csv"
        lines.to_csv(src, index=False)
        both = f"{mirror}{os.pathsep}{os.environ['RVUCALC_MIRROR']}"
        argv = ["reprice", str(src), "-o", str(folder / "priced.csv"), "--engine", "memory", "--release", "rvu26c",
                "--mirror", both, "--no-progress"]

        said: list[str] = []

        def run(extra: list[str]) -> None:
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                assert cli(argv + extra) == 0
            said[:] = err.getvalue().splitlines()

        run([])
        w_off, c_off, _ = best(lambda: run(["--no-edits"]), args.repeat)
        w_on, c_on, _ = best(lambda: run([]), args.repeat)
        print("\n".join(said))
        print(f"`rvucalc reprice` of the lines as CSV (read, price, write CSV): --no-edits {w_off:.2f} s wall, "
              f"{c_off:.2f} s CPU; with edits {w_on:.2f} s wall, {c_on:.2f} s CPU: the edits cost "
              f"{(w_on - w_off) / w_off:.1%} wall, {(c_on - c_off) / c_off:.1%} CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
