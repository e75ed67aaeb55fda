"""The batch endpoint: ApacheBench POSTs of a JSON array of events to /events. Reports
events/s (2xx requests x events per request) and how many reached Kafka, over several
runs (the median and its range), with the load average at each.

    python -m bench.batch --requests 200 --size 1000 --concurrency 4
"""
from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from pathlib import Path

from bench import common, profiling
from game_events import settings, topic

KINDS = (
    lambda u, i: {"event_type": "purchase_sword", "user": u, "type": ("gold", "silver", "bronze")[i % 3]},
    lambda u, i: {"event_type": "join_a_guild", "user": u, "name": "knights"},
    lambda u, i: {"event_type": "quit_guild", "user": u, "name": "knights"},
    lambda u, i: {"event_type": "get_paid", "user": u, "amount": i},
)


def body(user: str, size: int, client_ids: bool = False) -> list[dict]:
    """size events; with client_ids, each carries an event_id of the client's (the API
    assigns one otherwise). ab resends the same body, so the ids repeat between requests."""
    events = [KINDS[i % len(KINDS)](user, i) for i in range(size)]
    return [{"event_id": str(uuid.uuid4()), **e} for e in events] if client_ids else events


def once(user: str, requests: int, size: int, concurrency: int, path: Path, client_ids: bool = False) -> dict:
    path.write_text(json.dumps(body(user, size, client_ids)))
    pid, load = common.service_pid("api"), common.load()
    start, cpu0 = topic.end_offsets(settings.TOPIC), common.cpu_seconds(pid)
    r = common.ab(f"{common.API}/events", requests, concurrency, body=path)
    r["cpu_ms_per_event"] = round((common.cpu_seconds(pid) - cpu0) * 1000 / max(1, requests * size), 4)
    r.update(events_per_s=round(r["requests_per_s"] * size * r["ok_2xx"] / requests, 1),
             events_2xx=r["ok_2xx"] * size, in_kafka=common.count_on_topic(settings.TOPIC, start, user), load=load)
    return r


def run(requests: int, size: int, concurrency: int, rounds: int = 3, client_ids: bool = False) -> dict:
    run_tag = common.tag()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "body.json"
        runs = [once(f"batch-{run_tag}-{i}", requests, size, concurrency, path, client_ids) for i in range(rounds)]
        # The profile comes from a shorter run of its own: py-spy's sampling takes CPU too.
        path.write_text(json.dumps(body(f"profiled-{run_tag}", size)))
        with profiling.Profile(common.service_pid("api"), "batch-api") as prof:
            common.ab(f"{common.API}/events", max(concurrency, requests // 4), concurrency, body=path)
    return common.save("batch", {
        "requests": requests, "concurrency": concurrency, "events_per_request": size, "rounds": rounds,
        "client_ids": client_ids,
        "runs": runs, "profile": prof.summary(),
        **{k: common.spread([r[k] for r in runs]) for k in ("events_per_s", "p50_ms", "p99_ms", "cpu_ms_per_event")},
        "events_2xx": sum(r["events_2xx"] for r in runs), "in_kafka": sum(r["in_kafka"] for r in runs)})


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--size", type=int, default=1000, help="events per request (at most 1000)")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--client-ids", action="store_true", help="each event carries its own event_id")
    args = ap.parse_args()
    run(args.requests, args.size, args.concurrency, args.rounds, args.client_ids)


if __name__ == "__main__":
    main()
