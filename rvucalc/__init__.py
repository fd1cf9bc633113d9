"""rvucalc: what does Medicare pay for this service, here, in this setting?

>>> import rvucalc
>>> fs = rvucalc.load(2026)              # newest CY2026 PFS release at hand
>>> fs.quote("20983").nonfacility.amount  # national office payment
4905.92
"""

from __future__ import annotations

from .claims.summary import summarise_claims
from .errors import (
    CMSFileError,
    DownloadError,
    MissingFileError,
    ReleaseNotFoundError,
    RvucalcError,
    UnknownCodeError,
    UnknownLocalityError,
)
from .facade import FeeSchedule, load
from .facility_claims import compare_sites_claims, reprice_asc, reprice_opps, summarise_sites
from .reasons import Reason, explain
from .reprice import reprice

__version__ = "0.1.0"

__all__ = [
    "CMSFileError", "DownloadError", "FeeSchedule", "MissingFileError", "Reason", "ReleaseNotFoundError",
    "RvucalcError", "UnknownCodeError", "UnknownLocalityError", "__version__", "compare_sites_claims",
    "explain", "load", "reprice", "reprice_asc", "reprice_opps", "summarise_sites",
    "summarise_claims",
]
