#!/usr/bin/env bash
# Sets up podman (with runc) and its Docker-compatible API socket, so that Debian's
# docker-compose can run docker-compose.yml on a machine without a Docker engine.
# Prints the DOCKER_HOST to export. When it starts the service, it writes the service's
# pid to PODMAN_PID_FILE (default /run/podman/service.pid): stop it with
# `kill "$(cat /run/podman/service.pid)"`.
set -euo pipefail
sock=/run/podman/podman.sock
pid_file=${PODMAN_PID_FILE:-/run/podman/service.pid}
missing=()
for tool in podman:podman docker-compose:docker-compose debootstrap:debootstrap runc:runc curl:curl; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> apt-get install ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "error: missing ${missing[*]}; install them with: sudo apt-get install -y podman docker-compose debootstrap runc curl" >&2
    exit 1
  fi
fi
mkdir -p /etc/containers /run/podman
# crun fails on this kind of machine's cgroup setup; runc works. No default ulimits either.
if ! grep -q '^runtime = "runc"' /etc/containers/containers.conf 2>/dev/null; then
  cat > /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
CONF
fi
if ! curl -fsS --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
  # From /: the service outlives this shell, and its containers' conmon fails ("Failed to
  # get working directory") once a clone it was started from is deleted.
  nohup env -C / podman system service --time=0 "unix://$sock" >/tmp/podman-service.log 2>&1 &
  echo $! > "$pid_file"
  for _ in $(seq 50); do curl -fsS --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
curl -fsS --unix-socket "$sock" http://d/_ping >/dev/null || { echo "error: podman's API socket did not start; see /tmp/podman-service.log" >&2; exit 1; }
echo "unix://$sock"
