"""`segue app`: serve the web app over the offline catalog or the listener's Spotify account."""

from __future__ import annotations

import argparse
import ipaddress
import socket

from segue.cli.recommend import add_feedback_option
from segue.errors import UserError

HELP = "serve the Segue web app: playlists, recommendations, playback and thumbs-up/down"


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser("app", help=HELP, description=HELP[0].upper() + HELP[1:] + ".")
    parser.add_argument("--run", dest="run_dir", required=True, metavar="RUN", help="run folder whose model recommends (neural or baseline)")
    parser.add_argument(
        "--spotify",
        action="store_true",
        help="show your Spotify playlists and play on Spotify Connect devices (needs SPOTIPY_CLIENT_ID); "
        "default: the run's dataset, with silent preview playback",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8888, help="port to listen on (default: 8888)")
    parser.add_argument("--dataset", metavar="DIR", help="dataset folder, if not the one the run was trained on")
    add_feedback_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from segue.app.build import build_app

    if not 0 < args.port < 65536:
        raise UserError(f"--port must be between 1 and 65535, got {args.port}")
    try:
        ipaddress.ip_address(args.host)
    except ValueError:
        raise UserError(f"--host must be an IP address such as 127.0.0.1, got {args.host!r}") from None
    if args.spotify and args.host != "127.0.0.1":
        # Spotify accepts the loopback address as a redirect URI, and the sign-in must come back here.
        raise UserError("--spotify needs --host 127.0.0.1: Spotify sends the sign-in back to http://127.0.0.1:PORT/callback")

    app, recommender = build_app(args.run_dir, spotify=args.spotify, port=args.port, dataset=args.dataset, feedback=args.feedback)
    try:
        # Try the address before printing it, so a busy port is an error here and not a dead link.
        # Uvicorn then binds it again itself: with a socket handed to it, the app served about 40% fewer requests per second
        # in benchmarks/bench_app.py.
        _check_free(args.host, args.port)
        url_host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"Segue app for run {args.run_dir} ({recommender.scorer.name}): open http://{url_host}:{args.port}/", flush=True)
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning"))
        try:
            server.run()
        except KeyboardInterrupt:
            # Uvicorn shuts down on Ctrl-C and then raises it again; stopping is the normal end.
            pass
    finally:
        recommender.close()
    print("Segue app stopped", flush=True)
    return 0


def _check_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Uvicorn sets SO_REUSEADDR too, so a port left in TIME_WAIT is not reported as busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise UserError(f"cannot listen on {host}:{port}: {error.strerror}; choose another --port or --host") from None
