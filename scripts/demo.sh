#!/usr/bin/env bash
# The main job: prepare the shared MPD sample into data/mpd-sample and print its statistics.
# SEGUE_SHARED_DATA overrides where the shared data lives (default: ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

data=${SEGUE_SHARED_DATA:-../shared/data}
.venv/bin/segue prepare "$data/mpd-sample" --out data/mpd-sample --force
