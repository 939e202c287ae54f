"""The ``linkbase`` command line: Arvados-style resource commands, bulk export/import.

Kept import-light on purpose: the entry point is :mod:`linkbase.cli.main`.
"""
