"""The GRU4Rec baseline core (Hidasi et al. 2016, "Session-based Recommendations with Recurrent
Neural Networks", ICLR)."""

from __future__ import annotations

import torch
from torch import nn

from segue.models.core import SequenceCore, State


class GRUCore(SequenceCore):
    """A multi-layer GRU over the track embeddings; its state is ``(h,)``, h (B, layers, hidden).

    GRU4Rec trains with session-parallel mini-batches (section 3.1.1), samples the output
    (section 3.1.2) and uses the ranking losses BPR and TOP1 (section 3.1.3). This core uses none
    of them. It trains like every other Segue core, on right-padded windows with the full-softmax
    cross-entropy of the shared output layer, so a comparison with the memory models differs in
    the core alone. This is GRU4Rec's cross-entropy variant, one of the losses of its later
    version (Hidasi and Karatzoglou 2018, "Recurrent Neural Networks with Top-k Gains for
    Session-based Recommendations").
    """

    def __init__(self, input_size: int, hidden_size: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.layers, self.hidden_size = layers, hidden_size
        self.output_size = hidden_size
        self.gru = nn.GRU(input_size, hidden_size, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)

    def initial_state(self, batch_size: int, device: torch.device) -> State:
        return (torch.zeros(batch_size, self.layers, self.hidden_size, device=device),)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        # nn.GRU runs the whole sequence in one fused call, much faster than stepping.
        if state is None:
            state = self.initial_state(x.shape[0], x.device)
        h = state[0].transpose(0, 1).contiguous()  # nn.GRU wants (layers, B, hidden)
        output, h = self.gru(x, h)  # (B, T, hidden)
        return output, (h.transpose(0, 1),)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        output, state = self.forward(x.unsqueeze(1), state)
        return output.squeeze(1), state
