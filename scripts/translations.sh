#!/usr/bin/env bash
# Rebuild the screens' message catalogs: extract the messages of kiosk_ui into the template,
# merge it into the French and English .po files, and compile the .mo files the app loads.
# Edit kiosk_ui/translations/<lang>/LC_MESSAGES/messages.po, then run this again.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYBABEL="${PYBABEL:-$ROOT/.venv/bin/pybabel}"
[ -x "$PYBABEL" ] || PYBABEL="$(command -v pybabel)"
T="$ROOT/kiosk_ui/translations"
cd "$ROOT"
"$PYBABEL" extract -F kiosk_ui/babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
    --project=passerelle -o "$T/messages.pot" kiosk_ui
for lang in fr en; do
    if [ -f "$T/$lang/LC_MESSAGES/messages.po" ]; then
        "$PYBABEL" update -i "$T/messages.pot" -d "$T" -l "$lang" --no-fuzzy-matching
    else
        "$PYBABEL" init -i "$T/messages.pot" -d "$T" -l "$lang"
    fi
done
"$PYBABEL" compile -d "$T" --statistics
