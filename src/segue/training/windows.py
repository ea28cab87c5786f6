"""Training windows: sequences cut into runs of ``max_len`` steps, batched and padded."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from segue.data.dataset import OOV, PAD
from segue.data.holdout import Sequences


class Windows:
    """The windows of a set of sequences, such as those that ``segue.data.holdout`` selects.

    A sequence of n tracks has n - 1 next-track steps. Window w starts at track ``w * max_len``
    and holds up to ``max_len + 1`` tracks, so consecutive windows share one track and every step
    is in exactly one window. Each window is its own episode: the model's state, memory included,
    starts fresh, and nothing carries across windows. Windows with no in-vocabulary target are
    dropped because they add nothing to the loss.

    With ``last_target_only``, each sequence gives one window, its last ``max_len + 1`` tracks,
    and only the window's final target counts (``last_only`` is then True). This is validation
    and test under the ``last`` holdout, whose earlier steps are training data. Sequences whose
    final track is OOV, or that have no step, give no window.
    """

    def __init__(self, sequences: Sequences, max_len: int, last_target_only: bool = False) -> None:
        self.max_len = max_len
        self.last_only = last_target_only
        # A view, not a copy: a memory-mapped dataset stays mapped, so all windows share its pages.
        self.tracks = np.asarray(sequences.tracks)
        firsts = np.asarray(sequences.starts, dtype=np.int64)
        lasts = np.asarray(sequences.ends, dtype=np.int64)
        if last_target_only:
            starts, ends = self._last_windows(firsts, lasts)
        else:
            starts, ends = self._all_windows(firsts, lasts)
        self.starts = starts
        self.ends = ends

    def _all_windows(self, firsts: np.ndarray, lasts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        max_len = self.max_len
        # Window w of a sequence starts at track w * max_len. A sequence of n tracks has
        # ceil((n - 1) / max_len) windows, and none when n < 2.
        counts = np.maximum(lasts - firsts - 1, 0)
        windows = -(-counts // max_len)
        owner = np.repeat(np.arange(len(firsts)), windows)
        within = np.arange(len(owner)) - np.repeat(np.cumsum(windows) - windows, windows)
        starts = firsts[owner] + within * max_len
        ends = np.minimum(starts + max_len + 1, lasts[owner])

        # Targets of a window are tracks start + 1 .. end - 1; keep windows with one in vocabulary.
        # reduceat over the (start + 1, end) pairs ORs each window's targets; the appended False
        # lets an end equal the array's length.
        in_vocabulary = np.append(self.tracks > OOV, False)
        bounds = np.stack([starts + 1, ends], axis=1).ravel()
        useful = np.logical_or.reduceat(in_vocabulary, bounds)[::2] if len(bounds) else np.zeros(0, dtype=bool)
        return starts[useful], ends[useful]

    def _last_windows(self, firsts: np.ndarray, lasts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        has_step = lasts - firsts >= 2
        firsts, lasts = firsts[has_step], lasts[has_step]
        useful = self.tracks[lasts - 1] > OOV
        starts = np.maximum(firsts, lasts - self.max_len - 1)
        return starts[useful], lasts[useful]

    @property
    def lengths(self) -> np.ndarray:
        """Tracks per window: one more than its steps."""
        return self.ends - self.starts

    def __len__(self) -> int:
        return len(self.starts)

    def batch(self, windows: np.ndarray) -> torch.Tensor:
        """Gather windows into a right-padded (B, longest) tensor of track indices."""
        lengths = self.ends[windows] - self.starts[windows]
        batch = np.full((len(windows), int(lengths.max())), PAD, dtype=np.int64)
        for i, (start, length) in enumerate(zip(self.starts[windows], lengths)):
            batch[i, :length] = self.tracks[start : start + length]
        return torch.from_numpy(batch)

    def order(self, seed: int, epoch: int, batch_size: int) -> np.ndarray:
        """Return the window order of an epoch; it depends only on the seed, epoch and batch size.

        Windows are shuffled, sorted by length within pools of 64 batches, cut into batches, and
        the batches shuffled. Batches of similar lengths waste fewer steps on padding, which the
        memory models pay for one step at a time.
        """
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(self))
        lengths = self.lengths
        pool = 64 * batch_size
        for begin in range(0, len(order), pool):
            chunk = order[begin : begin + pool]
            order[begin : begin + pool] = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches = [order[begin : begin + batch_size] for begin in range(0, len(order), batch_size)]
        shuffled = rng.permutation(len(batches))
        return np.concatenate([batches[i] for i in shuffled]) if batches else order

    def batches(self, order: np.ndarray, batch_size: int, first: int = 0) -> Iterator[np.ndarray]:
        """Yield the window indices of each batch in ``order``, starting at batch ``first``."""
        for begin in range(first * batch_size, len(order), batch_size):
            yield order[begin : begin + batch_size]

    def num_batches(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)
