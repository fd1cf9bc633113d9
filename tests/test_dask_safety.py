"""The Dask engine deletes nothing of the user's and never reads its own output as claim lines (issue 20).

Found on main: ``rvucalc reprice claims -o important --engine dask`` deleted ``important/`` (a
user's ``report.docx`` and ``sub/notes.txt``), exit 0; ``-o claims/priced`` was accepted and the
next run over ``claims/`` read the priced parts back as claim lines (2 lines became 4, and the
second 20983 was cut to 50% by the multiple-procedure rule); parts that disagree on their columns
ended in a traceback or silently lost a column; an empty folder, a glob matching no file, a
corrupt part and ``-o .`` got no sentence naming them. Every input is a few synthetic lines
written by the test; the refusals come before any work, so most tests start no cluster.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_reprice import fee

import rvucalc.dask as rdask
from rvucalc.atomic import OutputError
from rvucalc.cli import main
from rvucalc.datasets import MARKER, DatasetError

LINES = {"claim_id": ["1", "1"], "hcpcs": ["20983", "99213"], "units": ["1", "1"], "pos": ["11", "11"],
         "locality": ["national", "national"], "date_of_service": ["2026-08-03", "2026-08-03"]}


def _claims(folder: Path, name: str = "a.parquet", **cols: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({**LINES, **cols}).to_parquet(folder / name, index=False)
    return folder


def _user_folder(p: Path) -> dict[str, bytes]:
    """A folder of the user's own files; returns their bytes to compare afterwards."""
    (p / "sub").mkdir(parents=True)
    (p / "report.docx").write_bytes(b"PK\x03\x04 the user's report")
    (p / "sub" / "notes.txt").write_text("notes\n")
    return _files(p)


def _files(p: Path) -> dict[str, bytes]:
    return {str(f.relative_to(p)): f.read_bytes() for f in sorted(p.rglob("*")) if f.is_file()}


def _refused(capsys, argv: list[str], *words: str) -> str:
    """Run the CLI; it must exit 2 with one line on standard error holding *words*, no traceback."""
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


def _dask(src: object, out: object, *more: str) -> list[str]:
    return ["reprice", str(src), "-o", str(out), "--engine", "dask", "--release", "rvu26c", "--no-progress",
            "--workers", "1", *more]


# ---------------------------------------------------------------------------
# outputs: only rvucalc's own folders are replaced


def test_a_folder_of_the_users_files_is_never_replaced(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _claims(tmp_path / "claims")
    kept = _user_folder(tmp_path / "important")
    _refused(capsys, _dask("claims", "important"), "-o important", "rvucalc did not write", "report.docx", "sub/")
    _refused(capsys, _dask("claims", "out", "--claims-out", "important"), "--claims-out important", "report.docx")
    # --engine auto takes the Dask engine for a folder
    _refused(capsys, ["reprice", "claims", "-o", "important", "--no-progress"], "rvucalc did not write")
    with pytest.raises(OutputError, match="rvucalc did not write"):
        rdask.reprice_dataset("claims", "important", client=object(), progress=False)
    with pytest.raises(OutputError, match="rvucalc did not write"):
        rdask.reprice_dataset("claims", "out", claims_out="important", client=object(), progress=False)
    assert _files(tmp_path / "important") == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims", "important"]  # nothing written, no temp


@pytest.mark.parametrize("what", ["a file", "a folder", "a link", "a marker of another tool", "a broken marker"])
def test_an_rvucalc_dataset_holding_anything_else_is_not_replaced(what, tmp_path, capsys):
    """The marker lists the files rvucalc wrote; one more file, a folder or a link is the user's."""
    src = _claims(tmp_path / "claims")
    out = tmp_path / "out"
    out.mkdir()
    (out / "part.0.parquet").write_bytes(b"x")
    (out / MARKER).write_text('{"written_by": "rvucalc", "files": ["part.0.parquet"]}')
    if what == "a file":
        (out / "mine.csv").write_text("a\n")
    elif what == "a folder":
        (out / "sub").mkdir()
    elif what == "a link":
        (out / "part.0.parquet").unlink()
        (out / "part.0.parquet").symlink_to(src / "a.parquet")
    elif what == "a marker of another tool":
        (out / MARKER).write_text('{"written_by": "sometool", "files": ["part.0.parquet"]}')
    else:
        (out / MARKER).write_text('{"written_by": "rvucalc", ')
    kept = _files(out)
    _refused(capsys, _dask(src, out), "rvucalc did not write")
    assert _files(out) == kept


@pytest.mark.parametrize("engine", ["dask", "memory", "stream", "auto"])
def test_the_current_folder_and_its_parents_are_refused(engine, tmp_path, capsys, monkeypatch):
    _claims(tmp_path / "in")
    pd.DataFrame(LINES).to_csv(tmp_path / "in.csv", index=False)
    here = tmp_path / "work" / "here"
    kept = _user_folder(here)
    monkeypatch.chdir(here)
    src = tmp_path / ("in" if engine in ("dask", "auto") else "in.csv")
    for out in (".", "./", "..", str(here), str(tmp_path / "work")):
        _refused(capsys, ["reprice", str(src), "-o", out, "--engine", engine, "--release", "rvu26c",
                          "--no-progress"], out)
    if engine == "dask":
        err = _refused(capsys, _dask(src, "."), "the current folder")
        assert "-o ." in err
        with pytest.raises(OutputError, match="current folder"):
            rdask.reprice_dataset(src, ".", client=object(), progress=False)
    assert _files(here) == kept


@pytest.mark.parametrize("engine", ["memory", "stream"])
def test_file_engines_never_write_over_a_folder(engine, tmp_path, capsys):
    """The file engines: an -o that is a user's folder (named like a file) is refused, kept whole."""
    src = tmp_path / "in.csv"
    pd.DataFrame(LINES).to_csv(src, index=False)
    kept = _user_folder(tmp_path / "important.csv")
    _refused(capsys, ["reprice", str(src), "-o", str(tmp_path / "important.csv"), "--engine", engine,
                      "--release", "rvu26c", "--no-progress"], "important.csv", "folder")
    assert _files(tmp_path / "important.csv") == kept


# ---------------------------------------------------------------------------
# never an output inside the input


@pytest.mark.parametrize("opt", ["-o", "--claims-out"])
def test_an_output_inside_the_input_dataset_is_refused(opt, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _claims(tmp_path / "claims")
    for src, out in (("claims", "claims/priced"), ("claims", "claims/a/b"), ("claims/*.parquet", "claims/priced"),
                     (str(tmp_path / "claims"), "claims/priced")):
        argv = _dask(src, "elsewhere") if opt == "--claims-out" else _dask(src, out)
        if opt == "--claims-out":
            argv += ["--claims-out", out]
        _refused(capsys, argv, f"{opt} {out}", "inside the input", "claim lines")
        with pytest.raises(OutputError, match="inside the input"):
            kw = {"claims_out": out} if opt == "--claims-out" else {}
            rdask.reprice_dataset(src, "elsewhere" if kw else out, client=object(), progress=False, **kw)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims"]
    assert sorted(p.name for p in (tmp_path / "claims").iterdir()) == ["a.parquet"]


def test_outputs_one_inside_the_other_are_refused(tmp_path):
    _claims(tmp_path / "claims")
    for out, tot in ((tmp_path / "o", tmp_path / "o" / "t"), (tmp_path / "t" / "o", tmp_path / "t")):
        (tmp_path / out.relative_to(tmp_path).parts[0]).mkdir(exist_ok=True)  # the outer one, empty
        with pytest.raises(OutputError, match="is inside"):
            rdask.reprice_dataset(tmp_path / "claims", out, claims_out=tot, client=object(), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims", "o", "t"]
    assert not [*(tmp_path / "o").iterdir(), *(tmp_path / "t").iterdir()]


# ---------------------------------------------------------------------------
# never rvucalc's output read as claim lines


def test_an_unmarked_rvucalc_output_is_not_read_as_claim_lines(tmp_path, capsys):
    """A dataset written before the marker existed: its parts carry rvucalc's line number column."""
    src = _claims(tmp_path / "claims")
    (src / "priced").mkdir()
    pd.DataFrame({**LINES, "_line": [0, 1], "allowed": [1.0, 2.0]}).to_parquet(src / "priced" / "part.0.parquet")
    _refused(capsys, _dask(src, tmp_path / "out"), "part.0.parquet", "written by rvucalc", "'_line'",
             "not claim lines")
    _refused(capsys, _dask(src / "priced", tmp_path / "out"), "written by rvucalc")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------
# one sentence for datasets that cannot be read


def test_parts_with_different_columns_name_the_files_and_the_column(tmp_path, capsys):
    src = _claims(tmp_path / "claims")
    _claims(src, "b.parquet", note=["x", "y"])
    for err in (_refused(capsys, _dask(src, tmp_path / "out"), "'note'", "a.parquet", "b.parquet",
                         "same columns"),
                _refused(capsys, _dask(src / "*.parquet", tmp_path / "out"), "'note'")):
        assert str(src / "b.parquet") in err
    (src / "b.parquet").unlink()
    pd.DataFrame({k: v for k, v in LINES.items() if k != "pos"}).to_parquet(src / "b.parquet", index=False)
    _refused(capsys, _dask(src, tmp_path / "out"), "'pos'", "a.parquet", "b.parquet")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("other", "words"), [
    (pa.array([1, 1], pa.int64()), ("text", "whole number", "int64")),
    (pa.array([1.0, 1.0]), ("text", "a number", "double")),
    (pa.array([None, None], pa.null()), ("text", "empty")),
    (pa.array(["1", "1"]).dictionary_encode(), ("dictionary",)),
    (pa.array([1, 1], pa.int32()), ("whole number", "int32")),
])
def test_a_column_of_two_types_names_the_files_and_the_column(other, words, tmp_path, capsys):
    """Found on main: text in one part and a number in the other ended in a 51-83 line traceback
    (or, for some pairs, the second file's values silently converted to the first's type: an
    int64 column read as int32)."""
    src = tmp_path / "claims"
    src.mkdir()
    base = {k: pa.array(v, pa.string()) for k, v in LINES.items()}
    if other.type == pa.int32():  # a whole number in both, of two widths
        base["units"] = pa.array([1, 1], pa.int64())
    pq.write_table(pa.table(base), src / "a.parquet")
    pq.write_table(pa.table({**base, "units": other}), src / "b.parquet")
    _refused(capsys, _dask(src, tmp_path / "out"), "'units'", "a.parquet", "b.parquet", "one type", *words)
    with pytest.raises(DatasetError, match="'units'"):
        rdask.reprice_dataset(src, tmp_path / "out", client=object(), progress=False)
    assert not (tmp_path / "out").exists()


def test_empty_folder_glob_without_match_and_corrupt_parts_get_one_sentence(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    _refused(capsys, _dask(tmp_path / "empty", tmp_path / "out"), "empty", "no Parquet file")
    (tmp_path / "empty" / "README.txt").write_text("not a part\n")
    _refused(capsys, _dask(tmp_path / "empty", tmp_path / "out"), "no Parquet file")
    _refused(capsys, _dask(tmp_path / "nothing" / "*.parquet", tmp_path / "out"), "nothing/*.parquet",
             "no file matches")
    src = _claims(tmp_path / "claims")
    _refused(capsys, _dask(src / "*.pq", tmp_path / "out"), "*.pq", "no file matches")
    good = (src / "a.parquet").read_bytes()
    for name, data in (("b.parquet", good[: len(good) // 2]), ("c.parquet", b"claim_id,hcpcs\n1,99213\n"),
                       ("d.parquet", b"")):
        (src / name).write_bytes(data)
        _refused(capsys, _dask(src, tmp_path / "out"), name, "not a readable Parquet file")
        (src / name).unlink()
    (src / "notes.txt").write_text("a glob picks it up\n")
    _refused(capsys, _dask(src / "*", tmp_path / "out"), "notes.txt", "not a readable Parquet file")
    with pytest.raises(DatasetError, match="no file matches"):
        rdask.reprice_dataset(tmp_path / "nothing" / "x*", tmp_path / "out", client=object(), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims", "empty"]


# ---------------------------------------------------------------------------
# real runs (an in-process cluster): the marker, its refusal, replacing only when complete


@pytest.fixture(scope="module")
def client():
    import distributed

    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=None) as c:
        yield c


def _opts():
    from rvucalc.claims.pipeline import PricingOptions

    return PricingOptions(releases=("rvu26c",))


def test_rvucalc_output_is_never_read_back_as_claim_lines(client, tmp_path, capsys, fs26):
    """The issue's example: the priced dataset put inside the input folder; the next run refuses.

    The amounts are the national fee schedule amounts by hand from the PPRRVU rows
    (test_reprice.fee): 20983 and 99213 each paid in full once.
    """
    src = _claims(tmp_path / "claims")
    out, tot = tmp_path / "priced", tmp_path / "totals"
    assert rdask.reprice_dataset(src, out, options=_opts(), client=client, progress=False, claims_out=tot) == 2
    got = pd.read_parquet(out).sort_values("_line")
    assert got["allowed"].tolist() == [fee("20983"), fee("99213")]
    for d, content in ((out, "priced claim lines"), (tot, "per-claim totals")):
        import json

        mark = json.loads((d / MARKER).read_text())
        assert mark["written_by"] == "rvucalc" and mark["content"] == content
        assert sorted(mark["files"]) == sorted(p.name for p in d.iterdir() if p.name != MARKER)
    # each of rvucalc's outputs, and any part of it, is refused as claim lines by every engine
    for bad in (out, tot, out / "*.parquet", out / "*"):
        _refused(capsys, _dask(bad, tmp_path / "again"), "rvucalc wrote", "not claim lines")
        with pytest.raises(DatasetError, match="rvucalc wrote"):
            rdask.reprice_dataset(bad, tmp_path / "again", client=client, progress=False)
    part = sorted(out.glob("*.parquet"))[0]
    for engine in ("memory", "stream"):
        _refused(capsys, ["reprice", str(part), "-o", str(tmp_path / "again.csv"), "--engine", engine,
                          "--release", "rvu26c", "--no-progress"], "rvucalc wrote", part.name)
    # moved inside the input folder (as main let -o claims/priced do): the input is refused
    os.replace(out, src / "priced")
    err = _refused(capsys, _dask(src, tmp_path / "again"), "claims/priced", "inside", "rvucalc wrote")
    assert "move it out" in err
    _refused(capsys, _dask(src / "*" / "*.parquet", tmp_path / "again"), "rvucalc wrote")
    assert not (tmp_path / "again").exists() and not (tmp_path / "again.csv").exists()


def test_a_previous_rvucalc_dataset_is_replaced_only_by_a_complete_one(client, tmp_path, fs26):
    src = _claims(tmp_path / "claims")
    out = tmp_path / "priced"
    out.mkdir()  # an empty folder may be written
    assert rdask.reprice_dataset(src, out, options=_opts(), client=client, progress=False) == 2
    before = _files(out)

    def failing(chunk: pd.DataFrame, options: object) -> pd.DataFrame:
        if len(chunk):  # on the worker, once lines are being priced (not while Dask builds the graph)
            raise RuntimeError("pricing failed half way")
        return chunk

    with pytest.raises(RuntimeError, match="half way"):
        rdask.reprice_dataset(src, out, price=failing, options=None, client=client, progress=False)
    assert _files(out) == before  # the previous dataset, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims", "priced"]  # no temporary folder left
    # rvucalc's own dataset is replaced by the next complete run
    _claims(tmp_path / "claims2", hcpcs=["99213", "99214"])
    assert rdask.reprice_dataset(tmp_path / "claims2", out, options=_opts(), client=client, progress=False) == 2
    assert sorted(pd.read_parquet(out)["hcpcs"]) == ["99213", "99214"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims", "claims2", "priced"]


def test_cli_writes_and_replaces_its_own_dataset(client, tmp_path, capsys, fs26):
    """The CLI path on a running cluster: a new folder, then the same folder again (rvucalc's own)."""
    src = _claims(tmp_path / "claims")
    out = tmp_path / "priced"
    for _ in range(2):
        assert main(_dask(src, out, "--scheduler", client.cluster.scheduler_address)) == 0, capsys.readouterr().err
        assert "2 lines priced" in capsys.readouterr().err
    assert (out / MARKER).is_file() and len(pd.read_parquet(out)) == 2


def test_text_stored_as_string_or_large_string_is_one_text(client, tmp_path, fs26):
    """Arrow's two text types (pyarrow writes ``string``, pandas 3 ``large_string``) are one type:
    parts of both are priced, every value kept. 20983 and 99213 national, by hand (test_reprice.fee)."""
    src = tmp_path / "claims"
    src.mkdir()
    for i, t in enumerate((pa.string(), pa.large_string())):
        cols = {k: pa.array(v, t) for k, v in LINES.items()} | {"note": pa.array([f"n{i}a", f"n{i}b"], t)}
        pq.write_table(pa.table(cols | {"claim_id": pa.array([f"c{i}", f"c{i}"], t)}), src / f"{i}.parquet")
    assert rdask.reprice_dataset(src, tmp_path / "out", options=_opts(), client=client, progress=False) == 4
    got = pd.read_parquet(tmp_path / "out").sort_values("_line")
    assert got["note"].tolist() == ["n0a", "n0b", "n1a", "n1b"]
    assert got["allowed"].tolist() == [fee("20983"), fee("99213")] * 2
