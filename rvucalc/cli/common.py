"""Options shared by the ``rvucalc`` subcommands, declared once as argparse parent parsers.

Each subcommand takes the groups it needs: ``parents=[release_options(), pricing_options(),
place_options(), output_options()]``. Keeping them here means ``--year`` or ``--zip`` read
the same, with the same help, under every command.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

from .. import arguments
from ..errors import InvalidArgumentError


def checked(check: Callable[..., Any], name: str) -> Callable[[str], Any]:
    """An argparse ``type=`` that reads an option with :mod:`rvucalc.arguments`' *check*, so the
    command line refuses a value with the same sentence as the Python API (exit status 2)."""
    def read(text: str) -> Any:
        try:
            return check(text, name)
        except InvalidArgumentError as exc:  # "--cf -1 is not above zero: ...", as it was typed
            raise argparse.ArgumentTypeError(str(exc).replace(f"{name}={text!r}", f"{name} {text}", 1)) from None

    read.__name__ = name
    return read


@functools.cache
def mirror_options() -> argparse.ArgumentParser:
    """``--mirror``."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--mirror", help="folder of CMS files (default: $RVUCALC_MIRROR)")
    return p


@functools.cache
def release_options(*, year: bool = True) -> argparse.ArgumentParser:
    """``--year --release`` (when *year*), ``--mirror --offline``."""
    p = argparse.ArgumentParser(add_help=False, parents=[mirror_options()])
    g = p.add_argument_group("release")
    if year:
        g.add_argument("--year", type=checked(arguments.year, "--year"), help="calendar year (default: the newest at hand)")
        g.add_argument("--release", help="release id from the catalogue, e.g. rvu26c (see 'rvucalc releases')")
    g.add_argument("--offline", action="store_true", help="never download from CMS")
    return p


def _cf_option(g: Any) -> None:
    from ..whatif import parse_cf

    g.add_argument("--cf", metavar="CF", type=checked(lambda text, name: (parse_cf(text, name), text)[1], "--cf"),
                   help="what-if PFS conversion factor: dollars per RVU (34.0) or a "
                   "percent of the year's own CF (98.8%%, the same in every year)")


@functools.cache
def whatif_options() -> argparse.ArgumentParser:
    """``--cf`` alone (``rvucalc reprice``, whose releases follow the dates of service)."""
    p = argparse.ArgumentParser(add_help=False)
    _cf_option(p.add_argument_group("conversion factor"))
    return p


@functools.cache
def pricing_options(*, cf: bool = True) -> argparse.ArgumentParser:
    """``--qp --cf --no-floor``."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("conversion factor and GPCIs")
    g.add_argument("--qp", action="store_true", help="use the qualifying APM participant conversion factor")
    if cf:
        _cf_option(g)
    g.add_argument("--no-floor", action="store_true", help="use the work GPCI without the 1.0 floor")
    return p


@functools.cache
def place_options(*, county: bool = True, repeat: bool = False) -> argparse.ArgumentParser:
    """One of ``--zip --locality`` (and ``--county``): the place of service.

    *repeat*: each option may be given several times (lists; ``rvucalc sites --codes``: one
    place per value), and the options are not exclusive.
    """
    p = argparse.ArgumentParser(add_help=False)
    if repeat:
        r = p.add_argument_group("place of service (repeat --zip or --locality for several places)")
        r.add_argument("--zip", action="append", help="ZIP code of the place of service, e.g. 90012")
        r.add_argument("--locality", action="append", help="MAC-locality id, e.g. 01182-18 (see 'rvucalc "
                                                           "localities')")
        if county:
            r.add_argument("--county", action="append", help="5-digit county FIPS code of the place of service")
        return p
    g = p.add_argument_group("place of service (one of)").add_mutually_exclusive_group()
    g.add_argument("--zip", help="ZIP code of the place of service, e.g. 90012")
    g.add_argument("--locality", help="MAC-locality id, e.g. 01182-18 (see 'rvucalc localities')")
    if county:
        g.add_argument("--county", help="5-digit county FIPS code of the place of service, e.g. 06037")
    return p


@functools.cache
def output_options(*, out: bool = False, title: bool = False) -> argparse.ArgumentParser:
    """``--json`` or ``--csv`` (and ``--out FILE``, ``--title``)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("output")
    fmt = g.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON to standard output")
    fmt.add_argument("--csv", action="store_true", help="print CSV to standard output")
    if out:
        g.add_argument("--out", help="write to this file: .xlsx (workbook), .csv, .parquet or .json")
    if title:
        g.add_argument("--title", help="workbook title (with --out .xlsx)")
    return p


_FROM_ARGS: Any = object()


def load_args(a: argparse.Namespace, *, year: int | None = None, release: str | None = None,
              cf: Any = _FROM_ARGS) -> Any:
    """``rvucalc.load`` with the release/pricing options of *a* (*cf*: instead of ``a.cf``)."""
    from ..facade import load

    return load(year if year is not None else getattr(a, "year", None),
                release if release is not None else getattr(a, "release", None),
                mirror=a.mirror, qp=getattr(a, "qp", False),
                conversion_factor=getattr(a, "cf", None) if cf is _FROM_ARGS else cf,
                work_floor=not getattr(a, "no_floor", False), download=False if a.offline else None)


class NoMatch(Exception):
    """A search or filter matched nothing: 'no match' on standard error, exit status 1."""


def no_match(message: str) -> int:
    print(f"rvucalc: no match: {message}", file=sys.stderr)
    return 1




def add_columns_option(p: argparse.ArgumentParser) -> None:
    """``--columns claim_id=CLM_ID,hcpcs=HCPCS_CD``: the claim file's headers of rvucalc's columns."""
    p.add_argument("--columns", action="append", metavar="NAME=HEADER,...",
                   help="the file's headers of the columns rvucalc reads, when they are not matched by name "
                        "(headers match ignoring case, spaces and underscores), e.g. "
                        "--columns claim_id=CLM_ID,hcpcs=HCPCS_CD,units=LINE_SRVC_CNT (repeatable)")


def columns_note(mapping: dict[str, str]) -> str:
    """``"  columns: claim_id=CLM_ID, hcpcs=HCPCS_CD (read under the file's own headers)"``, or ""
    when every column has rvucalc's name (the summary's line on the columns read)."""
    from ..claims.columns import described

    said = described(mapping)
    return f"  columns: {said} (the file's headers read as rvucalc's columns; output keeps them)" if said else ""


def file_columns(src: str, given: object) -> dict[str, str]:
    """The columns of the claims file or Parquet dataset *src* matched to rvucalc's (its header
    only is read), for the summary; {} when the header cannot be read here (object storage)."""
    from pathlib import Path

    import pyarrow.parquet as pq

    from ..claims.columns import parse, resolve
    from ..claims.io import _kind, csv_options
    from ..errors import RvucalcError

    p = Path(src)
    try:
        if p.is_file() and _kind(p) == "csv":
            names = list(csv_options(p)[2].column_types)
        elif p.is_file() and _kind(p) == "parquet":
            names = pq.read_schema(p).names
        else:
            from ..datasets import input_files

            parts = input_files(src)
            names = pq.read_schema(parts[0]).names if parts else []
    except (RvucalcError, OSError, ValueError):
        return {}
    return resolve(names, parse(given))  # type: ignore[arg-type]


__all__ = ["NoMatch", "add_columns_option", "checked", "columns_note", "file_columns", "load_args", "mirror_options",
           "no_match", "output_options", "place_options", "pricing_options", "release_options", "whatif_options"]
