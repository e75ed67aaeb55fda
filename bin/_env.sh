# Sourced by the bin/ wrappers. Every path, pin and endpoint comes from
# game_events.settings, the project's one source, which `python -m stack shell` prints as
# shell assignments for the running profile (or STACK_PROFILE's).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
need() { [ -e "$1" ] || { echo "error: $1 is missing; run: make install && make up" >&2; exit 1; }; }
need "${VENV:-$root/.venv}/bin/python"
settings=$(PYTHONPATH=$root${PYTHONPATH:+:$PYTHONPATH} "${VENV:-$root/.venv}/bin/python" -m stack shell) \
  || { echo "error: could not read game_events.settings" >&2; exit 1; }
eval "$settings"
# The Python that a wrapper starts (spark-submit's jobs) reads the same profile.
export JAVA_HOME STACK_PROFILE=$PROFILE
java=$JAVA_HOME/bin/java
# Add a default option unless the caller gave it, so the seed's commands work verbatim
# and the short forms reach the local stack.
has_opt() { local o=$1; shift; for a in "$@"; do [[ $a == "$o" || $a == "$o="* ]] && return 0; done; return 1; }
