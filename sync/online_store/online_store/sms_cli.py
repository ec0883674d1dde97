"""``python -m online_store.sms_cli --url URL --from +33611223344 THE``: a text "received"
by the online store's SMS gateway, posted to its inbound webhook as a gateway would (for
the demo and for trying a campaign from a terminal). Prints what it did."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m online_store.sms_cli", description=__doc__)
    p.add_argument("--url", default="http://127.0.0.1:8090", help="the online store's address")
    p.add_argument("--from", dest="sender", required=True, help="the sender's number, E.164")
    p.add_argument("--token", default="", help="the webhook's secret (--sms-token)")
    p.add_argument("text", nargs="+", help="the text, e.g. a campaign keyword or STOP")
    args = p.parse_args(argv)
    form = urllib.parse.urlencode({"From": args.sender, "Body": " ".join(args.text)}).encode()
    request = urllib.request.Request(  # noqa: S310 - the address the operator typed
        f"{args.url.rstrip('/')}/sms/inbound",
        data=form,
        headers={"X-Passerelle-Token": args.token},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        print(f"refused ({exc.code}): {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot reach {args.url}: {exc}", file=sys.stderr)
        return 2
    print(f"{answer['outcome']}: {answer.get('reply') or 'no reply'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
