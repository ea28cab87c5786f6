"""Putting the app together from a run folder: the recommender, a library, a player and the server."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from segue.app.offline import OfflineLibrary, PreviewPlayer
from segue.app.server import create_app
from segue.recommending import Recommender


def build_app(
    run: str | Path,
    *,
    spotify: bool = False,
    port: int = 8888,
    dataset: str | Path | None = None,
    feedback: str | Path | None = None,
) -> tuple[FastAPI, Recommender]:
    """Return the app and its recommender, which the caller closes when the server stops."""
    recommender = Recommender.load(run, dataset=dataset, feedback=feedback)
    if not spotify:
        library = OfflineLibrary(recommender.dataset, recommender.lookup)
        return create_app(recommender, library, PreviewPlayer(library)), recommender

    from segue.app.spotify import SpotifyLibrary, SpotifyPlayer
    from segue.spotify.auth import SpotifySignIn, client_id_from_env, redirect_uri, token_cache_path
    from segue.spotify.client import SpotifyClient

    sign_in = SpotifySignIn(client_id_from_env(), redirect_uri(port), token_cache_path())
    client = SpotifyClient(sign_in.auth_manager)
    library = SpotifyLibrary(client)
    return create_app(recommender, library, SpotifyPlayer(client, library), sign_in), recommender
