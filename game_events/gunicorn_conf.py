"""gunicorn settings for `make api`: one process, so one Kafka producer and one set of
counters, with threads to overlap the waits for Kafka's acknowledgements."""
import os

bind = f"{os.environ.get('API_HOST', '127.0.0.1')}:{os.environ.get('API_PORT', '5000')}"
workers = 1
worker_class = "gthread"
threads = 16
# Bounded requests: a long query string or header is refused before Flask sees it.
limit_request_line = 4094
limit_request_field_size = 1024
accesslog = "-"
