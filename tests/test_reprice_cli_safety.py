"""``rvucalc reprice`` refuses outputs that would be lost or mis-written, and stops cleanly.

Fresh-clone review findings: ``--claims-out`` equal to ``-o`` left only the totals; ``--engine
dask`` made a folder of parquet parts named ``out.csv`` (mode 0700); ``-o x.txt`` wrote CSV;
Ctrl-C printed a traceback and SIGTERM during ``--engine stream`` left its temporary parts.
Every input here is a small synthetic file written by the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from claims_data import claims_frame

from rvucalc.cli import main

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ("claim_id,hcpcs,modifiers,units,pos,locality,date_of_service\n"
          "1,99213,,1,11,national,2026-08-03\n"
          "1,ZZZZZ,,1,11,national,2026-08-03\n")


@pytest.fixture
def claims(tmp_path: Path) -> Path:
    p = tmp_path / "claims.csv"
    p.write_text(CLAIMS)
    return p


def _refused(capsys, argv: list[str], *words: str) -> str:
    """Run *argv*; it must exit 2 with one line on standard error holding *words*."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


@pytest.mark.parametrize("engine", ["memory", "stream", "dask", "auto"])
def test_claims_out_same_as_out_or_input_is_refused_before_any_work(engine, claims, tmp_path, capsys,
                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    ext = "parquet" if engine == "dask" else "csv"
    # the same path spelled two ways
    _refused(capsys, ["reprice", str(claims), "-o", f"same.{ext}", "--claims-out", str(tmp_path / f"same.{ext}"),
                      "--engine", engine, "--release", "rvu26c", "--no-progress"],
             "--claims-out", "-o", "same")
    assert not (tmp_path / f"same.{ext}").exists()
    # the totals over the input
    before = claims.read_bytes()
    _refused(capsys, ["reprice", "claims.csv", "-o", f"o.{ext}", "--claims-out", "./claims.csv",
                      "--engine", engine, "--release", "rvu26c", "--no-progress"],
             "--claims-out", "input")
    assert claims.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv"]  # nothing written, no temp left


def test_distinct_outputs_still_written(claims, tmp_path, capsys):
    out, tot = tmp_path / "o.csv", tmp_path / "t.csv"
    assert main(["reprice", str(claims), "-o", str(out), "--claims-out", str(tot), "--release", "rvu26c",
                 "--no-progress"]) == 0
    assert out.read_text().count("\n") == 3 and tot.read_text().count("\n") == 2  # 2 lines, 1 claim


@pytest.mark.parametrize("name", ["x.txt", "x", "x.json", "x.xls"])
def test_output_suffix_not_written_is_refused(name, claims, tmp_path, capsys):
    err = _refused(capsys, ["reprice", str(claims), "-o", str(tmp_path / name), "--release", "rvu26c",
                            "--no-progress"], ".csv", ".parquet", ".xlsx")
    assert name in err
    _refused(capsys, ["reprice", str(claims), "-o", str(tmp_path / "o.csv"), "--claims-out",
                      str(tmp_path / name), "--release", "rvu26c", "--no-progress"], "--claims-out", ".csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv"]


def test_stream_refuses_excel_before_any_work(claims, tmp_path, capsys):
    _refused(capsys, ["reprice", str(claims), "-o", str(tmp_path / "x.xlsx"), "--engine", "stream",
                      "--no-progress"], ".csv", ".parquet")


@pytest.mark.parametrize("opt", ["-o", "--claims-out"])
def test_dask_refuses_a_file_suffix_it_does_not_write(opt, tmp_path, capsys):
    ds = tmp_path / "claims"
    ds.mkdir()
    other = ["-o", str(tmp_path / "out")] if opt == "--claims-out" else []
    _refused(capsys, ["reprice", str(ds), opt, str(tmp_path / "dask_out.csv"), *other, "--engine", "dask",
                      "--no-progress"], "parquet dataset", "folder or a .parquet path", "dask_out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims"]  # no folder named dask_out.csv


def test_dask_refuses_writing_over_its_input_folder(tmp_path, capsys):
    ds = tmp_path / "claims"
    ds.mkdir()
    (ds / "a.parquet").write_bytes(b"")
    _refused(capsys, ["reprice", str(ds / "*.parquet"), "-o", str(ds), "--engine", "dask", "--no-progress"],
             "replace the input")
    _refused(capsys, ["reprice", str(ds), "-o", str(tmp_path), "--engine", "dask", "--no-progress"],
             "replace the input")
    assert (ds / "a.parquet").exists()


def test_dask_output_folder_has_the_mode_of_a_new_folder(tmp_path, fs26):
    """The dataset folder is made by mkdtemp (0700) and renamed into place: it must get 0777 & ~umask."""
    import distributed
    import pandas as pd

    import rvucalc.dask as rdask
    from rvucalc.claims.pipeline import PricingOptions

    src = tmp_path / "claims"
    src.mkdir()
    pd.DataFrame({"claim_id": ["1"], "hcpcs": ["99213"], "units": ["1"], "pos": ["11"], "locality": ["national"],
                  "date_of_service": ["2026-08-03"]}).to_parquet(src / "a.parquet", index=False)
    old = os.umask(0o022)
    try:
        with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                                dashboard_address=None) as client:
            for umask in (0o022, 0o027):
                os.umask(umask)
                dst, tot = tmp_path / f"out{umask:o}", tmp_path / f"tot{umask:o}.parquet"
                assert rdask.reprice_dataset(src, dst, options=PricingOptions(releases=("rvu26c",)), client=client,
                                             progress=False, claims_out=tot) == 1
                for d in (dst, tot):
                    assert d.is_dir() and (d.stat().st_mode & 0o777) == 0o777 & ~umask, oct(d.stat().st_mode)
    finally:
        os.umask(old)


# ---------------------------------------------------------------------------
# Ctrl-C and SIGTERM


def _stream_run(tmp_path: Path, sig: int) -> tuple[int, str, Path]:
    """Start a streaming run of a synthetic file, send *sig* once its temporary parts are written."""
    src = tmp_path / "big.csv"
    if not src.exists():
        claims_frame(40_000, seed=3).to_csv(src, index=False)  # about 75,000 lines
    out = tmp_path / "priced.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.Popen([sys.executable, "-m", "rvucalc", "reprice", str(src), "-o", str(out), "--engine",
                          "stream", "--chunk-lines", "500", "--workers", "1", "--release", "rvu26c",
                          "--no-progress"], env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and p.poll() is None:
            if any(tmp_path.glob(".rvucalc-stream-*/priced-*.arrow")):  # mid-run: parts being priced
                break
            time.sleep(0.02)
        assert p.poll() is None, "the run ended before it could be interrupted"
        p.send_signal(sig)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, err, out


@pytest.mark.parametrize(("sig", "status", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                     (signal.SIGTERM, 143, "terminated")])
def test_signal_mid_stream_cleans_up_and_says_one_line(sig, status, word, tmp_path):
    rc, err, out = _stream_run(tmp_path, sig)
    assert rc == status, err
    assert err.strip() == f"rvucalc reprice: {word}; {out} not written", err
    assert "Traceback" not in err
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["big.csv"], left  # no .rvucalc-stream-* folder, no temp output, no priced.csv


def test_library_engines_refuse_totals_over_the_lines(claims, tmp_path):
    """The same guard in :func:`rvucalc.reprice_file` and :func:`rvucalc.dask.reprice_dataset`."""
    import rvucalc.dask as rdask
    from rvucalc.atomic import OutputError
    from rvucalc.claims.stream import reprice_file

    with pytest.raises(OutputError, match="totals would replace"):
        reprice_file(claims, tmp_path / "s.csv", claims_out=str(tmp_path / "." / "s.csv"), progress=False)
    with pytest.raises(OutputError, match="totals would replace"):
        rdask.reprice_dataset(tmp_path, tmp_path / "p", claims_out=tmp_path / "p", client=object(), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv"]


def test_interrupt_message_says_what_became_of_each_output(tmp_path):
    """Written (replaced since the start), left unchanged (there before, untouched), not written."""
    import argparse

    from rvucalc.cli import Terminated
    from rvucalc.cli.reprice import _signatures, interrupted_message

    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_text("a\n")
    args = argparse.Namespace(input="in.csv", out=str(old), claims_out=str(new))
    before = _signatures(args)
    assert interrupted_message(args, before, KeyboardInterrupt()) == \
        f"interrupted; {old} left unchanged, {new} not written"
    tmp = tmp_path / "tmp"
    tmp.write_text("b\n")
    os.replace(tmp, old)  # as atomic_output puts a finished output in place
    new.write_text("c\n")
    assert interrupted_message(args, before, Terminated()) == f"terminated; {old} written, {new} written"
    assert interrupted_message(argparse.Namespace(input="in.csv", out=None, claims_out=None), {},
                               KeyboardInterrupt()) == "interrupted"


@pytest.mark.parametrize("name", ["claims.csv", "claims.xlsx"])
def test_dask_refuses_a_csv_or_excel_input_with_what_to_do(name, tmp_path, capsys):
    src = tmp_path / name
    src.write_text("claim_id,hcpcs\n1,99213\n")
    _refused(capsys, ["reprice", str(src), "-o", str(tmp_path / "out"), "--engine", "dask", "--no-progress"],
             "reads a parquet dataset", name, "--engine stream")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
