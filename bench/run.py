"""Runs every benchmark at one scale and writes the report.

    python -m bench.run            # full sizes (make bench): BENCHMARKS.md
    python -m bench.run --smoke    # tiny sizes (make bench-smoke): var/bench-smoke/BENCHMARKS.md
    STACK_PROFILE=cluster python -m bench.run   # (make bench PROFILE=cluster) ingest and the drain on
                                                # the cluster profile: BENCHMARKS.md's last section

It first brings the pipeline up (`python -m stack up pipeline`: the engines, the topic, the
tables, the API and the stream), as `make demo` does.
"""
from __future__ import annotations

import argparse
import time

from bench import batch, common, drain, freshness, ingest, metrics_cost, producer, query, report
from game_events import settings

SIZES = {
    "full": {"ingest": {"requests": 10000, "concurrency": [1, 8, 32], "rounds": 3},
             "batch": {"requests": 200, "size": 1000, "concurrency": 4, "rounds": 3},
             # Nine rounds: the on/off ratio is what counts, and one round's varies by 10-25% here.
             "metrics_cost": {"requests": 10000, "concurrency": [8, 32], "rounds": 9, "batch_requests": 200,
                              "batch_size": 100, "batch_concurrency": 4},
             "ids_cost": {"requests": 10000, "concurrency": [8, 32], "rounds": 9, "batch_requests": 200,
                          "batch_size": 100, "batch_concurrency": 4, "compare": "ids"},
             "producer": {"events": 200000},
             # Five rounds: one drain's time varies by a fifth from run to run on this machine.
             "drain": {"events": 1_000_000, "rounds": 5},
             "freshness": {"seconds": 120, "rate": 50},
             "query": {"events": [1_000_000, 10_000_000], "per_file": 10000, "repeat": 3}},
    "smoke": {"ingest": {"requests": 100, "concurrency": [1, 32], "rounds": 1},
              "batch": {"requests": 5, "size": 50, "concurrency": 2, "rounds": 2},
              "metrics_cost": {"requests": 100, "concurrency": [4], "rounds": 2, "batch_requests": 5,
                               "batch_size": 20, "batch_concurrency": 2},
              "ids_cost": {"requests": 100, "concurrency": [4], "rounds": 2, "batch_requests": 5,
                           "batch_size": 20, "batch_concurrency": 2, "compare": "ids"},
              "producer": {"events": 2000},
              # One round: each of its four jobs is a Spark start-up, and the smoke run only
              # checks that the scripts measure what they say.
              "drain": {"events": 1000, "rounds": 1},
              "freshness": {"seconds": 12, "rate": 2},
              "query": {"events": [5000], "per_file": 500, "repeat": 1}},
}


# ids_cost is metrics_cost's A/B run with compare="ids".
BENCHMARKS = {"ingest": ingest, "batch": batch, "metrics_cost": metrics_cost, "ids_cost": metrics_cost,
              "producer": producer, "drain": drain,
              "freshness": freshness, "query": query}
CLUSTER_BENCHMARKS = ["ingest", "drain"]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, to check that the scripts work")
    ap.add_argument("--only", help="run only these (comma-separated: " + ",".join(BENCHMARKS) + "); the report "
                    "keeps the other benchmarks' last results, each with when and on which commit it ran")
    args = ap.parse_args()
    scale = "smoke" if args.smoke else "full"
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        ap.error(f"unknown benchmark: {', '.join(sorted(unknown))} (choose from {', '.join(BENCHMARKS)})")
    s = SIZES[scale]
    if settings.CLUSTER:
        # The cluster profile measures ingest and the drain, at concurrency 32 in full size.
        names = [n for n in names if n in CLUSTER_BENCHMARKS] if args.only else CLUSTER_BENCHMARKS
        if not args.smoke:
            s = {**s, "ingest": {**s["ingest"], "concurrency": [32]}}
    common.OUT = settings.DATA / ("bench-smoke" if args.smoke else "bench")
    t0 = time.monotonic()
    common.pipeline()
    for name in names:
        BENCHMARKS[name].run(**s[name])
    out = common.OUT / "BENCHMARKS.md" if args.smoke else common.ROOT / "BENCHMARKS.md"
    current = out.read_text() if out.exists() else ""
    seconds = time.monotonic() - t0
    if settings.CLUSTER:
        single = settings.PROFILE_DATA["local"] / common.OUT.name
        out.write_text(report.combine(current, cluster=report.render_cluster(common.OUT, single, seconds)))
    else:
        out.write_text(report.combine(current, single=report.render(common.OUT, scale, seconds, names)))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
