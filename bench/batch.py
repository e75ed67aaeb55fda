"""The batch endpoint: ApacheBench POSTs of a JSON array of events to /events. Reports
events/s (2xx requests x events per request) and how many reached Kafka.

    python -m bench.batch --requests 200 --size 1000 --concurrency 4
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench import common, profiling
from game_events import settings, topic

KINDS = (
    lambda u, i: {"event_type": "purchase_sword", "user": u, "type": ("gold", "silver", "bronze")[i % 3]},
    lambda u, i: {"event_type": "join_a_guild", "user": u, "name": "knights"},
    lambda u, i: {"event_type": "quit_guild", "user": u, "name": "knights"},
    lambda u, i: {"event_type": "get_paid", "user": u, "amount": i},
)


def body(user: str, size: int) -> list[dict]:
    return [KINDS[i % len(KINDS)](user, i) for i in range(size)]


def run(requests: int, size: int, concurrency: int) -> dict:
    run_tag = common.tag()
    user = f"batch-{run_tag}"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "body.json"
        path.write_text(json.dumps(body(user, size)))
        start, cpu0 = topic.end_offsets(settings.TOPIC), common.cpu_seconds(common.service_pid("api"))
        r = common.ab(f"{common.API}/events", requests, concurrency, body=path)
        r["cpu_ms_per_event"] = round((common.cpu_seconds(common.service_pid("api")) - cpu0) * 1000
                                      / max(1, requests * size), 4)
        # The profile comes from a shorter run of its own: py-spy's sampling takes CPU too.
        path.write_text(json.dumps(body(f"profiled-{run_tag}", size)))
        with profiling.Profile(common.service_pid("api"), "batch-api") as prof:
            common.ab(f"{common.API}/events", max(concurrency, requests // 4), concurrency, body=path)
    r["profile"] = prof.summary()
    r.update(events_per_request=size, events_per_s=round(r["requests_per_s"] * size * r["ok_2xx"] / requests, 1),
             events_2xx=r["ok_2xx"] * size, in_kafka=common.count_on_topic(settings.TOPIC, start, user))
    return common.save("batch", r)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--size", type=int, default=1000, help="events per request (at most 1000)")
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    run(args.requests, args.size, args.concurrency)


if __name__ == "__main__":
    main()
