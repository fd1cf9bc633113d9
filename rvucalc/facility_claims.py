"""Old home of facility claims, kept so that existing imports keep working.

``reprice_opps`` and ``reprice_asc`` are in :mod:`rvucalc.reprice` (and ``rvucalc.reprice_opps``);
the site of service per claim (``compare_sites_claims``, ``summarise_sites`` ...) is
:mod:`rvucalc.claims.sites`. New code imports from there.
"""

from .claims.sites import (
    SITE_COLUMNS,
    SITES,
    compare_sites_claims,
    not_priced,
    not_priced_notes,
    sites_workbook,
    summarise_sites,
)
from .reprice import reprice_asc, reprice_opps

__all__ = ["reprice_opps", "reprice_asc", "compare_sites_claims", "summarise_sites",
           "not_priced", "not_priced_notes", "sites_workbook", "SITES", "SITE_COLUMNS"]
