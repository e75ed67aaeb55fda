#!/usr/bin/env bash
# Builds the Debian base image from Debian's packages (no registry is reachable here):
# debootstrap a minimal bookworm and import it into podman. Skipped when it exists.
set -euo pipefail
image=${BASE_IMAGE:-localhost/game-events-debian:bookworm}
podman image exists "$image" && { echo "base image $image exists"; exit 0; }
command -v debootstrap >/dev/null || { echo "error: debootstrap is missing; install it with: sudo apt-get install -y debootstrap" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
echo "==> debootstrap bookworm (${mirror:-http://deb.debian.org/debian})"
debootstrap --variant=minbase bookworm "$dir" "${mirror:-http://deb.debian.org/debian}" >/dev/null
tar -C "$dir" -c . | podman import - "$image" >/dev/null
echo "==> base image $image"
