#!/usr/bin/env bash
# Run the whole test suite; arguments go to pytest. Exits non-zero on any failure or when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
exec .venv/bin/python -m pytest "$@"
