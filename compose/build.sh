#!/usr/bin/env bash
# Builds the project image with podman: the Debian base image first (once), then the
# Dockerfile FROM it (BASE_IMAGE: no registry is reachable here, so not debian:bookworm).
# The host's Maven repository is mounted during the build so that the Presto tarball and
# jars already downloaded by `make install` are not fetched again; layers are cached, so
# only a change to the install's inputs rebuilds them.
set -euo pipefail
cd "$(dirname "$0")/.."
export BASE_IMAGE=${BASE_IMAGE:-localhost/game-events-debian:bookworm}
bash compose/base-image.sh
mkdir -p "$HOME/.m2"
cas=$([ -d /usr/local/share/ca-certificates ] && echo /usr/local/share/ca-certificates || true)
echo "==> podman build localhost/game-events:latest (FROM $BASE_IMAGE)"
podman build --runtime runc -t localhost/game-events:latest \
  -v "$HOME/.m2:/root/.m2" ${cas:+-v "$cas:/usr/local/share/ca-certificates:ro"} \
  --build-arg BASE_IMAGE="$BASE_IMAGE" -f Dockerfile .
