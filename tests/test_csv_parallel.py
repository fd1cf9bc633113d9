"""CSV outputs formatted on several threads (:func:`rvucalc.claims.io.write_csv_table`).

A table of two slices or more is turned into CSV text slice by slice on a thread pool and the
slices written in order. The bytes must be those of one :func:`pyarrow.csv.write_csv` of
:func:`rvucalc.claims.io.csv_table` of the whole table (the writer before threads), for every
kind of column, and a refusal must come before any byte is written, with the same message.
The slices here are a few rows, so each table is cut into many.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import rvucalc.claims.io as claims_io
from rvucalc.claims.io import ClaimsFileError, csv_table, write_claims, write_csv_table

ROWS = 7  # rows in a slice in these tests
THREADS = 3


@pytest.fixture(autouse=True)
def small_slices(monkeypatch):
    monkeypatch.setattr(claims_io, "CSV_SLICE_ROWS", ROWS)
    monkeypatch.setattr(claims_io, "_csv_threads", lambda: THREADS)  # threads even on a one-core machine


def _before(table: pa.Table, header: bool = True) -> bytes:
    """The bytes the writer gave before it used threads: the whole table in one write."""
    sink = io.BytesIO()
    pacsv.write_csv(csv_table(table), sink,
                    write_options=pacsv.WriteOptions(include_header=header, quoting_style="needed"))
    return sink.getvalue()


def _now(table: pa.Table, header: bool = True) -> bytes:
    sink = io.BytesIO()
    write_csv_table(table, sink, header=header)
    return sink.getvalue()


def _texts(n: int) -> list[str | None]:
    hostile = ["plain", "a,b", 'say "hi"', "two\nlines", "", None, "  pad  ", "=1+1", "0123", "é ü 中"]
    return [hostile[i % len(hostile)] for i in range(n)]


def _mixed(n: int) -> pa.Table:
    codes = ["99213", "71046", "27447", None, "G0008"]
    return pa.table({
        "s": pa.array(_texts(n), pa.string()),
        "ls": pa.array(_texts(n)[::-1], pa.large_string()),
        "i": pa.array([None if i % 11 == 0 else i * 7 for i in range(n)], pa.int64()),
        "f": pa.array([i / 3 if i % 5 else None for i in range(n)], pa.float64()),
        "b": pa.array([i % 3 == 0 for i in range(n)]),
        "d": pa.array([codes[i % len(codes)] for i in range(n)]).dictionary_encode(),
        "day": pa.array([dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(n)], pa.date32()),
    })


@pytest.mark.parametrize("n", [0, 1, ROWS - 1, ROWS, 2 * ROWS - 1, 2 * ROWS, 2 * ROWS + 1, 10 * ROWS + 3, 200])
@pytest.mark.parametrize("header", [True, False])
def test_the_same_bytes_as_one_write(n, header):
    t = _mixed(n)
    assert _now(t, header) == _before(t, header)
    rows = list(csv.reader(io.StringIO(_now(t, header).decode(), newline="")))
    assert len(rows) == n + header  # the header once (or not at all), then every row


def test_an_empty_table_is_its_header_and_no_columns_is_nothing():
    t = _mixed(0)
    assert _now(t) == _before(t) == b'"s","ls","i","f","b","d","day"\n'
    none = pa.table({"x": list(range(50))}).drop_columns(["x"])  # 50 rows, no columns
    assert _now(none) == _before(none)


def test_columns_in_many_chunks_and_dictionaries_that_differ_by_chunk():
    # chunks of 5, 13 and 30 rows: slice boundaries (every 7 rows) fall inside and across chunks
    parts = [["a", "b", "a", None, "c"], ["z"] * 6 + ["y", "x", "y,1", None, "w", "v", "u"], ["q", "r"] * 15]
    dicts = pa.chunked_array([pa.array(p).dictionary_encode() for p in parts])
    assert len({c.dictionary.to_pylist().__repr__() for c in dicts.chunks}) == 3
    nums = pa.chunked_array([pa.array(range(k, k + len(p))) for k, p in zip((0, 100, 200), parts, strict=True)])
    t = pa.table({"d": dicts, "n": nums})
    assert t.column("d").num_chunks == 3
    assert _now(t) == _before(t)
    body = _now(t).decode().splitlines()
    assert body[1:4] == ['"a",0', '"b",1', '"a",2'] and body[4] == ",3"  # text quoted; a null: empty
    assert body[6:8] == ['"z",100', '"z",101']  # the second chunk's own dictionary


def test_a_timestamp_column_is_one_decision_for_the_whole_column():
    # The first slices hold only midnights, a later one 10:15: as one write, the column takes the
    # mixed rule (2026-08-03 at midnight, 2026-08-04 10:15:00 else), so each slice must too.
    n = 5 * ROWS
    stamps = [dt.datetime(2026, 8, 3) + dt.timedelta(days=i) for i in range(n)]
    stamps[4 * ROWS + 2] = dt.datetime(2026, 8, 3, 10, 15)
    stamps[ROWS + 1] = None
    t = pa.table({"ts": pa.array(stamps, pa.timestamp("us")), "n": list(range(n))})
    assert _now(t) == _before(t)
    rows = list(csv.reader(io.StringIO(_now(t).decode())))
    assert rows[1] == ["2026-08-03", "0"]  # a midnight in an all-midnight slice
    assert rows[ROWS + 2] == ["", str(ROWS + 1)]  # null: empty
    assert rows[4 * ROWS + 3] == ["2026-08-03 10:15:00", str(4 * ROWS + 2)]
    assert rows[4 * ROWS + 2][0] == (dt.date(2026, 8, 3) + dt.timedelta(days=4 * ROWS + 1)).isoformat()


def test_timestamps_beyond_year_32767_are_written_as_the_whole_column_decides():
    # The two texts of a midnight (Arrow's date text, the mixed rule's %Y-%m-%d) agree in the years
    # -32767..32767 and not beyond: there, text decided slice by slice would differ from the
    # whole column's. 11,967,900 days after 1970-01-01 is past the year 32767.
    far = 11_967_900 * 86_400
    secs = [far] + [i * 86_400 for i in range(1, 3 * ROWS)]
    secs[2 * ROWS] += 37 * 60  # 00:37 on a later day: the whole column takes the mixed rule
    t = pa.table({"ts": pa.array(secs, pa.timestamp("s"))})
    assert _now(t) == _before(t)
    allday = pa.table({"ts": pa.array([far] + [i * 86_400 for i in range(1, 3 * ROWS)], pa.timestamp("s"))})
    assert _now(allday) == _before(allday)


def test_times_bytes_and_string_views():
    n = 4 * ROWS
    t = pa.table({
        "t": pa.array([dt.time(14, 30) if i % 3 else dt.time(9, 5, 1, 500) for i in range(n)], pa.time64("us")),
        "bin": pa.array([s.encode() if s is not None else None for s in _texts(n)], pa.binary()),
        "lbin": pa.array([s.encode() if s is not None else None for s in _texts(n)], pa.large_binary()),
        "sv": pa.array(_texts(n), pa.string_view()),
        "tz": pa.array([dt.datetime(2026, 8, 3, i % 24, tzinfo=dt.UTC) for i in range(n)],
                       pa.timestamp("ms", tz="UTC")),
        "dts": pa.array([dt.datetime(2026, 8, 3, 10)] * n).dictionary_encode(),
    })
    assert _now(t) == _before(t)
    assert _now(t).decode().splitlines()[2].startswith('"14:30:00","a,b",')


def test_a_nested_column_is_refused_before_any_byte(tmp_path):
    n = 5 * ROWS
    t = pa.table({"s": _texts(n), "l": pa.array([[i] for i in range(n)])})
    with pytest.raises(ClaimsFileError) as whole:
        csv_table(t)
    sink = io.BytesIO()
    with pytest.raises(ClaimsFileError) as now:
        write_csv_table(t, sink)
    assert str(now.value) == str(whole.value) and "'l'" in str(now.value)
    assert sink.getvalue() == b""
    with pytest.raises(ClaimsFileError):
        write_csv_table(t, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_bytes_that_are_not_utf8_are_refused_before_any_byte_naming_the_first_column():
    # Column b2 goes wrong in the first slice, b1 only in the fifth: one write of the whole table
    # names b1 (columns are converted in order), so the threaded writer must too.
    n = 6 * ROWS
    b1 = [b"ok"] * n
    b1[4 * ROWS + 3] = b"\xff\xfe"
    b2 = [b"ok"] * n
    b2[1] = b"caf\xe9"
    t = pa.table({"s": _texts(n), "b1": pa.array(b1, pa.binary()), "b2": pa.array(b2, pa.binary())})
    with pytest.raises(ClaimsFileError) as whole:
        csv_table(t)
    sink = io.BytesIO()
    with pytest.raises(ClaimsFileError) as now:
        write_csv_table(t, sink)
    assert type(now.value) is type(whole.value) and str(now.value) == str(whole.value)
    assert "'b1'" in str(now.value)
    assert sink.getvalue() == b""


def test_paths_and_files_get_the_same_bytes(tmp_path):
    t = _mixed(9 * ROWS + 4)
    want = _before(t)
    write_csv_table(t, str(tmp_path / "a.csv"))
    write_csv_table(t, tmp_path / "b.csv")
    with open(tmp_path / "c.csv", "wb") as fh:
        write_csv_table(t, fh)
    with pa.OSFile(str(tmp_path / "d.csv"), "wb") as f:
        write_csv_table(t, f)
    buf = pa.BufferOutputStream()
    write_csv_table(t, buf)
    for name in "abcd":
        assert (tmp_path / f"{name}.csv").read_bytes() == want, name
    assert buf.getvalue().to_pybytes() == want


def test_at_most_one_slice_per_thread_and_one_more_held(monkeypatch):
    lock = threading.Lock()
    begun = [0]
    most = [0]
    real = claims_io.csv_table

    def counting(table):
        with lock:
            begun[0] += 1
        return real(table)

    class Sink(io.BytesIO):
        written = 0

        def write(self, b):
            with lock:
                most[0] = max(most[0], begun[0] - self.written)
            self.written += 1
            return super().write(b)

    monkeypatch.setattr(claims_io, "csv_table", counting)
    t = _mixed(40 * ROWS)
    sink = Sink()
    write_csv_table(t, sink)
    assert sink.written == 40
    assert 1 <= most[0] <= THREADS + 1
    monkeypatch.setattr(claims_io, "csv_table", real)
    assert sink.getvalue() == _before(t)


def test_write_claims_writes_the_same_file(tmp_path, monkeypatch):
    n = 12 * ROWS + 5
    df = pd.DataFrame({"claim_id": [f"C{i % 9}" for i in range(n)], "memo": _texts(n),
                       "paid": [i * 1.25 for i in range(n)],
                       "reason": pd.Categorical([("", "NO_RVU", "BUNDLED")[i % 3] for i in range(n)])})
    write_claims(df, tmp_path / "threads.csv")
    monkeypatch.setattr(claims_io, "CSV_SLICE_ROWS", 10 * n)  # one piece, one thread
    write_claims(df, tmp_path / "whole.csv")
    assert (tmp_path / "threads.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] != [] and not [p for p in tmp_path.iterdir()
                                                             if p.name.startswith(".")]


def test_reprice_to_a_file_and_to_stdout_gives_the_same_bytes(tmp_path, monkeypatch, capsysbinary):
    from tests.test_claims_trust import _claims_csv, _cli

    src = tmp_path / "claims.csv"
    head, *rows = _claims_csv(src)
    with open(src, "w", newline="") as fh:  # 45 lines: the three lines, again and again
        csv.writer(fh).writerows([head, *[[f"{r[0]}{i}", *r[1:]] for i in range(15) for r in rows]])
    monkeypatch.setattr(claims_io, "CSV_SLICE_ROWS", 4)
    assert _cli(str(src), "-o", str(tmp_path / "threads.csv")) == 0
    capsysbinary.readouterr()
    assert _cli(str(src)) == 0
    stdout = capsysbinary.readouterr().out
    monkeypatch.setattr(claims_io, "CSV_SLICE_ROWS", 1000)
    assert _cli(str(src), "-o", str(tmp_path / "whole.csv")) == 0
    whole = (tmp_path / "whole.csv").read_bytes()
    assert (tmp_path / "threads.csv").read_bytes() == whole == stdout
    assert len(list(csv.reader(io.StringIO(whole.decode(), newline="")))) == 46


def test_one_core_or_a_small_table_is_one_write_without_threads(monkeypatch):
    def no_pool(*a, **k):
        raise AssertionError("no thread pool for this table")

    t = _mixed(2 * ROWS - 1)  # under two slices
    monkeypatch.setattr(claims_io, "ThreadPoolExecutor", no_pool)
    assert _now(t) == _before(t)
    monkeypatch.setattr(claims_io, "_csv_threads", lambda: 1)  # one core
    big = _mixed(20 * ROWS)
    assert _now(big) == _before(big)
