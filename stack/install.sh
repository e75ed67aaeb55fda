#!/usr/bin/env bash
# Installs everything the local stack needs, from PyPI (.venv), Maven Central (mvn) and,
# when run as root, Debian's packages (apt). Versions come from stack/versions.env.
# Jars and the Presto tarball are cached outside the checkout (GAME_EVENTS_CACHE), so a
# fresh clone on the same machine reinstalls in seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# shellcheck source=versions.env
. "$here/versions.env"
cache=${GAME_EVENTS_CACHE:-$HOME/.cache/game-events}
mkdir -p "$cache"
start=$SECONDS
step() { printf '==> [%4ss] %s\n' "$((SECONDS - start))" "$*"; }
die() { echo "error: $*" >&2; exit 1; }

APT_PACKAGES="openjdk-17-jdk-headless maven kcat apache2-utils python3 python3-venv curl ca-certificates prometheus"
# The dashboard's test drives a headless Chromium; the compose image runs no tests
# (the Dockerfile sets INSTALL_BROWSER=0).
INSTALL_BROWSER=${INSTALL_BROWSER:-1}
[ "$INSTALL_BROWSER" = 0 ] || APT_PACKAGES="$APT_PACKAGES chromium"

step "checking system tools"
missing=()
java17=${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
[ -x "$java17/bin/java" ] || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v kcat >/dev/null || missing+=(kcat)
command -v python3 >/dev/null || missing+=(python3)
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
command -v curl >/dev/null || missing+=(curl)
[ -f /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
command -v ab >/dev/null || missing+=(apache2-utils)
command -v prometheus >/dev/null || missing+=(prometheus)
[ "$INSTALL_BROWSER" = 0 ] || command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "apt-get install ${missing[*]}"
    apt-get update -qq
    # The stack runs its own Prometheus on PROMETHEUS_PORT: the package's system service
    # must not start (policy-rc.d, for the install) nor come back at boot on 9090.
    guard=/usr/sbin/policy-rc.d
    [ -e "$guard" ] || { printf '#!/bin/sh\nexit 101\n' > "$guard"; chmod +x "$guard"; trap 'rm -f "$guard"' EXIT; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -d /run/systemd/system ]; then systemctl disable --now prometheus.service >/dev/null 2>&1 || true; fi
  else
    die "missing ${missing[*]}; install them with: sudo apt-get install -y $APT_PACKAGES"
  fi
fi
command -v python3.11 >/dev/null || python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "Python 3.11 is required; install it with: sudo apt-get install -y python3.11 python3.11-venv"
py=$(command -v python3.11 || command -v python3)

venv=${VENV:-$root/.venv}
step "python virtualenv $venv (flask, confluent-kafka, pyspark==$SPARK_VERSION, PyHive, ...)"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip_quiet=-q; [ -t 1 ] && pip_quiet=
"$venv/bin/pip" install $pip_quiet -e "$root[test,report,bench]" "pyspark==$SPARK_VERSION"

mvn_props=(-Dscala.binary="$SCALA_BINARY" -Dkafka.version="$KAFKA_VERSION" -Dhadoop.version="$HADOOP_VERSION"
           -Dspark.version="$SPARK_VERSION" -Dlog4j.version="$LOG4J_VERSION" -Dasm.version="$ASM_VERSION"
           -Djmx.exporter.version="$JMX_EXPORTER_VERSION")
# Maven prints a progress bar for each download when it is not in batch mode.
mvn_flags=(-f "$here/pom.xml" --no-transfer-progress -B)
[ -t 1 ] && mvn_flags=(-f "$here/pom.xml")
jars() { # profile version
  local dir="$cache/jars/$1-$2"
  if [ ! -f "$dir/.complete" ]; then
    step "maven: $1 $2 and its runtime dependencies"
    rm -rf "$dir"
    mvn -q "${mvn_flags[@]}" -P "$1" "${mvn_props[@]}" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$dir" >/dev/null || die "maven could not resolve the $1 jars (see above)"
    touch "$dir/.complete"
  fi
}
jars kafka "$KAFKA_VERSION"
jars hadoop "$HADOOP_VERSION"
jars spark-kafka "$SPARK_VERSION"
jars presto-asm "$ASM_VERSION"
jars jmx-exporter "$JMX_EXPORTER_VERSION"

# The stream's Java (its parser of the API's form, its deduplication), compiled against the
# pinned Spark (stack/pom.xml says why it is named for that version); rebuilt when any of its
# sources is newer than the jar.
stream_jar="$cache/jars/game-events-stream-spark-$SPARK_VERSION.jar"
if [ ! -f "$stream_jar" ] || [ -n "$(find "$root/game_events/stream/java" -name '*.java' -newer "$stream_jar")" ]; then
  step "maven: the stream's parser (game_events/stream/java) against Spark $SPARK_VERSION"
  mvn -q "${mvn_flags[@]}" -P stream-parser "${mvn_props[@]}" package >/dev/null \
    || die "maven could not build the stream's parser; STREAM_PARSER=sql runs without it"
  cp "$here/target/stack-1-spark-$SPARK_VERSION.jar" "$stream_jar.tmp" && mv "$stream_jar.tmp" "$stream_jar"
fi

presto="$cache/presto-server-$PRESTO_VERSION"
if [ ! -f "$presto/.complete" ]; then
  step "maven: presto-server $PRESTO_VERSION (a 2 GB tarball; only the hive connector is unpacked)"
  mvn "${mvn_flags[@]}" dependency:get -Dtransitive=false -Dartifact="com.facebook.presto:presto-server:$PRESTO_VERSION:tar.gz" \
    | grep -E "Download|ERROR" || true
  tarball="${MAVEN_REPO:-$HOME/.m2/repository}/com/facebook/presto/presto-server/$PRESTO_VERSION/presto-server-$PRESTO_VERSION.tar.gz"
  [ -f "$tarball" ] || die "maven could not fetch presto-server $PRESTO_VERSION"
  rm -rf "$presto"
  step "unpacking presto-server (core)"
  tar xzf "$tarball" -C "$cache" --exclude="presto-server-$PRESTO_VERSION/plugin/*"
  step "unpacking presto-server (hive-hadoop2 connector)"
  tar xzf "$tarball" -C "$cache" --wildcards "presto-server-$PRESTO_VERSION/plugin/hive-hadoop2/*"
  step "presto: ASM $ASM_VERSION in place of 9.0, for Java 17"
  for d in "$presto/lib" "$presto/plugin/hive-hadoop2"; do
    rm -f "$d"/asm-*9.0.jar
    cp "$cache/jars/presto-asm-$ASM_VERSION"/asm-*.jar "$d/"
  done
  touch "$presto/.complete"
fi
cli="$cache/presto-cli-$PRESTO_VERSION-executable.jar"
if [ ! -f "$cli" ]; then
  step "maven: presto-cli $PRESTO_VERSION"
  mvn -q "${mvn_flags[@]}" dependency:copy -Dartifact="com.facebook.presto:presto-cli:$PRESTO_VERSION:jar:executable" \
    -DoutputDirectory="$cache" >/dev/null || die "maven could not fetch presto-cli $PRESTO_VERSION"
fi
step "installed (cache: $cache)"
