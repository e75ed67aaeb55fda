"""Ingest: ApacheBench against our API (granian, acks=all) and, in the same run, against
the seed-style baseline (Flask's development server, fire-and-forget send), at each
concurrency, with keep-alive (`ab -k`) and without. Each pair runs ROUNDS times, ours and
the baseline interleaved (ABAB), and the medians are compared. Reports requests/s, p50/p99
latency, CPU per request of the server process, how many of each side's 2xx events
reached Kafka, and the load average at each run.

    python -m bench.ingest --requests 10000 --concurrency 1,8,32 --rounds 3
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time

from bench import common, profiling
from game_events import settings, topic


def measure(url: str, pid: int, n: int, c: int, keep_alive: bool, name: str, marker: str,
            settle_s: float = 0) -> dict:
    start, cpu0, load = topic.end_offsets(name), common.cpu_seconds(pid), common.load()
    r = common.ab(url, n, c, keep_alive=keep_alive)
    time.sleep(settle_s)
    r["cpu_ms_per_request"] = round((common.cpu_seconds(pid) - cpu0) * 1000 / max(1, r["ok_2xx"] + r["failed"]), 3)
    r["in_kafka"] = common.count_on_topic(name, start, marker)
    r["durable_pct"] = round(100 * r["in_kafka"] / r["ok_2xx"], 2) if r["ok_2xx"] else None
    r["load"] = load
    return r


def summary(runs: list[dict]) -> dict:
    """One side's rounds: the medians (with their range) and the sums that must add up."""
    out = {k: common.spread([r[k] for r in runs]) for k in ("requests_per_s", "p50_ms", "p99_ms",
                                                             "cpu_ms_per_request")}
    ok, kafka = sum(r["ok_2xx"] for r in runs), sum(r["in_kafka"] for r in runs)
    out.update(ok_2xx=ok, failed=sum(r["failed"] for r in runs), in_kafka=kafka,
               durable_pct=round(100 * kafka / ok, 2) if ok else None, load=[r["load"] for r in runs])
    return out


def requests_at(requests: int, c: int) -> int:
    # One client waits for each reply: a tenth of the requests keeps c=1 to a minute or so,
    # and at least 100 give the CPU clock (10 ms ticks) something to count.
    return requests if c >= 8 else max(100, requests // 10)


def run(requests: int, concurrency: list[int], rounds: int = 3) -> dict:
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
            n = requests_at(requests, c)
            for keep_alive in (True, False):
                user = f"ingest-{run_tag}-c{c}-{'k' if keep_alive else 'n'}"
                path = f"/purchase_a_sword?user={user}&type=gold"
                ours, base = [], []
                for _ in range(rounds):
                    ours.append(measure(common.API + path, ours_pid, n, c, keep_alive, settings.TOPIC, user))
                    # The baseline's producer sends in the background; give it a second before counting.
                    base.append(measure(f"http://127.0.0.1:{port}{path}", seed.pid, n, c, keep_alive, seed_topic,
                                        user, settle_s=1))
                row = {"concurrency": c, "keep_alive": keep_alive, "requests": n, "rounds": rounds,
                       "ours": summary(ours), "seed": summary(base),
                       "ratio_per_round": [round(a["requests_per_s"] / b["requests_per_s"], 2)
                                           for a, b in zip(ours, base)]}
                row["ratio_rps"] = round(row["ours"]["requests_per_s"]["median"]
                                         / row["seed"]["requests_per_s"]["median"], 2)
                rows.append(row)
            # py-spy's sampling takes CPU too: the profile comes from a shorter run of its own,
            # so that neither side's figures above were measured under a profiler.
            with profiling.Profile(ours_pid, f"ingest-api-c{c}") as prof:
                common.ab(f"{common.API}/purchase_a_sword?user=profiled-{run_tag}&type=gold", max(c, n // 4), c,
                          keep_alive=True)
            rows[-2]["ours"]["profile"] = prof.summary()
    finally:
        os.killpg(seed.pid, signal.SIGTERM)
        seed.wait(30)
    return common.save("ingest", {"requests": requests, "rounds": rounds, "runs": rows})


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=10000, help="requests per run at concurrency 8 and more "
                    "(a tenth of it, at least 100, at lower concurrency)")
    ap.add_argument("--concurrency", default="1,8,32")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each side, interleaved (ABAB)")
    args = ap.parse_args()
    run(args.requests, [int(c) for c in args.concurrency.split(",")], args.rounds)


if __name__ == "__main__":
    main()
