"""Switchboard server: ARI call control, the ACD engine, config, store and CLI.

The package is layered as ``../shared/DESIGN.md`` describes: ``core`` is pure logic
(no I/O, no asyncio), ``config`` and ``store`` are adapters, and the CLI is a thin
click layer over library calls.
"""

__version__ = "0.1.0"
