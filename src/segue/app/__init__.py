"""The Segue app: a local web UI and JSON API over a music library, a player and a recommender."""
