#!/usr/bin/env bash
# The demo, from a fresh clone: installs what is missing, starts a local Mosquitto, the store
# edge with demo data and the reference online store, and prints the URLs to open.
# Ctrl-C stops everything. Data lives in ./demo-data (delete it to start over).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"

ensure_mosquitto
ensure_venv

DATA="$ROOT/demo-data"
mkdir -p "$DATA"
# One demo per folder: a second one would re-seed the same database and revoke the tokens
# of the first.
exec 9>"$DATA/demo.lock"
flock -n 9 || die "a demo is already running from $ROOT (stop it with Ctrl-C first)."
free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_free() {
    "$VENV/bin/python" - "$1" 2>/dev/null <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
PY
}
BROKER_PORT="${DEMO_BROKER_PORT:-$(free_port)}"
EDGE_PORT="${DEMO_EDGE_PORT:-8080}"
WEB_PORT="${DEMO_WEB_PORT:-8090}"
port_free "$EDGE_PORT" ||
    die "port $EDGE_PORT is in use: choose another one, e.g. DEMO_EDGE_PORT=18080 make demo"
port_free "$WEB_PORT" ||
    die "port $WEB_PORT is in use: choose another one, e.g. DEMO_WEB_PORT=18090 make demo"

# Our own broker on a free port: the machine may already run one on 1883.
cat > "$DATA/mosquitto.conf" <<CONF
listener $BROKER_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $DATA/
# A store that is offline for a day queues more than Mosquitto's default 1000 messages.
max_queued_messages 100000
persistent_client_expiration 14d
log_dest file $DATA/mosquitto.log
CONF
# Started as root, Mosquitto would switch to the mosquitto user, which cannot write here.
[ "$(id -u)" -eq 0 ] && echo "user root" >> "$DATA/mosquitto.conf"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

MOSQ="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
"$MOSQ" -c "$DATA/mosquitto.conf" & pids+=($!)

export PASSERELLE_STORE_ID=S001
export PASSERELLE_DB_PATH="$DATA/store.db"
export PASSERELLE_MQTT_URL="mqtt://127.0.0.1:$BROKER_PORT"
export PASSERELLE_HTTP_PORT="$EDGE_PORT"
export PASSERELLE_ONLINE_STORE_URL="http://127.0.0.1:$WEB_PORT"
export PASSERELLE_ONLINE_STORE_TOKEN="demo-backfill-token"
export PASSERELLE_LOCALE=fr
# No real printer here: receipts and pickup slips go to a file (each job replaces the last),
# so print jobs do not pile up and /readyz does not report them as waiting.
export PASSERELLE_PRINTERS="[{\"name\": \"demo\", \"connection\": \"file\", \"path\": \"$DATA/printer.escpos\", \"roles\": [\"receipts\", \"pickup_slips\", \"tickets\"]}]"

say "seeding demo data"
"$VENV/bin/passerelle" demo --tokens-file "$DATA/tokens.json" >/dev/null

# HTTPS, as on a shop floor: a self-signed certificate made once (browsers warn: accept it).
if [ ! -f "$DATA/tls/tls_cert" ]; then
    "$VENV/bin/passerelle" tls init --out "$DATA/tls" --host localhost >/dev/null
fi
export PASSERELLE_TLS_CERT_FILE="$DATA/tls/tls_cert" PASSERELLE_TLS_KEY_FILE="$DATA/tls/tls_key"
PAIR_CODE="$("$VENV/bin/passerelle" kiosk pair-code demo-kiosk --minutes 1440 | tail -n 1)"

if "$VENV/bin/python" -c 'import online_store' 2>/dev/null; then
    say "starting the reference online store on http://127.0.0.1:$WEB_PORT"
    "$VENV/bin/python" -m online_store --db "$DATA/online.db" --port "$WEB_PORT" \
        --mqtt-url "$PASSERELLE_MQTT_URL" --token "$PASSERELLE_ONLINE_STORE_TOKEN" \
        --stores S001 & pids+=($!)
fi

say "starting the store edge on https://127.0.0.1:$EDGE_PORT"
"$VENV/bin/passerelle" run & EDGE_PID=$!; pids+=($EDGE_PID)

healthy() {
    "$VENV/bin/python" -c 'import ssl, sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2, context=ssl._create_unverified_context())' \
        "https://127.0.0.1:$EDGE_PORT/healthz" 2>/dev/null
}
for _ in $(seq 1 150); do
    healthy && break
    kill -0 "$EDGE_PID" 2>/dev/null || die "the store edge stopped (see its messages above)."
    sleep 0.2
done
healthy || die "the store edge did not answer on port $EDGE_PORT (see its messages above)."

TOKENS="$(cat "$DATA/tokens.json")"
cat <<MSG

  Passerelle demo is running (Ctrl-C stops it).

  Kiosk (shopper)        https://127.0.0.1:$EDGE_PORT/kiosk/pair?code=$PAIR_CODE   (press Pair once; then /kiosk)
  Staff pickup board     https://127.0.0.1:$EDGE_PORT/staff     PIN login: Lucas 2345 (admin: id st-manon, 246810)
  Cashier POS            https://127.0.0.1:$EDGE_PORT/pos       PIN login: Inès 3456
  Online store (web)     http://127.0.0.1:$WEB_PORT/   offers: /offers   e-mails sent: /messages
  Readiness / metrics    https://127.0.0.1:$EDGE_PORT/readyz  /metrics
  API description        https://127.0.0.1:$EDGE_PORT/api/v1/openapi.json
  HTTPS                  self-signed ($DATA/tls/tls_cert): accept the browser's warning once
  Loyalty cards          PC000000000001 (Élodie, gold), PC000000000002 (James, en)
  Coupon at the till     type or scan the code in the POS search field
  Printer                $DATA/printer.escpos   (the last receipt or slip, ESC/POS bytes)
  MQTT broker            mqtt://127.0.0.1:$BROKER_PORT

  A walk through web, board, kiosk and till: README.md, "Walk-through".

  Demo API tokens (Authorization: Bearer …):
$(echo "$TOKENS" | "$VENV/bin/python" -c 'import json,sys; t=json.load(sys.stdin)["tokens"]; print("\n".join(f"    {k:<6} {v}" for k,v in t.items()))')

MSG
# Stop everything when one part stops, rather than leave a demo that half works.
wait -n || true
die "a part of the demo stopped (see its messages above); stopping the rest."
