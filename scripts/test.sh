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
# A test run must write nothing into the repository's files (screenshots only when asked:
# make screenshots): compare git's view of the work tree before and after (the status, and
# a checksum of the diff, so a change to a file already modified shows too).
tracked_state() {
    git status --porcelain --untracked-files=all
    git diff --binary | cksum
}
check_tree=""
if [ "${PASSERELLE_SCREENSHOTS:-}" != "1" ] &&
   git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    check_tree=1
    before="$(tracked_state)"
fi

# Two workers (pytest-xdist), each taking the next test as it is free: most tests wait on
# processes, brokers and a browser rather than on the CPU, and the suite took 10 min 20 s on
# one worker against 5 min 40 s on two on a 2-core box. PASSERELLE_TEST_WORKERS=0 runs it on
# one process (pytest's own output, a debugger); a `-n` among the arguments wins.
say "pytest"
"$VENV/bin/python" -m pytest -n "${PASSERELLE_TEST_WORKERS:-2}" --dist worksteal "$@"

if [ -n "$check_tree" ]; then
    after="$(tracked_state)"
    if [ "$before" != "$after" ]; then
        say "the test run changed files of the repository:"
        diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") >&2 || true
        die "tests must not write into the work tree (write under tmp_path instead)"
    fi
fi
