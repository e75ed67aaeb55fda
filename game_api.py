"""The game's web API: each route logs its event to the Kafka topic `events`.

    FLASK_APP=game_api.py flask run --host 0.0.0.0     (the seed's way)
    make api                                           (granian on API_HOST:API_PORT, 127.0.0.1:5000 by
                                                        default; see game_events/api/serve.py)
"""
# A shim: the app is built inside the package (game_events/api/wsgi.py); the seed's names stay here.
from game_events.api import create_app, log_to_kafka  # noqa: F401
from game_events.api.wsgi import app  # noqa: F401
