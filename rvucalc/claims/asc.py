"""Ambulatory surgical center (ASC) claim lines: ``system="asc"`` of the claims pipeline.

The stages are those of :mod:`rvucalc.claims.facility_pipeline` (release, wage index,
modifiers) and :mod:`rvucalc.claims.facility` (lookup, line and claim rules, money); this
module only names the system for :mod:`rvucalc.claims.pipeline`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from . import facility as F
from . import facility_pipeline as FP
from .normalise import Lines

#: Columns this system adds (in this order).
OUTPUT_COLUMNS = ("release", "release_note", *F.ASC_COLUMNS)
#: The columns a chunk must have (the place of service is not needed: the setting is the system).
REQUIRED = ("claim_id", "hcpcs", "date_of_service")
#: No place column is required: without a wage index, CBSA, county or CCN the rate is national.
PLACE_COLUMNS: tuple[str, ...] = ()
#: :func:`price` reads the chunk's own columns too (wage index, CBSA, county, CCN, modifiers).
WANTS_CHUNK = True

clear_cache = FP.clear_cache


def price(lines: Lines, opts: Any, schedules: Mapping[str, Any] | None = None, *,
          chunk: pd.DataFrame) -> dict[str, Any]:
    """All stages over one normalised chunk; returns :data:`OUTPUT_COLUMNS` arrays."""
    return FP.price(chunk, lines, "asc", opts, schedules)
