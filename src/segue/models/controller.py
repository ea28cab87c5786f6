"""The LSTM controller that drives the memory models' heads."""

from __future__ import annotations

import torch
from torch import nn


class Controller(nn.Module):
    """One LSTM layer that reads the current track and the previous step's memory reads.

    Its output ``h`` is bounded in (-1, 1) because it is ``o * tanh(c)``, so the heads' inputs
    stay bounded however long the sequence.
    """

    def __init__(self, input_size: int, reads_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = nn.LSTMCell(input_size + reads_size, hidden_size)

    def initial_state(self, batch_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(batch_size, self.hidden_size, device=device)
        return zeros, zeros.clone()

    def forward(
        self, x: torch.Tensor, reads: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance one step; ``x`` is (B, D) and ``reads`` (B, H * M). Returns ``(h, c)``."""
        return self.cell(torch.cat([x, reads], dim=-1), state)
