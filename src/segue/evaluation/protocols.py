"""The evaluation protocols: how test playlists become inputs and targets.

- ``next``: every position t >= 1 of every held-out playlist is a target, predicted from the
  tracks before it.
- ``continuation``: the RecSys Challenge 2018 task. A playlist's first n tracks (or n chosen at
  random) are the seed, 500 recommendations are scored against the rest.
- ``last``: leave-one-out; each playlist's last track (or second-last for validation) is the
  target of the tracks before it. Needs a run trained with the ``last`` holdout.

All of them stream over the playlists in batches whose score matrices stay under a fixed number
of cells, so memory does not grow with the split. OOV targets count as misses; the figures over
in-vocabulary targets alone are reported beside them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from segue.data.dataset import OOV, Dataset
from segue.data.holdout import Sequences, held_out_sequences, training_sequences
from segue.evaluation import metrics
from segue.scorers.base import Scorer, top_k

logger = logging.getLogger(__name__)

PROTOCOLS = ("next", "continuation", "last")

# The holdout a run must be trained with for each protocol: scoring test positions that the
# model learnt from would overstate it.
PROTOCOL_HOLDOUT = {"next": "playlists", "continuation": "playlists", "last": "last"}

# Continuation seeds: (how the seed tracks are chosen, how many), as in the challenge set.
CONTINUATION_SEEDS = (("first", 1), ("first", 5), ("first", 10), ("first", 25), ("first", 100), ("random", 25), ("random", 100))
CONTINUATION_LENGTH = 500
# A playlist is long enough for a seed of n tracks when at least this many tracks remain to guess.
MIN_HELD_OUT = 5

# Scores of at most this many (position, track) cells exist at once: 2^25 float32 cells is 128 MB.
SCORE_CELLS = 2**25


@dataclass
class EvaluationOptions:
    ks: tuple[int, ...] = (10,)
    allow_repeats: bool = False
    seed: int = 0
    progress: bool = True


def evaluate(scorer: Scorer, dataset: Dataset, protocol: str, holdout: str, split: str, options: EvaluationOptions) -> dict:
    """Evaluate a scorer on a split of its dataset with one protocol; return the figures as a dict."""
    sequences = held_out_sequences(dataset, holdout, split)
    train_counts = training_counts(dataset, holdout)
    if protocol == "next":
        return evaluate_next(scorer, sequences, train_counts, options)
    if protocol == "last":
        return evaluate_last(scorer, sequences, train_counts, options)
    if protocol == "continuation":
        full = held_out_sequences(dataset, holdout, split, full=True)
        return evaluate_continuation(scorer, sequences, full, artist_ids(dataset), options)
    raise ValueError(f"unknown protocol {protocol!r}")


def training_counts(dataset: Dataset, holdout: str) -> torch.Tensor:
    """Return how often each index occurs in the training sequences, (num_indices,)."""
    return torch.from_numpy(training_sequences(dataset, holdout).track_counts(dataset.num_indices))


class _RankingTotals:
    """Ranks of every target, and what the top-k lists covered, gathered over batches.

    Top-k lists are not kept: each batch adds its distinct tracks and its popularity sum, so
    memory grows by one rank per target only.
    """

    def __init__(self, ks: tuple[int, ...], log_probabilities: bool, train_counts: torch.Tensor) -> None:
        self.ks, self.top = ks, max(ks)
        self.log_probabilities, self.train_counts = log_probabilities, train_counts
        self.ranks: list[torch.Tensor] = []
        self.in_vocabulary: list[torch.Tensor] = []
        self.recommended = {k: torch.zeros(len(train_counts), dtype=torch.bool) for k in ks}
        self.bias_sum, self.bias_count = dict.fromkeys(ks, 0.0), dict.fromkeys(ks, 0)
        self.loss_sum, self.loss_count = 0.0, 0

    def add(self, scores: torch.Tensor, targets: torch.Tensor, exclude_rows: torch.Tensor, exclude_cols: torch.Tensor) -> None:
        """Rank ``targets`` (N,) among ``scores`` (N, tracks) with cells (rows, cols) excluded."""
        known = targets > OOV
        if self.log_probabilities and known.any():
            # Loss as in training: every in-vocabulary target, before any exclusion.
            self.loss_sum -= float(scores[known].gather(1, targets[known, None]).double().sum())
            self.loss_count += int(known.sum())
        scores = scores.clone()
        scores[exclude_rows, exclude_cols] = float("-inf")
        self.ranks.append(metrics.target_ranks(scores, targets))
        self.in_vocabulary.append(known)

        values, indices = scores.topk(min(self.top, scores.shape[1]), dim=1)
        top = torch.where(torch.isfinite(values), indices, -1)  # (N, k), -1 where fewer tracks remain
        for k in self.ks:
            tracks = top[:, :k][top[:, :k] >= 0]
            self.recommended[k][tracks] = True
            if len(tracks):
                self.bias_sum[k] += metrics.popularity_bias(tracks, self.train_counts) * len(tracks)
                self.bias_count[k] += len(tracks)

    def results(self, vocabulary_size: int) -> dict:
        ranks = torch.cat(self.ranks) if self.ranks else torch.empty(0, dtype=torch.float64)
        known = torch.cat(self.in_vocabulary) if self.in_vocabulary else torch.empty(0, dtype=torch.bool)
        result = {
            "targets": len(ranks),
            "in_vocabulary_targets": int(known.sum()),
            "all": _ranking_figures(ranks, self.ks),
            "in_vocabulary": _ranking_figures(ranks[known], self.ks),
        }
        for k in self.ks:
            distinct = torch.nonzero(self.recommended[k]).flatten()
            result["all"][f"coverage@{k}"] = metrics.coverage(distinct, vocabulary_size)
            bias = self.bias_sum[k] / self.bias_count[k] if self.bias_count[k] else math.nan
            result["all"][f"popularity_bias@{k}"] = bias
        if self.log_probabilities:
            result["in_vocabulary"]["loss"] = self.loss_sum / self.loss_count if self.loss_count else math.nan
        return result


def _ranking_figures(ranks: torch.Tensor, ks: tuple[int, ...]) -> dict:
    figures = {"accuracy": metrics.hit_rate(ranks, 1)}
    for k in ks:
        figures[f"hr@{k}"] = metrics.hit_rate(ranks, k)
        figures[f"mrr@{k}"] = metrics.mrr(ranks, k)
        figures[f"ndcg@{k}"] = metrics.ndcg(ranks, k)
    return figures


def evaluate_next(scorer: Scorer, sequences: Sequences, train_counts: torch.Tensor, options: EvaluationOptions) -> dict:
    """Rank every track of every sequence after the tracks before it."""
    totals = _RankingTotals(options.ks, scorer.log_probabilities, train_counts)
    bar = tqdm(total=int(np.maximum(sequences.lengths - 1, 0).sum()), unit="target", disable=not options.progress, desc="next")
    for batch in _batches(sequences, scorer.num_indices, lambda n: n):
        # A playlist of one track has no target.
        playlists = [sequences[i] for i in batch if sequences.lengths[i] > 1]
        if not playlists:
            continue
        scores = torch.cat([s[:-1] for s in scorer.prefix_scores(playlists)])  # (targets, tracks)
        targets = torch.from_numpy(np.concatenate([p[1:] for p in playlists]).astype(np.int64))

        rows, cols, offset = [], [], 0
        for playlist in playlists:
            n = len(playlist) - 1
            if not options.allow_repeats:
                # Row t (predicting track t + 1) excludes tracks 0 .. t of the playlist.
                within, before = np.tril_indices(n)
                rows.append(offset + within)
                cols.append(playlist[before])
            offset += n
        totals.add(scores, targets, *_exclusions(rows, cols))
        bar.update(len(targets))
    bar.close()
    return {"protocol": "next", **totals.results(scorer.num_indices - OOV - 1)}


def evaluate_last(scorer: Scorer, sequences: Sequences, train_counts: torch.Tensor, options: EvaluationOptions) -> dict:
    """Rank each sequence's last track after the tracks before it."""
    totals = _RankingTotals(options.ks, scorer.log_probabilities, train_counts)
    bar = tqdm(total=len(sequences), unit="playlist", disable=not options.progress, desc="last")
    for batch in _batches(sequences, scorer.num_indices, lambda n: 1):
        playlists = [sequences[i] for i in batch]
        scores = scorer.scores_after([p[:-1] for p in playlists])
        targets = torch.from_numpy(np.array([p[-1] for p in playlists], dtype=np.int64))
        rows, cols = [], []
        if not options.allow_repeats:
            for row, playlist in enumerate(playlists):
                rows.append(np.full(len(playlist) - 1, row))
                cols.append(playlist[:-1])
        totals.add(scores, targets, *_exclusions(rows, cols))
        bar.update(len(playlists))
    bar.close()
    return {"protocol": "last", **totals.results(scorer.num_indices - OOV - 1)}


def evaluate_continuation(
    scorer: Scorer, sequences: Sequences, full: Sequences, artist_of: np.ndarray, options: EvaluationOptions
) -> dict:
    """Seed each long enough playlist with n tracks, recommend 500 and score them against the rest.

    ``sequences`` are the model's inputs (OOV as 1) and ``full`` the same playlists with every
    track's catalog index, which the held-out tracks are compared by. Seed tracks are never
    recommended unless repeats are allowed, and so they leave the held-out set too.
    """
    cases = _continuation_cases(sequences, options.seed)
    per_case: dict[str, list[tuple[float, float, int]]] = {_seed_name(kind, n): [] for kind, n in CONTINUATION_SEEDS}
    bar = tqdm(total=len(cases), unit="seed", disable=not options.progress, desc="continuation")
    batch_size = max(1, SCORE_CELLS // scorer.num_indices)
    for begin in range(0, len(cases), batch_size):
        batch = cases[begin : begin + batch_size]
        scores = scorer.scores_after([sequences[i][positions] for i, _, positions in batch])
        for row, (i, name, positions) in enumerate(batch):
            seed_tracks = full[i][positions]
            held_out = set(np.delete(full[i], positions).tolist())
            if not options.allow_repeats:
                scores[row, torch.from_numpy(sequences[i][positions].astype(np.int64))] = float("-inf")
                held_out -= set(seed_tracks.tolist())
            if not held_out:
                continue
            _, recommended = top_k(scores[row], CONTINUATION_LENGTH)
            recommended = recommended.tolist()
            per_case[name].append((
                metrics.r_precision(recommended, held_out, artist_of),
                metrics.continuation_ndcg(recommended, held_out),
                metrics.clicks(recommended, held_out),
            ))
        bar.update(len(batch))
    bar.close()

    result = {"protocol": "continuation", "seeds": {}}
    everything = [case for cases_of in per_case.values() for case in cases_of]
    for name, values in [*per_case.items(), ("overall", everything)]:
        array = np.array(values, dtype=np.float64).reshape(-1, 3)
        figures = {"playlists": len(array)}
        for column, metric in enumerate(("r_precision", "ndcg", "clicks")):
            figures[metric] = float(array[:, column].mean()) if len(array) else math.nan
        result["seeds"][name] = figures
    return result


def artist_ids(dataset: Dataset) -> np.ndarray:
    """Map every catalog index to an artist number, by artist URI or else by name; -1 when unknown."""
    with dataset.catalog() as catalog:
        rows = catalog.execute("SELECT idx, COALESCE(artist_uri, artist) FROM tracks").fetchall()
    size = max((idx for idx, _ in rows), default=OOV) + 1
    artist_of = np.full(size, -1, dtype=np.int64)
    numbers: dict[str, int] = {}
    for idx, artist in rows:
        if artist:
            artist_of[idx] = numbers.setdefault(artist, len(numbers))
    return artist_of


def _continuation_cases(sequences: Sequences, seed: int) -> list[tuple[int, str, np.ndarray]]:
    """Return (sequence, seed name, seed positions) for every seed each sequence is long enough for."""
    cases = []
    for i, length in enumerate(sequences.lengths.tolist()):
        rng = np.random.default_rng([seed, int(sequences.rows[i])])
        for kind, n in CONTINUATION_SEEDS:
            if length < n + MIN_HELD_OUT:
                continue
            positions = np.arange(n) if kind == "first" else np.sort(rng.choice(length, n, replace=False))
            cases.append((i, _seed_name(kind, n), positions))
    return cases


def _seed_name(kind: str, n: int) -> str:
    return f"{kind} {n}"


def _batches(sequences: Sequences, num_indices: int, cells_of) -> Iterator[list[int]]:
    """Yield lists of sequence numbers whose score matrices fit in SCORE_CELLS together."""
    budget = max(1, SCORE_CELLS // num_indices)
    batch, used = [], 0
    for i, length in enumerate(sequences.lengths.tolist()):
        rows = cells_of(length)
        if batch and used + rows > budget:
            yield batch
            batch, used = [], 0
        batch.append(i)
        used += rows
    if batch:
        yield batch


def _exclusions(rows: list[np.ndarray], cols: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    if not rows:
        return torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long)
    return torch.from_numpy(np.concatenate(rows).astype(np.int64)), torch.from_numpy(np.concatenate(cols).astype(np.int64))
