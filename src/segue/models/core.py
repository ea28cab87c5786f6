"""The shared shape of a sequence core: a recurrent step over track embeddings."""

from __future__ import annotations

import torch
from torch import nn

# A core's recurrent state: a tuple of tensors whose first dimension is the batch.
State = tuple[torch.Tensor, ...]

# Memory starts at a small constant rather than zeros or noise: Collier and Beel (2018,
# "Implementing Neural Turing Machines") found that NTMs then converge about twice as fast.
MEMORY_INIT = 1e-6


class SequenceCore(nn.Module):
    """A recurrent network from track embeddings (B, T, D) to features (B, T, F).

    Subclasses implement ``initial_state`` and ``step``; ``forward`` runs the steps in order.
    The state starts fresh for each sequence, so every playlist is its own episode.
    """

    output_size: int

    def initial_state(self, batch_size: int, device: torch.device) -> State:
        raise NotImplementedError

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Advance one track: ``x`` is (B, D); return features (B, F) and the next state."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        if state is None:
            state = self.initial_state(x.shape[0], x.device)
        outputs = []
        for t in range(x.shape[1]):
            output, state = self.step(x[:, t], state)
            outputs.append(output)
        return torch.stack(outputs, dim=1), state
