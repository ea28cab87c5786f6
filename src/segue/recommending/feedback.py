"""The feedback log: every session and every thumbs-up or thumbs-down, durably in SQLite.

A session's row keeps its input playlist and each feedback row its track and value, so a session
can be rebuilt after a restart by replaying them in order.
"""

from __future__ import annotations

import csv
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

import orjson
import platformdirs

from segue.errors import UserError

logger = logging.getLogger(__name__)

FEEDBACK_ENV = "SEGUE_FEEDBACK"
FEEDBACK_FILE = "feedback.sqlite"
SCHEMA_VERSION = 1
LIKE, DISLIKE = 1, -1
CSV_COLUMNS = ("time", "session", "playlist", "track", "feedback", "run")

_SCHEMA = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    started TEXT NOT NULL,
    run TEXT NOT NULL,
    playlist TEXT,
    tracks TEXT NOT NULL
);
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    session TEXT NOT NULL REFERENCES sessions (id),
    playlist TEXT,
    track TEXT NOT NULL,
    value INTEGER NOT NULL CHECK (value IN (-1, 1)),
    run TEXT NOT NULL
);
CREATE INDEX feedback_session ON feedback (session, id);
"""


def default_feedback_path() -> Path:
    """Return ``$SEGUE_FEEDBACK`` if set, else feedback.sqlite in the user's data folder."""
    override = os.environ.get(FEEDBACK_ENV)
    if override:
        return Path(override)
    return platformdirs.user_data_path("segue") / FEEDBACK_FILE


@dataclass(frozen=True)
class SavedSession:
    """A session as logged: what it started from, and its feedback in order."""

    id: str
    run: str
    playlist: str | None
    tracks: list[str]
    feedback: list[tuple[str, int]]  # (track URI, +1 or -1)


class FeedbackLog:
    """Sessions and feedback in one SQLite file, safe to share between threads.

    Each write is its own transaction, committed before the call returns. The file is in WAL mode
    with ``synchronous = NORMAL``, so readers such as an export do not block writers, and a commit
    survives a crash of the process. SQLite documents that a power cut in this mode can lose the
    last commits, but never corrupts the file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.connection.execute("PRAGMA busy_timeout = 5000")
            self._create_or_check()
        except sqlite3.DatabaseError as error:
            raise UserError(f"{self.path}: cannot open the feedback log: {error}") from None
        except OSError as error:
            raise UserError(f"{self.path}: cannot create the feedback log: {error}") from None

    def _create_or_check(self) -> None:
        # The immediate transaction makes a second process that opens a new log at the same time
        # wait here, then find the tables made.
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            version = self.connection.execute("PRAGMA user_version").fetchone()[0]
            tables = self.connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if version != SCHEMA_VERSION and (version != 0 or tables):
                raise UserError(
                    f"{self.path}: not a Segue feedback log (schema version {version}, {tables} tables); "
                    f"choose another file with --feedback or ${FEEDBACK_ENV}"
                )
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self.connection.execute(statement)
                self.connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                logger.info("created the feedback log %s", self.path)
            self.connection.execute("COMMIT")
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = NORMAL")

    def add_session(self, session: str, run: str, playlist: str | None, tracks: list[str]) -> None:
        with self.lock:
            self.connection.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                (session, _now(), run, playlist, orjson.dumps(tracks).decode()),
            )

    def add(self, session: str, playlist: str | None, track: str, value: int, run: str) -> None:
        """Log one thumbs-up (``LIKE``) or thumbs-down (``DISLIKE``) of ``track`` in ``session``."""
        if value not in (LIKE, DISLIKE):
            raise ValueError(f"feedback must be {LIKE} or {DISLIKE}, got {value}")
        with self.lock:
            self.connection.execute(
                "INSERT INTO feedback (time, session, playlist, track, value, run) VALUES (?, ?, ?, ?, ?, ?)",
                (_now(), session, playlist, track, value, run),
            )

    def session(self, session: str) -> SavedSession | None:
        """Return a logged session with its feedback, or None if the log has no such session."""
        with self.lock:
            found = self.connection.execute(
                "SELECT run, playlist, tracks FROM sessions WHERE id = ?", (session,)
            ).fetchone()
            if found is None:
                return None
            feedback = self.connection.execute(
                "SELECT track, value FROM feedback WHERE session = ? ORDER BY id", (session,)
            ).fetchall()
        run, playlist, tracks = found
        return SavedSession(session, run, playlist, orjson.loads(tracks), [tuple(row) for row in feedback])

    def latest_session(self, run: str, playlist: str) -> str | None:
        """Return the ID of the last session started with ``run`` on ``playlist``, or None."""
        with self.lock:
            found = self.connection.execute(
                "SELECT id FROM sessions WHERE run = ? AND playlist = ? ORDER BY started DESC, rowid DESC LIMIT 1",
                (run, playlist),
            ).fetchone()
        return found[0] if found else None

    def export_csv(self, out: TextIO, session: str | None = None) -> int:
        """Write the feedback, oldest first, as CSV with a header; return the number of rows."""
        query = "SELECT time, session, playlist, track, value, run FROM feedback"
        parameters: tuple = ()
        if session is not None:
            query, parameters = query + " WHERE session = ?", (session,)
        with self.lock:
            rows = self.connection.execute(query + " ORDER BY id", parameters).fetchall()

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows((time, sid, playlist or "", track, f"{value:+d}", run) for time, sid, playlist, track, value, run in rows)
        return len(rows)

    def close(self) -> None:
        with self.lock:
            self.connection.close()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
