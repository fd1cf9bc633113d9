"""Readers for CMS release files, one module per file format.

Each reader takes a path (or bytes) of the file exactly as CMS ships it and
returns a pandas DataFrame with canonical column names; the module docstring
cites the CMS document that defines the layout.
"""
