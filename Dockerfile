# One image for every service of docker-compose.yml, installed by the same pinned files
# and commands as `make install` (stack/install.sh). Built FROM Debian bookworm: on a
# Docker host `docker-compose up -d` builds it from debian:bookworm; where no registry is
# reachable, compose/build.sh passes a base made with debootstrap (compose/base-image.sh).
ARG BASE_IMAGE=debian:bookworm
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive \
    VENV=/opt/venv \
    GAME_EVENTS_CACHE=/opt/cache \
    STACK_DATA=/data \
    PATH=/w205/game-events/bin:/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/w205/game-events \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt
# The build host's own CAs (compose/build.sh mounts /usr/local/share/ca-certificates),
# for registries reached through a TLS-inspecting proxy; Java's truststore is built from
# this bundle when install.sh installs the JDK.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null \
 && update-ca-certificates
# Only the install's inputs are copied, so a change elsewhere in the project reuses this
# layer; the project itself is mounted at /w205/game-events, as the seed mounted ~/w205.
COPY pyproject.toml /opt/game-events/
COPY game_events/__init__.py /opt/game-events/game_events/
COPY stack/install.sh stack/versions.env stack/pom.xml /opt/game-events/stack/
COPY game_events/stream/java/ /opt/game-events/game_events/stream/java/
RUN apt-get update -qq \
 && INSTALL_BROWSER=0 bash /opt/game-events/stack/install.sh \
 && rm -rf /var/lib/apt/lists/* /root/.cache/pip
WORKDIR /w205/game-events
