"""``rvucalc reprice --engine stream|dask``: the large-file engines behind the reprice command.

- ``--engine memory`` reads the whole file and prices it as one chunk.
- ``--engine stream`` prices a CSV or Parquet file of any length in bounded memory
  (:mod:`rvucalc.claims.stream`); ``--chunk-lines`` sets the lines held at once.
- ``--engine dask`` prices a Parquet dataset (a folder or a glob) on a Dask cluster
  (:mod:`rvucalc.dask`) into a Parquet dataset (``-o`` a folder or a ``.parquet`` name):
  ``--scheduler ADDRESS`` connects to a running cluster, else a local cluster is started for
  the run.
- ``--engine auto`` (the default) streams CSV or Parquet files larger than
  :data:`STREAM_BYTES`, uses Dask for a folder or glob, or when ``--scheduler`` is given, and
  prices smaller files in memory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import RvucalcError

#: Files larger than this are streamed by ``--engine auto``.
STREAM_BYTES = 256 << 20


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """The ``--engine``, ``--scheduler``, ``--workers`` and ``--chunk-lines`` options."""
    from ..claims.stream import CHUNK_LINES

    g = p.add_argument_group("engines (large files, clusters)")
    g.add_argument("--engine", choices=("auto", "memory", "stream", "dask"), default="auto",
                   help="memory: one chunk; stream: any file length in bounded memory; dask: a parquet "
                        "dataset on a Dask cluster (default auto: stream files over "
                        f"{STREAM_BYTES >> 20} MiB, dask for a folder/glob or --scheduler)")
    g.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786) of a running cluster; "
                                       "default: start a local cluster for this run")
    g.add_argument("--workers", type=int,
                   help="dask: workers of the local cluster (default: one per core); stream: parts priced "
                        "at once on threads (default: one per core, at most 2)")
    g.add_argument("--chunk-lines", type=int, default=CHUNK_LINES,
                   help=f"streaming: lines priced at once (default {CHUNK_LINES:,})")


def engine_of(args: argparse.Namespace) -> str:
    """The engine ``rvucalc reprice`` uses for *args* (resolving ``auto``)."""
    engine = getattr(args, "engine", "memory") or "memory"
    if engine != "auto":
        return engine
    src = str(args.input)
    p = Path(src)
    if getattr(args, "scheduler", None) or p.is_dir() or any(ch in src for ch in "*?["):
        return "dask"
    out = str(args.out or "").lower()
    if p.is_file() and p.suffix.lower() in (".csv", ".parquet", ".pq", ".txt") \
            and p.stat().st_size > STREAM_BYTES and out.endswith((".csv", ".parquet", ".pq")):
        return "stream"
    return "memory"


def options_of(args: argparse.Namespace) -> Any:
    """The chunk pricer's options from the command line."""
    from ..claims import pipeline
    from ..claims.edits import option
    from ..errors import RvucalcError
    from ..whatif import parse_cf

    extra = {}
    what_if = parse_cf(getattr(args, "cf", None))  # refused here, before any line is read
    if what_if is not None:
        if getattr(args, "setting", "pfs") != "pfs":
            raise RvucalcError("--cf is a what-if PFS conversion factor; OPPS and ASC rates have conversion "
                               "factors of their own, which it does not move: leave --cf out of --setting "
                               f"{args.setting}")
        extra["conversion_factor"] = what_if
    return pipeline.options(getattr(args, "setting", "pfs"), releases=args.release, mirror=args.mirror,
                            sequestration=bool(args.sequestration), dayfirst=bool(getattr(args, "dayfirst", False)),
                            columns=getattr(args, "columns", None), **option(not getattr(args, "no_edits", False)),
                            **extra)


def repricer_of(args: argparse.Namespace) -> Any:
    """Prices claim lines as *args* say but without claim edits (picklable: Dask workers use it),
    for the summary's dollars removed by the edits; ``None`` with ``--no-edits``."""
    import functools

    from ..claims import pipeline
    from ..claims.edits import enabled, off

    opts = options_of(args)
    return functools.partial(pipeline.price_chunk, opts=off(opts)) if enabled(opts) else None


def dispatch(args: argparse.Namespace) -> int | None:
    """Run *args* on the stream or Dask engine; ``None`` when the in-memory path should run."""
    engine = engine_of(args)
    if engine == "memory":
        return None
    if not args.out:
        give = "a folder or a .parquet name" if engine == "dask" else "out.csv or out.parquet"
        print(f"rvucalc reprice: --engine {engine} needs an output (-o {give})", file=sys.stderr)
        return 2
    from ..claims.tally import LineTally, refusing_for

    tally = LineTally(refusing_for(getattr(args, "setting", "pfs")),  # the summary of the in-memory path
                      reprice=repricer_of(args))
    bar = not args.no_progress and sys.stderr.isatty()  # a bar on a terminal; nothing in a log file
    try:
        if engine == "stream":
            from ..claims.stream import reprice_file

            reprice_file(args.input, args.out, options=options_of(args), chunk_lines=args.chunk_lines,
                         progress=bar, claims_out=getattr(args, "claims_out", None),
                         workers=args.workers, tally=tally)
        else:
            from ..dask import reprice_dataset

            reprice_dataset(args.input, args.out, options=options_of(args), scheduler=args.scheduler,
                            workers=args.workers, progress=bar,
                            claims_out=getattr(args, "claims_out", None), tally=tally)
        print(tally.text(out=args.out), file=sys.stderr)
        from .common import columns_note, file_columns

        if note := columns_note(file_columns(str(args.input), getattr(args, "columns", None))):
            print(note, file=sys.stderr)
        return 0
    except (RvucalcError, ValueError, OSError) as exc:
        print(f"rvucalc reprice: {exc}", file=sys.stderr)
        return 2


__all__ = ["STREAM_BYTES", "add_engine_options", "dispatch", "engine_of", "options_of"]
