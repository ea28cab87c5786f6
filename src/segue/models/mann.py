"""The MANN core with least-recently-used access (Santoro et al. 2016, ICML)."""

from __future__ import annotations

import torch

from segue.models import memory as ops
from segue.models.controller import Controller
from segue.models.core import MEMORY_INIT, SequenceCore, State
from segue.models.heads import ContentKeys


class MANNCore(SequenceCore):
    """An LSTM controller with an N x M memory read by content and written by LRUA.

    Each step, following section 3.2: the controller emits one key per head; each head writes
    its key with weights ``sigmoid(alpha) * previous read weights + (1 - sigmoid(alpha)) *
    previous least-used weights``, after the least-used slot is cleared; the heads then read by
    content with the same keys; usage decays by ``decay`` and gains the read and write weights.

    State: controller ``h`` and ``c`` (B, hidden), memory (B, N, M), read weights (B, H, N),
    usage (B, N), least-used weights (B, N) and reads (B, H * M).
    """

    def __init__(self, input_size: int, hidden_size: int, slots: int, width: int, heads: int, decay: float) -> None:
        super().__init__()
        self.slots, self.width, self.heads, self.decay = slots, width, heads, decay
        self.controller = Controller(input_size, heads * width, hidden_size)
        self.keys = ContentKeys(hidden_size, width, heads)
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
        keys, strength, gate = self.keys(h)

        write_weights = ops.lrua_write_weights(read_weights, least_used, gate)
        memory = ops.clear_least_used(memory, usage)
        memory = memory + torch.einsum("bhn,bhm->bnm", write_weights, keys)

        read_weights = ops.content_weights(memory, keys, strength)
        reads = ops.read(memory, read_weights).flatten(1)  # (B, H * M)

        usage = ops.update_usage(usage, read_weights, write_weights, self.decay)
        least_used = ops.least_used(usage, self.heads)

        features = torch.cat([h, reads], dim=-1)
        return features, (h, c, memory, read_weights, usage, least_used, reads)
