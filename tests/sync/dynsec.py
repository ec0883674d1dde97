"""Mosquitto's dynamic security plugin for the tests: per-client roles that a test changes
while the broker runs, as an operator would with ``mosquitto_ctrl``.

Mosquitto 2.0 grants a subscription that its ACL file denies (the messages are then just not
delivered), so an ACL file cannot show a refused SUBACK; the dynamic security plugin answers a
denied SUBSCRIBE with a failure code (MQTT 5: 0x87 "Not authorized"; 3.1.1: 0x80). Its config
file is written here (passwords as the plugin stores them: PBKDF2-SHA512, base64), and its
control topic (``$CONTROL/dynamic-security/v1``) is driven by a paho client as the admin.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.waiting import wait_until

PLUGIN = Path("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so")
CONTROL = "$CONTROL/dynamic-security/v1"
ADMIN = ("admin", "admin-password")


def _client(username: str, password: str) -> dict[str, Any]:
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
    return {
        "username": username,
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": 101,
        "roles": [{"rolename": username}],
    }


def _role(name: str, acls: list[tuple[str, str, bool, int]]) -> dict[str, Any]:
    return {
        "rolename": name,
        "acls": [
            {"acltype": kind, "topic": topic, "allow": allow, "priority": priority}
            for kind, topic, allow, priority in acls
        ],
    }


def _everything(topic: str) -> list[tuple[str, str, bool, int]]:
    return [
        ("publishClientSend", topic, True, 0),
        ("publishClientReceive", topic, True, 0),
        ("subscribePattern", topic, True, 0),
        ("unsubscribePattern", topic, True, 0),
    ]


def config(path: Path, clients: dict[str, tuple[str, list[tuple[str, str, bool, int]]]]) -> str:
    """Write the plugin's file: the admin, each named client with a role of its own (``name:
    (password, acls)``), and anonymous clients allowed everything (the test's web side and
    collector); return the lines for the broker's config."""
    doc = {
        "clients": [_client(*ADMIN)] + [_client(n, pw) for n, (pw, _a) in clients.items()],
        "groups": [{"groupname": "anonymous", "roles": [{"rolename": "anonymous"}]}],
        "roles": [
            _role("admin", _everything("$CONTROL/dynamic-security/#") + _everything("#")),
            _role("anonymous", _everything("#")),
            *[_role(n, acls) for n, (_pw, acls) in clients.items()],
        ],
        "anonymousGroup": "anonymous",
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": True,
            "subscribe": False,
            "unsubscribe": True,
        },
    }
    path.write_text(json.dumps(doc, indent=1))
    return f"plugin {PLUGIN}\nplugin_opt_config_file {path}"


class Control:
    """The admin's connection to the plugin's control topic: one command, one answer."""

    def __init__(self, port: int) -> None:
        self._answers: list[dict[str, Any]] = []
        self._got = threading.Condition()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.client.username_pw_set(*ADMIN)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_until(self.client.is_connected, 10, what="the dynsec admin's connection")
        self.client.subscribe(f"{CONTROL}/response", 1)
        assert subscribed.wait(10), "the dynsec admin could not subscribe"

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._got:
            self._answers.extend(json.loads(msg.payload)["responses"])
            self._got.notify_all()

    def command(self, command: str, **args: Any) -> None:
        n = len(self._answers)
        payload = json.dumps({"commands": [{"command": command, **args}]})
        self.client.publish(CONTROL, payload, qos=1).wait_for_publish(10)
        with self._got:
            assert self._got.wait_for(lambda: len(self._answers) > n, 10), "no dynsec answer"
            answer = self._answers[-1]
        assert "error" not in answer, answer

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
