"""A listening session: one playlist's recommendations, changed by the listener's feedback."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from segue.recommending.feedback import DISLIKE, LIKE
from segue.recommending.tracks import Track
from segue.scorers.base import ScorerState, top_k

if TYPE_CHECKING:
    from segue.recommending.recommender import Recommender, TrackRef


@dataclass(frozen=True)
class Recommendation(Track):
    """A recommended catalog track with its score.

    Scores are the model's, higher first: log-probabilities for neural models with a softmax
    output, the baseline's own scale otherwise, and training counts in a popularity-only session.
    """

    score: float


class Session:
    """The recommender's state for one playlist and the feedback given on it.

    The model reads ``input``: the playlist's tracks in the vocabulary, in order, then every liked
    track (also in ``liked``). Tracks outside the vocabulary, whether the catalog has them or not,
    are skipped and listed in ``unknown``. Input and disliked tracks are never recommended. Sessions are safe to use from
    several threads, and they never share feedback.
    """

    def __init__(
        self,
        recommender: Recommender,
        session_id: str,
        playlist: str | None,
        tracks: list[tuple[int | None, str]],
    ) -> None:
        self.recommender = recommender
        self.id, self.playlist = session_id, playlist
        self.input = [index for index, _ in tracks if index is not None]
        self.unknown = list(dict.fromkeys(label for index, label in tracks if index is None))
        self.playlist_length, self.playlist_known = len(tracks), len(self.input)
        self.liked: list[int] = []
        self.disliked: set[int] = set()

        self._excluded = torch.zeros(recommender.scorer.num_indices, dtype=torch.bool)
        self._excluded[self.input] = True
        self._state: ScorerState | None = recommender.scorer.read(self.input) if self.input else None
        self._lock = threading.Lock()

    @property
    def popularity_only(self) -> bool:
        """True while no input track is in the model's vocabulary, so recommendations are the most popular tracks."""
        return self._state is None

    def recommend(self, k: int = 10) -> list[Recommendation]:
        """Return up to k tracks, best first, never an input or disliked track."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        with self._lock:
            scores = self._state.scores() if self._state is not None else self.recommender.popularity_scores
            scores = scores.masked_fill(self._excluded, float("-inf"))
        values, indices = top_k(scores, k)

        tracks = self.recommender.lookup.tracks(indices.tolist())
        recommendations = []
        for index, score in zip(indices.tolist(), values.tolist()):
            recommendations.append(Recommendation(**vars(tracks[index]), score=score))
        return recommendations

    def like(self, track: TrackRef) -> bool:
        """Append a track to the input, as if the playlist ended with it, and log the thumbs-up.

        The model advances one step from its saved state. Returns False, and lists the track in
        ``unknown``, when the model does not know it.
        """
        return self.apply(track, LIKE)

    def dislike(self, track: TrackRef) -> bool:
        """Keep a track out of this session's recommendations from now on, and log the thumbs-down.

        Returns False when the model does not know the track, which it can then never recommend.
        """
        return self.apply(track, DISLIKE)

    def apply(self, track: TrackRef, value: int, record: bool = True) -> bool:
        """Apply one thumbs-up (``LIKE``) or thumbs-down (``DISLIKE``); ``record`` logs it."""
        if value not in (LIKE, DISLIKE):
            raise ValueError(f"feedback must be {LIKE} (like) or {DISLIKE} (dislike), got {value!r}")
        [(index, label)] = self.recommender.resolve([track])
        with self._lock:
            state = self._state
            if value == LIKE and index is not None:
                state = state.advance(index) if state is not None else self.recommender.scorer.read([index])
            if record:
                self.recommender.record(self, label, value)

            if index is None:
                if label not in self.unknown:
                    self.unknown.append(label)
                return False
            if value == LIKE:
                self._state = state
                self.input.append(index)
                self.liked.append(index)
                self.disliked.discard(index)
            else:
                self.disliked.add(index)
            self._excluded[index] = True
            return True
