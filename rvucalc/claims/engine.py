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

from collections.abc import Callable
from typing import Any

import pandas as pd

#: ``price(chunk, options) -> priced chunk`` (see the module docstring).
ChunkPricer = Callable[[pd.DataFrame, Any], pd.DataFrame]


def default_pricer() -> tuple[ChunkPricer, Callable[..., Any]]:
    """``(pricer, options class)`` for physician claims: :func:`~rvucalc.claims.pipeline.price_chunk`."""
    from .pipeline import PricingOptions, price_chunk

    return price_chunk, PricingOptions


def resolve(price: ChunkPricer | None, options: Any) -> tuple[ChunkPricer, Any]:
    """The pricer and options an engine uses: the defaults for physician claims when not given."""
    if price is None:
        price, opt_cls = default_pricer()
        if options is None:
            options = opt_cls()
    return price, options


__all__ = ["ChunkPricer", "default_pricer", "resolve"]
