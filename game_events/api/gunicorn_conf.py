"""gunicorn settings for the API (`python -m stack up api` runs
`gunicorn --config game_events/api/gunicorn_conf.py game_api:app`): a worker process per
core (API_WORKERS), each with its own Kafka producer (connected after the fork) and
threads that overlap the waits for Kafka's acknowledgements."""
from game_events import settings

bind = f"{settings.API_HOST}:{settings.API_PORT}"
workers = settings.API_WORKERS
worker_class = "gthread"
threads = 16
# The app is built once, before the fork, so the workers share its counters.
preload_app = True
# Bounded requests: a long query string or header is refused before Flask sees it.
limit_request_line = 4094
limit_request_field_size = 1024
accesslog = "-"
