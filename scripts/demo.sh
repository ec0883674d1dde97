#!/usr/bin/env bash
# The demo, from a fresh clone: installs what is missing, starts a local Mosquitto, the store
# edge with demo data and the reference online store, and prints the URLs to open.
# Ctrl-C stops everything. Data lives in ./demo-data (delete it to start over).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"

ensure_mosquitto
ensure_venv

DATA="${DEMO_DATA:-$ROOT/demo-data}"   # DEMO_DATA: elsewhere (the tests use a temp folder)
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

# Stopping: Ctrl-C (or SIGTERM) is a stop the user asked for: quiet, quick, exit 0. The edge
# and the online store are asked to stop together (SIGTERM: the edge's workers say goodbye
# to the broker), then the broker; whatever has not gone by the deadline is killed with its
# children (each part runs in a session of its own, `setsid`: no signal of the terminal
# reaches it, and its children are killed with it; `disown`: bash does not report a part
# killed at the deadline as "Killed"), so the whole stop
# takes under 3 seconds even on a busy machine.
pids=()
STOP_WAIT_MS="${DEMO_STOP_WAIT_MS:-2000}"
stopping=0
# No fork in the stop's loops (a busy machine forks slowly): the clock is bash's own, and a
# pause is a read with a timeout on a pipe that never speaks.
pause() { read -r -t "$1" -u "$PAUSE_FD" _ 2>/dev/null || true; }
exec {PAUSE_FD}<> <(:)
# stop_group DEADLINE_MS PID...: SIGTERM each, wait until they are gone or the deadline, then
# SIGKILL what is left (the part and its children).
stop_group() {
    local deadline="$1" p left t
    shift
    for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
    while :; do
        left=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && left=1; done
        t="${EPOCHREALTIME/[.,]/}"
        [ "$left" = 0 ] || [ $((t / 1000)) -ge "$deadline" ] && break
        pause 0.05
    done
    for p in "$@"; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true; done
}
stop_parts() {
    [ "${#pids[@]}" -gt 0 ] || return 0
    local start
    start="${EPOCHREALTIME/[.,]/}"
    start=$((start / 1000))
    # pids[0] is the broker: it goes last
    [ "${#pids[@]}" -gt 1 ] && stop_group $((start + STOP_WAIT_MS)) "${pids[@]:1}"
    stop_group $((start + STOP_WAIT_MS + 400)) "${pids[0]}"
    pids=()
}
# Ctrl-C at the terminal is read as a key (scripts/keys.sh): the parts never see the
# terminal's SIGINT, and make, which would report the recipe's end as an error, exits 0 with
# the script; a SIGINT or SIGTERM sent otherwise stops the demo the same way (the trap).
source "$ROOT/scripts/keys.sh"
trap 'restore_tty; stop_parts' EXIT
trap 'stopping=1' INT TERM
keys_start
all_alive() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || return 1; done; }

MOSQ="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
setsid "$MOSQ" -c "$DATA/mosquitto.conf" & pids+=($!); disown $!

# The edge's settings in one file, so that the CLI reads the same data as the running demo:
#   passerelle --config demo-data/passerelle.toml sync status
# The online store's master token stays with it; the store gets its own backfill token,
# which opens only the chain's stream and S001's (online_store/auth.py).
BACKFILL_MASTER="demo-backfill-token"
ONLINE_STORE_TOKEN="$(MASTER_TOKEN="$BACKFILL_MASTER" "$VENV/bin/python" -m online_store.auth token S001 2>/dev/null || echo "$BACKFILL_MASTER")"
MQTT_URL="mqtt://127.0.0.1:$BROKER_PORT"
cat > "$DATA/passerelle.toml" <<TOML
# Written by scripts/demo.sh at each start: the demo's store edge.
store_id = "S001"
db_path = "$DATA/store.db"
mqtt_url = "$MQTT_URL"
http_port = $EDGE_PORT
online_store_url = "http://127.0.0.1:$WEB_PORT"
online_store_token = "$ONLINE_STORE_TOKEN"
locale = "fr"
# HTTPS with a self-signed certificate (passerelle tls init, below)
tls_cert_file = "$DATA/tls/tls_cert"
tls_key_file = "$DATA/tls/tls_key"

# No real printer here: receipts and pickup slips go to a file (each job replaces the last),
# so print jobs do not pile up and /readyz does not report them as waiting.
[[printers]]
name = "demo"
connection = "file"
path = "$DATA/printer.escpos"
roles = ["receipts", "pickup_slips", "tickets"]
TOML
export PASSERELLE_CONFIG="$DATA/passerelle.toml"

say "seeding demo data"
"$VENV/bin/passerelle" demo --tokens-file "$DATA/tokens.json" >/dev/null
"$VENV/bin/passerelle" stock import "$ROOT/scripts/demo-stock.csv" >/dev/null  # shelf counts

# HTTPS, as on a shop floor: a self-signed certificate made once (browsers warn: accept it).
if [ ! -f "$DATA/tls/tls_cert" ]; then
    "$VENV/bin/passerelle" tls init --out "$DATA/tls" --host localhost >/dev/null
fi
PAIR_CODE="$("$VENV/bin/passerelle" kiosk pair-code demo-kiosk --minutes 1440 | tail -n 1)"

if "$VENV/bin/python" -c 'import online_store' 2>/dev/null; then
    # A real SMTP server (aiosmtpd) receives the demo's e-mails into demo-data/mail (Maildir):
    # the online store sends them over smtplib, as it would to the chain's mail relay.
    SMTP_PORT="$(free_port)"
    setsid "$VENV/bin/python" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
        -c aiosmtpd.handlers.Mailbox "$DATA/mail" & pids+=($!); disown $!
    say "starting the reference online store on http://127.0.0.1:$WEB_PORT"
    setsid "$VENV/bin/python" -m online_store --db "$DATA/online.db" --port "$WEB_PORT" \
        --smtp-url "smtp://127.0.0.1:$SMTP_PORT" --sms-gateway demo \
        --mqtt-url "$MQTT_URL" --token "$BACKFILL_MASTER" \
        --stores S001 & pids+=($!); disown $!
fi

say "starting the store edge on https://127.0.0.1:$EDGE_PORT"
setsid "$VENV/bin/passerelle" run & EDGE_PID=$!; pids+=($EDGE_PID); disown $!

healthy() {
    "$VENV/bin/python" -c 'import ssl, sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2, context=ssl._create_unverified_context())' \
        "https://127.0.0.1:$EDGE_PORT/healthz" 2>/dev/null
}
for _ in $(seq 1 150); do
    [ "$stopping" = 1 ] && exit 0
    healthy && break
    kill -0 "$EDGE_PID" 2>/dev/null || die "the store edge stopped (see its messages above)."
    wait_key 0.2
done
healthy || die "the store edge did not answer on port $EDGE_PORT (see its messages above)."

TOKENS="$(cat "$DATA/tokens.json")"
cat <<MSG

  Passerelle demo is running (Ctrl-C stops it).

  Kiosk (shopper)        https://127.0.0.1:$EDGE_PORT/kiosk/pair?code=$PAIR_CODE   (press Pair once; then /kiosk)
  Staff pickup board     https://127.0.0.1:$EDGE_PORT/staff     PIN login: Lucas 2345 (admin: id st-manon, 246810)
  Cashier POS            https://127.0.0.1:$EDGE_PORT/pos       PIN login: Inès 3456
  Online store (web)     http://127.0.0.1:$WEB_PORT/   offers: /offers   e-mails sent: /messages
  Campaign (TV spot)     http://127.0.0.1:$WEB_PORT/campaigns   text THE from the demo phone there
  E-mails received       $DATA/mail   (the demo's SMTP server, aiosmtpd)
  Readiness / metrics    https://127.0.0.1:$EDGE_PORT/readyz  /metrics
  API description        https://127.0.0.1:$EDGE_PORT/api/v1/openapi.json
  HTTPS                  self-signed ($DATA/tls/tls_cert): accept the browser's warning once
  Loyalty cards          PC000000000001 (Élodie, gold), PC000000000002 (James, en)
  Coupon at the till     type or scan the code in the POS search field
  Printer                $DATA/printer.escpos   (the last receipt or slip, ESC/POS bytes)
  MQTT broker            mqtt://127.0.0.1:$BROKER_PORT

  Command line           $VENV/bin/passerelle --config $DATA/passerelle.toml sync status
                         (the demo's settings and database: every passerelle command takes --config)

  A walk through web, board, kiosk and till: README.md, "Walk-through".

  Demo API tokens (Authorization: Bearer …):
$(echo "$TOKENS" | "$VENV/bin/python" -c 'import json,sys; t=json.load(sys.stdin)["tokens"]; print("\n".join(f"    {k:<6} {v}" for k,v in t.items()))')

MSG
while [ "$stopping" = 0 ] && all_alive; do wait_key 0.3; done
restore_tty
if [ "$stopping" = 1 ]; then
    say "stopping the demo"
    stop_parts
    exit 0
fi
# Stop everything when one part stops, rather than leave a demo that half works.
stop_parts
die "a part of the demo stopped (see its messages above); stopping the rest."
