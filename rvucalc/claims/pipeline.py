"""One pricing call per chunk: :func:`price_chunk`, the function every engine runs.

``price_chunk(chunk, options)`` prices a chunk that keeps the chunk contract
(:mod:`rvucalc.claims.contract`: every line of each claim in it) and returns the same rows in
the same order, the user's columns untouched, rvucalc's columns added. The in-memory call
(:func:`rvucalc.reprice`) is one chunk; streaming (:mod:`rvucalc.claims.stream`) and Dask
(:mod:`rvucalc.dask`) call it per partition with the same :class:`PricingOptions`, so the three
give identical output.

A payment system is a set of stage functions plugged into the same pipeline
(``normalise -> release -> lookup -> line rules -> claim rules -> money``); :data:`SYSTEMS`
maps ``options.system`` to the module that provides ``price(chunk, lines, options, schedules)``.

**Prepared tables** (each release's loaded files and the arrays looked up per line) are built
once per process by each system (e.g. :func:`rvucalc.claims.pfs.schedule` and
:func:`rvucalc.claims.pfs.tables`) and reused by every chunk and every call; on Dask each
worker process builds its own on first use. :func:`clear_cache` forgets them.
"""

from __future__ import annotations

import copy
import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidArgumentError
from . import columns as K
from . import edits
from .cells import PRICED_COLUMNS
from .contract import LINE
from .normalise import REQUIRED, normalise

#: ``options.system`` -> module with the system's stages.
SYSTEMS = {"pfs": "rvucalc.claims.pfs", "hopd": "rvucalc.claims.facility:HOPD",
           "asc": "rvucalc.claims.facility:ASC"}


@dataclass(frozen=True)
class PricingOptions:
    """What to price with; picklable (sent to Dask workers), hashable (a cache key).

    Attributes
    ----------
    system:
        ``"pfs"`` (physician fee schedule), ``"hopd"`` (hospital outpatient, OPPS) or ``"asc"``
        (ambulatory surgical center).
    releases:
        Release ids to use (e.g. ``("rvu26c",)``); ``None``: every catalogued release at hand,
        chosen per date of service. A named release is used or refused, never swapped.
    mirror:
        Folder of CMS files (default ``$RVUCALC_MIRROR``).
    sequestration:
        Also compute the 2% sequestration reduction of Medicare's payment.
    dayfirst:
        Read slashed dates day first (``13/08/2026``) instead of month first.
    extra:
        System-specific settings as sorted ``(name, value)`` pairs.
    columns:
        The columns the user named, as sorted ``(rvucalc name, header)`` pairs
        (:func:`rvucalc.claims.columns.parse`); the others are matched by header name
        (:mod:`rvucalc.claims.columns`).
    """

    system: str = "pfs"
    releases: tuple[str, ...] | None = None
    mirror: str | None = None
    sequestration: bool = False
    dayfirst: bool = False
    extra: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    columns: tuple[tuple[str, str], ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        return dict(self.extra).get(name, default)


def options(system: str = "pfs", *, releases: Any = None, mirror: str | os.PathLike[str] | None = None,
            sequestration: bool = False, dayfirst: bool = False, columns: Any = None,
            **extra: Any) -> PricingOptions:
    """Build :class:`PricingOptions` from friendly arguments (release ids or FeeSchedules;
    *columns* as :func:`rvucalc.claims.columns.parse` reads them)."""
    if releases is not None:
        items = releases.values() if isinstance(releases, Mapping) else releases
        ids = tuple(str(getattr(getattr(r, "release", None), "id", r)) for r in items)
    else:
        ids = None
    return PricingOptions(system=system, releases=ids, mirror=None if mirror is None else os.fspath(mirror),
                          sequestration=sequestration, dayfirst=dayfirst,
                          extra=tuple(sorted(extra.items())), columns=K.parse(columns))


def facility_options(system: str, releases: Iterable[str] | None, mirror: str | os.PathLike[str] | None,
          dayfirst: bool, wage_index: float | None, ipps_table2: str | os.PathLike[str] | None,
          edits_on: bool = True, columns: Any = None) -> PricingOptions:
    """:class:`PricingOptions` for facility claims (``system`` ``"hopd"`` or ``"asc"``): one wage
    index for lines that give none, the IPPS Table 2 for a ``ccn`` column, and claim edits off
    (*edits_on* False)."""
    extra: dict[str, Any] = edits.option(edits_on)
    if wage_index is not None:
        extra["wage_index"] = float(wage_index)
    if ipps_table2 is not None:
        extra["ipps_table2"] = os.fspath(ipps_table2)
    return options(system, releases=None if releases is None else tuple(releases),
                   mirror=mirror, dayfirst=dayfirst, columns=columns, **extra)

def schedules_of(releases: Any) -> dict[str, Any] | None:
    """Loaded PFS schedules to use as they are, when *releases* are FeeSchedule objects (from
    :func:`rvucalc.load`); ``None`` for release ids (each engine loads them)."""
    if releases is None:
        return None
    items = list(releases.values() if isinstance(releases, Mapping) else releases)
    if items and all(hasattr(r, "rvus") for r in items):
        return {r.release.id: r for r in items}
    return None


def _system(name: str) -> Any:
    try:
        where = SYSTEMS[name]
    except KeyError:
        raise InvalidArgumentError(f"unknown payment system {name!r}; one of {', '.join(SYSTEMS)}") from None
    module, _, attr = where.partition(":")
    mod = importlib.import_module(module)
    return getattr(mod, attr) if attr else mod


def check_columns(header: Any, opts: Any, source: object = None) -> dict[str, str]:
    """The columns *opts*' payment system reads, found in *header* (a file's, before any pricing):
    rvucalc's name -> the user's header (:func:`rvucalc.claims.columns.resolve`); a
    :class:`~rvucalc.claims.columns.ColumnsError` naming *source* when a named header is absent,
    two headers match one name, or a required column is not found. Options of another pricer
    (without ``system``) are matched with no required column."""
    mapping = K.resolve(header, getattr(opts, "columns", ()), source=source)
    system = getattr(opts, "system", None)
    if isinstance(opts, PricingOptions) and system in SYSTEMS:
        mod = _system(system)
        K.require(mapping, header, getattr(mod, "REQUIRED", None) or REQUIRED,
                  getattr(mod, "PLACE_COLUMNS", ("zip", "locality")), source=source)
    return mapping


def price_chunk(chunk: pd.DataFrame, opts: PricingOptions | None = None, *,
                schedules: Mapping[str, Any] | None = None, keep: list[Any] | None = None,
                on_parsed: Callable[[Any], None] | None = None) -> pd.DataFrame:
    """Price one chunk (whole claims) and return it with rvucalc's columns added.

    *schedules* (in-process only) maps release ids to already loaded schedules to use instead
    of loading them; engines that cross processes pass release ids in *opts* instead. *keep*:
    a list to which the parsed lines (:class:`rvucalc.claims.normalise.Lines`) are appended, for
    a stage that reads them after pricing (payer contracts); by default they are not kept.
    *on_parsed*: called with the parsed lines before they are priced (a stage may start reading
    them on another thread; it must not change them, nor read their ``claim``/``group``
    properties, which the pricing settles: :meth:`~rvucalc.claims.normalise.Lines.claim_keys`).
    """
    opts = opts or PricingOptions()
    mod = _system(opts.system)
    # the user's headers matched to rvucalc's names (rvucalc.claims.columns); pricing reads a view
    # of the chunk under those names, the result keeps the user's own
    mapping = K.resolve(chunk.columns, getattr(opts, "columns", ()))
    K.require(mapping, chunk.columns, getattr(mod, "REQUIRED", None) or REQUIRED,
              getattr(mod, "PLACE_COLUMNS", ("zip", "locality")))
    view = K.pricing_view(chunk, mapping)
    edit = edits.stage(opts)  # claim edits before any payment rule (None with edits=False)
    clash = [c for c in (*mod.OUTPUT_COLUMNS, *edits.columns(edit)) if c in chunk.columns]
    if clash:
        raise InvalidArgumentError(f"the claim lines already have column(s) {', '.join(clash)}, which rvucalc "
                         f"adds; rename or drop them (rvucalc never overwrites a column it was given)")
    # The parsed lines are handed over, not kept here: a system lets go of what it has used.
    # Two plain calls, not ``price(..., **extra)``: a call with ``*``/``**`` packs its arguments
    # into a tuple that holds the parsed lines until the call returns (a million lines: 35 MiB
    # more at the peak). Facility systems also read wage index/CBSA/CCN columns of the chunk.
    errs = PRICED_COLUMNS.get(opts.system, PRICED_COLUMNS["pfs"])  # error cells refuse their line
    if getattr(mod, "WANTS_CHUNK", False):
        cols = mod.price(_kept(edits.attach(edit, normalise(view, dayfirst=opts.dayfirst, error_columns=errs)),
                               keep, on_parsed), opts, schedules, chunk=view)
    else:
        cols = mod.price(_kept(edits.attach(edit, normalise(view, dayfirst=opts.dayfirst, error_columns=errs)),
                               keep, on_parsed), opts, schedules)
    del view
    seen: set[int] = set()
    added = pd.DataFrame({k: _handed_over(cols.pop(k), seen) for k in mod.OUTPUT_COLUMNS},
                         index=chunk.index, copy=False)
    if edit is not None:  # last: it explains the edit codes of ``reason``
        added[edits.COLUMN] = edit.note()
    if isinstance(chunk.columns, pd.MultiIndex):  # as ``out["release"] = ...`` names them
        pad = ("",) * (chunk.columns.nlevels - 1)
        added.columns = pd.MultiIndex.from_tuples([(k, *pad) for k in added.columns])
    # the user's columns side by side with rvucalc's, neither copied (copy-on-write: the caller's
    # frame is never changed); ``out[k] = array`` would copy every column once more
    out = pd.concat([chunk, added], axis=1)
    out.columns.names = chunk.columns.names
    out.attrs = copy.deepcopy(chunk.attrs)  # as DataFrame.copy gives them: nothing shared
    out.attrs[K.ATTR] = dict(mapping)  # which of the user's columns were read as what
    out.attrs[K.DAYFIRST] = bool(opts.dayfirst)
    used = cols.pop("rvucalc.sources", None)
    if used:  # the files a system read besides its schedule (wage index tables...): provenance
        from ..export.provenance import provenance_of

        out.attrs["rvucalc.provenance"] = provenance_of(out.attrs.get("rvucalc.provenance"), *used)
    kinds = getattr(mod, "OUTPUT_KINDS", None)
    if kinds and not isinstance(out.columns, pd.MultiIndex):  # what rvucalc's columns hold
        out.attrs["rvucalc.kinds"] = {**(out.attrs.get("rvucalc.kinds") or {}), **kinds}
    return edits.finish(edit, out)


def _kept(lines: Any, keep: list[Any] | None, on_parsed: Callable[[Any], None] | None = None) -> Any:
    """*lines*, appended to *keep* when a caller asked to keep them (no reference held otherwise)
    and handed to *on_parsed*."""
    if keep is not None:
        keep.append(lines)
    if on_parsed is not None:
        on_parsed(lines)
    return lines


def _handed_over(a: Any, seen: set[int]) -> Any:
    """*a* itself when the result may own it (an array made for this call: it owns its memory and
    is no other column's), else a copy; pandas does not track arrays it did not copy, so a
    shared one would let a write to one column change another (or a prepared table).
    Categoricals (:func:`rvucalc.claims.lines.categorical`) always have new codes."""
    if not isinstance(a, np.ndarray):
        return a
    own = a.base is None and a.flags.owndata and a.flags.writeable and id(a) not in seen
    seen.add(id(a))
    return a if own else a.copy()


def price_frame(lines: pd.DataFrame, opts: PricingOptions, *, schedules: Mapping[str, Any] | None = None
                ) -> pd.DataFrame:
    """The in-memory engine: the whole frame as one chunk (adds and drops :data:`LINE`)."""
    had = LINE in lines.columns
    chunk = lines if had else lines.assign(**{LINE: range(len(lines))})
    out = price_chunk(chunk, opts, schedules=schedules)
    return out if had else out.drop(columns=[LINE])


def clear_cache() -> None:
    """Forget every prepared table and release choice of this process."""
    for name in SYSTEMS:
        fn = getattr(_system(name), "clear_cache", None)
        if fn:
            fn()
    edits.clear_cache()


def provenance(release_ids: Any, what_if: Any = None) -> list[Any]:
    """What a workbook's provenance sheet lists for the releases a result used: the loaded PFS
    schedules (files, sha256s, conversion factors: the what-if CF's schedules with *what_if*)
    and the OPPS/ASC files, as this process loaded them."""
    from ..whatif import parse_cf
    from . import facility, pfs

    ids = {str(r) for r in release_ids if str(r)}
    w = parse_cf(what_if)
    out: list[Any] = [fs for key, fs in pfs._SCHEDULES.items()
                      if key[0] in ids and (key[2:] == (w,) if w is not None else len(key) == 2)]
    for (rid, _), srcs in facility.SOURCES.items():
        if rid in ids:
            out.extend(srcs)
    return out
