#!/usr/bin/env bash
# Rebuild every message catalogue: extract the English msgids from the code into each
# template (.pot, the one source of what there is to translate), merge it into the French and
# English .po files, and compile the .mo files the code loads (they are committed, so a box
# needs no build step). Edit a .po file, then run this again (make translations).
#   kiosk_ui/translations   domain messages  the screens (Flask-Babel: templates and kiosk_ui/i18n.py)
#   edge/translations       domain shopper   what the API words for a shopper (pickups, offers)
#   hardware/translations   domain receipts  the printed tickets (hardware imports nothing of edge)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYBABEL="${PYBABEL:-$ROOT/.venv/bin/pybabel}"
[ -x "$PYBABEL" ] || PYBABEL="$(command -v pybabel)"
cd "$ROOT"

# catalogue FOLDER DOMAIN SOURCE... [-- EXTRACT-OPTIONS...]
catalogue() {
    local dir="$1" domain="$2"
    shift 2
    "$PYBABEL" extract --no-location --sort-output --project=passerelle \
        -o "$dir/$domain.pot" "$@"
    for lang in fr en; do
        if [ -f "$dir/$lang/LC_MESSAGES/$domain.po" ]; then
            "$PYBABEL" update -i "$dir/$domain.pot" -d "$dir" -D "$domain" -l "$lang" \
                --no-fuzzy-matching
        else
            "$PYBABEL" init -i "$dir/$domain.pot" -d "$dir" -D "$domain" -l "$lang"
        fi
    done
    "$PYBABEL" compile -d "$dir" -D "$domain" --statistics
}

catalogue kiosk_ui/translations messages -F kiosk_ui/babel.cfg -k _l -k lazy_gettext kiosk_ui
catalogue edge/translations shopper edge
catalogue hardware/translations receipts hardware
