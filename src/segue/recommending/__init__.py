"""Recommending the next songs for a playlist, with thumbs-up and thumbs-down feedback."""

from segue.recommending.feedback import FeedbackLog, default_feedback_path
from segue.recommending.recommender import Recommender, TrackRef
from segue.recommending.session import Recommendation, Session
from segue.recommending.tracks import Track

__all__ = ["FeedbackLog", "Recommendation", "Recommender", "Session", "Track", "TrackRef", "default_feedback_path"]
