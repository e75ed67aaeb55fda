#!/usr/bin/env bash
# Podman runs healthchecks from systemd timers; where systemd is not PID 1 (containers,
# CI sandboxes) nobody runs them and `depends_on: condition: service_healthy` would wait
# forever. This loop runs them instead, every 3 s, until the compose project is gone.
# It waits for the project's containers to appear first: `docker-compose up` may take
# longer than one tick to create them (its network first), and leaving before they exist
# would leave `up` waiting forever.
project=$1
seen=
while true; do
  ids=$(podman ps -q --filter "label=com.docker.compose.project=$project")
  if [ -z "$ids" ]; then
    sleep 3
    [ -n "$seen" ] && [ -z "$(podman ps -aq --filter "label=com.docker.compose.project=$project")" ] && exit 0
    continue
  fi
  seen=1
  for id in $ids; do podman healthcheck run "$id" >/dev/null 2>&1 || true; done
  sleep 3
done
