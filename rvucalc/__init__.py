"""rvucalc: Medicare payment amounts from CMS fee schedule files."""
