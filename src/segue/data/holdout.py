"""What a model may learn from and what it is tested on: whole playlists, or all but the last tracks.

Two holdouts are supported:

- ``playlists``: whole playlists are held out. Models learn from the train split, are validated on
  the valid split and tested on the test split. Every position of a held-out playlist is a target.
- ``last``: leave-one-out, as the sequential-recommendation literature evaluates. Every playlist
  outside the challenge split contributes its tracks but the last two to training. Its second-last
  track is its validation target and its last track the test target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segue.data.dataset import Dataset
from segue.data.split import CHALLENGE
from segue.errors import UserError

HOLDOUTS = ("playlists", "last")

# Tracks held out at the end of each playlist under the ``last`` holdout: one for test, and one more
# for validation.
_LAST_HELD_OUT = {"test": 1, "valid": 2}


@dataclass
class Sequences:
    """Sequences stored back to back (CSR): sequence i is ``tracks[starts[i]:ends[i]]``.

    ``tracks`` is usually a dataset's memory-mapped track array, so selecting sequences copies
    nothing. ``rows`` names the dataset playlist each sequence comes from.
    """

    tracks: np.ndarray  # (rows,) int32
    starts: np.ndarray  # (sequences,) int64
    ends: np.ndarray  # (sequences,) int64
    rows: np.ndarray  # (sequences,) int64

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> np.ndarray:
        return np.asarray(self.tracks[self.starts[i] : self.ends[i]])

    @property
    def lengths(self) -> np.ndarray:
        return self.ends - self.starts

    def track_counts(self, num_indices: int) -> np.ndarray:
        """Return how often each track index below ``num_indices`` occurs in the sequences."""
        tracks, _ = self.concatenated()
        return np.bincount(tracks, minlength=num_indices)[:num_indices].astype(np.int64)

    def concatenated(self) -> tuple[np.ndarray, np.ndarray]:
        """Return all tracks in one array and the sequence of each track, for sparse counting."""
        lengths = self.lengths
        owner = np.repeat(np.arange(len(self)), lengths)
        within = np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        positions = np.repeat(self.starts, lengths) + within
        return np.asarray(self.tracks)[positions], owner


def check_holdout(holdout: str) -> None:
    if holdout not in HOLDOUTS:
        raise UserError(f"unknown holdout {holdout!r}: expected one of {', '.join(HOLDOUTS)}")


def training_sequences(dataset: Dataset, holdout: str, full: bool = False) -> Sequences:
    """Return what models learn from under ``holdout``; ``full`` keeps catalog indices for OOV tracks."""
    check_holdout(holdout)
    tracks = dataset.tracks_full if full else dataset.tracks
    if holdout == "playlists":
        rows = dataset.playlists_in("train")
        return Sequences(tracks, dataset.offsets[rows], dataset.offsets[rows + 1], rows)

    rows = np.flatnonzero(dataset.splits != CHALLENGE)
    starts, ends = dataset.offsets[rows], dataset.offsets[rows + 1] - _LAST_HELD_OUT["valid"]
    keep = ends > starts
    return Sequences(tracks, starts[keep], ends[keep], rows[keep])


def held_out_sequences(dataset: Dataset, holdout: str, split: str, full: bool = False) -> Sequences:
    """Return the sequences evaluated on ``split`` (valid or test) under ``holdout``.

    Under ``playlists`` these are the split's whole playlists. Under ``last`` each sequence ends
    with its target, the playlist's last track for test or its second-last for valid. Playlists
    of fewer than 3 tracks have no training part and are left out, as the RecBole export does.
    """
    check_holdout(holdout)
    if split not in ("valid", "test"):
        raise UserError(f"unknown split {split!r}: expected valid or test")
    tracks = dataset.tracks_full if full else dataset.tracks
    if holdout == "playlists":
        rows = dataset.playlists_in(split)
        return Sequences(tracks, dataset.offsets[rows], dataset.offsets[rows + 1], rows)

    # Only playlists with a training part take part, as in training_sequences: at least 3 tracks.
    rows = np.flatnonzero(dataset.splits != CHALLENGE)
    starts, lengths = dataset.offsets[rows], np.diff(dataset.offsets)[rows]
    ends = dataset.offsets[rows + 1] - (_LAST_HELD_OUT[split] - 1)
    keep = lengths >= _LAST_HELD_OUT["valid"] + 1
    return Sequences(tracks, starts[keep], ends[keep], rows[keep])


def split_label(holdout: str, split: str) -> str:
    """Describe an evaluated split for reports, such as ``test playlists`` or ``last tracks``."""
    if holdout == "playlists":
        return f"{split} playlists"
    return {"test": "last tracks", "valid": "second-last tracks"}[split]
