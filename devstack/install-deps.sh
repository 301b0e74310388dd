#!/bin/sh
# Install what `make test` and `make run` need and the machine lacks:
# Debian packages (when root) and the pinned Python packages. Odoo itself is not
# installed here: see README.md.
set -eu
PYTHON=${PYTHON:-python3}

missing=""
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have dovecot || missing="$missing dovecot-imapd"
[ -x /usr/lib/dovecot/submission ] || missing="$missing dovecot-submissiond"
have psql && have pg_dump || missing="$missing postgresql-client"
if [ -z "${PGHOST:-}" ] && ! have initdb && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    missing="$missing postgresql"
fi
have chromium || have google-chrome || have chromium-browser || missing="$missing chromium"

if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "Installing Debian packages:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
        echo "Missing Debian packages:$missing" >&2
        echo "Install them with: sudo apt-get install$missing" >&2
        exit 1
    fi
fi

# Cyrus IMAP, the stack's second IMAP server: its packages cannot be installed beside
# Dovecot's (both are an imap-server), so they are unpacked into .deps/cyrus and only
# their libraries are installed. Without it the stack starts and its tests are skipped.
DEPS="$(cd "$(dirname "$0")/.." && pwd)/.deps"
unpack_cyrus() {
    rm -rf "$DEPS/debs" "$DEPS/cyrus.new" && mkdir -p "$DEPS/debs" "$DEPS/cyrus.new"
    chmod 755 "$DEPS"
    (cd "$DEPS/debs" && apt-get download -qq cyrus-common cyrus-imapd >/dev/null 2>&1) || {
        apt-get update -qq && (cd "$DEPS/debs" && apt-get download -qq cyrus-common cyrus-imapd >/dev/null 2>&1)
    } || return 1
    libs=$(for deb in "$DEPS"/debs/*.deb; do dpkg-deb -f "$deb" Depends; done \
        | tr ',' '\n' | grep -v '|' | sed 's/(.*)//; s/:any//; s/ //g' | grep '^lib' | sort -u)
    out=$(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sasl2-bin $libs 2>&1) \
        || { echo "$out" >&2; return 1; }
    for deb in "$DEPS"/debs/*.deb; do dpkg-deb -x "$deb" "$DEPS/cyrus.new" || return 1; done
    touch "$DEPS/cyrus.new/.ready" && rm -rf "$DEPS/cyrus" "$DEPS/debs" && mv "$DEPS/cyrus.new" "$DEPS/cyrus"
}
if [ -z "${MCM_CYRUS_ROOT:-}" ] && [ ! -e "$DEPS/cyrus/.ready" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "Unpacking Cyrus IMAP into .deps/cyrus"
        unpack_cyrus || echo "!! Cyrus IMAP could not be unpacked: its tests will be skipped" >&2
    else
        echo "!! Cyrus IMAP is not unpacked (run make deps once as root): its tests will be skipped" >&2
    fi
fi

"$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-dev.txt 2>&1 \
    | grep -v -e "Running pip as the 'root' user" -e "^\[notice\]" || true
"$PYTHON" -m pip check >/dev/null 2>&1 || true
# OCA queue_job (optional for the addon; its tests and bench line use it), apart from Odoo
"$PYTHON" -m devstack.queue_job >/dev/null || true
