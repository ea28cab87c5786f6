"""Recommending from any trained run: tracks in, ranked tracks out, with feedback sessions."""

from __future__ import annotations

import logging
import numbers
import secrets
from pathlib import Path
from typing import Literal

import torch

from segue.errors import UserError
from segue.recommending.feedback import FeedbackLog, default_feedback_path
from segue.recommending.session import Session
from segue.recommending.tracks import TrackLookup
from segue.scorers.runs import ScorerRun, load_scorer
from segue.spotify.links import link_to_uri

logger = logging.getLogger(__name__)

# A track is named by its URI, or by its catalog index (``Dataset.tracks_full``).
TrackRef = str | int


class Recommender:
    """A trained run, neural model or baseline, with its catalog and a feedback log.

    >>> recommender = Recommender.load("runs/mann")
    >>> session = recommender.start(["spotify:track:7KXjTSCq5nL1LoYtL7XAwS"])
    >>> session.recommend(10)
    """

    def __init__(self, loaded: ScorerRun, feedback: FeedbackLog | None) -> None:
        self.loaded, self.scorer, self.dataset = loaded, loaded.scorer, loaded.dataset
        self.run_id = str(loaded.path.resolve())
        self.feedback = feedback
        self.lookup = TrackLookup(self.dataset.catalog())

        # The fallback for a session with no known track: training counts, highest first.
        counts = self.lookup.training_counts(self.scorer.num_indices)
        self.popularity_scores = torch.from_numpy(counts).float()
        self.popularity_scores[counts == 0] = float("-inf")

    @classmethod
    def load(
        cls,
        run: str | Path,
        *,
        dataset: str | Path | None = None,
        feedback: str | Path | Literal[False] | None = None,
        checkpoint: str = "best",
    ) -> Recommender:
        """Load a run folder written by `segue train`.

        ``feedback`` is the SQLite feedback log: None for ``default_feedback_path()``, or False to
        keep sessions in memory only, unlogged and not restorable.
        """
        loaded = load_scorer(run, dataset, checkpoint)
        log = None
        if feedback is not False:
            log = FeedbackLog(feedback if feedback is not None else default_feedback_path())
        logger.debug("loaded %s (%s) with %d track indices", loaded.path, loaded.scorer.name, loaded.scorer.num_indices)
        return cls(loaded, log)

    def start(self, tracks: list[TrackRef], playlist: str | None = None) -> Session:
        """Start a session on a playlist, given as track URIs, Spotify links or catalog indices in order.

        ``playlist`` names where the tracks came from, such as a dataset key or a Spotify playlist
        ID, in the feedback log.
        """
        resolved = self.resolve(tracks)
        session = Session(self, secrets.token_hex(8), playlist, resolved)
        if self.feedback is not None:
            self.feedback.add_session(session.id, self.run_id, playlist, [label for _, label in resolved])
        logger.debug(
            "session %s: %d input tracks, %d unknown%s", session.id, len(session.input), len(session.unknown),
            ", popularity only" if session.popularity_only else "",
        )
        return session

    def restore(self, session_id: str) -> Session:
        """Rebuild a logged session: its playlist, then its feedback replayed in order."""
        saved = self.feedback.session(session_id) if self.feedback is not None else None
        if saved is None:
            where = self.feedback.path if self.feedback is not None else "memory (no feedback log)"
            raise UserError(f"session {session_id!r} not found in {where}")
        if saved.run != self.run_id:
            logger.warning("session %s was started with run %s and is restored with %s", session_id, saved.run, self.run_id)

        session = Session(self, saved.id, saved.playlist, self.resolve(saved.tracks))
        for track, value in saved.feedback:
            session.apply(track, value, record=False)
        return session

    def resolve(self, tracks: list[TrackRef]) -> list[tuple[int | None, str]]:
        """Return (vocabulary index or None, URI) per track.

        A string is a URI or an open.spotify.com track link, which becomes its URI, and a malformed
        link raises ValueError. An int is a catalog index, and one outside the catalog raises
        ValueError too. A catalog track outside the vocabulary is unknown, like a URI that
        the catalog does not have.
        """
        tracks = [link_to_uri(track) if isinstance(track, str) else track for track in tracks]
        uris = [track for track in tracks if isinstance(track, str)]
        numbers_given = [int(track) for track in tracks if _is_index(track)]
        if len(uris) + len(numbers_given) != len(tracks):
            wrong = next(track for track in tracks if not isinstance(track, str) and not _is_index(track))
            raise TypeError(f"a track is a URI (str) or a catalog index (int), got {type(wrong).__name__}: {wrong!r}")

        index_of = self.lookup.indices_of(uris)
        uri_of = {index: track.uri for index, track in self.lookup.tracks(numbers_given).items()}
        resolved = []
        for track in tracks:
            if isinstance(track, str):
                index, label = index_of.get(track), track
            else:
                index = int(track)
                if index not in uri_of:
                    raise ValueError(f"track index {index} is not in the catalog of {self.dataset.path}")
                label = uri_of[index]
            known = index is not None and 1 < index < self.scorer.num_indices
            resolved.append((index if known else None, label))
        return resolved

    def record(self, session: Session, track: str, value: int) -> None:
        if self.feedback is not None:
            self.feedback.add(session.id, session.playlist, track, value, self.run_id)

    def close(self) -> None:
        self.lookup.close()
        if self.feedback is not None:
            self.feedback.close()

    def __enter__(self) -> Recommender:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _is_index(track: object) -> bool:
    return isinstance(track, numbers.Integral) and not isinstance(track, bool)
