"""Ranking metrics for next-track prediction and playlist continuation.

Next-track metrics work on the rank of each target (1 is best; ``inf`` when the target cannot
be ranked: OOV, excluded, or scored -inf). Ties count against the target: its rank is the number
of tracks that score at least as high, itself included, so a model that scores every track alike
ranks each target last, not first.

Continuation metrics follow the RecSys Challenge 2018 (Chen et al. 2018, "Recsys Challenge 2018:
Automatic Music Playlist Continuation", section 3): R-precision with artist credit, NDCG and
Recommended Songs clicks, over a ranked list of 500 tracks per playlist.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

# Recommended Songs clicks when no relevant track is among the 500 recommendations: one more
# than the 50 pages of 10 it would take to see them all.
NO_HIT_CLICKS = 51


def target_ranks(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Return the rank of each target among scores (N, tracks) as floats, ``inf`` when unranked."""
    target_scores = scores.gather(1, targets[:, None])  # (N, 1)
    ranks = (scores >= target_scores).sum(dim=1).double()
    ranks[~torch.isfinite(target_scores[:, 0])] = math.inf
    return ranks


def hit_rate(ranks: torch.Tensor, k: int) -> float:
    """Share of targets ranked in the top k (HR@k; accuracy is HR@1)."""
    return _mean(ranks <= k)


def mrr(ranks: torch.Tensor, k: int) -> float:
    """Mean reciprocal rank, with ranks past k counting 0 (MRR@k)."""
    return _mean(torch.where(ranks <= k, 1.0 / ranks, 0.0))


def ndcg(ranks: torch.Tensor, k: int) -> float:
    """NDCG@k with one relevant track per target: 1 / log2(rank + 1) in the top k, else 0."""
    return _mean(torch.where(ranks <= k, 1.0 / torch.log2(ranks + 1), 0.0))


def coverage(recommended: torch.Tensor, vocabulary_size: int) -> float:
    """Distinct tracks recommended, over the vocabulary size; ``recommended`` contains indices, -1 for none."""
    if vocabulary_size <= 0:
        return math.nan
    distinct = torch.unique(recommended[recommended >= 0])
    return len(distinct) / vocabulary_size


def popularity_bias(recommended: torch.Tensor, train_counts: torch.Tensor) -> float:
    """Mean of log(1 + training count) over the recommended tracks; -1 marks no track.

    The 1 keeps tracks never seen in training (possible under the ``last`` holdout) finite.
    """
    tracks = recommended[recommended >= 0]
    return _mean(torch.log1p(train_counts[tracks].double()))


def r_precision(recommended: Sequence[int], relevant: set[int], artist_of: np.ndarray) -> float:
    """R-precision with artist credit over the first |G| recommendations, G = ``relevant``.

    A recommended track in G earns 1. A track not in G whose artist has a track in G earns 0.25,
    once per artist. The sum is divided by |G|. ``artist_of`` maps a track index to an artist id,
    negative when unknown (never credited).
    """
    if not relevant:
        return math.nan
    relevant_artists = {int(artist_of[track]) for track in relevant} - {-1}
    credited: set[int] = set()
    earned = 0.0
    for track in list(recommended)[: len(relevant)]:
        artist = int(artist_of[track])
        if track in relevant:
            earned += 1
        elif artist >= 0 and artist in relevant_artists and artist not in credited:
            earned += 0.25
            credited.add(artist)
    return earned / len(relevant)


def continuation_ndcg(recommended: Sequence[int], relevant: set[int]) -> float:
    """NDCG of a ranked list against the set G: DCG over its hits, over the DCG of an ideal list.

    A hit at rank i adds 1 / log2(i + 1); the ideal list puts min(|G|, list length) hits first.
    """
    if not relevant:
        return math.nan
    recommended = list(recommended)
    gains = [1.0 / math.log2(rank + 1) for rank, track in enumerate(recommended, start=1) if track in relevant]
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), len(recommended)) + 1))
    return sum(gains) / ideal if ideal else 0.0


def clicks(recommended: Sequence[int], relevant: set[int]) -> int:
    """Recommended Songs clicks: pages of 10 to refresh before the first relevant track shows.

    A first hit at rank r takes floor((r - 1) / 10) clicks; no hit in the list takes 51.
    """
    for rank, track in enumerate(recommended, start=1):
        if track in relevant:
            return (rank - 1) // 10
    return NO_HIT_CLICKS


def _mean(values: torch.Tensor) -> float:
    return float(values.double().mean()) if values.numel() else math.nan
