"""The API's WSGI target, `game_events.api.wsgi:app`: granian serves it (serve.py), and the
root script game_api.py re-exports it for the seed's `flask run`."""
from game_events.api import create_app

app = create_app()
