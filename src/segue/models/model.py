"""The next-track model: embedding, sequence core, output layer."""

from __future__ import annotations

import torch
from torch import nn

from segue.data.dataset import OOV
from segue.models.bloom import bloom_positions
from segue.models.config import ModelConfig
from segue.models.core import SequenceCore, State
from segue.models.embeddings import TrackEmbedding
from segue.models.gru import GRUCore
from segue.models.hybrid import HybridCore
from segue.models.lstm import LSTMCore
from segue.models.mann import MANNCore
from segue.models.ntm import NTMCore
from segue.models.outputs import OutputLayer
from segue.models.sasrec import SASRecCore


def build_core(config: ModelConfig) -> SequenceCore:
    c = config
    if c.model == "lstm":
        return LSTMCore(c.embedding_dim, c.hidden_size, c.layers, c.dropout)
    if c.model == "gru":
        return GRUCore(c.embedding_dim, c.hidden_size, c.layers, c.dropout)
    if c.model == "sasrec":
        return SASRecCore(c.embedding_dim, c.hidden_size, c.layers, c.attention_heads, c.max_positions, c.dropout)
    if c.model == "ntm":
        return NTMCore(c.embedding_dim, c.hidden_size, c.memory_slots, c.memory_width, c.read_heads, c.write_heads, c.shift_range)
    if c.model == "mann":
        return MANNCore(c.embedding_dim, c.hidden_size, c.memory_slots, c.memory_width, c.read_heads, c.usage_decay)
    if c.model == "hybrid":
        return HybridCore(
            c.embedding_dim, c.hidden_size, c.memory_slots, c.memory_width, c.read_heads, c.shift_range, c.usage_decay
        )
    raise ValueError(f"unknown model {c.model!r}")


class NextTrackModel(nn.Module):
    """Read a playlist track by track and score every track as the next one.

    Inputs are track indices with 0 for padding and 1 for OOV. Sequences are padded on the
    right, so padding never reaches a real step; its outputs are left out of the loss.
    """

    def __init__(self, config: ModelConfig, num_indices: int) -> None:
        super().__init__()
        self.config, self.num_indices = config, num_indices

        positions, units = None, num_indices
        if config.output == "bloom":
            units = config.resolved_bloom_dim(num_indices)
            positions = torch.from_numpy(bloom_positions(num_indices, units, config.bloom_hashes))
        self.embedding = TrackEmbedding(num_indices, config.embedding_dim, positions, units)
        self.core = build_core(config)
        self.dropout = nn.Dropout(config.dropout)
        self.output = OutputLayer(
            self.core.output_size, num_indices, units, config.embedding_dim, positions, config.tie_embeddings
        )

    def forward(self, tracks: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Return features (B, T, F) for tracks (B, T), and the state after the last step."""
        x = self.dropout(self.embedding(tracks))
        features, state = self.core(x, state)
        return self.dropout(features), state

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the summed loss over in-vocabulary targets and how many there were.

        ``targets[b, t]`` is the track after ``inputs[b, t]``; padding and OOV targets are skipped.
        """
        features, _ = self(inputs)
        keep = targets > OOV
        return self.output.loss(features[keep], targets[keep], self.embedding.weight), keep.sum()

    def initial_state(self, batch_size: int) -> State:
        return self.core.initial_state(batch_size, self.output.mask.device)

    def step(self, tracks: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Advance by one track per sequence, ``tracks`` (B,); return scores (B, indices) and the state."""
        x = self.embedding(tracks)
        features, state = self.core.step(self.dropout(x), state)
        return self.output.scores(self.dropout(features), self.embedding.weight), state

    @torch.no_grad()
    def scores_after(self, tracks: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Score the next track after each sequence; ``tracks`` (B, T) right-padded to ``lengths``."""
        features, _ = self(tracks)
        last = features[torch.arange(tracks.shape[0], device=tracks.device), lengths - 1]  # (B, F)
        return self.output.scores(last, self.embedding.weight)

