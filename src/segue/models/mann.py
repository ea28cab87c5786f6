"""The MANN core with least-recently-used access (Santoro et al. 2016, ICML)."""

from __future__ import annotations

import torch

from segue.models import memory as ops
from segue.models.controller import Controller
from segue.models.core import MEMORY_INIT, SequenceCore, State
from segue.models.heads import ContentKeys


class LRUACore(SequenceCore):
    """The parts shared by cores that write with least-recently-used access: MANN and the hybrid.

    State: controller ``h`` and ``c`` (B, hidden), memory (B, N, M), read weights (B, H, N),
    usage (B, N), least-used weights (B, N) and reads (B, H * M).
    """

    def __init__(self, input_size: int, hidden_size: int, slots: int, width: int, heads: int, decay: float) -> None:
        super().__init__()
        self.slots, self.width, self.heads, self.decay = slots, width, heads, decay
        self.controller = Controller(input_size, heads * width, hidden_size)
        self.output_size = hidden_size + heads * width

    def initial_state(self, batch_size: int, device: torch.device) -> State:
        h, c = self.controller.initial_state(batch_size, device)
        memory = torch.full((batch_size, self.slots, self.width), MEMORY_INIT, device=device)
        read_weights = torch.zeros(batch_size, self.heads, self.slots, device=device)
        usage = torch.zeros(batch_size, self.slots, device=device)
        least_used = ops.least_used(usage, self.heads)
        reads = torch.zeros(batch_size, self.heads * self.width, device=device)
        return h, c, memory, read_weights, usage, least_used, reads

    def finish_step(
        self, h: torch.Tensor, c: torch.Tensor, memory: torch.Tensor, read_weights: torch.Tensor,
        write_weights: torch.Tensor, usage: torch.Tensor,
    ) -> tuple[torch.Tensor, State]:
        """Read the written memory, update usage and the least-used weights, and return the step."""
        reads = ops.read(memory, read_weights).flatten(1)  # (B, H * M)
        usage = ops.update_usage(usage, read_weights, write_weights, self.decay)
        least_used = ops.least_used(usage, self.heads)
        features = torch.cat([h, reads], dim=-1)
        return features, (h, c, memory, read_weights, usage, least_used, reads)


class MANNCore(LRUACore):
    """An LSTM controller with an N x M memory read by content and written by LRUA.

    Each step follows section 3.2. The controller emits one key per head. Each head writes its
    key with weights ``sigmoid(alpha) * previous read weights + (1 - sigmoid(alpha)) * previous
    least-used weights``, after the least-used slot is cleared. The heads then read by content
    with the same keys, and usage decays by ``decay`` and gains the read and write weights.
    """

    def __init__(self, input_size: int, hidden_size: int, slots: int, width: int, heads: int, decay: float) -> None:
        super().__init__(input_size, hidden_size, slots, width, heads, decay)
        self.keys = ContentKeys(hidden_size, width, heads)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h, c, memory, read_weights, usage, least_used, reads = state
        h, c = self.controller(x, reads, (h, c))
        keys, strength, gate = self.keys(h)

        write_weights = ops.lrua_write_weights(read_weights, least_used, gate)
        memory = ops.lrua_write(memory, usage, write_weights, keys)
        read_weights = ops.content_weights(memory, keys, strength)
        return self.finish_step(h, c, memory, read_weights, write_weights, usage)
