"""gunicorn settings for `make api`: a worker process per core (API_WORKERS), each with
its own Kafka producer (connected after the fork) and threads that overlap the waits for
Kafka's acknowledgements."""
import os

bind = f"{os.environ.get('API_HOST', '127.0.0.1')}:{os.environ.get('API_PORT', '5000')}"
workers = int(os.environ.get("API_WORKERS", os.cpu_count() or 1))
worker_class = "gthread"
threads = 16
# The app is built once, before the fork, so the workers share its counters.
preload_app = True
# Bounded requests: a long query string or header is refused before Flask sees it.
limit_request_line = 4094
limit_request_field_size = 1024
accesslog = "-"
