"""Heads: the layers that turn the controller's output into memory addresses and writes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segue.models import memory as ops


class NTMAddressing(nn.Module):
    """The full NTM addressing pipeline for a group of heads.

    Graves et al. 2014, section 3.3: content addressing with key ``k`` and strength ``beta``,
    interpolation with the previous weights by gate ``g``, a circular shift over ``-s .. s`` and
    sharpening by ``gamma``. Every parameter is squashed into its valid range: ``k`` by tanh,
    ``beta`` by softplus, ``g`` by a sigmoid, the shift by a softmax and ``gamma`` by
    ``1 + softplus``.
    """

    def __init__(self, hidden_size: int, width: int, heads: int, shift_range: int) -> None:
        super().__init__()
        self.heads, self.width, self.shifts = heads, width, 2 * shift_range + 1
        # Per head: key, strength, gate, shift distribution, sharpening.
        self.sizes = (width, 1, 1, self.shifts, 1)
        self.project = nn.Linear(hidden_size, heads * sum(self.sizes))

    def forward(
        self, hidden: torch.Tensor, memory: torch.Tensor, previous: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the new weights (B, H, N) and the keys (B, H, M)."""
        raw = self.project(hidden).view(hidden.shape[0], self.heads, -1)
        key, strength, gate, kernel, gamma = raw.split(self.sizes, dim=-1)
        key = torch.tanh(key)

        weights = ops.content_weights(memory, key, F.softplus(strength.squeeze(-1)))
        weights = ops.interpolate(weights, previous, torch.sigmoid(gate.squeeze(-1)))
        weights = ops.shift(weights, F.softmax(kernel, dim=-1))
        weights = ops.sharpen(weights, 1 + F.softplus(gamma.squeeze(-1)))
        return weights, key


class WriteVectors(nn.Module):
    """Erase vectors in [0, 1] (sigmoid) and add vectors in [-1, 1] (tanh) for NTM write heads."""

    def __init__(self, hidden_size: int, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.project = nn.Linear(hidden_size, 2 * heads * width)

    def forward(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        erase, add = self.project(hidden).view(hidden.shape[0], self.heads, -1).chunk(2, dim=-1)
        return torch.sigmoid(erase), torch.tanh(add)


class ContentKeys(nn.Module):
    """Keys, key strengths and write gates for MANN heads.

    Santoro et al. 2016, section 3.2, reads with a softmax over cosine similarities. A learned
    strength ``beta`` (softplus, as in the NTM) scales the similarities first, because cosine
    values in [-1, 1] alone cannot focus a softmax over a hundred slots. The gate is
    ``sigmoid(alpha)`` of the LRUA write rule.
    """

    def __init__(self, hidden_size: int, width: int, heads: int) -> None:
        super().__init__()
        self.heads, self.width = heads, width
        self.project = nn.Linear(hidden_size, heads * (width + 2))

    def forward(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return keys (B, H, M), strengths (B, H) and write gates (B, H)."""
        raw = self.project(hidden).view(hidden.shape[0], self.heads, -1)
        key, strength, alpha = raw.split((self.width, 1, 1), dim=-1)
        return torch.tanh(key), F.softplus(strength.squeeze(-1)), torch.sigmoid(alpha.squeeze(-1))
