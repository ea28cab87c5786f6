#!/usr/bin/env bash
# The main job: prepare the shared MPD sample, train a MANN for a few minutes, and print the top
# 10 next songs for a test playlist.
# SEGUE_SHARED_DATA overrides where the shared data lives (default: ../shared/data), and
# SEGUE_DEMO_STEPS how many steps the model trains (default: 600, about 3 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

data=${SEGUE_SHARED_DATA:-../shared/data}
.venv/bin/segue prepare "$data/mpd-sample" --out data/mpd-sample --force

# A smaller model than the defaults, with short windows and a small batch, so that a few hundred
# steps take minutes on a laptop CPU. A step budget, unlike a time budget, gives the same model on
# a busy machine; the time budget only caps a very slow run.
.venv/bin/segue train data/mpd-sample --out runs/demo-mann --force \
    --model mann --embedding-dim 64 --hidden-size 128 --memory-slots 64 --memory-width 32 --read-heads 2 \
    --batch-size 32 --max-len 50 --lr 0.003 --warmup-steps 20 --epochs 20 \
    --max-steps "${SEGUE_DEMO_STEPS:-600}" --time-budget 20m

# The first test playlist (never seen in training) with at least 20 vocabulary tracks.
playlist=$(.venv/bin/python -c '
from segue.data import Dataset
dataset = Dataset.load("data/mpd-sample")
row = next(r for r in dataset.playlists_in("test") if (dataset.sequence(r) > 1).sum() >= 20)
print(dataset.keys[row])
')
echo
.venv/bin/segue recommend runs/demo-mann --dataset-playlist "$playlist" -k 10
