"""How many connections each gunicorn worker holds, in memory the master and its workers share.

Why: a worker keeps every connection it accepts (a kiosk or a till keeps its connection
alive for hours), so which worker accepts decides how the terminals spread over the
workers. Left to the kernel and the scheduler, the worker awake first took them: two
kiosks both on one worker in 5 of 16 runs (half the throughput, three times the p99), eight
split 5 and 3 or 6 and 2 in half of the runs, and the kiosks of the bigger share waited
behind more requests (bench/, lookup at 2 and 8 clients). With the counts in one table, a
worker that holds more connections than another leaves the next one to it
(``edge.web.worker.ThreadWorker.accept``).

The table is an anonymous shared mapping made when this module is imported, in the master
(``edge.web.gunicorn_conf`` imports it before any fork), so every forked worker writes into
the same pages. The master gives each worker a slot before forking it (``pre_fork``) and
frees it when the worker exits (``child_exit``), so a worker killed outright leaves no count
behind; a worker that stopped accepting (a graceful stop or reload, its connections
draining) says so (LEAVING), so that the others never leave a connection to it. A slot is
two 4-byte integers (in use, connections), each written by one process
only: the master the first, the worker the second.
"""

from __future__ import annotations

import mmap
import struct

SLOTS = 64  # workers at once, a graceful reload's old and new ones together
_SLOT = struct.Struct("=ii")  # in use, connections
LEAVING = -1  # the count of a worker that stopped accepting (a graceful stop or reload)


class Shares:
    def __init__(self) -> None:
        self._table = mmap.mmap(-1, SLOTS * _SLOT.size)  # MAP_SHARED: inherited by forks

    def claim(self) -> int | None:
        """In the master, before a fork: a free slot for the new worker (None: none left,
        and that worker accepts as it comes)."""
        for slot in range(SLOTS):
            used, _conns = _SLOT.unpack_from(self._table, slot * _SLOT.size)
            if not used:
                _SLOT.pack_into(self._table, slot * _SLOT.size, 1, 0)
                return slot
        return None

    def free(self, slot: int | None) -> None:
        """In the master, when the worker of ``slot`` has exited."""
        if slot is not None:
            _SLOT.pack_into(self._table, slot * _SLOT.size, 0, 0)

    def publish(self, slot: int, conns: int) -> None:
        """In a worker: the connections it holds now (LEAVING once it stopped accepting:
        the others never leave a connection to it)."""
        struct.pack_into("=i", self._table, slot * _SLOT.size + 4, conns)

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections held by another worker (None: no other worker)."""
        fewest: int | None = None
        for other in range(SLOTS):
            if other == slot:
                continue
            used, conns = _SLOT.unpack_from(self._table, other * _SLOT.size)
            if used and conns != LEAVING and (fewest is None or conns < fewest):
                fewest = conns
        return fewest


SHARES = Shares()
