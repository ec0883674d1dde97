"""``python -m online_store``: run the reference online store (web pages, backfill
endpoint and MQTT link) until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time

from online_store.dispatch import Outreach
from online_store.service import OnlineStore
from sync import contract


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m online_store", description=__doc__)
    p.add_argument("--db", required=True, help="its own SQLite file (never the edge's)")
    p.add_argument("--port", type=int, default=8090, help="HTTP port (default 8090)")
    p.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    p.add_argument("--mqtt-url", required=True, help="mqtt://host:port or mqtts://user:pw@host")
    p.add_argument("--token", required=True, help="Bearer token of the backfill endpoint")
    p.add_argument("--stores", required=True, help="store ids served, comma-separated")
    p.add_argument("--topic-prefix", default=contract.DEFAULT_PREFIX)
    p.add_argument(
        "--instance", default="1", help="this instance's name, unique per broker (default 1)"
    )
    p.add_argument(
        "--mqtt-protocol",
        choices=["5", "3.1.1"],
        default="5",
        help="5 (shared subscription between instances) or 3.1.1 (NATS: --partition)",
    )
    p.add_argument(
        "--partition",
        default="1/1",
        help="K/N: with 3.1.1, consume the up-streams of every N-th store from the K-th "
        "(instances 1/N … N/N together cover every store; default 1/1)",
    )
    p.add_argument(
        "--replay-retry",
        type=float,
        default=30.0,
        help="seconds before asking a store again for the same replay (default 30)",
    )
    p.add_argument(
        "--no-demo-data",
        action="store_true",
        help="start without the demo members and their history (the store demo's own)",
    )
    # Issue 22: how the online store reaches shoppers (dispatch.Outreach).
    p.add_argument("--smtp-url", help="smtp://, smtp+starttls:// or smtps://[user:pw@]host:port")
    p.add_argument("--mail-from", default="boutique@passerelle.example", help="the From address")
    p.add_argument(
        "--sms-gateway", default="demo", help="demo, or https://ACCOUNT:TOKEN@host/?from=+33..."
    )
    p.add_argument("--public-url", help="this site's address in the SMS links (default: served)")
    p.add_argument("--sms-token", default="", help="secret the gateway's inbound webhook sends")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s online-store %(message)s")
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    try:
        k, n = (int(x) for x in args.partition.split("/"))
        if not 1 <= k <= n:
            raise ValueError
    except ValueError:
        print(
            f"online store: --partition {args.partition!r}: expected K/N, 1 <= K <= N",
            file=sys.stderr,
        )
        return 2
    try:
        store = OnlineStore(
            args.db,
            args.mqtt_url,
            args.topic_prefix,
            stores,
            args.token,
            instance=args.instance,
            demo_data=not args.no_demo_data,
            replay_retry=args.replay_retry,
            protocol=args.mqtt_protocol,
            consume=stores[k - 1 :: n] if args.mqtt_protocol == "3.1.1" else None,
            outreach=Outreach(
                smtp_url=args.smtp_url,
                mail_from=args.mail_from,
                sms_gateway=args.sms_gateway,
                public_url=args.public_url,
                sms_token=args.sms_token,
            ),
        )
    except ValueError as exc:
        print(f"online store: {exc}", file=sys.stderr)
        return 2
    # The handlers only note the signal: one that ran Event.set() could be interrupted by a
    # second signal inside set(), holding the event's lock, and deadlock in set() again.
    signals: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _: signals.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _: signals.append(signum))
    store.start()
    url = store.serve(args.host, args.port)
    logging.info(
        "serving %s for %d stores: %s",
        url,
        len(stores),
        ", ".join(stores[:10]) + (", …" if len(stores) > 10 else ""),
    )
    while not signals:
        time.sleep(0.2)
    store.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
