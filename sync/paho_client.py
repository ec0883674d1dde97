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

Nothing is left in the buffer when ``loop_read`` returns (it reads until the socket has
nothing more, or stops after READ_BURST packets only once the buffer is empty), so paho's
``select`` never sleeps on bytes already taken off the socket. A new connection starts with
an empty buffer.
"""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt

READ_CHUNK = 64 * 1024
READ_BURST = 1000  # packets per wake-up at most, once the buffer is empty: writes get a turn


class Client(mqtt.Client):
    """``paho.mqtt.client.Client`` with buffered reads (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0

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
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == mqtt.MQTTErrorCode.MQTT_ERR_AGAIN:
                return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
            read += 1
            if read >= READ_BURST and self._rpos >= len(self._rbuf):
                return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
