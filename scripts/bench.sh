#!/usr/bin/env bash
# The benchmark harness (bench/): Passerelle against the bare stack, side by side, in one run.
#   scripts/bench.sh            the full run (1M customers, 10M purchase lines, 20 s phases)
#   scripts/bench.sh --quick    a tiny run, to check the harness itself
# Results: bench/results/latest.json (+ a dated copy) and a table on stdout. The data set is
# cached in var/bench/ and reused while its parameters and the schema do not change.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"

ensure_mosquitto
ensure_venv
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt_install wrk
    else
        say "wrk is not installed: the HTTP load will come from Python threads, which compete"
        say "with the server for the cores. For the real figures: sudo apt-get install -y wrk"
    fi
fi
say "benchmarks (about 5 minutes; 7 to 10 on the first run, which generates the data set)"
exec "$VENV/bin/python" -m bench "$@"
