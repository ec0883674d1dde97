#!/usr/bin/env bash
# The documentation site (mkdocs-material, mkdocs.yml at the root), built in strict mode:
# a broken link or anchor, a setting without a description, or a generated page that lost
# its marker is a warning, and a warning fails the build.
#   scripts/docs.sh            build into site/ (ignored by git)
#   scripts/docs.sh DIR        build into DIR
# `make docs` runs it; scripts/test.sh runs it after mypy, so CI builds the site.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"

ensure_venv  # the docs tools are in the lock, requirements/dev.txt (requirements/dev.in)

export NO_MKDOCS_2_WARNING=1  # Material's notice about MkDocs 2, printed on every build
"$VENV/bin/mkdocs" build --strict --site-dir "${1:-$ROOT/site}"
