#!/usr/bin/env bash
# Podman runs healthchecks from systemd timers; where systemd is not PID 1 (containers,
# CI sandboxes) nobody runs them and `depends_on: condition: service_healthy` would wait
# forever. This loop runs them instead, every 3 s, until the compose project is gone.
project=$1
while true; do
  ids=$(podman ps -q --filter "label=com.docker.compose.project=$project")
  [ -n "$ids" ] || { sleep 3; [ -n "$(podman ps -aq --filter "label=com.docker.compose.project=$project")" ] || exit 0; continue; }
  for id in $ids; do podman healthcheck run "$id" >/dev/null 2>&1 || true; done
  sleep 3
done
