# Sourced by the bin/ wrappers: the same paths and pins as stack/stackctl.py.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/stack/versions.env"
venv=${VENV:-$root/.venv}
cache=${GAME_EVENTS_CACHE:-$HOME/.cache/game-events}
data=${STACK_DATA:-$root/var}
conf=$data/conf
export JAVA_HOME=${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
java=$JAVA_HOME/bin/java
kafka_bootstrap=${KAFKA_BOOTSTRAP:-${KAFKA_HOST:-127.0.0.1}:${KAFKA_PORT:-29092}}
need() { [ -e "$1" ] || { echo "error: $1 is missing; run: make install && make up" >&2; exit 1; }; }
# Add a default option unless the caller gave it, so the seed's commands work verbatim
# and the short forms reach the local stack.
has_opt() { local o=$1; shift; for a in "$@"; do [[ $a == "$o" || $a == "$o="* ]] && return 0; done; return 1; }
