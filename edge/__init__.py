"""Passerelle's store edge: the domain areas, the store database, the HTTP API and the CLI.

Importing ``edge`` loads nothing else: the app factory is ``edge.web.app.create_app``, so the
rules, the store and the sync worker never pull in the web stack by importing this package.
"""

from __future__ import annotations

__version__ = "0.1.0"
