"""python -m stack COMMAND [SERVICE|GROUP ...]   (from the repository root)

    up [SERVICE|GROUP ...]     start (idempotent) and wait until healthy; default: infra
    down [SERVICE|GROUP ...]   stop; default: all
    status [SERVICE|GROUP ...] table of service, pid, port, health and memory, then the
                               counters and the stream's lag behind the topic
    run SERVICE|GROUP          run in the foreground, logs to stdout (containers)
    check SERVICE              exit 0 if the service answers its readiness call
    render                     write the config files only
    shell                      print the settings as shell assignments (for bin/_env.sh)
    reset                      stop everything and wipe the data folder
    logs [SERVICE]             path of a service's log file (default: the first service)

Groups: infra (the engines), kafka, hdfs, cloudera, spark, presto, app (api stream),
pipeline (infra + app: the topic, the tables, the API and the stream), monitoring
(prometheus), all (pipeline + monitoring).

STACK_PROFILE=cluster (make ... PROFILE=cluster) runs the cluster profile: three Kafka
nodes, two DataNodes, Spark standalone with two workers and a Presto worker. Without it,
commands act on the profile that `up` last started, until `down` stops it.
"""
from __future__ import annotations

import logging
import shutil
import sys
import time

from game_events import settings
from stack import StackError, processes, profile, status
from stack.render import render, shell
from stack.services import SERVICES, expand, needs, one


def up(args: list[str]) -> int:
    services = expand(args)
    other = processes.other_profile_running()
    if other:
        raise StackError(f"the {other} profile is running and holds the same ports; "
                         f"stop it first: make down PROFILE={other}")
    render()
    processes.record_ports()
    if settings.CLUSTER:
        profile.ACTIVE_FILE.parent.mkdir(parents=True, exist_ok=True)
        profile.ACTIVE_FILE.write_text(settings.PROFILE)
    t0 = time.monotonic()
    processes.start_all(services, needs(services))
    # A quorum member that `up` waited for only until it started is healthy by now.
    for svc in services:
        if svc.start_ready:
            processes.wait_ready(svc, lambda: False)
    print(f"up: the {settings.PROFILE} profile ready in {time.monotonic() - t0:.1f}s", flush=True)
    return 0


def down(args: list[str]) -> int:
    for svc in reversed(expand(args, default="all")):
        processes.stop(svc)
    if not any(processes.running_pid(svc) for svc in expand(["all"])):
        profile.ACTIVE_FILE.unlink(missing_ok=True)
    return 0


def run(args: list[str]) -> int:
    services = expand(args)
    render()
    return processes.supervise(services)


def check(args: list[str]) -> int:
    svc = one(args)
    why = processes.probe(svc)
    if why:
        print(f"{svc.name}: {why}", file=sys.stderr)
    return 0 if why is None else 1


def logs(args: list[str]) -> int:
    print(processes.logfile(one(args or [SERVICES[0].name])))
    return 0


def reset(args: list[str]) -> int:
    down(["all"])
    shutil.rmtree(settings.DATA, ignore_errors=True)
    print(f"reset: removed {settings.DATA} (the {settings.PROFILE} profile's data)")
    return 0


COMMANDS = {
    "up": up, "down": down, "status": status.show, "run": run, "check": check,
    "render": lambda args: render() or 0, "shell": lambda args: print(shell(), end="") or 0, "reset": reset,
    "logs": logs,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    # Probes fail on purpose while a service starts; their client libraries need not log
    # each refused connection.
    for name in ("thrift", "kafka", "pyhive"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        return COMMANDS[argv[0]](argv[1:])
    except StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
