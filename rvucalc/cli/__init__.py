"""Command line: ``rvucalc quote 20983 --zip 90012`` and friends, one module per command group.

* :mod:`rvucalc.cli.main` - the parser, the dispatch, exit statuses and signals (:func:`main`);
* :mod:`rvucalc.cli.pricing` - ``quote``, ``schedule``, ``sites``, ``localities``, ``anes``;
* :mod:`rvucalc.cli.reprice` - ``reprice`` (claim lines), with :mod:`rvucalc.cli.engines`
  (``--engine stream|dask``);
* :mod:`rvucalc.cli.workbench` - ``compare``, ``diff``, ``pivot`` ... (workbooks and tables);
* :mod:`rvucalc.cli.data` - ``releases`` and ``fetch``;
* :mod:`rvucalc.cli.common` - options shared by several commands.

``rvucalc.cli:main`` is the console script's entry point.
"""

from .main import Terminated, build_parser, main

__all__ = ["Terminated", "build_parser", "main"]
