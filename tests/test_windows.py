"""Training windows: every next-track step in exactly one window, OOV-only windows dropped."""

from __future__ import annotations

import numpy as np

from segue.training.windows import Windows


def naive_windows(dataset, split, max_len):
    expected = []
    for row in dataset.playlists_in(split):
        first, last = int(dataset.offsets[row]), int(dataset.offsets[row + 1])
        for start in range(first, last - 1, max_len):
            end = min(start + max_len + 1, last)
            if (dataset.tracks[start + 1 : end] > 1).any():
                expected.append((start, end))
    return expected


def test_windows_match_playlist_loop(mpd_sample):
    for max_len in (1, 7, 50, 250):
        windows = Windows(mpd_sample, "valid", max_len)
        assert list(zip(windows.starts.tolist(), windows.ends.tolist())) == naive_windows(mpd_sample, "valid", max_len)


def test_windows_on_mpd_sample(mpd_sample):
    windows = Windows(mpd_sample, "train", 50)
    assert len(windows) == 9854
    assert (windows.ends - windows.starts).max() == 51


def test_batch_pads_right():
    class Tiny:
        tracks = np.array([5, 6, 7, 8, 9, 1, 1, 4, 3], dtype=np.int32)
        offsets = np.array([0, 5, 7, 9])

        def playlists_in(self, split):
            return np.array([0, 1, 2])

    windows = Windows(Tiny(), "train", 2)
    # Playlist 0 gives (0, 3) and (2, 5); playlist 1 has only an OOV target; playlist 2 gives (7, 9).
    assert windows.starts.tolist() == [0, 2, 7]
    assert windows.ends.tolist() == [3, 5, 9]
    assert windows.batch(np.array([2, 0])).tolist() == [[4, 3, 0], [5, 6, 7]]


def test_order_is_a_permutation(mpd_sample):
    windows = Windows(mpd_sample, "train", 50)
    order = windows.order(seed=0, epoch=3, batch_size=64)
    assert sorted(order.tolist()) == list(range(len(windows)))
    assert np.array_equal(order, windows.order(seed=0, epoch=3, batch_size=64))
    assert not np.array_equal(order, windows.order(seed=0, epoch=4, batch_size=64))
