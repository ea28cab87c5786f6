"""The hybrid core: NTM addressing for reads, least-recently-used access for writes."""

from __future__ import annotations

import torch
from torch import nn

from segue.models import memory as ops
from segue.models.core import State
from segue.models.heads import NTMAddressing
from segue.models.mann import LRUACore


class HybridCore(LRUACore):
    """A MANN whose heads address memory with the whole NTM pipeline.

    Each step, the read heads address the previous memory by content, interpolation, shift and
    sharpening (Graves et al. 2014, section 3.3). The sharpened weights take the place of the
    previous read weights in the LRUA write rule (Santoro et al. 2016, section 3.2). So each head
    writes its key with ``sigmoid(alpha) * sharpened weights + (1 - sigmoid(alpha)) * previous
    least-used weights``, after the least-used slot is cleared. The heads then read the updated
    memory with the sharpened weights, and usage is kept as in MANN. The aim is MANN's fast
    binding of new items together with the NTM's sense of order from shifts.
    """

    def __init__(
        self, input_size: int, hidden_size: int, slots: int, width: int, heads: int, shift_range: int, decay: float
    ) -> None:
        super().__init__(input_size, hidden_size, slots, width, heads, decay)
        self.addressing = NTMAddressing(hidden_size, width, heads, shift_range)
        self.write_gate = nn.Linear(hidden_size, heads)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h, c, memory, read_weights, usage, least_used, reads = state
        h, c = self.controller(x, reads, (h, c))

        read_weights, keys = self.addressing(h, memory, read_weights)
        write_weights = ops.lrua_write_weights(read_weights, least_used, torch.sigmoid(self.write_gate(h)))
        memory = ops.lrua_write(memory, usage, write_weights, keys)
        return self.finish_step(h, c, memory, read_weights, write_weights, usage)
