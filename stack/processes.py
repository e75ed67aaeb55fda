"""The services' processes: pid files, start and stop, the foreground supervisor that a
container runs, and memory use.

A process is ours when its environment carries GAME_EVENTS_SERVICE=<name>: that tells a
live service from a stale pid file whose pid now belongs to another program.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from game_events import settings
from stack import StackError
from stack.services import Service


def pidfile(svc: Service) -> Path:
    return settings.RUN / f"{svc.name}.pid"


def logfile(svc: Service) -> Path:
    return settings.LOGS / f"{svc.name}.log"


def say(svc: Service, what: str) -> None:
    # One write per line: services starting side by side print from their own threads.
    sys.stdout.write(f"  {svc.name:<14} {what}\n")
    sys.stdout.flush()


def running_pid(svc: Service) -> int | None:
    """The service's pid if it is alive; a stale pid file (process gone, or the pid reused
    by another program) is removed."""
    return _live(pidfile(svc), svc.name)


def record_ports() -> None:
    """The ports this stack uses, for the other profile's `up` to compare with its own."""
    settings.RUN.mkdir(parents=True, exist_ok=True)
    (settings.RUN / "ports").write_text(" ".join(map(str, sorted(settings.PORT_VARS))) + "\n")


def other_profile_running() -> str | None:
    """The other profile, when one of its services runs and it holds a port this one
    needs: the profiles share their default ports, unless STACK_PORT_OFFSET moved one."""
    for profile, data in settings.PROFILE_DATA.items():
        if profile != settings.PROFILE and data.resolve() != settings.DATA:
            if any(_live(pf, pf.stem) for pf in (data / "run").glob("*.pid")):
                try:
                    theirs = set(map(int, (data / "run" / "ports").read_text().split()))
                except (OSError, ValueError):
                    theirs = set(settings.PORT_VARS)  # no record: take them for ours
                if theirs & set(settings.PORT_VARS):
                    return profile
    return None


def _live(pf: Path, name: str) -> int | None:
    try:
        pid = int(pf.read_text())
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except (OSError, ValueError):
        pf.unlink(missing_ok=True)
        return None
    if f"GAME_EVENTS_SERVICE={name}".encode() not in environ.split(b"\0"):
        pf.unlink(missing_ok=True)
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = "X"
    if state in ("Z", "X"):
        pf.unlink(missing_ok=True)
        return None
    return pid


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((settings.BIND_HOST, port))
            return True
        except OSError:
            return False


def probe(svc: Service, ready: Callable[[], bool] | None = None) -> str | None:
    """None when the service answers its readiness call (or `ready`), else why not."""
    try:
        return None if (ready or svc.ready)() else "not ready yet"
    except Exception as e:  # any failure of the probe means "not ready", with its reason
        return f"{type(e).__name__}: {e}"[:200]


def service_env(svc: Service) -> dict:
    return {**os.environ, **svc.env, "GAME_EVENTS_SERVICE": svc.name, "JAVA_HOME": str(settings.JAVA_HOME),
            "SPARK_CONF_DIR": str(settings.CONF / "spark"), "STACK_DATA": str(settings.DATA)}


def prepare(svc: Service) -> list[str]:
    """Everything before the process starts: folders, its command line, its first-run step."""
    for folder in (settings.LOGS, settings.RUN, svc.cwd):
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
    for f in svc.fresh:
        f.unlink(missing_ok=True)
    argv = svc.command()
    try:
        note = svc.first_run() if svc.first_run else None
    except subprocess.CalledProcessError as e:
        raise StackError(f"{svc.name}: first-start step failed: {' '.join(map(str, e.cmd[-4:]))}\n"
                         f"{(e.stderr or b'').decode(errors='replace')[-2000:]}")
    except (StackError, KeyboardInterrupt):
        raise
    except Exception as e:  # e.g. Kafka unreachable while creating the topic
        raise StackError(f"{svc.name}: first-start step failed: {type(e).__name__}: {e}")
    if note:
        say(svc, note)
    return argv


class Abandoned(StackError):
    """A start given up because another service of the same `up` failed."""


def wait_ready(svc: Service, exited: Callable[[], bool], log: Path | None = None,
               ready: Callable[[], bool] | None = None, abandon: threading.Event | None = None) -> float:
    """Seconds until the service answered its probe (or `ready`); raises if it died or
    took too long, or when `abandon` is set."""
    see = f"; see its log: {log}" if log else ""
    t0 = time.monotonic()
    while (why := probe(svc, ready)) is not None:
        if exited():
            raise StackError(f"{svc.name} exited during start-up{see}")
        if abandon is not None and abandon.is_set():
            raise Abandoned(f"{svc.name}: start abandoned")
        if time.monotonic() - t0 > svc.timeout:
            raise StackError(f"{svc.name} was not ready within {svc.timeout}s ({why}){see}")
        time.sleep(0.5)
    return time.monotonic() - t0


def start(svc: Service, abandon: threading.Event | None = None) -> None:
    """Starts the service in the background unless it runs, and waits until it is ready."""
    pid, proc = running_pid(svc), None
    if pid is None:
        for port in ([svc.port] if svc.owns_port else []) + ([svc.agent_port] if svc.agent_port else []):
            if not port_free(port):
                var = settings.PORT_VARS[port]
                raise StackError(f"port {port} ({var}) for {svc.name} is already in use by another "
                                 f"process; stop it or set {var} to a free port")
        argv = prepare(svc)
        with open(logfile(svc), "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {svc.name}\n".encode())
            log.flush()
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=svc.cwd, env=service_env(svc), start_new_session=True)
        pidfile(svc).write_text(str(proc.pid))
        pid = proc.pid
        say(svc, f"started (pid {pid})")
    # Our own child is watched with poll(): until it has exec'd, /proc still shows this
    # process's environment, which running_pid() would take for a stale pid.
    exited = (lambda: proc.poll() is not None) if proc else (lambda: running_pid(svc) is None)
    if svc.start_ready:
        took = wait_ready(svc, exited, logfile(svc), svc.start_ready, abandon)
        say(svc, f"{'up' if proc else 'running'} (pid {pid}, {took:.1f}s); ready once the services after it run")
    else:
        took = wait_ready(svc, exited, logfile(svc), abandon=abandon)
        say(svc, f"healthy (pid {pid}, {took:.1f}s)")


def start_all(services: list[Service], needs: dict[str, list[str]]) -> None:
    """Starts the services side by side, each once the ones it `needs` (names among
    `services`) are ready, so that start-up takes as long as the longest chain of needs
    rather than the sum of every start. The first failure stops the rest waiting and is
    raised; the services already started keep running, as a serial start would leave them."""
    ready = {svc.name: threading.Event() for svc in services}
    failed = threading.Event()
    errors: list[BaseException] = []

    def run(svc: Service) -> None:
        try:
            for name in needs[svc.name]:
                while not ready[name].wait(0.2):
                    if failed.is_set():
                        return
            if not failed.is_set():
                start(svc, failed)
                ready[svc.name].set()
        except BaseException as e:  # reported by the caller's thread, below
            errors.append(e)
            failed.set()

    threads = [threading.Thread(target=run, args=(svc,), name=svc.name, daemon=True) for svc in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The first error is the cause; the others are starts it abandoned.
    real = [e for e in errors if not isinstance(e, Abandoned)]
    if real or errors:
        raise (real or errors)[0]


def stop(svc: Service, timeout: float = 30) -> None:
    """SIGTERM to the service's process group, SIGKILL after `timeout` seconds."""
    pid = running_pid(svc)
    if pid is None:
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running_pid(svc) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if running_pid(svc) is not None:
        os.killpg(pid, signal.SIGKILL)
    pidfile(svc).unlink(missing_ok=True)
    say(svc, "stopped")


def supervise(services: list[Service]) -> int:
    """One container's services (cloudera holds three) in the foreground: start them in
    order, each ready before the next, logs on stdout; stop all when one dies or on SIGTERM."""
    procs = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for svc in services:
            proc = subprocess.Popen(prepare(svc), cwd=svc.cwd, env=service_env(svc), stdin=subprocess.DEVNULL)
            procs.append(proc)
            pidfile(svc).write_text(str(proc.pid))
            wait_ready(svc, lambda: proc.poll() is not None)
            print(f"stack: {svc.name} healthy", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        return 1
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()


def process_tree(pid: int) -> Iterator[int]:
    """A process and all its descendants (a JVM under a launcher script, the API server's workers)."""
    todo = [pid]
    while todo:
        p = todo.pop()
        yield p
        try:
            # A JVM starts children from any of its threads, so read every thread's list.
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children."""
    total = 0
    for p in process_tree(pid):
        try:
            total += sum(int(ln.split()[1]) for ln in Path(f"/proc/{p}/status").read_text().splitlines()
                         if ln.startswith("VmRSS:"))
        except OSError:
            pass
    return total / 1024
