#!/usr/bin/env bash
# The flame graphs of the docs' performance page (docs/performance.md): the lookup path
# (card lookup + first history page, 8 kiosks) sampled by py-spy on the gunicorn workers, on
# a small data set (20,000 members; made once, cached in var/bench/).
#   scripts/flamegraphs.sh              docs/performance/lookup-after.svg, from this checkout
#   scripts/flamegraphs.sh REF          also lookup-before.svg, from commit REF (a temporary
#                                       git worktree; REF's own dependencies must be installed,
#                                       e.g. Flask-Limiter for commits before issue 21)
# Not part of `make test`: it takes about a minute and its graphs move with the machine's load.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"

ensure_mosquitto
ensure_venv
if [ "$(id -u)" -ne 0 ] && [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" != 0 ]; then
    say "py-spy reads other processes (ptrace): run as root, or: sudo sysctl kernel.yama.ptrace_scope=0"
fi
if [ -n "${1:-}" ]; then
    tree="$(mktemp -d)/before"
    git worktree add --detach "$tree" "$1" >/dev/null
    trap 'git worktree remove --force "$tree"' EXIT
    "$VENV/bin/python" -m bench.profile --label before --tree "$tree"
fi
"$VENV/bin/python" -m bench.profile --label after
