"""The item-kNN, Markov and session-kNN baselines, checked against values worked out by hand.

The hand-made examples use tracks 2..7 of an index space of 8 (0 is padding, 1 is OOV) and need
no dataset files: ``Sequences`` is built over a small track array. The last test ranks the real
radio playlists of yes-small.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from segue.data.holdout import Sequences
from segue.models import ModelConfig
from segue.scorers.baseline import POPULARITY_TIE_BREAK
from segue.scorers.itemknn import ItemKNNBaseline
from segue.scorers.markov import FALLBACK_WEIGHT, MarkovBaseline
from segue.scorers.sknn import SessionKNNBaseline, recency_queries

NUM_INDICES = 8
TOLERANCE = 1e-5

# Playlists for item-kNN and Markov. Track 2 is repeated in the third, which contains an OOV track.
# Playlists containing each track: 2: 3, 3: 3, 4: 2, 5: 2, 6: 1, 7: none.
# Shared playlists: 2-3: 2, 2-4: 1, 2-5: 1, 2-6: 1, 3-4: 2, 3-5: 1, 3-6: 1, 4-5: 1.
COOCCURRENCE_PLAYLISTS = [[2, 3, 4], [3, 4, 5], [2, 3, 1, 6, 2], [2, 5]]

# Playlists for session-kNN: two apart, and one linking their tracks 3 and 5.
SESSION_PLAYLISTS = [[2, 3, 4], [5, 6, 7], [3, 5]]

BASELINES = [ItemKNNBaseline, MarkovBaseline, SessionKNNBaseline]


def make_sequences(playlists: list[list[int]]) -> Sequences:
    lengths = np.array([len(playlist) for playlist in playlists], dtype=np.int64)
    ends = np.cumsum(lengths)
    tracks = np.concatenate([np.array(playlist, dtype=np.int32) for playlist in playlists])
    return Sequences(tracks, ends - lengths, ends, np.arange(len(playlists)))


def fitted(baseline_class, playlists=COOCCURRENCE_PLAYLISTS, **settings):
    baseline = baseline_class(ModelConfig(**settings), NUM_INDICES)
    baseline.fit(None, make_sequences(playlists), progress=False)  # the baselines never read the dataset
    return baseline


def scores_after(baseline, sequence: list[int]) -> torch.Tensor:
    return baseline.prefix_scores([np.array(sequence, dtype=np.int64)])[0][-1]


def ranking(scores: torch.Tensor, leave_out: list[int]) -> list[int]:
    """Return the scorable tracks best first, without ``leave_out``. Ties keep the lower index first."""
    scores = scores.clone()
    scores[leave_out] = float("-inf")
    order = torch.sort(scores, descending=True, stable=True).indices
    return [int(track) for track in order if torch.isfinite(scores[track])]


def similarity_row(baseline, track: int) -> dict[int, float]:
    row = baseline.similarity[track]
    return {int(column): float(value) for column, value in zip(row.indices, row.data)}


# Item-kNN


def test_itemknn_cosine_similarities():
    baseline = fitted(ItemKNNBaseline)

    # sim(i, j) = shared / sqrt(n_i n_j): 2-3: 2 / sqrt(3 * 3), 2-4: 1 / sqrt(3 * 2),
    # 2-5: 1 / sqrt(3 * 2), 2-6: 1 / sqrt(3 * 1). The repeat of 2 and the OOV track count for nothing.
    assert similarity_row(baseline, 2) == pytest.approx({3: 2 / 3, 4: 1 / math.sqrt(6), 5: 1 / math.sqrt(6), 6: 1 / math.sqrt(3)})
    # 4-2: 1 / sqrt(2 * 3), 4-3: 2 / sqrt(2 * 3), 4-5: 1 / sqrt(2 * 2).
    assert similarity_row(baseline, 4) == pytest.approx({2: 1 / math.sqrt(6), 3: 2 / math.sqrt(6), 5: 0.5})
    assert similarity_row(baseline, 7) == {}
    assert similarity_row(baseline, 1) == {}


def test_itemknn_prefix_sums_rows():
    baseline = fitted(ItemKNNBaseline)
    scores = scores_after(baseline, [2, 4])

    # Row 2 plus row 4 of the similarities above.
    expected = {2: 1 / math.sqrt(6), 3: 2 / 3 + 2 / math.sqrt(6), 4: 1 / math.sqrt(6), 5: 1 / math.sqrt(6) + 0.5, 6: 1 / math.sqrt(3), 7: 0.0}
    for track, value in expected.items():
        assert scores[track].item() == pytest.approx(value, abs=TOLERANCE)


def test_itemknn_neighbors_keeps_largest():
    baseline = fitted(ItemKNNBaseline, neighbors=1)

    assert similarity_row(baseline, 2) == pytest.approx({3: 2 / 3})
    assert similarity_row(baseline, 3) == pytest.approx({4: 2 / math.sqrt(6)})
    assert similarity_row(baseline, 5) == pytest.approx({4: 0.5})
    # Tracks 2 and 3 tie at 1 / sqrt(3); the lower index stays.
    assert similarity_row(baseline, 6) == pytest.approx({2: 1 / math.sqrt(3)})


# Every baseline


@pytest.mark.parametrize("baseline_class", BASELINES)
def test_prefix_rows_match_prefixes(baseline_class):
    baseline = fitted(baseline_class)
    sequence = [2, 1, 4, 3, 2, 6]
    whole = baseline.prefix_scores([np.array(sequence)])[0]

    assert whole.shape == (len(sequence), NUM_INDICES)
    for t in range(len(sequence)):
        assert torch.allclose(whole[t], scores_after(baseline, sequence[: t + 1]), atol=1e-6)


@pytest.mark.parametrize("baseline_class", BASELINES)
def test_padding_and_oov_score_minus_infinity(baseline_class):
    baseline = fitted(baseline_class)
    for scores in baseline.prefix_scores([np.array([2, 3]), np.array([1]), np.array([7, 1, 5])]):
        assert torch.all(scores[:, 0] == float("-inf"))
        assert torch.all(scores[:, 1] == float("-inf"))
        assert torch.all(torch.isfinite(scores[:, 2:]))


@pytest.mark.parametrize("baseline_class", BASELINES)
def test_saved_baseline_scores_identically(baseline_class, tmp_path):
    baseline = fitted(baseline_class)
    baseline.save(tmp_path)
    loaded = baseline_class(ModelConfig(), NUM_INDICES)
    loaded.load(tmp_path)

    sequences = [np.array([2, 3, 4]), np.array([1, 6]), np.array([5, 5, 2, 1, 3])]
    for before, after in zip(baseline.prefix_scores(sequences), loaded.prefix_scores(sequences)):
        assert torch.equal(before, after)


# Markov


def test_markov_transition_probabilities():
    probabilities = fitted(MarkovBaseline).transition_probabilities().toarray()

    # Transitions: 2->3 twice (first and third playlists), 2->5, 3->4 twice, 4->5 and 6->2.
    expected = np.zeros((NUM_INDICES, NUM_INDICES))
    expected[2, 3], expected[2, 5] = 2 / 3, 1 / 3
    expected[3, 4] = 1.0
    expected[4, 5] = 1.0
    expected[6, 2] = 1.0
    np.testing.assert_allclose(probabilities, expected, atol=1e-7)


def test_markov_oov_breaks_chain():
    transitions = fitted(MarkovBaseline).transitions.toarray()

    # The third playlist reads 3, OOV, 6: neither 3->OOV, OOV->6 nor 3->6 is a transition.
    assert transitions[3, 6] == 0
    assert not transitions[1].any()
    assert not transitions[:, 1].any()


def test_markov_transitions_rank_first():
    scores = scores_after(fitted(MarkovBaseline), [2])

    # 3 (two transitions) and 5 (one) lead. 6 is more similar to 2 (1 / sqrt(3)) than 5 is
    # (1 / sqrt(6)), but never followed it.
    assert ranking(scores, [2]) == [3, 5, 6, 4, 7]
    assert scores[3].item() == pytest.approx(2 + FALLBACK_WEIGHT * 2 / 3, abs=TOLERANCE)


def test_markov_fallback_orders_by_cooccurrence():
    scores = scores_after(fitted(MarkovBaseline), [5])

    # Nothing ever followed 5. Its similarities are 4: 1 / 2, 2: 1 / sqrt(6) and 3: 1 / sqrt(6), so 4
    # leads although 2 and 3 are more popular. Popularity (2: 4 plays, 3: 3) breaks their tie.
    assert ranking(scores, [5]) == [4, 2, 3, 6, 7]
    assert scores[4].item() == pytest.approx(FALLBACK_WEIGHT * 0.5, abs=POPULARITY_TIE_BREAK)


def test_markov_skips_trailing_oov():
    baseline = fitted(MarkovBaseline)
    assert torch.equal(scores_after(baseline, [4, 2, 1, 1]), scores_after(baseline, [2]))


def test_markov_all_oov_prefix_gives_popularity():
    baseline = fitted(MarkovBaseline)
    scores = scores_after(baseline, [1, 1])

    assert torch.equal(scores, baseline.tie_break())
    # Plays: 2: 4, 3: 3, 4: 2, 5: 2, 6: 1, 7: 0.
    assert ranking(scores, []) == [2, 3, 4, 5, 6, 7]


# Session-kNN


def test_sknn_recency_weights():
    queries = recency_queries(np.array([2, 3, 2]), 3, NUM_INDICES).toarray()
    np.testing.assert_allclose(queries[0], [0, 0, 1, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(queries[1], [0, 0, 2 / 3, 1, 0, 0, 0, 0])
    # The repeated track 2 keeps the weight of its latest position.
    np.testing.assert_allclose(queries[2], [0, 0, 1, 2 / 3, 0, 0, 0, 0])

    # OOV positions count towards the distance but get no weight. Older tracks fall out of the window.
    queries = recency_queries(np.array([4, 2, 1, 3]), 3, NUM_INDICES).toarray()
    np.testing.assert_allclose(queries[3], [0, 0, 1 / 3, 1, 0, 0, 0, 0])


def test_sknn_neighbor_similarities():
    baseline = fitted(SessionKNNBaseline, SESSION_PLAYLISTS, recent=2)
    weights = baseline.neighbor_weights(np.array([2, 5])).toarray()

    # Prefix [2]: q = {2: 1}, cosine with [2, 3, 4] is 1 / sqrt(3).
    np.testing.assert_allclose(weights[0], [1 / math.sqrt(3), 0, 0], rtol=1e-6)
    # Prefix [2, 5]: q = {2: 0.5, 5: 1} and |q| = sqrt(1.25). The dot products are 0.5, 1 and 1
    # against playlists of norms sqrt(3), sqrt(3) and sqrt(2).
    norm = math.sqrt(1.25)
    expected = [0.5 / (norm * math.sqrt(3)), 1 / (norm * math.sqrt(3)), 1 / (norm * math.sqrt(2))]
    np.testing.assert_allclose(weights[1], expected, rtol=1e-6)


def test_sknn_scores_sum_neighbors():
    baseline = fitted(SessionKNNBaseline, SESSION_PLAYLISTS, recent=2)
    scores = scores_after(baseline, [2, 5])

    # Similarities 0.2582, 0.5164 and 0.6325 of the three playlists, from the test above.
    norm = math.sqrt(1.25)
    first, second, third = 0.5 / (norm * math.sqrt(3)), 1 / (norm * math.sqrt(3)), 1 / (norm * math.sqrt(2))
    assert scores[3].item() == pytest.approx(first + third, abs=TOLERANCE)
    assert scores[4].item() == pytest.approx(first, abs=TOLERANCE)
    assert scores[6].item() == pytest.approx(second, abs=TOLERANCE)
    assert scores[7].item() == pytest.approx(second, abs=TOLERANCE)


def test_sknn_recent_track_weighs_most():
    baseline = fitted(SessionKNNBaseline, SESSION_PLAYLISTS, recent=2)

    # Ending on 5 favours 5's playlist [5, 6, 7], and ending on 2 favours 2's playlist [2, 3, 4].
    assert ranking(scores_after(baseline, [2, 5]), [2, 5]) == [3, 6, 7, 4]
    assert ranking(scores_after(baseline, [5, 2]), [2, 5]) == [3, 4, 6, 7]


def test_sknn_one_neighbor():
    baseline = fitted(SessionKNNBaseline, SESSION_PLAYLISTS, recent=2, neighbors=1)
    scores = scores_after(baseline, [2, 5])

    # Only [3, 5], the most similar playlist, votes.
    assert scores[3].item() == pytest.approx(1 / (math.sqrt(1.25) * math.sqrt(2)), abs=TOLERANCE)
    for track in (4, 6, 7):
        assert scores[track].item() < POPULARITY_TIE_BREAK
