#!/usr/bin/env bash
# A 3-node NATS cluster (MQTT 3.1.1 and JetStream replicated on each node) on free ports, in the
# foreground until Ctrl-C; it prints the URLs to give an edge (mqtt_url, mqtt_failover_urls).
#   scripts/cluster.sh                 the cluster, data in a temp folder
#   scripts/cluster.sh --dir var/nats  keep its data and logs there
#   scripts/cluster.sh --kind mosquitto
# The machine's own NATS (4222) and Mosquitto (1883), if any, are left alone.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"
ensure_mosquitto
ensure_venv
exec "$VENV/bin/python" -m bench.chain.brokers "$@"
