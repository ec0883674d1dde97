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
free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
BROKER_PORT="${DEMO_BROKER_PORT:-$(free_port)}"
EDGE_PORT="${DEMO_EDGE_PORT:-8080}"
WEB_PORT="${DEMO_WEB_PORT:-8090}"

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
trap cleanup EXIT INT TERM

MOSQ="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
"$MOSQ" -c "$DATA/mosquitto.conf" & pids+=($!)

export PASSERELLE_STORE_ID=S001
export PASSERELLE_DB_PATH="$DATA/store.db"
export PASSERELLE_MQTT_URL="mqtt://127.0.0.1:$BROKER_PORT"
export PASSERELLE_HTTP_PORT="$EDGE_PORT"
export PASSERELLE_ONLINE_STORE_URL="http://127.0.0.1:$WEB_PORT"
export PASSERELLE_ONLINE_STORE_TOKEN="demo-backfill-token"
export PASSERELLE_LOCALE=fr

say "seeding demo data"
"$VENV/bin/passerelle" demo --tokens-file "$DATA/tokens.json" >/dev/null

if "$VENV/bin/python" -c 'import sync.online_store' 2>/dev/null; then
    say "starting the reference online store on http://127.0.0.1:$WEB_PORT"
    "$VENV/bin/python" -m sync.online_store --db "$DATA/online.db" --port "$WEB_PORT" \
        --mqtt-url "$PASSERELLE_MQTT_URL" --token "$PASSERELLE_ONLINE_STORE_TOKEN" \
        --stores S001 & pids+=($!)
fi

say "starting the store edge on http://127.0.0.1:$EDGE_PORT"
"$VENV/bin/passerelle" run & pids+=($!)

for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$EDGE_PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done

TOKENS="$(cat "$DATA/tokens.json")"
KIOSK_TOKEN="$(echo "$TOKENS" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["kiosk"])')"
cat <<MSG

  Passerelle demo is running (Ctrl-C stops it).

  Kiosk (shopper)        http://127.0.0.1:$EDGE_PORT/kiosk/pair?token=$KIOSK_TOKEN   (pairs this browser once; then /kiosk)
  Staff pickup board     http://127.0.0.1:$EDGE_PORT/staff     PIN login: Lucas 2345, Manon 1234
  Cashier POS            http://127.0.0.1:$EDGE_PORT/pos       PIN login: Inès 3456
  Online store (web)     http://127.0.0.1:$WEB_PORT/
  Readiness / metrics    http://127.0.0.1:$EDGE_PORT/readyz  /metrics
  API description        http://127.0.0.1:$EDGE_PORT/api/v1/openapi.json
  Loyalty cards          PC000000000001 (Élodie, gold), PC000000000002 (James, en)
  MQTT broker            mqtt://127.0.0.1:$BROKER_PORT

  Demo API tokens (Authorization: Bearer …):
$(echo "$TOKENS" | "$VENV/bin/python" -c 'import json,sys; t=json.load(sys.stdin)["tokens"]; print("\n".join(f"    {k:<6} {v}" for k,v in t.items()))')

MSG
wait
