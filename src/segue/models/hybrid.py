"""The hybrid core: NTM addressing for reads, least-recently-used access for writes."""

from __future__ import annotations

import torch
from torch import nn

from segue.models import memory as ops
from segue.models.controller import Controller
from segue.models.core import MEMORY_INIT, SequenceCore, State
from segue.models.heads import NTMAddressing


class HybridCore(SequenceCore):
    """A MANN whose heads address memory with the whole NTM pipeline.

    Each step: the read heads address the previous memory by content, interpolation, shift and
    sharpening (Graves et al. 2014, section 3.3). The sharpened weights take the place of the
    previous read weights in the LRUA write rule (Santoro et al. 2016, section 3.2), so each head
    writes its key ``sigmoid(alpha) * sharpened weights + (1 - sigmoid(alpha)) * previous
    least-used weights`` after the least-used slot is cleared. The heads then read the updated
    memory with the sharpened weights, and usage is kept as in MANN. The aim is MANN's fast
    binding of new items together with the NTM's sense of order from shifts.

    State: controller ``h`` and ``c`` (B, hidden), memory (B, N, M), read weights (B, H, N),
    usage (B, N), least-used weights (B, N) and reads (B, H * M).
    """

    def __init__(
        self, input_size: int, hidden_size: int, slots: int, width: int, heads: int, shift_range: int, decay: float
    ) -> None:
        super().__init__()
        self.slots, self.width, self.heads, self.decay = slots, width, heads, decay
        self.controller = Controller(input_size, heads * width, hidden_size)
        self.addressing = NTMAddressing(hidden_size, width, heads, shift_range)
        self.write_gate = nn.Linear(hidden_size, heads)
        self.output_size = hidden_size + heads * width

    def initial_state(self, batch_size: int, device: torch.device) -> State:
        h, c = self.controller.initial_state(batch_size, device)
        memory = torch.full((batch_size, self.slots, self.width), MEMORY_INIT, device=device)
        read_weights = torch.zeros(batch_size, self.heads, self.slots, device=device)
        usage = torch.zeros(batch_size, self.slots, device=device)
        least_used = ops.least_used(usage, self.heads)
        reads = torch.zeros(batch_size, self.heads * self.width, device=device)
        return h, c, memory, read_weights, usage, least_used, reads

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h, c, memory, read_weights, usage, least_used, reads = state
        h, c = self.controller(x, reads, (h, c))

        read_weights, keys = self.addressing(h, memory, read_weights)
        write_weights = ops.lrua_write_weights(read_weights, least_used, torch.sigmoid(self.write_gate(h)))
        memory = ops.clear_least_used(memory, usage)
        memory = memory + torch.einsum("bhn,bhm->bnm", write_weights, keys)
        reads = ops.read(memory, read_weights).flatten(1)  # (B, H * M)

        usage = ops.update_usage(usage, read_weights, write_weights, self.decay)
        least_used = ops.least_used(usage, self.heads)

        features = torch.cat([h, reads], dim=-1)
        return features, (h, c, memory, read_weights, usage, least_used, reads)
