"""The reference online store: the online-store side of the sync contract (CONTRACT.md).

Not part of the store edge, and it imports nothing from ``edge/``: it shares only the
contract (``sync.contract`` and ``sync/contract/schemas``). It plays the website for the demo and
the peer for the tests: it consumes the stores' up-events, publishes the chain's and each
store's down-events, asks for replays when a store's stream has a hole, and serves the
backfill endpoint. ``python -m online_store --help`` runs it; ``OnlineStore`` drives it
from code.
"""

from online_store.service import OnlineStore

__all__ = ["OnlineStore"]
