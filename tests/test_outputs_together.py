"""Issue 20, "Files that must not be believed": a full disk between ``-o`` and ``--claims-out``
left the new lines beside the previous run's totals (and the message named only the second
file); a SIGKILLed run left hidden temporary files that later runs never removed.

Now the outputs of one run are renamed into place together (:func:`rvucalc.atomic.output_group`)
in the memory and streaming engines (the Dask engine renames its two folders after both are
complete), and a run removes the temporaries of killed runs beside its outputs
(:func:`rvucalc.atomic.remove_stale`).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time

import pyarrow.csv as pacsv
import pytest

import rvucalc.claims.io as claims_io
from rvucalc.atomic import LEGACY_AGE, _host, remove_stale
from tests.test_claims_trust import _claims_csv, _cli


def _previous(tmp_path):
    src = tmp_path / "claims.csv"
    _claims_csv(src)
    out, totals = tmp_path / "lines.csv", tmp_path / "totals.csv"
    out.write_text("previous lines\n")
    totals.write_text("previous totals\n")
    return src, out, totals


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("engine", ["memory", "stream"])
def test_a_full_disk_on_the_second_output_leaves_both_as_they_were(tmp_path, monkeypatch, capsys, engine):
    src, out, totals = _previous(tmp_path)
    if engine == "memory":
        real = claims_io.write_csv_table

        def write(table, where):  # the totals' temporary: the disk is full
            if ".totals.csv." in str(where):
                _disk_full()
            return real(table, where)

        monkeypatch.setattr(claims_io, "write_csv_table", write)
    else:
        real_writer = pacsv.CSVWriter

        class Writer(real_writer):  # type: ignore[misc, valid-type]
            def __init__(self, where, *a, **k):
                if ".totals.csv." in str(where):
                    _disk_full()
                super().__init__(where, *a, **k)

        monkeypatch.setattr(pacsv, "CSVWriter", Writer)
    rc = _cli(str(src), "-o", str(out), "--claims-out", str(totals), "--engine", engine)
    err = capsys.readouterr().err
    assert rc == 2
    assert out.read_text() == "previous lines\n" and totals.read_text() == "previous totals\n"
    assert "totals.csv" in err and "No space left on device" in err
    if engine == "memory":  # the message names the file left as it was
        assert f"{out} left as it was" in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("engine", ["memory", "stream"])
def test_both_outputs_are_written_when_both_can_be(tmp_path, engine):
    src, out, totals = _previous(tmp_path)
    assert _cli(str(src), "-o", str(out), "--claims-out", str(totals), "--engine", engine) == 0
    assert out.read_text().startswith("claim_id") or out.read_text().startswith('"claim_id"')
    assert "previous" not in totals.read_text()


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_temporaries_of_killed_runs_are_removed_by_the_next_run(tmp_path):
    src, out, totals = _previous(tmp_path)
    host, dead = _host(), _dead_pid()
    stale_file = tmp_path / f".lines.csv.rvucalc-{host}-{dead}-k3j2.tmp"
    stale_parts = tmp_path / f".lines.csv.rvucalc-{host}-{dead}-x9q1.parts"
    live = tmp_path / f".lines.csv.rvucalc-{host}-{os.getpid()}-live.tmp"  # a run still going
    other_host = tmp_path / f".lines.csv.rvucalc-otherhost-{dead}-abcd.tmp"  # not ours to judge
    old_legacy = tmp_path / ".lines.csv.rvucalc-a1b2c3d4.tmp"  # rvucalc before names said the process
    new_legacy = tmp_path / ".lines.csv.rvucalc-e5f6g7h8.tmp"
    for f in (stale_file, live, other_host, old_legacy, new_legacy):
        f.write_bytes(b"x" * 1000)
    stale_parts.mkdir()
    (stale_parts / "part-0.arrow").write_bytes(b"y" * 1000)
    past = time.time() - LEGACY_AGE - 60
    os.utime(old_legacy, (past, past))
    assert _cli(str(src), "-o", str(out), "--engine", "stream") == 0
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert left == sorted(p.name for p in (live, other_host, new_legacy))


def test_remove_stale_touches_only_the_named_output(tmp_path):
    dead = _dead_pid()
    mine = tmp_path / f".a.csv.rvucalc-{_host()}-{dead}-1.tmp"
    other = tmp_path / f".b.csv.rvucalc-{_host()}-{dead}-1.tmp"
    user = tmp_path / ".a.csv.notes"
    for f in (mine, other, user):
        f.write_text("x")
    assert remove_stale(tmp_path, "a.csv") == [mine]
    assert other.exists() and user.exists()
