"""Holdouts on a hand-made dataset: which tracks train, which are validation and test targets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from segue.data import Dataset, PrepareOptions, prepare
from segue.data.holdout import held_out_sequences, training_sequences
from segue.models import ModelConfig, NextTrackModel
from segue.training.distributed import Process
from segue.training.validation import validate
from segue.training.windows import Windows

# With seed 0 and a quarter each for validation and test, pids 1, 2 and 5 train, pid 3 validates
# and pid 0 tests. Pid 6 has num_holdouts, so it is in the challenge split. Track "x" appears in
# the valid playlist alone, so it is outside the vocabulary.
PLAYLISTS = [
    (1, "abcde", False),  # playlist row 0, train, track rows 0..4
    (3, "abcx", False),  # playlist row 1, valid, track rows 5..8
    (0, "cdea", False),  # playlist row 2, test, track rows 9..12
    (2, "bcd", False),  # playlist row 3, train, track rows 13..15
    (5, "ab", False),  # playlist row 4, train, track rows 16..17
    (6, "abcd", True),  # playlist row 5, challenge, track rows 18..21
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    root = tmp_path_factory.mktemp("holdout")
    items = []
    for pid, letters, challenge in PLAYLISTS:
        playlist = {
            "pid": pid,
            "name": f"playlist {pid}",
            "tracks": [
                {"pos": pos, "track_uri": f"spotify:track:{letter}", "track_name": letter.upper(), "artist_name": "A"}
                for pos, letter in enumerate(letters)
            ],
        }
        if challenge:
            playlist["num_holdouts"] = 0
        items.append(playlist)
    source = root / "mpd.slice.0-6.json"
    source.write_text(json.dumps({"info": {}, "playlists": items}))
    options = PrepareOptions(min_count=1, valid_frac=0.25, test_frac=0.25, seed=0)
    return prepare([str(source)], root / "dataset", options, progress=False)


def index_of(dataset: Dataset) -> dict[str, int]:
    with dataset.catalog() as catalog:
        return {row["uri"][-1]: row["idx"] for row in catalog.execute("SELECT uri, idx FROM tracks")}


def as_lists(sequences) -> tuple[list, list, list]:
    return sequences.rows.tolist(), sequences.starts.tolist(), sequences.ends.tolist()


def test_tiny_dataset_layout(tiny):
    assert tiny.offsets.tolist() == [0, 5, 9, 13, 16, 18, 22]
    assert tiny.splits.tolist() == [0, 1, 2, 0, 0, 3]
    assert tiny.sequence(1).tolist()[-1] == 1  # "x" is OOV


def test_playlists_holdout_sequences(tiny):
    assert as_lists(training_sequences(tiny, "playlists")) == ([0, 3, 4], [0, 13, 16], [5, 16, 18])
    assert as_lists(held_out_sequences(tiny, "playlists", "valid")) == ([1], [5], [9])
    assert as_lists(held_out_sequences(tiny, "playlists", "test")) == ([2], [9], [13])


def test_last_holdout_sequences(tiny):
    # Training drops each playlist's last two tracks, so the 2-track playlist (row 4) has none left.
    assert as_lists(training_sequences(tiny, "last")) == ([0, 1, 2, 3], [0, 5, 9, 13], [3, 7, 11, 14])
    # Validation ends with the second-last track and needs one track before it.
    assert as_lists(held_out_sequences(tiny, "last", "valid")) == ([0, 1, 2, 3], [0, 5, 9, 13], [4, 8, 12, 15])
    # Test ends with the last track. The 2-track playlist has no training part, so it is left out.
    assert as_lists(held_out_sequences(tiny, "last", "test")) == ([0, 1, 2, 3], [0, 5, 9, 13], [5, 9, 13, 16])


def test_last_holdout_never_uses_challenge(tiny):
    challenge = int(np.flatnonzero(tiny.splits == 3)[0])
    for sequences in (
        training_sequences(tiny, "last"),
        held_out_sequences(tiny, "last", "valid"),
        held_out_sequences(tiny, "last", "test"),
    ):
        assert challenge not in sequences.rows.tolist()
        assert (sequences.ends <= tiny.offsets[challenge]).all()


def test_last_holdout_windows(tiny):
    index = index_of(tiny)

    training = Windows(training_sequences(tiny, "last"), 2)
    assert list(zip(training.starts.tolist(), training.ends.tolist())) == [(0, 3), (5, 7), (9, 11)]

    valid = Windows(held_out_sequences(tiny, "last", "valid"), 2, last_target_only=True)
    assert list(zip(valid.starts.tolist(), valid.ends.tolist())) == [(1, 4), (5, 8), (9, 12), (13, 15)]
    letters = "bcd", "abc", "cde", "bc"
    assert valid.batch(np.arange(4)).tolist() == [
        [index[letter] for letter in window] + [0] * (3 - len(window)) for window in letters
    ]

    # The valid playlist's last track is OOV, so it has no test window, and the 2-track playlist has none.
    test = Windows(held_out_sequences(tiny, "last", "test"), 2, last_target_only=True)
    assert list(zip(test.starts.tolist(), test.ends.tolist())) == [(2, 5), (10, 13), (13, 16)]


def scored_targets(dataset: Dataset, windows: Windows) -> tuple[list[int], dict]:
    """Validate an untrained model and return the targets that its loss saw, in order."""
    torch.manual_seed(0)
    model = NextTrackModel(ModelConfig(model="lstm", embedding_dim=8, hidden_size=8), dataset.num_indices)
    seen: list[int] = []
    original = model.output.loss

    def recording_loss(features, targets, embedding):
        seen.extend(targets.tolist())
        return original(features, targets, embedding)

    model.output.loss = recording_loss
    scores = validate(model, windows, 3, torch.device("cpu"), Process())
    return seen, scores


def test_last_validation_counts_one_target_each(tiny):
    index = index_of(tiny)
    windows = Windows(held_out_sequences(tiny, "last", "valid"), 2, last_target_only=True)

    seen, scores = scored_targets(tiny, windows)

    # One target per playlist: the second-last tracks of rows 0 to 3.
    assert seen == [index["d"], index["c"], index["e"], index["c"]]
    assert 0 <= scores["valid_accuracy"] <= scores["valid_hr10"] <= 1


def test_playlists_validation_counts_every_step(tiny):
    index = index_of(tiny)
    windows = Windows(held_out_sequences(tiny, "playlists", "valid"), 2)

    seen, _ = scored_targets(tiny, windows)

    # The valid playlist a b c x: every step counts but the OOV one.
    assert seen == [index["b"], index["c"]]
