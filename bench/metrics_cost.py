"""What the API's Prometheus metrics cost: two fresh APIs, started as the launcher starts
the API (`python -m game_events.api.serve`, the same workers and threads, the access log
as set), one with API_METRICS=1 and one with API_METRICS=0, each on a free port with its
own metric files, both producing to a topic of this benchmark's own. At each concurrency,
after an unmeasured warm-up of each, ApacheBench GET `/purchase_a_sword` with keep-alive
runs against both in turn for ROUNDS rounds, the side that goes first alternating from
round to round (on, off, off, on, ...) so that a load that drifts during the run weighs on
both alike; then the same for POST `/events` batches. Reports requests/s, p50/p99, CPU
per request of each API's whole process tree (granian's main process and its workers),
how many of each side's 2xx events reached Kafka, the on/off ratio per round and the
overhead of the medians.

    python -m bench.metrics_cost --requests 10000 --concurrency 8,32 --rounds 9

With `--compare ids`, the same A/B measures what client-sent event ids cost (issue 26): two
APIs as the stack's (metrics on), the "on" side's requests carrying an `event_id` (ab
resends one GET, so one id; each batch event its own) and the "off" side's none, so the API
makes one. Its results are saved as ids_cost.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import requests as http

from bench import batch, common
from game_events import settings, topic
from stack import commands

SIDES = ("on", "off")
# What "on" and "off" mean: the API's metrics, or ids sent by the client.
COMPARE = ("metrics", "ids")


def start_api(metrics: bool, topic_name: str, folder: Path) -> tuple[subprocess.Popen, str]:
    """An API of the benchmark's own, started as the launcher starts the stack's (its command
    line, in a session of its own), on a free port with its own metric files (the API empties
    API_METRICS_DIR when it starts: the stack's must not be touched)."""
    port = common.free_port()
    env = {**os.environ, "API_PORT": str(port), "API_METRICS": "1" if metrics else "0",
           "API_METRICS_DIR": str(folder / "metrics"), "API_METRICS_PORT": "0", "EVENTS_TOPIC": topic_name}
    # Not a service of the launcher's: `make status` and `make down` must not take it for the stack's API.
    env.pop("GAME_EVENTS_SERVICE", None)
    with open(folder / "api.log", "ab") as log:
        proc = subprocess.Popen(commands.api(), cwd=common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def wait_healthy(proc: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> None:
    """Until GET /health answers 200 (Kafka reachable from the API)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the API at {url} exited {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if http.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except http.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url}/health did not answer 200 within {timeout:.0f}s:\n{log.read_text()[-2000:]}")


def stop_api(proc: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM to the API's process group (granian's main process and its workers), SIGKILL
    to what is left of it after grace_s."""
    def signal_group(sig) -> bool:
        try:
            os.killpg(proc.pid, sig)
            return True
        except ProcessLookupError:
            return False

    signal_group(signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        pass
    t0 = time.monotonic()
    # The main process may be gone while a worker is not: the group is empty only when killpg finds none.
    while signal_group(0) and time.monotonic() - t0 < 5:
        time.sleep(0.1)
    if signal_group(signal.SIGKILL):
        proc.wait(10)


EVENT_ID = re.compile(rb'"event_id":"([0-9a-fA-F-]{36})"')


def measure(url: str, pid: int, n: int, c: int, topic_name: str, marker: str, body: Path | None = None,
            events_per_request: int = 1, client_ids: frozenset[str] = frozenset()) -> dict:
    """One ab run against one side: its figures, its CPU over the API's process tree and its
    events found on the topic, and how many of those carry one of client_ids."""
    start, cpu0, load = topic.end_offsets(topic_name), common.cpu_seconds(pid), common.load()
    r = common.ab(url, n, c, body=body, keep_alive=True)
    r["cpu_ms_per_request"] = round((common.cpu_seconds(pid) - cpu0) * 1000 / max(1, r["ok_2xx"] + r["failed"]), 3)
    r["events_2xx"] = r["ok_2xx"] * events_per_request
    mine = [v for _, _, v in topic.read(topic_name, start) if v is not None and marker.encode() in v]
    r["in_kafka"] = len(mine)
    r["with_client_ids"] = sum(1 for v in mine if (m := EVENT_ID.search(v)) and m[1].decode() in client_ids)
    r["load"] = load
    return r


def summary(runs: list[dict]) -> dict:
    """One side's rounds: the medians (with their range) and the sums that must add up."""
    out = {k: common.spread([r[k] for r in runs]) for k in ("requests_per_s", "p50_ms", "p99_ms",
                                                             "cpu_ms_per_request")}
    ok, events, kafka, ids = (sum(r[k] for r in runs) for k in ("ok_2xx", "events_2xx", "in_kafka", "with_client_ids"))
    out.update(ok_2xx=ok, failed=sum(r["failed"] for r in runs), events_2xx=events, in_kafka=kafka, with_client_ids=ids,
               durable_pct=round(100 * kafka / events, 2) if events else None, load=[r["load"] for r in runs])
    return out


def pair(apis: dict, route: str, n: int, c: int, rounds: int, topic_name: str, marker: str,
         body: list[dict] | None = None, folder: Path | None = None, on_body: list[dict] | None = None,
         on_query: str = "") -> dict:
    """Both sides at one concurrency: a warm-up of each, then `rounds` rounds, each side once
    per round, the side that goes first alternating. The "on" side sends on_body for body,
    and on_query added to its route, when given."""
    files = {}
    for side in SIDES:
        if body is not None:  # each side's events carry its own marker
            files[side] = folder / f"body-{side}.json"
            files[side].write_text(json.dumps(on_body if side == "on" and on_body else body)
                                   .replace(marker, f"{marker}-{side}"))
    url = {side: apis[side][1] + route.replace(marker, f"{marker}-{side}") + (on_query if side == "on" else "")
           for side in SIDES}
    size = len(body) if body is not None else 1
    # The ids the "on" side sends: its events on the topic must carry them, the other side's none.
    client_ids = frozenset(re.findall(r"event_id=([0-9a-f-]{36})", on_query) +
                           [e["event_id"] for e in on_body or ()])
    for side in SIDES:  # a warm-up, not measured: the workers' first requests, the producers' connections
        warm = route.replace(marker, f"{marker}-warm-{side}")
        if body is not None:
            (folder / "warm.json").write_text(json.dumps(body).replace(marker, f"{marker}-warm-{side}"))
        common.ab(apis[side][1] + warm, max(4 * c, n // 5), c, body=folder / "warm.json" if body else None,
                  keep_alive=True)
    runs = {side: [] for side in SIDES}
    for i in range(rounds):
        for side in (SIDES if i % 2 == 0 else SIDES[::-1]):
            runs[side].append(measure(url[side], apis[side][0].pid, n, c, topic_name, f"{marker}-{side}",
                                      files.get(side), size, client_ids))
    row = {"route": "POST /events" if body is not None else "GET " + route.split("?")[0], "concurrency": c,
           "keep_alive": True, "requests": n, "events_per_request": size, "rounds": rounds,
           **{side: summary(runs[side]) for side in SIDES},
           "ratio_per_round": [round(a["requests_per_s"] / b["requests_per_s"], 3)
                               for a, b in zip(runs["on"], runs["off"])],
           "cpu_ratio_per_round": [round(a["cpu_ms_per_request"] / b["cpu_ms_per_request"], 3)
                                   if b["cpu_ms_per_request"] else None for a, b in zip(runs["on"], runs["off"])]}
    on, off = row["on"], row["off"]
    row["ratio_rps"] = round(on["requests_per_s"]["median"] / off["requests_per_s"]["median"], 3)
    # What the metrics cost: the throughput lost, and the CPU per request added, on over off.
    row["overhead_pct"] = round(100 * (1 - row["ratio_rps"]), 1)
    off_cpu = off["cpu_ms_per_request"]["median"]
    row["cpu_overhead_pct"] = round(100 * (on["cpu_ms_per_request"]["median"] / off_cpu - 1), 1) if off_cpu else None
    return row


def run(requests: int, concurrency: list[int], rounds: int = 3, batch_requests: int = 0, batch_size: int = 100,
        batch_concurrency: int = 4, compare: str = "metrics") -> dict:
    ids = compare == "ids"
    run_tag = common.tag()
    topic_name = f"bench-metrics-{run_tag}"
    topic.create(topic_name, settings.TOPIC_PARTITIONS, settings.TOPIC_REPLICATION,
                 brokers=[n.node_id for n in settings.KAFKA_NODES])
    apis: dict[str, tuple[subprocess.Popen, str]] = {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as d:
        folder = Path(d)
        try:
            for side in SIDES:
                (folder / side).mkdir()
                apis[side] = start_api(side == "on" or ids, topic_name, folder / side)
            for side in SIDES:
                wait_healthy(apis[side][0], apis[side][1], folder / side / "api.log")
            for c in concurrency:
                user = f"mcost-{run_tag}-c{c}"
                rows.append(pair(apis, f"/purchase_a_sword?user={user}&type=gold", requests, c, rounds, topic_name,
                                 user, folder=folder, on_query=f"&event_id={uuid.uuid4()}" if ids else ""))
            if batch_requests:
                user = f"mcost-{run_tag}-batch"
                rows.append(pair(apis, "/events", batch_requests, batch_concurrency, rounds, topic_name, user,
                                 body=batch.body(user, batch_size), folder=folder,
                                 on_body=batch.body(user, batch_size, client_ids=True) if ids else None))
            workers = {side: sum(1 for _ in common.process_tree(apis[side][0].pid)) - 1 for side in SIDES}
        finally:
            for proc, _ in apis.values():
                stop_api(proc)
    try:
        topic.delete(topic_name)
    except Exception as e:  # a broker restarting meanwhile: the topic stays, nothing else does
        print(f"could not delete topic {topic_name}: {e}", flush=True)
    return common.save("ids_cost" if ids else "metrics_cost", {"requests": requests, "rounds": rounds, "compare": compare, "workers": workers,
                                        "threads": settings.API_THREADS, "access_log": settings.API_ACCESS_LOG,
                                        "runs": rows})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=10000, help="GET requests per run")
    ap.add_argument("--concurrency", default="8,32")
    ap.add_argument("--rounds", type=int, default=5, help="runs of each side, interleaved")
    ap.add_argument("--batch-requests", type=int, default=200, help="POST /events per run (0: none)")
    ap.add_argument("--batch-size", type=int, default=100, help="events per POST")
    ap.add_argument("--batch-concurrency", type=int, default=4)
    ap.add_argument("--compare", choices=COMPARE, default="metrics", help="what differs between the sides")
    args = ap.parse_args()
    run(args.requests, [int(c) for c in args.concurrency.split(",")], args.rounds, args.batch_requests,
        args.batch_size, args.batch_concurrency, args.compare)


if __name__ == "__main__":
    main()
