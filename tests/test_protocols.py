"""The evaluation protocols on tiny hand-made playlists, with results worked out by hand."""

import math

import numpy as np
import pytest
import torch

from segue.data.holdout import Sequences
from segue.evaluation.protocols import EvaluationOptions, evaluate_continuation, evaluate_last, evaluate_next
from segue.scorers import Scorer


class LowIndexFirst(Scorer):
    """Ranks tracks by index, lowest first, whatever the input: a ranking easy to follow by hand."""

    name = "low-index-first"

    def __init__(self, num_indices: int) -> None:
        self.num_indices = num_indices

    def prefix_scores(self, sequences):
        scores = -torch.arange(self.num_indices, dtype=torch.float32)
        scores[:2] = float("-inf")
        return [scores.expand(len(sequence), -1) for sequence in sequences]


def sequences_of(*playlists, tracks=None):
    lengths = [len(p) for p in playlists]
    ends = np.cumsum(lengths)
    array = np.concatenate(playlists).astype(np.int32) if tracks is None else np.asarray(tracks, dtype=np.int32)
    return Sequences(array, ends - lengths, ends, np.arange(len(playlists)))


# Two playlists over vocabulary tracks 2..7 (8 indices); 1 is an OOV track.
PLAYLISTS = sequences_of([2, 3, 4, 2], [5, 1, 6])
NO_COUNTS = torch.ones(8, dtype=torch.long)


def test_next_ranks_every_position():
    result = evaluate_next(LowIndexFirst(8), PLAYLISTS, NO_COUNTS, EvaluationOptions(ks=(2, 10), progress=False))

    # Targets and their rankings, tracks of the prefix excluded:
    #   3 after [2]        -> 3 4 5 6 7      rank 1
    #   4 after [2 3]      -> 4 5 6 7        rank 1
    #   2 after [2 3 4]    -> 2 is excluded  miss
    #   1 after [5]        -> OOV            miss
    #   6 after [5 1]      -> 2 3 4 6 7      rank 4
    assert result["targets"] == 5
    assert result["in_vocabulary_targets"] == 4
    everything, known = result["all"], result["in_vocabulary"]
    assert everything["accuracy"] == pytest.approx(2 / 5)
    assert everything["hr@2"] == pytest.approx(2 / 5)
    assert everything["hr@10"] == pytest.approx(3 / 5)
    assert everything["mrr@10"] == pytest.approx((1 + 1 + 1 / 4) / 5)
    assert everything["ndcg@10"] == pytest.approx((1 + 1 + 1 / math.log2(5)) / 5)
    assert known["hr@10"] == pytest.approx(3 / 4)
    assert known["mrr@10"] == pytest.approx((1 + 1 + 1 / 4) / 4)
    # Top 2 of each row: [3 4] [4 5] [5 6] [2 3] [2 3]: tracks 2..6 of the 6 in the vocabulary.
    assert everything["coverage@2"] == pytest.approx(5 / 6)
    assert everything["popularity_bias@2"] == pytest.approx(math.log(2))


def test_next_with_repeats_allowed_ranks_a_repeated_track():
    result = evaluate_next(LowIndexFirst(8), PLAYLISTS, NO_COUNTS, EvaluationOptions(allow_repeats=True, progress=False))
    # Nothing is excluded: 3 ranks 2nd after [2], 4 3rd, 2 1st, 6 5th; the OOV target still misses.
    assert result["all"]["mrr@10"] == pytest.approx((1 / 2 + 1 / 3 + 1 + 1 / 5) / 5)


def test_next_skips_playlists_without_a_target():
    result = evaluate_next(LowIndexFirst(8), sequences_of([4], [3, 2]), NO_COUNTS, EvaluationOptions(progress=False))
    assert result["targets"] == 1
    assert result["all"]["accuracy"] == 1.0


def test_next_on_an_all_oov_playlist():
    result = evaluate_next(LowIndexFirst(8), sequences_of([1, 1, 1]), NO_COUNTS, EvaluationOptions(progress=False))
    assert result["targets"] == 2
    assert result["in_vocabulary_targets"] == 0
    assert result["all"]["hr@10"] == 0.0
    assert math.isnan(result["in_vocabulary"]["hr@10"])


def test_last_ranks_each_final_track():
    result = evaluate_last(LowIndexFirst(8), PLAYLISTS, NO_COUNTS, EvaluationOptions(progress=False))
    # 2 after [2 3 4] is excluded (miss); 6 after [5 1] ranks 4th among 2 3 4 6 7.
    assert result["targets"] == 2
    assert result["all"]["hr@10"] == pytest.approx(1 / 2)
    assert result["all"]["mrr@10"] == pytest.approx(1 / 8)

    repeats = evaluate_last(LowIndexFirst(8), PLAYLISTS, NO_COUNTS, EvaluationOptions(allow_repeats=True, progress=False))
    assert repeats["all"]["mrr@10"] == pytest.approx((1 + 1 / 5) / 2)


def test_continuation_scores_500_recommendations_against_the_rest():
    # Vocabulary 2..11; the last track is outside it: OOV (1) for the model, catalog index 12 in truth.
    model_view = sequences_of([5, 3, 9, 2, 8, 10, 1])
    truth = sequences_of([5, 3, 9, 2, 8, 10, 12])
    artist_of = np.full(13, -1)
    artist_of[[4, 9]] = 7  # tracks 4 and 9 share an artist
    result = evaluate_continuation(LowIndexFirst(12), model_view, truth, artist_of, EvaluationOptions(progress=False))

    # Only the seed "first 1" leaves 5 tracks to guess in a 7-track playlist. Seed [5]; G = {3 9 2 8 10 12}.
    # Ranking: 2 3 4 6 7 8 9 10 11. Top |G| = 6: hits 2 3 8, and 4 shares 9's artist: (3 + 0.25) / 6.
    seeds = result["seeds"]
    assert [name for name, figures in seeds.items() if figures["playlists"]] == ["first 1", "overall"]
    first = seeds["first 1"]
    assert first["r_precision"] == pytest.approx(3.25 / 6)
    dcg = 1 + 1 / math.log2(3) + 1 / math.log2(7) + 1 / math.log2(8) + 1 / math.log2(9)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, 7))
    assert first["ndcg"] == pytest.approx(dcg / ideal)
    assert first["clicks"] == 0
    assert seeds["overall"] == first
    assert math.isnan(seeds["first 5"]["r_precision"])


def test_continuation_random_seeds_reproducible():
    playlist = list(range(2, 2 + 40))
    view = sequences_of(playlist)
    options = EvaluationOptions(seed=3, progress=False)
    first = evaluate_continuation(LowIndexFirst(50), view, view, np.full(50, -1), options)
    again = evaluate_continuation(LowIndexFirst(50), view, view, np.full(50, -1), options)
    assert first == again
    # Seeds: first 1, 5, 10, 25, and random 25: five cases for one 40-track playlist.
    assert first["seeds"]["overall"]["playlists"] == 5
    assert first["seeds"]["random 25"]["playlists"] == 1
