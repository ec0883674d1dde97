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

ensure_venv
# Until the docs tools are in the project's dependencies, install the pinned ones here.
if ! "$VENV/bin/python" -c 'import mkdocs, material, mkdocs_click' 2>/dev/null; then
    say "installing the docs tools (DOCS-DEPS.txt) into $VENV"
    "$VENV/bin/python" -m pip install --quiet -r "$ROOT/DOCS-DEPS.txt" ||
        die "pip install -r DOCS-DEPS.txt failed (see above); check the network access to PyPI"
fi

export NO_MKDOCS_2_WARNING=1  # Material's notice about MkDocs 2, printed on every build
"$VENV/bin/mkdocs" build --strict --site-dir "${1:-$ROOT/site}"
