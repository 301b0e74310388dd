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

"$PYTHON" -m pip install -q --disable-pip-version-check -r requirements-dev.txt 2>&1 \
    | grep -v -e "Running pip as the 'root' user" -e "^\[notice\]" || true
"$PYTHON" -m pip check >/dev/null 2>&1 || true
