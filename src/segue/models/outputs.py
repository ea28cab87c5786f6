"""Output layers: from features to a log-probability for every track."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class OutputLayer(nn.Module):
    """A softmax over tracks, or over Bloom positions, optionally tied to the input embeddings.

    ``logits`` are over the layer's units: every track index, or the ``m`` Bloom positions. A tied
    layer projects the features to the embedding width and takes dot products with the embedding
    table, which the caller passes in, so one matrix encodes tracks going in and scores them
    coming out.
    """

    def __init__(
        self, in_features: int, num_indices: int, units: int, embedding_dim: int, positions: torch.Tensor | None, tied: bool
    ) -> None:
        super().__init__()
        self.num_indices, self.tied = num_indices, tied
        self.register_buffer("positions", positions, persistent=False)  # (indices, k) for Bloom, else None
        if tied:
            self.project = nn.Linear(in_features, embedding_dim)
            self.bias = nn.Parameter(torch.zeros(units))
        else:
            self.project = nn.Linear(in_features, units)

        # Padding and OOV are never a next track, so a full softmax gives them no mass.
        mask = torch.zeros(units)
        if positions is None:
            mask[:2] = float("-inf")
        self.register_buffer("mask", mask, persistent=False)

    def logits(self, features: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Map features (N, F) to logits (N, units); ``embedding`` is the input table (units, D)."""
        if not self.tied:
            return self.project(features) + self.mask
        return self.project(features) @ embedding.T + self.bias + self.mask

    def loss(self, features: torch.Tensor, targets: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Return the summed negative log-likelihood of ``targets`` (N,), all in the vocabulary.

        A Bloom output is trained against the target's k positions, each with probability 1/k,
        so its loss is the mean over them of the negative log-probability.
        """
        log_probs = F.log_softmax(self.logits(features, embedding).float(), dim=-1)
        if self.positions is None:
            return F.nll_loss(log_probs, targets, reduction="sum")
        return -log_probs.gather(1, self.positions[targets]).mean(dim=1).sum()

    def scores(self, features: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Score every track index for features (N, F): log-probabilities (N, indices).

        A Bloom output scores a track by the sum of the log-probabilities at its k positions.
        Padding and OOV always score minus infinity.
        """
        log_probs = F.log_softmax(self.logits(features, embedding).float(), dim=-1)
        if self.positions is None:
            return log_probs
        scores = torch.zeros(features.shape[0], self.num_indices, device=features.device)
        for j in range(self.positions.shape[1]):
            scores += log_probs[:, self.positions[:, j]]
        scores[:, :2] = float("-inf")
        return scores
