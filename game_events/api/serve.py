"""Serves the API with granian, a Rust HTTP server, in WSGI mode: `python -m stack up api`
runs `python -m game_events.api.serve`.

Two worker processes per core (API_WORKERS), each with API_THREADS threads that overlap
the waits for Kafka's acknowledgements and its own Kafka producer, created after the fork.
gunicorn gthread took about twice the CPU per request on this path (README, "The API");
Flask's own `flask run` still works for the seed's walkthrough.
"""
from __future__ import annotations

import argparse

from granian import Granian
from granian.constants import Interfaces
from granian.http import HTTP1Settings

from game_events import settings
from game_events.api import metrics

TARGET = "game_events.api.wsgi:app"


def server(access_log: bool = settings.API_ACCESS_LOG) -> Granian:
    if settings.API_METRICS:
        # Before the app exists and before the fork: each worker counts into its own files there.
        metrics.use_directory(settings.API_METRICS_DIR)
    # Imported before the fork: the workers inherit the built app, so they share its counters.
    import game_events.api.wsgi  # noqa: F401

    granian = Granian(TARGET, address=settings.API_HOST, port=settings.API_PORT, interface=Interfaces.WSGI,
                      workers=settings.API_WORKERS, blocking_threads=settings.API_THREADS,
                      websockets=False, http="1",
                      # Bounded requests: a request line or headers over 16 KiB get a 431 before
                      # Flask sees them (Flask's own bounds, such as 2 KiB of query, are smaller).
                      http1_settings=HTTP1Settings(max_buffer_size=16 * 1024),
                      log_access=access_log, log_access_format=ACCESS_FORMAT,
                      # A worker that dies (OOM, a native crash) is replaced instead of halving the API.
                      respawn_failed_workers=True, respawn_interval=1.0)
    if settings.API_METRICS and settings.API_METRICS_PORT:
        # The metrics' own port is served by granian's main process, in one thread started by
        # this hook before the workers fork (a fork copies only the forking thread, so no
        # worker runs it). That process lives as long as the server and serves no request; a
        # scrape needs only the workers' files. A worker could not own the port: a respawned
        # one starts before the one it replaces has stopped, and both would want it.
        granian.on_startup(lambda: metrics.serve_port(settings.API_METRICS_HOST, settings.API_METRICS_PORT))
    return granian


# Apache's common log format, as gunicorn wrote it, plus the time taken.
ACCESS_FORMAT = '%(addr)s - - [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-access-log", action="store_true", help="do not log a line per request "
                    "(also API_ACCESS_LOG=0)")
    args = ap.parse_args()
    server(access_log=settings.API_ACCESS_LOG and not args.no_access_log).serve()


if __name__ == "__main__":
    main()
