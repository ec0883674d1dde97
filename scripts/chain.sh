#!/usr/bin/env bash
# The chain run (bench/chain/): 500 simulated stores and 2 real edges on the 3-node NATS cluster,
# then on one Mosquitto, each with a broker node SIGKILLed and an edge cut off; the counts
# (0 lost, 0 applied twice), lags, reconnect times, broker CPU and memory side by side.
#   scripts/chain.sh                  the full run (a few minutes per broker)
#   scripts/chain.sh --quick          10 stores on Mosquitto (what the test suite runs)
#   scripts/chain.sh --stores 100 --brokers nats
# Results: bench/results/chain/ (report.md, per-store.csv, chain.png, one JSON per broker).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"
ensure_mosquitto
ensure_venv
say "chain run (a few minutes per broker)"
exec "$VENV/bin/python" -u -m bench.chain "$@"
