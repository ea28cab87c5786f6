"""The Neural Turing Machine core (Graves, Wayne and Danihelka 2014, arXiv:1410.5401)."""

from __future__ import annotations

import torch

from segue.models import memory as ops
from segue.models.controller import Controller
from segue.models.core import MEMORY_INIT, SequenceCore, State
from segue.models.heads import NTMAddressing, WriteVectors


class NTMCore(SequenceCore):
    """An LSTM controller with an N x M memory, R read heads and W write heads.

    Each step, the controller reads the track and the previous reads (section 2). The write heads
    then address memory with the full pipeline of section 3.3 and erase, then add (section 3.2).
    Last, the read heads address the updated memory (section 3.1), so the current track can be
    read back at once. Features are the controller output and the reads.

    State: controller ``h`` and ``c`` (B, hidden), memory (B, N, M), read weights (B, R, N),
    write weights (B, W, N) and reads (B, R * M).
    """

    def __init__(
        self, input_size: int, hidden_size: int, slots: int, width: int, read_heads: int, write_heads: int, shift_range: int
    ) -> None:
        super().__init__()
        self.slots, self.width, self.read_heads, self.write_heads = slots, width, read_heads, write_heads
        self.controller = Controller(input_size, read_heads * width, hidden_size)
        self.read_addressing = NTMAddressing(hidden_size, width, read_heads, shift_range)
        self.write_addressing = NTMAddressing(hidden_size, width, write_heads, shift_range)
        self.write_vectors = WriteVectors(hidden_size, width, write_heads)
        self.output_size = hidden_size + read_heads * width

    def initial_state(self, batch_size: int, device: torch.device) -> State:
        h, c = self.controller.initial_state(batch_size, device)
        memory = torch.full((batch_size, self.slots, self.width), MEMORY_INIT, device=device)
        read_weights = torch.zeros(batch_size, self.read_heads, self.slots, device=device)
        write_weights = torch.zeros(batch_size, self.write_heads, self.slots, device=device)
        # Every head starts on slot 0. From zero or uniform weights, a memory whose slots are all
        # equal would get the same write in every slot, so the slots would stay equal for good.
        read_weights[..., 0] = 1.0
        write_weights[..., 0] = 1.0
        reads = torch.zeros(batch_size, self.read_heads * self.width, device=device)
        return h, c, memory, read_weights, write_weights, reads

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h, c, memory, read_weights, write_weights, reads = state
        h, c = self.controller(x, reads, (h, c))

        write_weights, _ = self.write_addressing(h, memory, write_weights)
        erase, add = self.write_vectors(h)
        memory = ops.erase_and_add(memory, write_weights, erase, add)

        read_weights, _ = self.read_addressing(h, memory, read_weights)
        reads = ops.read(memory, read_weights).flatten(1)  # (B, R * M)

        features = torch.cat([h, reads], dim=-1)
        return features, (h, c, memory, read_weights, write_weights, reads)
