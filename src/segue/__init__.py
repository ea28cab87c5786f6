"""Segue: next-song recommendation for playlists with memory-augmented neural networks."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
