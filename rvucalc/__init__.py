"""rvucalc: what does Medicare pay for this service, here, in this setting?

>>> import rvucalc
>>> fs = rvucalc.load(2026)              # newest CY2026 PFS release at hand
>>> fs.quote("20983").nonfacility.amount  # national office payment
4905.92
"""

from __future__ import annotations

from .calc import contracts as _contract_reasons  # noqa: F401 - registers the CONTRACT_* reasons
from .claims.sites import compare_sites_claims, summarise_sites
from .claims.stream import iter_priced, reprice_file
from .claims.summary import summarise_claims
from .errors import (
    ArgumentTypeError,
    ChecksumError,
    CMSFileError,
    DownloadError,
    FileAccessError,
    InvalidArgumentError,
    MissingFileError,
    ReleaseNotFoundError,
    ReleaseUnavailableError,
    RvucalcError,
    UnknownCodeError,
    UnknownLocalityError,
    UnknownReasonError,
    UnsupportedModifierError,
)
from .facade import FeeSchedule, load
from .reasons import Reason, explain
from .reprice import reprice, reprice_asc, reprice_opps

__version__ = "0.1.0"

#: Submodules reachable as attributes without importing them first (``rvucalc.export.to_excel``,
#: ``rvucalc.plot.plot_localities``): imported on first use, so ``import rvucalc`` stays fast.
LAZY_SUBMODULES = ("anesthesia", "arguments", "catalogue", "codes", "diff", "export", "facility_diff", "plot",
                   "reasons", "render", "sites", "volumes", "contracts", "whatif")


def __getattr__(name: str) -> object:
    if name == "price_contracts":  # payer contracts (rvucalc.contracts), loaded on first use
        from .contracts import price_contracts

        return price_contracts
    if name == "concat":  # pd.concat keeping every frame's sources (rvucalc.export.concat)
        from .export import concat

        return concat
    if name in LAZY_SUBMODULES:
        import importlib

        mod = importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'rvucalc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(LAZY_SUBMODULES) | {"price_contracts", "concat"})


__all__ = [
    "CMSFileError", "DownloadError", "FeeSchedule", "MissingFileError", "Reason", "ReleaseNotFoundError",
    "RvucalcError", "UnknownCodeError", "UnknownLocalityError", "UnknownReasonError", "UnsupportedModifierError",
    "__version__", "compare_sites_claims", "explain", "iter_priced", "load", "reprice", "reprice_asc",
    "reprice_file", "reprice_opps", "summarise_claims", "summarise_sites",
]
__all__ += ["contracts", "price_contracts", "concat"]
#: errors about release files (checksums, unreadable files, releases that cannot be had)
__all__ += ["ChecksumError", "FileAccessError", "ReleaseUnavailableError"]
#: errors about the arguments given (rvucalc.arguments): a value refused, or of the wrong type
__all__ += ["ArgumentTypeError", "InvalidArgumentError"]
