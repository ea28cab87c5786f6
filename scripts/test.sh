#!/usr/bin/env bash
# Run the whole test suite; arguments go to pytest. Exits non-zero on any failure or when no test ran.
# The browser tests drive Debian's chromium: as root this installs it when it is missing; otherwise
# those tests are skipped (and fail under CI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test

if ! command -v chromium > /dev/null && ! command -v chromium-browser > /dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        echo "installing Debian's chromium for the browser tests" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
    else
        echo "chromium not found: the browser tests will be skipped (install Debian's chromium package)" >&2
    fi
fi
exec .venv/bin/python -m pytest "$@"
