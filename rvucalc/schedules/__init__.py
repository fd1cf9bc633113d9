"""The quarter's tables of the Medicare fee schedules beside the PFS, chosen by date of service.

* :mod:`rvucalc.schedules.clfs` - Clinical Laboratory Fee Schedule;
* :mod:`rvucalc.schedules.asp` - Part B drugs (ASP pricing files);
* :mod:`rvucalc.schedules.dmepos` - DMEPOS and PEN fee schedules (and the DMEPOS rural ZIP file).

Each module has ``load(year, quarter)``, ``for_date(date)``, ``rates_or_unavailable(year, quarter)``
and ``price_lines(dates, hcpcs, ...)``, all with plain arguments (``mirror``, ``download``,
``progress``); none imports :mod:`rvucalc.facade`. The rules are in :mod:`rvucalc.calc.clfs`,
:mod:`rvucalc.calc.asp` and :mod:`rvucalc.calc.dmepos`; the readers in :mod:`rvucalc.iotools`.
"""

from ._load import clear_cache, quarter_of

__all__ = ["clear_cache", "quarter_of"]
