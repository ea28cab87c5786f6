"""One recommender session per playlist, kept while the app runs and restored from the feedback log."""

from __future__ import annotations

import logging
import threading

from segue.app.library import Library
from segue.recommending import Recommender, Session

logger = logging.getLogger(__name__)


class PlaylistSessions:
    """The recommender session of each playlist the listener has opened.

    A playlist's first session is the last one logged for this run and playlist, restored with its
    feedback, as long as the playlist still has the same tracks. Otherwise a new session starts.
    """

    def __init__(self, recommender: Recommender, library: Library) -> None:
        self.recommender, self.library = recommender, library
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()
        # One lock per playlist being opened, so that concurrent first requests start one session
        # between them: a second logged session would win the restore after a restart.
        self.opening: dict[str, threading.Lock] = {}

    def get(self, playlist_id: str) -> Session:
        with self.lock:
            session = self.sessions.get(playlist_id)
            if session is not None:
                return session
            opening = self.opening.setdefault(playlist_id, threading.Lock())

        with opening:
            with self.lock:
                session = self.sessions.get(playlist_id)
            if session is not None:
                return session

            # Read the playlist outside the main lock: with Spotify that is a network call.
            listed = self.library.playlist(playlist_id)
            tracks = [track.uri for track in listed.tracks]
            session = self._restore(playlist_id, tracks) or self.recommender.start(tracks, playlist=playlist_id)
            with self.lock:
                self.sessions[playlist_id] = session
                self.opening.pop(playlist_id, None)
            return session

    def _restore(self, playlist_id: str, tracks: list[str]) -> Session | None:
        log = self.recommender.feedback
        if log is None:
            return None
        session_id = log.latest_session(self.recommender.run_id, playlist_id)
        saved = log.session(session_id) if session_id is not None else None
        if saved is None or saved.tracks != tracks:
            return None
        logger.info("playlist %s: restored session %s with %d feedback rows", playlist_id, saved.id, len(saved.feedback))
        return self.recommender.restore(saved.id)
