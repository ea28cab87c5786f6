#!/usr/bin/env bash
# Create .venv with Python 3.11 or newer (unless it exists) and install Segue into it.
# Usage: scripts/setup.sh [EXTRA], where EXTRA names optional dependencies such as "test".
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || { echo "Segue needs Python 3.11 or newer; set PYTHON to one" >&2; exit 2; }
    "$python" -m venv .venv
fi

target=.
if [ $# -gt 0 ]; then
    target=".[$1]"
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$target"
