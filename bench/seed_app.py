"""The baseline for the ingest benchmark, in the seed's style: Flask's development server
and a KafkaProducer whose `send` nobody waits for (fire and forget), headers merged into
the event. Only the routes the benchmark calls.

    SEED_TOPIC=t flask --app bench/seed_app.py run --port P
"""
import json
import os

from flask import Flask, request
from kafka import KafkaProducer

from game_events import settings

app = Flask(__name__)
producer = KafkaProducer(bootstrap_servers=settings.KAFKA_BOOTSTRAP)
TOPIC = os.environ.get("SEED_TOPIC", "events")


def log_to_kafka(topic, event):
    event.update(request.headers)
    producer.send(topic, json.dumps(event).encode())


@app.route("/purchase_a_sword")
def purchase_a_sword():
    log_to_kafka(TOPIC, {"event_type": "purchase_sword", "user": request.args.get("user"),
                         "type": request.args.get("type")})
    return "Sword Purchased!\n"
