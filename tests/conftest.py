"""Shared test fixtures.

Real CMS files come from the read-only local mirror beside the project
(``../shared/cms``, or ``$RVUCALC_MIRROR``). A test that needs a mirror file and
does not find it FAILS (never skips): CI must notice a missing file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("RVUCALC_MIRROR", ROOT.parent / "shared" / "cms")).resolve()


def mirror_path(rel: str) -> Path:
    """Path of a real CMS file in the mirror; fails the test if it is missing."""
    p = MIRROR / rel
    if not p.is_file():
        pytest.fail(f"CMS mirror file missing: {p} (set RVUCALC_MIRROR or place the mirror at {MIRROR})")
    return p


@pytest.fixture(scope="session")
def mirror():
    """``mirror('pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv')`` -> Path (fails if missing)."""
    if not MIRROR.is_dir():
        pytest.fail(f"CMS mirror folder missing: {MIRROR}")
    return mirror_path


def pytest_configure(config: pytest.Config) -> None:
    """Point the library at the mirror, never download, and use a fresh cache.

    Under CI, hypothesis runs derandomized (the same examples every run), so a
    red CI always reproduces on a developer's machine with ``CI=true``.
    """
    import tempfile

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")

    os.environ.setdefault("RVUCALC_MIRROR", str(MIRROR))
    os.environ["RVUCALC_OFFLINE"] = "1"
    os.environ["RVUCALC_CACHE"] = tempfile.mkdtemp(prefix="rvucalc-test-cache-")


@pytest.fixture(scope="session")
def fs26():
    """The CY2026 fee schedule (RVU26C, July) from the mirror."""
    import rvucalc

    mirror_path("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv")
    return rvucalc.load(2026)


@pytest.fixture(scope="session")
def fs25():
    """The CY2025 fee schedule (RVU25D, October) from the mirror."""
    import rvucalc

    mirror_path("pfs/rvu25d/PPRRVU2025_Oct.csv")
    return rvucalc.load(release="rvu25d")


@pytest.fixture
def fee_files_not_at_hand(monkeypatch):
    """No CLFS, ASP or DMEPOS file at hand for any quarter (as in a year whose files are missing):
    lab, drug and DME codes then keep the PFS's ``NOT_PFS_CLFS`` ... reasons on every surface."""
    from rvucalc.schedules import surface
    from rvucalc.schedules._load import Unavailable

    monkeypatch.setattr(surface, "rates", lambda key, y, q, mirror=None: Unavailable(key, y, q, "not at hand (test)"))
