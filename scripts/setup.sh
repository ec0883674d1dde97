# Shared set-up for scripts/test.sh and scripts/demo.sh (sourced, not run).
# Installs what is missing: a virtual environment with the project, Mosquitto, Chromium.
# As root it installs system packages itself; otherwise it says exactly what to run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PASSERELLE_VENV:-$ROOT/.venv}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31mError: %s\033[0m\n' "$*" >&2; exit 1; }

find_python() {
    for py in python3.13 python3.12 python3.11 python3; do
        if command -v "$py" >/dev/null 2>&1 &&
           "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            command -v "$py"; return 0
        fi
    done
    return 1
}

apt_install() {
    # $@: Debian package names
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing with apt-get: $*"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@" >/tmp/passerelle-apt.log 2>&1; then
            apt-get update >>/tmp/passerelle-apt.log 2>&1 || true
            apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@" >>/tmp/passerelle-apt.log 2>&1 ||
                die "apt-get install $* failed; see /tmp/passerelle-apt.log"
        fi
    else
        die "missing: $*. Install it with:  sudo apt-get install -y $*   and run this command again."
    fi
}

ensure_python() {
    PYTHON="$(find_python)" || {
        apt_install python3 python3-venv
        PYTHON="$(find_python)" || die "Python 3.11 or newer is needed (found none)."
    }
    "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
}

ensure_venv() {
    ensure_python
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating the virtual environment in $VENV"
        "$PYTHON" -m venv "$VENV" || die "could not create $VENV (is python3-venv installed?)"
    fi
    # Installed from the lock (requirements/dev.txt, with hashes: `make lock` makes it), then
    # the project's own distributions without their dependencies, editable. The stamp holds
    # the hash of the lock and of each pyproject.toml: a change to any of them reinstalls.
    local stamp="$VENV/.passerelle-installed"
    local lock="$ROOT/requirements/dev.txt"
    local online_store="$ROOT/sync/online_store"
    local inputs=("$lock" "$ROOT/pyproject.toml")
    if [ -f "$online_store/pyproject.toml" ]; then inputs+=("$online_store/pyproject.toml"); fi
    local want
    want="$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "installing Passerelle and its locked dependencies into $VENV"
        "$VENV/bin/python" -m pip install --quiet --require-hashes -r "$lock" ||
            die "pip install -r requirements/dev.txt failed (see above); check the network access to PyPI"
        # no build isolation: the build backend (setuptools, wheel) comes from the lock too
        "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT" ||
            die "pip install -e . failed (see above)"
        if [ -f "$online_store/pyproject.toml" ]; then
            "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation \
                -e "$online_store" || die "pip install -e sync/online_store failed (see above)"
        fi
        # --no-deps installed nothing a pyproject.toml declares: each must be in the lock
        "$VENV/bin/python" -m pip check >&2 ||
            die "a declared dependency is missing from requirements/dev.txt: add it (pyproject.toml or requirements/dev.in) and run make lock"
        echo "$want" > "$stamp"
    fi
}

ensure_mosquitto() {
    if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
        apt_install mosquitto mosquitto-clients
    fi
}

ensure_deploy_tools() {
    # the deployment tests: systemd-analyze on the units, openssl for test certificates,
    # the Mosquitto clients and mosquitto_passwd
    command -v systemd-analyze >/dev/null 2>&1 || apt_install systemd
    command -v openssl >/dev/null 2>&1 || apt_install openssl
    command -v mosquitto_pub >/dev/null 2>&1 || apt_install mosquitto-clients
}

chromium_path() {
    for c in "${PASSERELLE_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser \
             /snap/bin/chromium /usr/bin/google-chrome; do
        if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
    done
    return 1
}

ensure_chromium() {
    chromium_path >/dev/null || apt_install chromium
    PASSERELLE_CHROMIUM="$(chromium_path)" || die "Chromium is needed for the browser tests."
    export PASSERELLE_CHROMIUM
}
