"""Track embeddings: one row per track, or the sum of a track's Bloom rows."""

from __future__ import annotations

import torch
from torch import nn


class TrackEmbedding(nn.Module):
    """Map track indices (B, T) to vectors (B, T, D).

    Without Bloom codes each index has its own row and padding (index 0) embeds to zeros. With
    Bloom codes (``positions`` of shape (indices, k), values below ``bloom_dim``) a track's vector is the sum of its k rows
    among ``m``, as in Serrà and Karatzoglou 2017, section 3.
    """

    def __init__(self, num_indices: int, dim: int, positions: torch.Tensor | None = None, bloom_dim: int = 0) -> None:
        super().__init__()
        if positions is None:
            self.table = nn.Embedding(num_indices, dim, padding_idx=0)
            self.register_buffer("positions", None)
        else:
            self.table = nn.Embedding(bloom_dim, dim)
            self.register_buffer("positions", positions, persistent=False)
        nn.init.normal_(self.table.weight, std=0.1)

    @property
    def weight(self) -> torch.Tensor:
        """The embedding table: (indices, D), or (m, D) with Bloom codes."""
        return self.table.weight

    def forward(self, tracks: torch.Tensor) -> torch.Tensor:
        if self.positions is None:
            return self.table(tracks)
        return self.table(self.positions[tracks]).sum(dim=-2)
