"""paho's MQTT client, reading its socket the way a catch-up needs: every packet that has
arrived at each wake-up of its loop, out of one large read.

paho 2.2 reads at most as many packets per wake-up of its loop as it has QoS 1/2 messages of
its own in flight (``Client.loop_read``): one, while a store catches up on down-events and
publishes nothing, so each message costs a ``select`` and a pass through the loop. And it
reads each packet with three or four ``recv`` calls (the type byte, each byte of the
length, then the body). For a 500-byte event that was a third of the worker's network
thread (bench/, catch-up). This client reads up to READ_CHUNK bytes at once and serves
paho's small reads from them, and reads every packet that is there before it returns to
``select``: the same packets, decoded by paho's own code, in the same order.

It also decodes the common PUBLISH itself (``_handle_publish``): QoS 0 or 1, acknowledged by
the caller (``manual_ack``), with no MQTT 5 property, for a client whose messages all go to
``on_message``. paho builds a ``Properties`` object for every MQTT 5 PUBLISH, empty or not,
through a generic decoder: two fifths of the worker's receiving (py-spy, bench/ catch-up).
Anything else (a property, QoS 2, a packet too short to be a PUBLISH) goes to paho's own
decoder, which also reports the malformed ones.

What it holds is bounded by its owner, not by the broker (``hold``): while the owner holds
that many received messages not yet taken off its hands, the loop stops reading the socket
of an established connection and goes on writing (the PUBACKs of committed messages,
pings), for half the keep-alive at most. A Receive Maximum alone does
not bound it: Mosquitto 2.0 sends past the window while acknowledgements flow (a worker
reading as fast as this one held 3,200-7,400 messages for a window of 400), and it is the
socket and the broker's queue that should keep that overshoot, not the worker's memory.

Nothing is left in the buffer when ``loop_read`` returns (it reads until the socket has
nothing more, or stops after READ_BURST packets only once the buffer is empty), except when
a hold stops it: then the loop reads what is left before its next ``select``, so that
``select`` never sleeps on bytes already taken off the socket. A new connection starts with
an empty buffer.
"""

from __future__ import annotations

import contextlib
import select
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

READ_CHUNK = 64 * 1024
READ_BURST = 1000  # packets per wake-up at most, once the buffer is empty: writes get a turn
HOLD_POLL = 0.005  # while reading is held back: how often the loop looks whether to resume

_NO_INFO = mqtt.MQTTMessageInfo(0)  # the ``info`` of every received message: never waited on


class Client(mqtt.Client):
    """``paho.mqtt.client.Client`` with buffered reads (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0
        self._held: Callable[[], int] | None = None
        self._hold_limit = 0
        self._held_since = 0.0

    def hold(self, held: Callable[[], int], limit: int) -> None:
        """Stop reading while ``held()`` (messages received and not yet taken off the
        owner's hands) is at least ``limit``; see the module's docstring."""
        self._held, self._hold_limit = held, limit

    def _loop(self, timeout: float = 1.0) -> mqtt.MQTTErrorCode:
        """paho's loop, except while the owner holds its limit (``_holding``): then only
        writes, paho's wake-ups (a PUBACK queued by another thread) and its keep-alive run,
        and the loop looks again every HOLD_POLL."""
        sock, wake = self._sock, self._sockpairR
        if sock is None or not self._holding():
            if sock is not None and self._rpos < len(self._rbuf):
                # Packets taken off the socket before a hold: read now, since select would
                # not wake for them.
                rc = self.loop_read()
                if rc or self._sock is None:
                    return rc
                timeout = 0.0
            return super()._loop(timeout)
        rlist = [] if wake is None else [wake]  # no wake-up pair without loop_start
        wlist = [sock] if self.want_write() else []
        try:
            readable, writable, _ = select.select(rlist, wlist, [], min(timeout, HOLD_POLL))
        except (TypeError, ValueError, OSError):
            return super()._loop(0.0)  # paho's own handling of a socket gone bad
        if readable:
            with contextlib.suppress(BlockingIOError):
                readable[0].recv(10000)  # as paho does: one byte per wake-up, all at once
            writable = [sock]
        if writable:
            rc = self.loop_write()
            if rc or self._sock is None:
                return rc
        return self.loop_misc()

    def _create_socket(self) -> Any:
        self._rbuf, self._rpos = b"", 0
        return super()._create_socket()

    def _sock_recv(self, bufsize: int) -> bytes:
        pos, buf = self._rpos, self._rbuf
        if pos >= len(buf):
            data = super()._sock_recv(READ_CHUNK)  # BlockingIOError when nothing came
            if len(data) <= bufsize:
                self._rbuf, self._rpos = b"", 0
                return data
            buf, pos = data, 0
            self._rbuf = buf
        end = pos + bufsize
        self._rpos = end
        return buf[pos:end]

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        """Read every packet that has arrived (see the module's docstring); ``max_packets``
        is ignored, as paho's own ``loop_read`` ignores it."""
        read = 0
        while True:
            if self._sock is None:
                return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
            if self._holding():  # before each packet: the owner never holds more than its limit
                return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == mqtt.MQTTErrorCode.MQTT_ERR_AGAIN:
                return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
            read += 1
            if read >= READ_BURST and self._rpos >= len(self._rbuf):
                return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _holding(self) -> bool:
        """The owner holds its limit on an established connection: read nothing. Not for
        longer than half the keep-alive in a row, so that a PINGRESP left unread never ends
        the connection; after that the client reads freely until the owner is under its
        limit again (an owner stuck that long may then get what the broker had already sent
        past the window)."""
        if self._held is None or not self.is_connected() or self._held() < self._hold_limit:
            # Never before the CONNACK: a new connection is read at once (its acks then
            # belong to it: sync/receiver.py), whatever the last one left in the queue.
            self._held_since = 0.0
            return False
        now = time.monotonic()
        if not self._held_since:
            self._held_since = now
        # With no keep-alive (0) there is no PINGRESP to miss: hold as long as it takes.
        return not self._keepalive or now - self._held_since <= self._keepalive / 2

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        """A QoS 0/1 PUBLISH with no property, decoded here (see the module's docstring); the
        same message paho would hand to ``on_message``, which it then reaches the same way
        (under paho's callback lock, its exceptions logged and raised as paho does)."""
        command: int = self._in_packet["command"]
        packet: bytearray = self._in_packet["packet"]
        qos = (command & 0x06) >> 1
        on_message = self.on_message
        if (
            qos >= 2  # 3 is malformed: paho's decoder refuses it
            or not self._manual_ack
            or self._protocol != mqtt.MQTTv5
            or on_message is None
            or self._on_message_filtered._root._children  # noqa: SLF001 - per-topic callbacks
        ):
            return super()._handle_publish()
        size = len(packet)
        if size < 2:
            return super()._handle_publish()
        end = 2 + ((packet[0] << 8) | packet[1])  # the topic's length, then the topic
        pos = end + 2 if qos else end  # the packet identifier of a QoS 1 message
        if pos >= size or packet[pos] != 0:  # properties follow (or too short): paho decodes
            return super()._handle_publish()
        # MQTTMessage's own __init__ also makes a MQTTMessageInfo, with a Condition, that
        # only a message we publish uses: each slot is set here instead.
        message = mqtt.MQTTMessage.__new__(mqtt.MQTTMessage)
        message.mid = (packet[end] << 8) | packet[end + 1] if qos else 0
        message.topic = bytes(packet[2:end])
        message.payload = bytes(packet[pos + 1 :])
        message.qos = qos
        message.dup = bool(command & 0x08)
        message.retain = bool(command & 0x01)
        message.state = mqtt.mqtt_ms_invalid
        message.info = _NO_INFO
        message.properties = None
        message.timestamp = time.monotonic()
        with self._in_callback_mutex:
            try:
                on_message(self, self._userdata, message)
            except Exception as err:
                self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                if not self.suppress_exceptions:
                    raise
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
