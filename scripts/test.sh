#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, then lint, types, tests.
#   scripts/test.sh            everything
#   scripts/test.sh -k sale    extra arguments go to pytest
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"

ensure_mosquitto
ensure_deploy_tools
ensure_chromium
ensure_venv

say "ruff (lint and format)"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
say "mypy"
"$VENV/bin/mypy"
say "import-linter"; "$VENV/bin/lint-imports"
say "pytest"
exec "$VENV/bin/python" -m pytest "$@"
