"""Streaming throughput: preloads a backlog of events into a fresh topic, then times our
streaming job and the seed's UDF-filter design draining it to parquet in HDFS, one after
the other in the same run, ROUNDS times, interleaved; the medians are compared. Each job
starts from a cold checkpoint, and its clock from the moment its SparkSession is up: the
definition of its Kafka source and its query's start count, the session's start-up not.

    python -m bench.drain --events 1000000
"""
from __future__ import annotations

import argparse
import uuid

from bench import common, profiling
from game_events import catalogue, settings, topic

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


def preload(name: str, n: int) -> int:
    """Writes n events (acks=all) and returns how many are relevant (not ignored)."""
    values, relevant = [], 0
    for i in range(n):
        event_type, given = MIX[i % len(MIX)]
        event = catalogue.EVENTS[event_type]
        params = {**given, "user": f"user{i % 997}"} if event.params else given
        relevant += event_type not in catalogue.IGNORED_EVENT_TYPES
        # Exactly what the API would write for the same request, with an id it assigned.
        values.append(catalogue.encode(catalogue.record(str(uuid.uuid4()), HEADERS, event.build(params))))
    topic.produce(name, values, timeout_s=120, **{"queue.buffering.max.messages": max(100_000, n)})
    return relevant


def run(events: int, rounds: int = 3) -> dict:
    if settings.CLUSTER:
        # The stream holds both workers' cores, and a job waits for cores: stop it meanwhile.
        common.launcher("down", "stream")
        try:
            return _run(events, rounds)
        finally:
            common.launcher("up", "stream")
    return _run(events, rounds)


def _run(events: int, rounds: int) -> dict:
    t = common.tag()
    topic_name = f"bench-drain-{t}"
    relevant = preload(topic_name, events)
    out = {"events": events, "relevant": relevant, "max_offsets_per_trigger": settings.MAX_OFFSETS_PER_TRIGGER,
           "min_partitions": settings.STREAM_MIN_PARTITIONS, "rounds": rounds}
    runs: dict[str, list[dict]] = {"ours": [], "ours_nodedup": [], "ours_sql": [], "seed": [], "floor": []}
    # ABAB: each round runs every job once, each from a cold checkpoint of its own.
    for i in range(rounds):
        base = f"/tmp/bench/drain-{t}/{i}"
        def ours(parser: str, dedup: str = "on") -> dict:
            at = f"{base}/{parser}-{dedup}"
            return {"EVENTS_TOPIC": topic_name, "EVENTS_PATH": f"{at}/events", "STREAM_PARSER": parser,
                    "STREAM_DEDUP": dedup, "BAD_EVENTS_PATH": f"{at}/bad", "CHECKPOINT_PATH": f"{at}/checkpoint",
                    "DEDUP_PATH": f"{at}/checkpoint/dedup"}
        # Ours with each parser (game_events.stream.parsers): java, the default, and sql; and
        # java without the deduplication, for what it costs.
        jobs = {"ours": ("drain_ours.py", (), ours("java")), "ours_nodedup": ("drain_ours.py", (), ours("java", "off")),
                "ours_sql": ("drain_ours.py", (), ours("sql")),
                "seed": ("drain_seed.py", (f"{base}/seed/events", f"{base}/seed/checkpoint"),
                         {"EVENTS_TOPIC": topic_name}),
                "floor": ("drain_floor.py", (f"{base}/floor/events", f"{base}/floor/checkpoint"),
                          {"EVENTS_TOPIC": topic_name})}
        for job, (script, args, job_env) in jobs.items():
            # Flight Recorder samples the first round only: its own cost stays out of the others.
            recording = common.OUT / f"drain-{job}.jfr" if i == 0 else None
            if recording:
                recording.parent.mkdir(parents=True, exist_ok=True)
                recording.unlink(missing_ok=True)
            load = common.load()
            r = common.spark_submit(common.ROOT / "bench" / script, *args, env=job_env,
                                    options=profiling.jfr_options(recording) if recording else [])
            r.update(events_per_s=round(events / r["seconds"], 1), load=load)
            if recording:
                r["profile"] = profiling.jfr_summary(recording)
            runs[job].append(r)
    for job, rs in runs.items():
        out[job] = {"seconds": common.spread([r["seconds"] for r in rs]),
                     "events_per_s": common.spread([r["events_per_s"] for r in rs]),
                     "rows_landed": [r["rows_landed"] for r in rs], "load": [r["load"] for r in rs],
                     "batches": rs[-1]["batches"], "batches_per_round": [r["batches"] for r in rs],
                     "profile": rs[0].get("profile")}
    med = {job: out[job]["events_per_s"]["median"] for job in runs}
    out["ratio"] = round(med["ours"] / med["seed"], 2)
    out["floor_ratio"] = round(med["floor"] / med["seed"], 2)
    out["ours_over_floor_time"] = round(out["ours"]["seconds"]["median"] / out["floor"]["seconds"]["median"], 2)
    out["sql_ratio"] = round(med["ours_sql"] / med["seed"], 2)
    out["dedup_over_nodedup_time"] = round(out["ours"]["seconds"]["median"] / out["ours_nodedup"]["seconds"]["median"],
                                           2)
    out["sql_over_java_time"] = round(out["ours_sql"]["seconds"]["median"] / out["ours"]["seconds"]["median"], 2)
    return common.save("drain", out)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    run(args.events, args.rounds)


if __name__ == "__main__":
    main()
