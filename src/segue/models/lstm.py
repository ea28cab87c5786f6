"""The LSTM baseline core."""

from __future__ import annotations

import torch
from torch import nn

from segue.models.core import SequenceCore, State


class LSTMCore(SequenceCore):
    """A multi-layer LSTM; its state is ``(h, c)``, each (B, layers, hidden)."""

    def __init__(self, input_size: int, hidden_size: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.layers, self.hidden_size = layers, hidden_size
        self.output_size = hidden_size
        self.lstm = nn.LSTM(input_size, hidden_size, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)

    def initial_state(self, batch_size: int, device: torch.device) -> State:
        zeros = torch.zeros(batch_size, self.layers, self.hidden_size, device=device)
        return zeros, zeros.clone()

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        # nn.LSTM runs the whole sequence in one fused call, much faster than stepping.
        if state is None:
            state = self.initial_state(x.shape[0], x.device)
        h, c = (s.transpose(0, 1).contiguous() for s in state)  # nn.LSTM wants (layers, B, hidden)
        output, (h, c) = self.lstm(x, (h, c))
        return output, (h.transpose(0, 1), c.transpose(0, 1))

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        output, state = self.forward(x.unsqueeze(1), state)
        return output.squeeze(1), state
