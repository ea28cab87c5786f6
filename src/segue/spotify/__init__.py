"""Spotify: track links and URIs (and, with the app, the Web API)."""
