#!/usr/bin/env bash
# Reproduce the figures of docs/results.md: every model compared on the MPD sample and on Yes.com
# playlists, a leave-one-out comparison on Yes.com playlists, and the continuation protocol on the
# MPD sample. Every neural model trains for the same number of epochs on a dataset. Takes about
# 2 hours on 2 cores; the report folders go under reports/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
segue=.venv/bin/segue
shared=${SEGUE_SHARED_DATA:-../shared/data}
mpd_epochs=${SEGUE_MPD_EPOCHS:-3}
yes_epochs=${SEGUE_YES_EPOCHS:-10}

[ -d data/mpd-sample ] || $segue prepare "$shared/mpd-sample" --out data/mpd-sample
[ -d data/yes-small ] || $segue prepare "$shared/yes-small/yes_small.tsv" --out data/yes-small \
    --track-col song_id --order-col pos --title-col title --artist-col artist

# One thread per comparison, and two at once: the memory models' small steps gain little from a
# second thread.
export OMP_NUM_THREADS=1
$segue compare data/mpd-sample --out reports/mpd-sample --config scripts/study.toml --seeds 2 \
    --epochs "$mpd_epochs" --title "MPD sample" --quiet &
mpd=$!
$segue compare data/yes-small --out reports/yes-small --config scripts/study.toml --seeds 2 \
    --epochs "$yes_epochs" --title "Yes.com playlists (yes-small)" --quiet
$segue compare data/yes-small --out reports/yes-small-loo --config scripts/study.toml --seeds 1 \
    --epochs "$yes_epochs" --holdout last --title "Yes.com playlists (yes-small), leave-one-out" --quiet
wait "$mpd"

for run in lstm-seed0 mann-seed0 ntm-seed0 hybrid-seed0 gru-seed0 sasrec-seed0 pop itemknn markov sknn; do
    $segue evaluate "reports/mpd-sample/runs/$run" --protocol continuation --json --quiet \
        > "reports/mpd-sample/continuation-$run.json"
done
