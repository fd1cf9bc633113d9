"""Claims pipeline: PFS, OPPS and ASC claim lines priced in memory, streamed, or on Dask.

The stages (see :mod:`rvucalc.claims.contract`)::

    read -> normalise -> release -> lookup -> line rules -> claim rules -> money -> write

- :mod:`rvucalc.claims.contract`: the chunk contract (what a chunk must hold), the line-number
  column and the claim key every engine partitions on.
- :mod:`rvucalc.claims.io`: reading claim files with every user cell kept as text, and writing
  results atomically (temporary file, then rename).
"""

from __future__ import annotations

from .contract import CLAIM_KEY_MISSING, LINE, claim_keys, claim_partition

__all__ = ["CLAIM_KEY_MISSING", "LINE", "claim_keys", "claim_partition"]
