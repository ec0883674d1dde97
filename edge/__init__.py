"""Passerelle's store edge: the domain rules, the store database and the HTTP API.

``create_app`` is imported lazily so that the domain modules (which import neither Flask nor
paho) can be used by the sync worker and the CLI without loading the web stack.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def create_app(config: Any = None) -> Any:
    from edge.web.app import create_app as _create_app

    return _create_app(config)
