"""Streaming claims engine: a CSV or Parquet file of any length priced in bounded memory.

``reprice_file(src, dst)`` prices every line of *src* and writes *dst* (CSV or Parquet) in the
input's order, with every input column as given; ``iter_priced(src)`` yields the priced lines as
DataFrames in input order. Lines of one claim may be anywhere in the file.

How (three passes, each holding at most about ``chunk_lines`` lines in memory):

1. **Partition.** The file is read in batches (pyarrow, every CSV cell as text; see
   :mod:`rvucalc.claims.io`). Each line gets its line number (:data:`~rvucalc.claims.contract.LINE`)
   and a part number from :func:`~rvucalc.claims.contract.claim_partition`, the same for every
   line of a claim, and is appended to one of *N* temporary parts (Arrow IPC
   streams, see below). *N* is chosen from the
   file's size (rows from the Parquet footer; for a CSV, bytes per line of the first batch) so
   that each part holds about ``chunk_lines`` lines.
2. **Price.** Each part is one chunk that keeps the chunk contract (all lines of its claims), so
   it is priced by the chunk pricer (:mod:`rvucalc.claims.engine`) as a whole, and written back
   as a priced part. Lines enter a part in file order, so a priced part is sorted by line number.
3. **Merge.** The priced parts are merged back by line number, one window of ``chunk_lines``
   consecutive line numbers at a time: every part is read forward in row groups, the slice of
   each part that falls in the window is cut off (a binary search on its sorted line numbers), and
   the slices are put in line order (one vectorised sort per window, not a per-row heap). The
   window is appended to the output (pyarrow's CSV writer, or a Parquet row group), which is
   written through :func:`rvucalc.atomic.atomic_output`.

Why hash partitioning with pyarrow rather than DuckDB's out-of-core sort: it needs no new
dependency (pyarrow already reads and writes the claims), the user's columns stay Arrow arrays
from the reader to the writer without a second type system, and each pass is a plain sequential
read or write of the data. An out-of-core sort by claim id gives claim-contiguous batches, but
restoring the input order then needs a second external sort by line number; here the parts are
already sorted by line number, so putting the order back is a streaming merge.

Two cores: parts are independent chunks, so *workers* of them (default one per core, at most
:data:`WORKERS`) are priced at once on threads, each part holding ``chunk_lines / workers``
lines; and the merge pass reads and sorts the next window on a background thread while the
previous one is written. Neither changes the output.

Memory: the partition pass holds a few input batches (and Arrow's CSV reader a bounded
read-ahead of blocks), the merge pass two or three output windows (one being read, one being
written), the price pass *workers* parts and their priced copies. Peak memory depends on
``chunk_lines`` (and on how many columns the lines have), not on the length of the file. A
single claim larger than a part is still kept whole (its part grows). The temporary folder (in the output's folder unless
``tmp_dir`` is given) is removed on every exit path, including errors and interrupts.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ..atomic import (
    OutputError,
    atomic_output,
    check_output,
    output_group,
    remove_stale,
    same_file,
    temp_prefix,
)
from . import keep_types
from .contract import LINE, claim_keys, claim_partition
from .engine import ChunkPricer, resolve
from .io import (
    BLOCK_BYTES,
    ClaimsFileError,
    _csv_error,
    _kind,
    _plain,
    csv_options,
    csv_schema,
    csv_table,
    to_arrow,
)

#: ``summarise(priced chunk) -> one row per claim`` in order of each claim's first line.
Summariser = Callable[[pd.DataFrame], pd.DataFrame]

#: Lines per temporary part (and per merge window) unless told otherwise. About 0.5-1 GiB of
#: memory while a part is priced.
CHUNK_LINES = 500_000
#: The most parts a file is split into (open files in the partition pass).
MAX_PARTS = 2048
#: Most parts priced at a time by default (threads; see :func:`_price_parts`).
WORKERS = 2
#: Compression of the temporary parts (fast; they live only for the run).
_TMP_COMPRESSION = "lz4"
#: Bytes of input (as Arrow holds it) a part is sized for per line: a part holds at most
#: ``chunk_lines / workers`` lines and at most that many times this many bytes, so a file of
#: wide lines (long memos, many columns) makes parts of fewer lines, not larger parts. A CSV
#: claim line of ten columns holds 60-150 bytes.
LINE_BYTES = 256
#: How far a part may outgrow its size (lines or bytes) before it is split again by claim.
SLACK = 1.5


@dataclass
class _Run:
    """One streaming run: its temporary folder, parts, and what it learnt about the input."""

    tmp: Path
    src: Path
    total: int = 0
    parts: list[Path] = field(default_factory=list)
    priced: list[Path] = field(default_factory=list)
    schema: pa.Schema | None = None  # priced lines, with LINE
    out_metadata: dict[bytes, bytes] | None = None
    claims: list[Path] = field(default_factory=list)  # per-claim summaries, keyed by first LINE
    claim_column: str = "claim_id"  # the file's header of the claim id
    claims_schema: pa.Schema | None = None
    claims_metadata: dict[bytes, bytes] | None = None
    source: pa.Schema | None = None  # the input's columns, as read: the output gives them back


# ---------------------------------------------------------------------------
# temporary parts: Arrow IPC streams
#
# The parts live only for the run and are read back by this module alone, so they are Arrow IPC
# streams (LZ4-compressed buffers) rather than Parquet: appending a slice is a copy of its
# buffers, with no encoding or statistics, and a part is read back batch by batch in the order it
# was written. Types (dictionaries included) come back exactly as written.

_TMP_OPTIONS = ipc.IpcWriteOptions(compression=_TMP_COMPRESSION)


class _TmpWriter:
    """Appends tables to one temporary part (an Arrow IPC stream)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._sink = pa.OSFile(str(path), "wb")
        self._w = ipc.new_stream(self._sink, schema, options=_TMP_OPTIONS)

    def write(self, table: pa.Table, rows: int | None = None) -> None:
        self._w.write_table(table, max_chunksize=rows)

    def close(self) -> None:
        try:
            self._w.close()
        finally:
            self._sink.close()


def _write_tmp(table: pa.Table, path: Path, rows: int | None = None) -> None:
    """*table* as one temporary part, in batches of at most *rows* rows."""
    w = _TmpWriter(path, table.schema)
    try:
        w.write(table, rows)
    finally:
        w.close()


def _read_tmp(path: Path) -> pa.Table:
    with pa.OSFile(str(path), "rb") as f:
        return ipc.open_stream(f).read_all()


# ---------------------------------------------------------------------------
# pass 1: partition


def _source_batches(src: Path, block_bytes: int, batch_rows: int) -> tuple[pa.Schema, Iterator[pa.RecordBatch], int | None]:
    """``(schema, batches, rows if known)`` of a CSV (all text) or Parquet claims file."""
    if not src.is_file():
        raise ClaimsFileError(f"{src}: no such file")
    from ..datasets import check_not_output

    check_not_output(src)  # a part of a dataset rvucalc wrote is not claim lines
    kind = _kind(src)
    try:
        if kind == "parquet":
            pf = pq.ParquetFile(src, pre_buffer=False)  # read forward, one batch at a time
            return pf.schema_arrow, pf.iter_batches(batch_size=batch_rows), pf.metadata.num_rows
        if kind == "csv":
            ro, po, co = csv_options(src, block_bytes)
            reader = pacsv.open_csv(src, read_options=ro, parse_options=po, convert_options=co)
            return reader.schema, iter(reader), None
    except (pa.ArrowInvalid, OSError) as exc:
        if kind == "csv" and isinstance(exc, pa.ArrowInvalid):
            raise _csv_error(src, exc) from exc
        raise ClaimsFileError(f"{src}: cannot read it as {kind} ({_plain(exc)})") from exc
    raise ClaimsFileError(f"{src}: stream a CSV or Parquet file (read Excel with read_claims)")


def _partition(run: _Run, chunk_lines: int, claim_column: str, block_bytes: int, bar: Any,
               options: Any = None) -> None:
    """Pass 1: split the input into parts that each hold whole claims (see the module docstring).

    *claim_column* ``"claim_id"`` (rvucalc's name) is the file's header matched to it, as pricing
    matches it (:mod:`rvucalc.claims.columns`, with the columns *options* names); the header
    found is kept in ``run.claim_column``."""
    src = run.src
    schema, batches, rows = _source_batches(src, block_bytes, max(1024, min(64_000, chunk_lines)))
    if LINE in schema.names:
        raise ClaimsFileError(f"{src}: the column name {LINE!r} is reserved for rvucalc's line number")
    from .pipeline import check_columns

    names = check_columns(schema.names, options, src)  # before any work: errors name the file
    if claim_column == "claim_id":
        claim_column = names.get("claim_id", claim_column)
    run.claim_column = claim_column
    if claim_column not in schema.names:
        raise ClaimsFileError(f"{src}: no {claim_column!r} column (claim lines need a claim id); "
                              f"columns: {', '.join(schema.names)}")
    run.source = schema
    if not (rows_of := keep_types.takeable(schema)).equals(schema):  # view types: rows cannot be taken
        schema, batches = rows_of, (pa.RecordBatch.from_arrays(
            [b.column(i).cast(f.type) for i, f in enumerate(rows_of)], schema=rows_of) for b in batches)
    part_schema = schema.append(pa.field(LINE, pa.int64()))
    writers: dict[int, _TmpWriter] = {}
    nparts = 0
    start = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = pending_bytes = 0
    part_bytes = chunk_lines * LINE_BYTES
    sizes: dict[int, list[float]] = {}  # part -> [lines, bytes], as the part grows

    def flush() -> None:
        nonlocal pending, pending_rows, pending_bytes
        if not pending_rows:
            return
        t = pa.Table.from_batches(pending, schema=schema)
        per_line = t.nbytes / max(len(t), 1)
        lines = np.arange(start - pending_rows, start, dtype=np.int64)
        t = t.append_column(pa.field(LINE, pa.int64()), pa.array(lines))
        ids = t.column(claim_column).combine_chunks().to_pandas()  # one chunk: factorized faster
        part = claim_partition(ids, lines, nparts)
        order = np.argsort(part, kind="stable")  # stable: lines stay in file order in a part
        counts = np.bincount(part, minlength=nparts)
        t = t.take(pa.array(order))
        offset = 0
        for p in np.flatnonzero(counts):
            w = writers.get(int(p))
            if w is None:
                w = writers[int(p)] = _TmpWriter(run.tmp / f"part-{int(p):05d}.arrow", part_schema)
            w.write(t.slice(offset, int(counts[p])))
            offset += int(counts[p])
            grown = sizes.setdefault(int(p), [0, 0.0])
            grown[0] += int(counts[p])
            grown[1] += int(counts[p]) * per_line
        pending, pending_rows, pending_bytes = [], 0, 0

    try:
        # the next batches are read (CSV parsed by Arrow, outside the GIL) on a background thread
        # while this one hashes and writes the previous ones
        with _ahead(_checked(batches, src), depth=2) as ahead:
            for b in ahead:
                if not len(b):
                    continue
                if nparts == 0:  # a first guess from the first batch; parts that outgrow it are split
                    if rows is None:
                        size = src.stat().st_size
                        rows = int(size * len(b) / max(min(size, block_bytes), 1)) if len(b) else 0
                    need = max(rows / max(chunk_lines, 1), rows * b.nbytes / len(b) / part_bytes)
                    nparts = max(1, min(MAX_PARTS, math.ceil(need)))
                pending.append(b)
                pending_rows += len(b)
                pending_bytes += b.nbytes
                start += len(b)
                bar.update(len(b))
                if pending_rows >= chunk_lines or pending_bytes >= part_bytes:
                    flush()
        flush()
    finally:
        for w in writers.values():
            w.close()
    run.total = start
    run.parts = []
    for p in sorted(writers):  # a part grown past its size (the first batch misled the guess) is split
        run.parts += _resplit(run.tmp / f"part-{p:05d}.arrow", sizes[p], nparts, chunk_lines, part_bytes,
                              claim_column, part_schema)
    if not run.parts:  # no lines: one empty part, so the output still has its header
        path = run.tmp / "part-00000.arrow"
        _write_tmp(part_schema.empty_table(), path)
        run.parts = [path]


def _resplit(path: Path, size: list[float], nparts: int, part_lines: int, part_bytes: int, claim_column: str,
             schema: pa.Schema) -> list[Path]:
    """*path* as it is when it holds at most :data:`SLACK` times its size (lines and bytes), else
    split into parts of that size by claim, reading it a batch at a time. Line ``l`` of part
    ``p = h % nparts`` goes to sub-part ``(h % (nparts * k)) // nparts`` (``h`` the claim's hash,
    :func:`~rvucalc.claims.contract.claim_partition`): every line of a claim stays together."""
    lines, nbytes = size
    if lines <= part_lines * SLACK and nbytes <= part_bytes * SLACK:
        return [path]
    k = math.ceil(max(lines / max(part_lines, 1), nbytes / max(part_bytes, 1)))
    subs = [path.with_name(f"{path.stem}-{j:04d}.arrow") for j in range(k)]
    writers: dict[int, _TmpWriter] = {}
    try:
        with pa.OSFile(str(path), "rb") as f:
            for b in ipc.open_stream(f):  # the slices written in pass 1: each at most a flush
                t = pa.Table.from_batches([b])
                ids = t.column(claim_column).combine_chunks().to_pandas()
                sub = claim_partition(ids, t.column(LINE).to_numpy(), nparts * k) // nparts
                order = np.argsort(sub, kind="stable")
                counts = np.bincount(sub, minlength=k)
                t = t.take(pa.array(order))
                offset = 0
                for j in np.flatnonzero(counts):
                    w = writers.get(int(j))
                    if w is None:
                        w = writers[int(j)] = _TmpWriter(subs[int(j)], schema)
                    w.write(t.slice(offset, int(counts[j])))
                    offset += int(counts[j])
    finally:
        for w in writers.values():
            w.close()
    path.unlink()
    return [subs[j] for j in sorted(writers)]


def _checked(batches: Iterator[pa.RecordBatch], src: Path) -> Iterator[pa.RecordBatch]:
    """The batches, with a read error turned into a :class:`ClaimsFileError` near its line."""
    it = iter(batches)
    done = 0
    while True:
        try:
            b = next(it)
        except StopIteration:
            return
        except (pa.ArrowInvalid, OSError) as exc:
            if _kind(src) == "csv" and isinstance(exc, pa.ArrowInvalid):  # the line, the column, the encoding
                raise _csv_error(src, exc, done + 2) from exc
            raise ClaimsFileError(f"{src}: cannot read it after data line {done} ({_plain(exc)})") from exc
        done += len(b)
        yield b


# ---------------------------------------------------------------------------
# pass 2: price


def _uniform(schema: pa.Schema) -> pa.Schema:
    """Types that every part can be cast to: text as large_string, dictionaries int32-indexed."""
    fields = []
    for f in schema:
        t = f.type
        if pa.types.is_dictionary(t):
            v = pa.large_string() if pa.types.is_string(t.value_type) else t.value_type
            t = pa.dictionary(pa.int32(), v, t.ordered)
        elif pa.types.is_string(t):
            t = pa.large_string()
        fields.append(f.with_type(t))
    return pa.schema(fields, metadata=schema.metadata)


def _widen(old: pa.Schema | None, new: pa.Schema) -> pa.Schema:
    return new if old is None else pa.unify_schemas([old, new], promote_options="permissive")


def _price_one(run: _Run, i: int, part: Path, price: ChunkPricer, options: Any, row_group: int,
               summarise: Summariser | None, claim_column: str, tally: Any = None) -> dict[str, Any]:
    """Price part *i* and write it (and its claim summary) back; returns what the run records."""
    chunk = keep_types.to_pandas(_read_tmp(part))  # every value as read (a Parquet input's types)
    lines = chunk[LINE].to_numpy()
    priced = price(chunk, options)
    del chunk
    if len(priced) != len(lines) or not np.array_equal(priced[LINE].to_numpy(), lines):
        raise RuntimeError("the chunk pricer must return the chunk's lines in the same order")
    got: dict[str, Any] = {"n": len(lines), "meta": to_arrow(priced.iloc[:0]).schema.metadata}
    if summarise is not None:
        got["claims"] = _summarise_part(run, i, priced, summarise, claim_column, row_group)
    if tally is not None:
        got["count"] = tally.count(priced)
    table = to_arrow(priced, keep_line=True)
    del priced
    table = table.cast(_uniform(table.schema))
    out = run.tmp / f"priced-{i:05d}.arrow"
    _write_tmp(table, out, row_group)
    got["out"], got["schema"] = out, table.schema
    part.unlink()
    return got


def _price_parts(run: _Run, price: ChunkPricer, options: Any, bar: Any, row_group: int,
                 summarise: Summariser | None, claim_column: str, workers: int = 1, tally: Any = None) -> None:
    """Pass 2: price each part as one chunk and write it back, sorted by line number.

    With *summarise*, each part's per-claim summary is written too, keyed by the first line
    number of each claim (a part holds whole claims, so its summary is final).

    *workers* > 1 prices that many parts at a time on threads. Threads, not processes: reading
    and writing the parts (Arrow IPC) and most of the pricing arithmetic (NumPy, Arrow
    compute) run outside the GIL, the prepared tables are shared instead of loaded per process,
    and peak memory stays that of *workers* parts in one process. The first part is priced
    alone, so its releases are loaded once before the threads start; at most *workers* parts
    are in flight, and results are recorded in part order, so the output does not depend on
    which thread finished first. *tally* (a :class:`rvucalc.claims.tally.LineTally`) counts
    each priced part where it is priced and adds the counts up here.
    """
    def record(got: dict[str, Any]) -> None:
        if run.out_metadata is None:
            run.out_metadata = got["meta"]
        if "claims" in got:
            path, schema, meta = got["claims"]
            if run.claims_metadata is None:
                run.claims_metadata = meta
            run.claims_schema = _widen(run.claims_schema, schema)
            run.claims.append(path)
        run.schema = _widen(run.schema, got["schema"])
        run.priced.append(got["out"])
        if "count" in got:
            tally.add(got["count"])
        bar.update(got["n"])

    def one(i: int) -> dict[str, Any]:
        return _price_one(run, i, run.parts[i], price, options, row_group, summarise, claim_column, tally)

    if not run.parts:
        return
    record(one(0))
    rest = range(1, len(run.parts))
    if workers <= 1 or len(rest) <= 1:
        for i in rest:
            record(one(i))
        return
    from concurrent.futures import Future, ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rvucalc-price") as ex:
        pending: list[Future[dict[str, Any]]] = []
        try:
            for i in rest:
                pending.append(ex.submit(one, i))
                if len(pending) >= workers:
                    record(pending.pop(0).result())
            while pending:
                record(pending.pop(0).result())
        finally:
            for f in pending:
                f.cancel()


def _summarise_part(run: _Run, i: int, priced: pd.DataFrame, summarise: Summariser, claim_column: str,
                    row_group: int) -> tuple[Path, pa.Schema, dict[bytes, bytes] | None]:
    """Write part *i*'s per-claim summary with each claim's first line number as :data:`LINE`."""
    summary = summarise(priced)
    line = priced[LINE].to_numpy(dtype=np.int64)
    key, _ = claim_keys(priced[claim_column], line)
    k, _ = pd.factorize(key)  # claims in order of first appearance, as the summary's rows
    first = pd.Series(line).groupby(k).min().to_numpy()
    if len(first) != len(summary):
        raise RuntimeError("the claim summary must have one row per claim, in order of first line")
    summary = summary.reset_index(drop=True).assign(**{LINE: first})
    meta = to_arrow(summary.iloc[:0]).schema.metadata
    table = to_arrow(summary, keep_line=True)
    table = table.cast(_uniform(table.schema))
    out = run.tmp / f"claims-{i:05d}.arrow"
    _write_tmp(table, out, row_group)
    return out, table.schema, meta


# ---------------------------------------------------------------------------
# pass 3: merge back by line number


class _PartReader:
    """Reads one priced part forward and hands out its lines below a given line number."""

    def __init__(self, path: Path, schema: pa.Schema, batch_rows: int) -> None:
        self._file = pa.OSFile(str(path), "rb")
        self._it = iter(ipc.open_stream(self._file))  # batches of the part's row groups, in order
        self._schema = schema
        self._buf: list[pa.Table] = []
        self._last = -1
        self._done = False

    def below(self, end: int) -> list[pa.Table]:
        """The part's unread lines with line number < *end* (in order)."""
        while not self._done and self._last < end - 1:
            b = next(self._it, None)
            if b is None:
                self._done = True
                self._file.close()
                break
            t = pa.Table.from_batches([b]).cast(self._schema)
            if len(t):
                self._buf.append(t)
                self._last = int(t.column(LINE)[-1].as_py())
        out, keep = [], []
        for t in self._buf:
            k = int(np.searchsorted(t.column(LINE).to_numpy(), end))
            if k >= len(t):
                out.append(t)
            elif k == 0:
                keep.append(t)
            else:
                out.append(t.slice(0, k))
                keep.append(t.slice(k))
        self._buf = keep
        return out


def _share(window: int, nparts: int) -> int:
    """Rows per row group / read batch of a part: its share of one merge window."""
    return max(32, min(65_536, window // max(nparts, 1)))


def _merged(paths: list[Path], schema: pa.Schema, total: int, window: int, *,
            exact: bool = True) -> Iterator[pa.Table]:
    """Pass 3: rows of the sorted *paths* in :data:`LINE` order, one window of line numbers at a time.

    *exact*: every line number below *total* is present once (the priced lines); per-claim
    summaries are keyed by first line numbers, a subset.
    """
    readers = [_PartReader(p, schema, _share(window, len(paths))) for p in paths]
    if total == 0:
        yield schema.empty_table()
        return
    for a in range(0, total, window):
        end = min(a + window, total)
        pieces = [t for r in readers for t in r.below(end)]
        t = pa.concat_tables(pieces) if pieces else schema.empty_table()
        if exact and len(t) != end - a:
            raise RuntimeError(f"merge lost lines {a}-{end - 1}: {len(t)} of {end - a} found")
        if len(t):
            yield t.take(pa.array(np.argsort(t.column(LINE).to_numpy(), kind="stable")))


# ---------------------------------------------------------------------------
# the public calls


@contextlib.contextmanager
def _run(src: str | os.PathLike[str], tmp_dir: str | os.PathLike[str] | None,
         name: str = "rvucalc-stream") -> Iterator[_Run]:
    """A run with its temporary folder (``.<name>.rvucalc-<host>-<pid>-*.parts`` in *tmp_dir*,
    default the system's), removed on every exit path; those of killed runs are removed first
    (:func:`rvucalc.atomic.remove_stale`)."""
    tmp_dir = tempfile.gettempdir() if tmp_dir is None else tmp_dir
    remove_stale(tmp_dir, name)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(name), suffix=".parts", dir=tmp_dir))
    try:
        yield _Run(tmp=tmp, src=Path(src))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bar(progress: bool | None, desc: str, total: int | None) -> Any:
    """The progress bar of the stream and Dask engines (tqdm, on standard error); *progress*
    ``None``: only when standard error is a terminal (nothing is written to a log file)."""
    import sys

    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=" lines", unit_scale=True, disable=not progress,
                smoothing=0.1, dynamic_ncols=True, file=sys.stderr)


def _workers(workers: int | None) -> int:
    """Parts priced at a time: *workers*, or one per core up to :data:`WORKERS`."""
    if workers is None:
        return max(1, min(WORKERS, os.cpu_count() or 1))
    if workers < 1:
        raise ValueError(f"workers must be 1 or more (got {workers})")
    return workers


def _prepare(run: _Run, price: ChunkPricer, options: Any, chunk_lines: int, claim_column: str,
             progress: bool, block_bytes: int | None, summarise: Summariser | None = None,
             workers: int = 1, tally: Any = None) -> None:
    """Passes 1 and 2. Parts hold ``chunk_lines / workers`` lines, so the lines being priced at
    once stay about *chunk_lines* whatever the number of workers."""
    if chunk_lines < 1:
        raise ValueError(f"chunk_lines must be 1 or more (got {chunk_lines})")
    part_lines = max(1, chunk_lines // workers)
    if block_bytes is None:  # CSV blocks of about a chunk's lines (and at most 16 MiB)
        block_bytes = min(BLOCK_BYTES, max(64 << 10, chunk_lines * 128))
    rows = None
    if run.src.is_file() and _kind(run.src) == "parquet":
        with contextlib.suppress(Exception):
            rows = pq.ParquetFile(run.src).metadata.num_rows
    with _bar(progress, "partition", rows) as bar:
        _partition(run, part_lines, claim_column, block_bytes, bar, options)
        bar.total = run.total
        bar.refresh()
    with _bar(progress, "price", run.total) as bar:
        # row groups of about a window's share per part: the merge holds about one per part
        _price_parts(run, price, options, bar, _share(chunk_lines, len(run.parts)), summarise,
                     run.claim_column, workers, tally)


def iter_priced(
    src: str | os.PathLike[str],
    *,
    options: Any = None,
    price: ChunkPricer | None = None,
    chunk_lines: int = CHUNK_LINES,
    claim_column: str = "claim_id",
    progress: bool = False,
    tmp_dir: str | os.PathLike[str] | None = None,
    block_bytes: int | None = None,
    workers: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Priced lines of the claims file *src*, as DataFrames of up to *chunk_lines* lines in order.

    Each DataFrame holds the input's columns (CSV cells as text), :data:`LINE` and rvucalc's
    columns, exactly as :func:`rvucalc.reprice` gives them for the whole file. *price* and
    *options* are the chunk pricer (default: physician claims, see :mod:`rvucalc.claims.engine`).
    The temporary parts are removed when the iterator ends or is closed. *workers*: parts
    priced at a time (threads; default one per core, at most :data:`WORKERS`).
    """
    price, options = resolve(price, options)
    nw = _workers(workers)
    with _run(src, tmp_dir) as run:
        _prepare(run, price, options, chunk_lines, claim_column, progress, block_bytes, workers=nw)
        assert run.schema is not None
        meta = run.schema.metadata
        with _ahead(_merged(run.priced, run.schema, run.total, chunk_lines)) as windows:
            for t in windows:
                yield keep_types.remember(keep_types.to_pandas(t.replace_schema_metadata(meta)), run.source)


def reprice_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    options: Any = None,
    price: ChunkPricer | None = None,
    chunk_lines: int = CHUNK_LINES,
    progress: bool = True,
    claims_out: str | os.PathLike[str] | None = None,
    summarise: Summariser | None = None,
    claim_column: str = "claim_id",
    tmp_dir: str | os.PathLike[str] | None = None,
    block_bytes: int | None = None,
    workers: int | None = None,
    tally: Any = None,
) -> int:
    """Price the claims file *src* (CSV or Parquet) into *dst* (.csv or .parquet) in bounded memory.

    The output holds every input column as given (CSV cells as the same text) followed by
    rvucalc's columns, in the input's order, and is identical to pricing the whole file in
    memory and writing it with :func:`rvucalc.claims.io.write_claims`. Memory is bounded by
    *chunk_lines* (see the module docstring), whatever the file's length and order. The
    temporary parts go to *tmp_dir* (default: *dst*'s folder) and are removed on every exit
    path; *dst* is written atomically. *claims_out* (.csv or .parquet) also gets the per-claim
    totals (*summarise*, default :func:`rvucalc.summarise_claims`), one row per claim in order of
    its first line, as the in-memory summary gives them. *workers*: parts priced at a time
    (threads; default one per core, at most :data:`WORKERS`); the output does not depend on it.
    *tally* (a :class:`rvucalc.claims.tally.LineTally`) gets the counts of every priced part (for
    a summary of payable lines and reasons without reading the output again).
    Returns the number of lines written.
    """
    price, options = resolve(price, options)
    nw = _workers(workers)
    dst = Path(dst)
    targets = [Path(t) for t in (dst, claims_out) if t is not None]
    for t in targets:
        check_output(t, [src])
        if _kind(t) == "xlsx":
            raise ClaimsFileError(f"{t}: streaming writes .csv or .parquet (Excel holds at most 1,048,576 rows)")
    if claims_out is not None and same_file(claims_out, dst):
        raise OutputError(f"claims_out {claims_out} is the output {dst}: the totals would replace the priced "
                          "lines; give them another name")
    if claims_out is not None and summarise is None:
        from .summary import summarise_claims as summarise
    with _run(src, tmp_dir if tmp_dir is not None else dst.resolve().parent, dst.name) as run:
        _prepare(run, price, options, chunk_lines, claim_column, progress, block_bytes,
                 summarise if claims_out is not None else None, workers=nw, tally=tally)
        assert run.schema is not None
        with output_group():  # dst and claims_out: both new, or both as they were
            with _bar(progress, "write", run.total) as bar:
                _write(dst, _merged(run.priced, run.schema, run.total, chunk_lines), run.schema,
                       run.out_metadata, bar, run.source)
            if claims_out is not None and run.claims_schema is not None:
                _write(Path(claims_out), _merged(run.claims, run.claims_schema, run.total, chunk_lines,
                                                 exact=False),
                       run.claims_schema, run.claims_metadata, None)
    return run.total


@contextlib.contextmanager
def _ahead(items: Iterator[Any], depth: int = 1) -> Iterator[Iterator[Any]]:
    """*items*, produced on a background thread up to *depth* ahead of the consumer.

    The merge pass reads the priced parts (Arrow IPC) and sorts (Arrow, outside the GIL) while the consumer writes
    the previous window (also outside the GIL), so the two overlap on two cores. An error in
    the producer is raised in the consumer; leaving the block stops the producer.
    """
    import queue
    import threading

    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for x in items:
                while not stop.is_set():
                    try:
                        q.put(("item", x), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", None))
        except BaseException as exc:  # handed to the consumer
            q.put(("error", exc))

    def consume() -> Iterator[Any]:
        while True:
            kind, x = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise x
            yield x

    th = threading.Thread(target=produce, name="rvucalc-merge", daemon=True)
    th.start()
    try:
        yield consume()
    finally:
        stop.set()
        while th.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.1)
        th.join()


def _write(dst: Path, tables: Iterator[pa.Table], schema: pa.Schema, metadata: dict[bytes, bytes] | None,
           bar: Any, source: pa.Schema | None = None) -> None:
    """Write *tables* (with :data:`LINE`, dropped here) to *dst* (.csv or .parquet), atomically.

    Columns of the input (*source*) are written with the input's types.

    The windows are merged and cast on a background thread (:func:`_ahead`) while this one
    writes the previous window.
    """
    out_schema = schema.remove(schema.get_field_index(LINE)).with_metadata(metadata)
    if source is not None:  # the user's columns as the input typed them (rvucalc.claims.keep_types)
        out_schema = pa.schema([source.field(f.name).with_name(f.name) if f.name in source.names else f
                                for f in out_schema], metadata=out_schema.metadata)
    parquet = _kind(dst) == "parquet"
    # CSV: the same text as :func:`rvucalc.claims.io.write_csv_table` (dictionaries decoded)
    target = out_schema if parquet else pa.schema(
        [f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in out_schema])
    ready = (t.drop_columns([LINE]).cast(target) for t in tables)
    if not parquet:  # dates and times as write_csv_table shows them
        ready = (csv_table(t) for t in ready)
    written = target if parquet else csv_schema(target)
    with atomic_output(dst) as tmp, _ahead(ready) as windows:
        if parquet:
            with pq.ParquetWriter(tmp, out_schema) as w:
                for t in windows:
                    w.write_table(t)
                    if bar is not None:
                        bar.update(len(t))
        else:
            opts = pacsv.WriteOptions(include_header=True, quoting_style="needed")
            with pacsv.CSVWriter(tmp, written, write_options=opts) as w:
                for t in windows:
                    w.write_table(t)
                    if bar is not None:
                        bar.update(len(t))


__all__ = ["CHUNK_LINES", "WORKERS", "iter_priced", "reprice_file"]
