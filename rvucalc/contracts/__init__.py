"""Payer contracts written against Medicare: a book of claims priced under each, side by side.

>>> import rvucalc
>>> acme = rvucalc.contracts.load("acme.yaml")          # a YAML contract file, checked line by line
>>> rows = rvucalc.price_contracts(lines, [acme, "beta.yaml"])   # one row per line per contract
>>> rvucalc.contracts.to_excel(rows, "contracts.xlsx")  # the comparison an analyst sends

- :mod:`rvucalc.contracts.model` the contract file's shape (pydantic) and :func:`load`;
- :mod:`rvucalc.contracts.medicare` the Medicare amount of every line (the base);
- :mod:`rvucalc.contracts.match` which lines each term takes;
- :mod:`rvucalc.contracts.price` :func:`price_contracts`;
- :mod:`rvucalc.calc.contracts` the arithmetic (whole cents, case-rate shares, escalators).

(:mod:`rvucalc.claims.contract` is unrelated: the claims pipeline's chunk contract.)
"""

from __future__ import annotations

from .model import Contract, load
from .price import OUTPUT_COLUMNS, price_contracts
from .source import ContractFileError

__all__ = ["OUTPUT_COLUMNS", "Contract", "ContractFileError", "load", "price_contracts"]
