"""Payer contracts written against Medicare: a book of claims priced under each, side by side.

>>> import rvucalc
>>> acme = rvucalc.contracts.load("acme.yaml")          # a YAML contract file, checked line by line
>>> rows = rvucalc.price_contracts(lines, [acme, "beta.yaml"])   # one row per line per contract
>>> book = rvucalc.contracts.price_book(lines, [acme])   # book.lines (those rows) and book.claims
>>> rvucalc.contracts.to_excel(rows, "contracts.xlsx")  # the comparison an analyst sends
>>> rvucalc.contracts.rate_sheet([acme], ["99213", "99214"], zip="90012")   # rates beside Medicare

- :mod:`rvucalc.contracts.model` the contract file's shape (pydantic) and :func:`load`;
- :mod:`rvucalc.contracts.medicare` the Medicare amount of every line (the base);
- :mod:`rvucalc.contracts.match` which lines each term takes;
- :mod:`rvucalc.contracts.price` :func:`price_contracts` and :func:`price_book` (the rows and the claims);
- :mod:`rvucalc.contracts.summary` book totals, categories, terms, top codes, claims side by side;
- :mod:`rvucalc.contracts.workbook` the comparison workbook; :mod:`rvucalc.contracts.rates` rate sheets;
- :mod:`rvucalc.contracts.engine` the chunk pricer of the streaming and Dask engines
  (:func:`price_contracts_file`: a file of any length, the contracts side by side per line);
- :mod:`rvucalc.calc.contracts` the arithmetic (whole cents, case-rate shares, escalators).

(:mod:`rvucalc.claims.contract` is unrelated: the claims pipeline's chunk contract.)
"""

from __future__ import annotations

from .engine import price_contracts_file
from .model import Contract, load
from .price import OUTPUT_COLUMNS, Book, price_book, price_contracts
from .rates import rate_sheet
from .source import ContractFileError
from .summary import book_totals, by_category, by_term, claims_side_by_side, top_codes
from .workbook import to_excel

__all__ = ["OUTPUT_COLUMNS", "Book", "Contract", "ContractFileError", "book_totals", "by_category", "by_term",
           "claims_side_by_side", "load", "price_book", "price_contracts", "price_contracts_file", "rate_sheet", "to_excel", "top_codes"]
