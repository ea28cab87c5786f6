"""Count-based baselines: fitted in one pass over the training sequences, saved as arrays."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

import numpy as np
import torch

from segue.data.dataset import OOV, Dataset
from segue.data.holdout import Sequences
from segue.errors import UserError
from segue.models import ModelConfig
from segue.scorers.base import Scorer

BASELINE_FILE = "baseline.npz"

# Every baseline adds this much popularity, scaled to [0, 1), to its scores. It orders the tracks
# a baseline cannot tell apart (such as every track that never co-occurred with the input) by
# training count, and is too small to reorder tracks whose own scores differ.
POPULARITY_TIE_BREAK = 1e-6


class Baseline(Scorer):
    """A scorer whose whole state is a few arrays counted from the training sequences.

    Subclasses implement ``fit`` (count), ``arrays`` and ``restore`` (their state, for saving),
    and ``prefix_scores``. ``popularity`` (training count per index) is shared by all of them.
    """

    def __init__(self, config: ModelConfig, num_indices: int) -> None:
        self.config, self.num_indices = config, num_indices
        self.popularity = np.zeros(num_indices, dtype=np.int64)

    def fit(self, dataset: Dataset, sequences: Sequences, progress: bool = True) -> None:
        """Count what the baseline needs from ``sequences``, the training part of ``dataset``."""
        self.popularity = sequences.track_counts(self.num_indices)
        self.popularity[: OOV + 1] = 0
        self.fit_counts(dataset, sequences, progress)

    @abstractmethod
    def fit_counts(self, dataset: Dataset, sequences: Sequences, progress: bool) -> None:
        """Count the baseline's own statistics; ``popularity`` is already set."""

    @abstractmethod
    def arrays(self) -> dict[str, np.ndarray]:
        """Return the fitted state, without ``popularity``, as named arrays."""

    @abstractmethod
    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        """Set the fitted state from ``arrays()`` as saved."""

    def tie_break(self) -> torch.Tensor:
        """Return the popularity term added to every score, with -inf for padding and OOV."""
        counts = torch.from_numpy(self.popularity).double()
        term = POPULARITY_TIE_BREAK * counts / (counts.max() + 1)
        term[: OOV + 1] = float("-inf")
        return term.float()

    def save(self, run: Path) -> None:
        """Write the fitted state to ``run/baseline.npz`` atomically."""
        temporary = run / (BASELINE_FILE + ".tmp.npz")
        np.savez(temporary, popularity=self.popularity, **self.arrays())
        temporary.replace(run / BASELINE_FILE)

    def load(self, run: Path) -> None:
        """Read the fitted state written by ``save``."""
        path = run / BASELINE_FILE
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        except FileNotFoundError:
            raise UserError(f"{path}: not found; the run is incomplete, fit it again with `segue train`") from None
        except (OSError, ValueError) as error:
            raise UserError(f"{path}: damaged baseline file: {error}") from None
        if len(arrays.get("popularity", ())) != self.num_indices:
            raise UserError(f"{path}: fitted on another vocabulary ({self.num_indices} indices expected)")
        self.popularity = arrays.pop("popularity")
        self.restore(arrays)
