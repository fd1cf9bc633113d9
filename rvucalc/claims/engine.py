"""What the claims engines (stream, Dask) call per chunk: a chunk pricer and its options.

A **chunk pricer** is ``price(chunk, options) -> DataFrame``: *chunk* holds user columns plus
:data:`~rvucalc.claims.contract.LINE` and keeps the chunk contract (every line of each claim in
it); the result has the same rows in the same order with rvucalc's columns added. *options* is a
picklable value (a frozen dataclass), so the same call runs in this process, in a worker process
of the streaming engine, or on a Dask worker. Prepared tables are cached per process by the
pricer, never shipped with the options.

The engines are generic over the pricer: physician claims use
:func:`rvucalc.claims.pipeline.price_chunk` by default; facility claims (OPPS, ASC) pass their
own pricer and options to the same engines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

#: ``price(chunk, options) -> priced chunk`` (see the module docstring).
ChunkPricer = Callable[[pd.DataFrame, Any], pd.DataFrame]


@dataclass(frozen=True)
class RepriceOptions:
    """Options of :func:`rvucalc.reprice` as a picklable value (used until the pipeline's own).

    ``releases`` are release ids (``("rvu26c", "rvu25d")``); ``None`` lets each line's date pick
    among the releases at hand.
    """

    releases: tuple[str, ...] | None = None
    mirror: str | None = None
    sequestration: bool = False


_LOCK = threading.Lock()
_FEE_SCHEDULES: dict[tuple[tuple[str, ...], str | None], list[object]] = {}
#: How many times this process loaded releases for a chunk pricer (tests check "once per worker").
LOADS = {"count": 0}


def _fee_schedules(releases: tuple[str, ...], mirror: str | None) -> list[object]:
    """The FeeSchedules of *releases*, loaded once per process (per Dask worker) and reused."""
    key = (releases, mirror)
    with _LOCK:
        got = _FEE_SCHEDULES.get(key)
        if got is None:
            from ..facade import load

            got = [load(release=r, mirror=mirror, progress=False) for r in releases]
            _FEE_SCHEDULES[key] = got
            LOADS["count"] += 1
    return got


def reprice_chunk(chunk: pd.DataFrame, options: RepriceOptions) -> pd.DataFrame:
    """Price one chunk with :func:`rvucalc.reprice` (extra columns such as LINE pass through)."""
    from ..reprice import reprice

    rel = _fee_schedules(options.releases, options.mirror) if options.releases else None
    return reprice(chunk, releases=rel, mirror=options.mirror, sequestration=options.sequestration)


def default_pricer() -> tuple[ChunkPricer, Callable[..., Any]]:
    """``(pricer, options class)`` for physician claims: the pipeline's, when it is there."""
    try:
        from .pipeline import PricingOptions, price_chunk  # type: ignore[attr-defined]
    except ImportError:
        return reprice_chunk, RepriceOptions
    return price_chunk, PricingOptions


def resolve(price: ChunkPricer | None, options: Any) -> tuple[ChunkPricer, Any]:
    """The pricer and options an engine uses: the defaults for physician claims when not given."""
    if price is None:
        price, opt_cls = default_pricer()
        if options is None:
            options = opt_cls()
    return price, options


__all__ = ["LOADS", "ChunkPricer", "RepriceOptions", "default_pricer", "reprice_chunk", "resolve"]
