"""Ingest: ApacheBench against our API (gunicorn, acks=all) and, in the same run, against
the seed-style baseline (Flask's development server, fire-and-forget send), at each
concurrency. Reports requests/s, p50/p99 latency, CPU per request of the server process
and how many of each side's 2xx events reached Kafka.

    python -m bench.ingest --requests 20000 --concurrency 1,8,32
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time

from bench import common, profiling
from game_events import settings, topic


def measure(url: str, pid: int, n: int, c: int, name: str, marker: str, settle_s: float = 0) -> dict:
    start, cpu0 = topic.end_offsets(name), common.cpu_seconds(pid)
    r = common.ab(url, n, c)
    time.sleep(settle_s)
    r["cpu_ms_per_request"] = round((common.cpu_seconds(pid) - cpu0) * 1000 / max(1, r["ok_2xx"] + r["failed"]), 3)
    r["in_kafka"] = common.count_on_topic(name, start, marker)
    r["durable_pct"] = round(100 * r["in_kafka"] / r["ok_2xx"], 2) if r["ok_2xx"] else None
    return r


def run(requests: int, concurrency: list[int]) -> dict:
    run_tag = common.tag()
    ours_pid = common.service_pid("api")
    port, seed_topic = common.free_port(), f"bench-seed-{run_tag}"
    seed = subprocess.Popen([common.PY, "-m", "flask", "--app", "bench/seed_app.py", "run", "--port", str(port)],
                            cwd=common.ROOT, env={**os.environ, "SEED_TOPIC": seed_topic}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    rows = []
    try:
        common.wait_http(f"http://127.0.0.1:{port}/")
        for c in concurrency:
            user = f"ingest-{run_tag}-c{c}"
            path = f"/purchase_a_sword?user={user}&type=gold"
            ours = measure(common.API + path, ours_pid, requests, c, settings.TOPIC, user)
            # py-spy's sampling takes CPU too: the profile comes from a shorter run of its own,
            # so that neither side's figures above were measured under a profiler.
            with profiling.Profile(ours_pid, f"ingest-api-c{c}") as prof:
                common.ab(f"{common.API}/purchase_a_sword?user=profiled-{run_tag}&type=gold", max(c, requests // 4), c)
            ours["profile"] = prof.summary()
            # The baseline's producer sends in the background; give it a second before counting.
            base = measure(f"http://127.0.0.1:{port}{path}", seed.pid, requests, c, seed_topic, user, settle_s=1)
            rows.append({"concurrency": c, "ours": ours, "seed": base,
                         "ratio_rps": round(ours["requests_per_s"] / base["requests_per_s"], 2)})
    finally:
        os.killpg(seed.pid, signal.SIGTERM)
        seed.wait(30)
    return common.save("ingest", {"requests": requests, "runs": rows})


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=20000, help="requests per side and concurrency")
    ap.add_argument("--concurrency", default="1,8,32")
    args = ap.parse_args()
    run(args.requests, [int(c) for c in args.concurrency.split(",")])


if __name__ == "__main__":
    main()
