"""The playlist split depends only on the seed and each playlist's key."""

from __future__ import annotations

import numpy as np
from conftest import shared_path

from segue.data import PrepareOptions, prepare
from segue.data.split import TEST, TRAIN, VALID, split_of


def test_split_shares_close_to_fractions():
    splits = np.array([split_of(f"mpd:{i}", 0, 0.1, 0.2) for i in range(20_000)])
    assert abs(np.mean(splits == TEST) - 0.2) < 0.01
    assert abs(np.mean(splits == VALID) - 0.1) < 0.01
    assert abs(np.mean(splits == TRAIN) - 0.7) < 0.01


def test_seed_changes_split():
    first = [split_of(f"mpd:{i}", 0, 0.1, 0.1) for i in range(1000)]
    second = [split_of(f"mpd:{i}", 1, 0.1, 0.1) for i in range(1000)]
    assert first != second


def test_split_stable_when_files_added(tmp_path):
    folder = shared_path("mpd-sample")
    files = sorted(str(p) for p in folder.glob("mpd.slice.*.json"))[:60]
    options = PrepareOptions()
    some = prepare(files[:20], tmp_path / "some", options, progress=False)
    more = prepare(files[20:40] + files[:20] + files[40:], tmp_path / "more", options, progress=False)

    split_of_key = dict(zip(more.keys.tolist(), more.splits.tolist()))
    assert some.num_playlists < more.num_playlists
    assert all(split_of_key[key] == split for key, split in zip(some.keys.tolist(), some.splits.tolist()))
