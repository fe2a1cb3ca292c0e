"""Ports: the small interfaces the core needs, and the errors their adapters must raise.

Lookup convention: `get()` raises `NotFound`; `find()` returns `None`.
"""
