"""Training windows: every next-track step in exactly one window, OOV-only windows dropped."""

from __future__ import annotations

import numpy as np
import pytest

from segue.data.holdout import Sequences, held_out_sequences, training_sequences
from segue.training.windows import Windows


def naive_windows(sequences, max_len):
    expected = []
    for first, last in zip(sequences.starts.tolist(), sequences.ends.tolist()):
        for start in range(first, last - 1, max_len):
            end = min(start + max_len + 1, last)
            if (sequences.tracks[start + 1 : end] > 1).any():
                expected.append((start, end))
    return expected


def naive_last_windows(sequences, max_len):
    expected = []
    for first, last in zip(sequences.starts.tolist(), sequences.ends.tolist()):
        if last - first >= 2 and sequences.tracks[last - 1] > 1:
            expected.append((max(first, last - max_len - 1), last))
    return expected


def pairs(windows):
    return list(zip(windows.starts.tolist(), windows.ends.tolist()))


def test_windows_match_playlist_loop(mpd_sample):
    sequences = held_out_sequences(mpd_sample, "playlists", "valid")
    for max_len in (1, 7, 50, 250):
        assert pairs(Windows(sequences, max_len)) == naive_windows(sequences, max_len)


@pytest.mark.parametrize("split", ["valid", "test"])
def test_last_windows_match_loop(mpd_sample, split):
    sequences = held_out_sequences(mpd_sample, "last", split)
    for max_len in (1, 7, 50, 250):
        windows = Windows(sequences, max_len, last_target_only=True)
        assert windows.last_only
        assert pairs(windows) == naive_last_windows(sequences, max_len)


def test_last_holdout_training_windows(mpd_sample):
    sequences = training_sequences(mpd_sample, "last")
    windows = Windows(sequences, 50)
    assert not windows.last_only
    assert pairs(windows) == naive_windows(sequences, 50)


def test_windows_on_mpd_sample(mpd_sample):
    windows = Windows(training_sequences(mpd_sample, "playlists"), 50)
    assert len(windows) == 9854
    assert (windows.ends - windows.starts).max() == 51


def tiny_sequences() -> Sequences:
    tracks = np.array([5, 6, 7, 8, 9, 1, 1, 4, 3], dtype=np.int32)
    return Sequences(tracks, np.array([0, 5, 7]), np.array([5, 7, 9]), np.arange(3))


def test_batch_pads_right():
    windows = Windows(tiny_sequences(), 2)
    # Playlist 0 gives (0, 3) and (2, 5); playlist 1 has only an OOV target; playlist 2 gives (7, 9).
    assert windows.starts.tolist() == [0, 2, 7]
    assert windows.ends.tolist() == [3, 5, 9]
    assert windows.batch(np.array([2, 0])).tolist() == [[4, 3, 0], [5, 6, 7]]


def test_last_target_only_windows():
    # Playlist 0 keeps its last 3 tracks and playlist 2 is whole. Playlist 1 ends with an OOV track.
    windows = Windows(tiny_sequences(), 2, last_target_only=True)
    assert windows.starts.tolist() == [2, 7]
    assert windows.ends.tolist() == [5, 9]
    assert windows.lengths.tolist() == [3, 2]
    assert windows.batch(np.array([0, 1])).tolist() == [[7, 8, 9], [4, 3, 0]]


def test_last_target_only_skips_short():
    tracks = np.array([4, 5, 6, 7], dtype=np.int32)
    sequences = Sequences(tracks, np.array([0, 1, 1]), np.array([1, 1, 4]), np.arange(3))
    windows = Windows(sequences, 10, last_target_only=True)
    assert pairs(windows) == [(1, 4)]


def test_order_is_a_permutation(mpd_sample):
    windows = Windows(training_sequences(mpd_sample, "playlists"), 50)
    order = windows.order(seed=0, epoch=3, batch_size=64)
    assert sorted(order.tolist()) == list(range(len(windows)))
    assert np.array_equal(order, windows.order(seed=0, epoch=3, batch_size=64))
    assert not np.array_equal(order, windows.order(seed=0, epoch=4, batch_size=64))
