"""The SASRec baseline core: causal self-attention over the tracks so far (Kang and McAuley 2018,
"Self-Attentive Sequential Recommendation", ICDM)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from segue.models.core import SequenceCore, State


class SelfAttentionBlock(nn.Module):
    """Causal multi-head self-attention, then a two-layer point-wise feed-forward network.

    Each sublayer f computes ``x + Dropout(f(LayerNorm(x)))``, the residual form of section
    III-C. The feed-forward network is ``ReLU(x W1 + b1) W2 + b2`` (section III-B), applied to
    every position alone.
    """

    def __init__(self, width: int, heads: int, feed_forward_size: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.attention_norm = nn.LayerNorm(width)
        self.query_key_value = nn.Linear(width, 3 * width)
        self.attention_output = nn.Linear(width, width)
        self.feed_forward_norm = nn.LayerNorm(width)
        self.feed_forward = nn.Sequential(
            nn.Linear(width, feed_forward_size), nn.ReLU(), nn.Linear(feed_forward_size, width)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        projected = self.query_key_value(self.attention_norm(x))  # (B, T, 3 * D)
        query, key, value = projected.view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)

        # Position t attends to positions 0..t only (the causality of section III-B). Padding sits
        # on the right of every sequence, so no real step can see it and no key padding mask is
        # needed. The outputs at padding positions are left out of the loss.
        attended = F.scaled_dot_product_attention(query, key, value, is_causal=True)  # (B, heads, T, D / heads)
        attended = attended.transpose(1, 2).reshape(batch, length, width)
        x = x + self.dropout(self.attention_output(attended))

        return x + self.dropout(self.feed_forward(self.feed_forward_norm(x)))


class SASRecCore(SequenceCore):
    """Learned position embeddings, ``layers`` self-attention blocks and a final LayerNorm.

    The model width is the embedding width, and position p in 0..max_positions-1 adds its own
    learned vector to the input (section III-A). ``forward`` runs all positions at once.

    For the recurrent interface, the state is ``(inputs,)``: the inputs seen so far, (B, t, D),
    at most the last ``max_positions`` of them. A step appends its input and runs a forward pass
    over every stored position, counted from the first kept input, so stepping through a
    playlist is slower than one forward call over it.
    """

    def __init__(
        self, width: int, feed_forward_size: int, layers: int, heads: int, max_positions: int, dropout: float
    ) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"embedding width {width} is not divisible by {heads} attention heads")
        self.width, self.max_positions = width, max_positions
        self.output_size = width
        self.positions = nn.Embedding(max_positions, width)
        self.blocks = nn.ModuleList(SelfAttentionBlock(width, heads, feed_forward_size, dropout) for _ in range(layers))
        self.final_norm = nn.LayerNorm(width)

    def initial_state(self, batch_size: int, device: torch.device) -> State:
        return (torch.zeros(batch_size, 0, self.width, device=device),)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return features (B, T, D) for inputs (B, T, D) at positions 0..T-1; T <= max_positions."""
        h = x + self.positions(torch.arange(x.shape[1], device=x.device))
        for block in self.blocks:
            h = block(h)
        return self.final_norm(h)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        length = x.shape[1]
        if length > self.max_positions:
            raise ValueError(
                f"a sequence of {length} steps is longer than max_positions ({self.max_positions}); "
                "feed windows of at most max_positions tracks or set a larger max_positions"
            )
        seen = state[0] if state is not None else x[:, :0]
        inputs = torch.cat([seen, x], dim=1)  # (B, t + T, D)
        if inputs.shape[1] > self.max_positions:
            # Each new step then attends over its own window of the last max_positions inputs,
            # with positions counted from that window's start, so one pass cannot compute them all.
            return super().forward(x, state)

        features = self.encode(inputs)[:, seen.shape[1] :]  # (B, T, D)
        return features, (inputs,)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        inputs = torch.cat([state[0], x.unsqueeze(1)], dim=1)[:, -self.max_positions :]  # (B, t + 1, D)
        return self.encode(inputs)[:, -1], (inputs,)
