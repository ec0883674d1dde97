#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, then lint, types, the
# docs site (strict), tests.
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
say "deptry (declared dependencies = imported ones)"
"$VENV/bin/deptry" .
(cd sync/online_store && "$VENV/bin/deptry" .)  # the online store's own distribution
say "import-linter (the walls between packages)"
"$VENV/bin/lint-imports"
say "docs (mkdocs build --strict)"
docs_site="$(mktemp -d)"
bash "$ROOT/scripts/docs.sh" "$docs_site"
rm -rf "$docs_site"
say "pytest"
exec "$VENV/bin/python" -m pytest "$@"
