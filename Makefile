# The project's front door. `make demo` and `make test` are all a new user needs.
PY      := .venv/bin/python
STACK   := $(PY) -m stack
SERVICES ?= infra
S       ?=
# PROFILE=cluster: the cluster profile (three Kafka nodes, two DataNodes, Spark standalone,
# a Presto worker). Unset: STACK_PROFILE, else whichever profile is running (the file that
# `up` writes, stack/profile.py), else the single-node one.
PROFILE ?=
ifneq ($(PROFILE),)
export STACK_PROFILE := $(PROFILE)
else
export STACK_PROFILE ?= $(shell cat var/active-profile 2>/dev/null)
endif

.PHONY: install up down status logs reset api stream demo test test-cluster test-unit test-quick report openapi compact bench bench-smoke

.venv/.installed: pyproject.toml stack/versions.env stack/pom.xml stack/install.sh $(wildcard game_events/stream/java/*.java)
	bash stack/install.sh
	touch $@

install:
	bash stack/install.sh
	touch .venv/.installed

# SERVICES: services or groups (infra, pipeline, all, ...); see `python -m stack`.
up: .venv/.installed
	$(STACK) up $(SERVICES)

down:
	@[ -x $(PY) ] && $(STACK) down $(SERVICES:infra=all) || true

status:
	@$(STACK) status

# FOLLOW=0 prints the last lines and returns instead of following the log.
# S: one service (default: the first, Kafka's first node).
logs:
	@f=$$($(STACK) logs $(S)) && tail -n 200 $(if $(filter 0,$(FOLLOW)),,-F) "$$f"

reset:
	$(STACK) reset

api: .venv/.installed
	$(STACK) up infra api

stream: .venv/.installed
	$(STACK) up infra stream

# `up pipeline` brings up the engines, the topic, the tables, the API and the stream.
demo: .venv/.installed
	$(STACK) up pipeline
	$(PY) -m game_events.analytics.demo

# Everything, in two lanes side by side (tests/lanes.py): the compose run, the unit and
# single-node tests on the stack `make up` started; the fault tests on a second stack of
# their own, then the cluster profile's tests; those two at ports moved by 1000.
test: .venv/.installed
	$(PY) -m tests.lanes

test-cluster: .venv/.installed
	STACK_PROFILE=cluster $(PY) -m pytest -v --durations=15 tests/cluster

# The unit tests alone: no services, well under a minute.
test-unit: .venv/.installed
	STACK_PROFILE=local $(PY) -m pytest tests/unit

# Everything but the tests marked slow (compose, faults, fuzz, benchmarks); it still starts the stack.
test-quick: .venv/.installed
	STACK_PROFILE=local $(PY) -m pytest -v --durations=15 -m "not slow"

report: .venv/.installed
	$(STACK) up pipeline
	$(PY) -m game_events.analytics.report

openapi: .venv/.installed
	$(PY) -m game_events.api.openapi > openapi.json

# Merges landed files older than OLDER_THAN (default 1h) into large ones; see compact_events.py.
OLDER_THAN ?= 1h
compact: .venv/.installed
	$(PY) compact_events.py --older-than $(OLDER_THAN)

# Benchmarks of issue 7 (bench/): full sizes write BENCHMARKS.md (tens of minutes on a
# quiet machine); the smoke sizes check that the scripts work, in a few minutes.
bench: .venv/.installed
	$(PY) -m bench.run

bench-smoke: .venv/.installed
	$(PY) -m bench.run --smoke
