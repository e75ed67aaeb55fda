"""Streaming throughput: preloads a backlog of events into a fresh topic, then times our
streaming job and the seed's UDF-filter design draining it to parquet in HDFS, one after
the other in the same run (each from a cold checkpoint; Spark's start-up is not timed).

    python -m bench.drain --events 1000000
"""
from __future__ import annotations

import argparse

from bench import common, profiling
from game_events import catalogue, settings

MIX = (  # the generate_events.sh mix, in proportion, and 1 in 12 `default` events: (event_type, parameters)
    ("purchase_sword", {"type": "gold"}),
    ("purchase_sword", {"type": "silver"}),
    ("purchase_sword", {"type": "bronze"}),
    ("join_a_guild", {"name": "knights"}),
    ("join_a_guild", {"name": "wizards"}),
    ("quit_guild", {"name": "knights"}),
    ("get_paid", {"amount": "100"}),
    ("get_paid", {"amount": "250"}),
    ("get_paid", {"amount": "40"}),
    ("purchase_sword", {"type": "gold"}),
    ("get_paid", {"amount": "7"}),
    ("default", {}),
)
HEADERS = {"Accept": "*/*", "Host": "user1.comcast.com", "User-Agent": "ApacheBench/2.3"}


def preload(topic: str, n: int) -> int:
    """Writes n events (acks=all) and returns how many are relevant (not ignored)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.KAFKA_BOOTSTRAP, acks="all", linger_ms=20,
                             batch_size=256 * 1024)
    relevant = 0
    for i in range(n):
        event_type, values = MIX[i % len(MIX)]
        event = catalogue.EVENTS[event_type]
        params = {**values, "user": f"user{i % 997}"} if event.params else values
        relevant += event_type not in catalogue.IGNORED_EVENT_TYPES
        # Exactly what the API would write for the same request.
        producer.send(topic, catalogue.encode({**HEADERS, **event.build(params)}))
    producer.flush()
    producer.close()
    return relevant


def run(events: int) -> dict:
    t = common.tag()
    topic, base = f"bench-drain-{t}", f"/tmp/bench/drain-{t}"
    relevant = preload(topic, events)
    env = {"EVENTS_TOPIC": topic, "EVENTS_PATH": f"{base}/ours/events", "BAD_EVENTS_PATH": f"{base}/ours/bad",
           "CHECKPOINT_PATH": f"{base}/ours/checkpoint"}
    jobs = {"ours": ("drain_ours.py", (), env),
            "seed": ("drain_seed.py", (f"{base}/seed/events", f"{base}/seed/checkpoint"), {"EVENTS_TOPIC": topic}),
            "floor": ("drain_floor.py", (f"{base}/floor/events", f"{base}/floor/checkpoint"), {"EVENTS_TOPIC": topic})}
    out = {"events": events, "relevant": relevant, "max_offsets_per_trigger": settings.MAX_OFFSETS_PER_TRIGGER}
    for name, (script, args, job_env) in jobs.items():
        recording = common.OUT / f"drain-{name}.jfr"
        recording.unlink(missing_ok=True)
        r = common.spark_submit(common.ROOT / "bench" / script, *args, env=job_env,
                                options=profiling.jfr_options(recording))
        r["events_per_s"] = round(events / r["seconds"], 1)
        r["profile"] = profiling.jfr_summary(recording)
        out[name] = r
    out["ratio"] = round(out["ours"]["events_per_s"] / out["seed"]["events_per_s"], 2)
    out["floor_ratio"] = round(out["floor"]["events_per_s"] / out["seed"]["events_per_s"], 2)
    return common.save("drain", out)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()
    run(args.events)


if __name__ == "__main__":
    main()
