"""Ranking metrics on hand-computed rankings, ties and empty inputs included."""

import math

import numpy as np
import pytest
import torch

from segue.evaluation import metrics

INF = float("-inf")


def ranks_of(scores, targets):
    return metrics.target_ranks(torch.tensor(scores, dtype=torch.float32), torch.tensor(targets))


def test_rank_is_one_plus_the_tracks_scoring_higher():
    ranks = ranks_of([[0.1, 0.5, 0.3, 0.9], [4.0, 3.0, 2.0, 1.0]], [2, 3])
    assert ranks.tolist() == [3.0, 4.0]


def test_ties_count_against_the_target():
    # Tracks 0, 1 and 2 tie at 0.5: each of them ranks third, and a constant scorer ranks last.
    ranks = ranks_of([[0.5, 0.5, 0.5, 0.1], [1.0, 1.0, 1.0, 1.0]], [0, 2])
    assert ranks.tolist() == [3.0, 4.0]


def test_excluded_or_oov_target_is_unranked():
    ranks = ranks_of([[0.2, INF, 0.7], [INF, INF, INF]], [1, 0])
    assert ranks.tolist() == [math.inf, math.inf]


def test_hit_rate_mrr_ndcg_by_hand():
    ranks = torch.tensor([1.0, 3.0, 11.0, math.inf])
    assert metrics.hit_rate(ranks, 10) == pytest.approx(2 / 4)
    assert metrics.hit_rate(ranks, 1) == pytest.approx(1 / 4)
    # MRR@10: (1 + 1/3 + 0 + 0) / 4
    assert metrics.mrr(ranks, 10) == pytest.approx((1 + 1 / 3) / 4)
    # NDCG@10: (1/log2(2) + 1/log2(4)) / 4 = (1 + 0.5) / 4
    assert metrics.ndcg(ranks, 10) == pytest.approx(1.5 / 4)
    assert metrics.ndcg(ranks, 20) == pytest.approx((1 + 0.5 + 1 / math.log2(12)) / 4)


def test_empty_rankings_give_nan():
    empty = torch.empty(0, dtype=torch.float64)
    for metric in (metrics.hit_rate, metrics.mrr, metrics.ndcg):
        assert math.isnan(metric(empty, 10))
    assert math.isnan(metrics.popularity_bias(torch.empty(0, 10, dtype=torch.long), torch.ones(5)))


def test_all_oov_playlist_counts_only_misses():
    # Every target is OOV (index 1, scored -inf): all miss, and there is no in-vocabulary figure.
    scores = torch.tensor([[INF, INF, 0.3, 0.2]] * 3)
    ranks = metrics.target_ranks(scores, torch.tensor([1, 1, 1]))
    assert metrics.hit_rate(ranks, 10) == 0.0
    assert metrics.mrr(ranks, 10) == 0.0
    assert math.isnan(metrics.hit_rate(ranks[torch.tensor([False, False, False])], 10))


def test_coverage_counts_distinct_tracks_and_skips_missing_slots():
    recommended = torch.tensor([[2, 3, 4], [3, 4, -1], [5, 2, -1]])
    assert metrics.coverage(recommended, vocabulary_size=8) == pytest.approx(4 / 8)


def test_popularity_bias_is_the_mean_log_training_count():
    counts = torch.tensor([0, 0, 9, 0, 99])
    recommended = torch.tensor([[2, 4], [3, -1]])
    expected = (math.log(10) + math.log(100) + math.log(1)) / 3
    assert metrics.popularity_bias(recommended, counts) == pytest.approx(expected)


ARTISTS = np.array([-1, -1, 0, 0, 1, 2, 2, 3, -1])  # artist of tracks 0..8; 8 has none


def test_r_precision_with_artist_credit_by_hand():
    relevant = {2, 4, 5}  # |G| = 3; artists 0, 1, 2
    # Top 3: 3 (not in G, artist 0 in G: 0.25), 4 (hit: 1), 6 (artist 2 in G: 0.25). Rank 4 is past |G|.
    assert metrics.r_precision([3, 4, 6, 2], relevant, ARTISTS) == pytest.approx((1 + 0.5) / 3)


def test_r_precision_credits_each_artist_once():
    relevant = {2, 7}  # artists 0 and 3
    # 3 earns 0.25 for artist 0; a second track of artist 0 would earn nothing, but |G| = 2 cuts there.
    assert metrics.r_precision([3, 3, 2], relevant, ARTISTS) == pytest.approx(0.25 / 2)
    assert metrics.r_precision([3, 2], {2, 7, 4}, ARTISTS) == pytest.approx(1.25 / 3)


def test_r_precision_gives_no_credit_for_unknown_artists():
    # Tracks 0 and 8 both have no artist: that is not a shared artist.
    assert metrics.r_precision([0], {8}, ARTISTS) == 0.0


def test_r_precision_of_empty_lists():
    assert metrics.r_precision([], {2, 4}, ARTISTS) == 0.0
    assert math.isnan(metrics.r_precision([2], set(), ARTISTS))


def test_continuation_ndcg_by_hand():
    # Hits at ranks 2 and 4 of 5; |G| = 3, so the ideal list has hits at ranks 1, 2 and 3.
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert metrics.continuation_ndcg([9, 2, 8, 4, 7], {2, 4, 5}) == pytest.approx(dcg / ideal)
    assert metrics.continuation_ndcg([2, 4, 5], {2, 4, 5}) == pytest.approx(1.0)
    assert metrics.continuation_ndcg([], {2}) == 0.0


def test_clicks_by_hand():
    relevant = {7}
    assert metrics.clicks([7, 1, 2], relevant) == 0
    assert metrics.clicks(list(range(100, 109)) + [7], relevant) == 0  # rank 10: first page
    assert metrics.clicks(list(range(100, 110)) + [7], relevant) == 1  # rank 11: one click
    assert metrics.clicks(list(range(100, 599)) + [7], relevant) == 49  # rank 500
    assert metrics.clicks(list(range(100, 600)), relevant) == metrics.NO_HIT_CLICKS == 51
    assert metrics.clicks([], relevant) == 51
