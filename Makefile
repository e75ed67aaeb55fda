# The project's front door. `make demo` and `make test` are all a new user needs.
PY      := .venv/bin/python
STACK   := $(PY) stack/stackctl.py
SERVICES ?= infra
S       ?= kafka

.PHONY: install up down status logs reset api stream demo test test-quick report openapi compact bench bench-smoke

.venv/.installed: pyproject.toml stack/versions.env stack/pom.xml stack/install.sh
	bash stack/install.sh
	touch $@

install:
	bash stack/install.sh
	touch .venv/.installed

up: .venv/.installed
	$(STACK) up $(SERVICES)

down:
	@[ -x $(PY) ] && $(STACK) down $(SERVICES:infra=all) || true

status:
	@$(STACK) status

# FOLLOW=0 prints the last lines and returns instead of following the log.
logs:
	@f=$$($(STACK) logs $(S)) && tail -n 200 $(if $(filter 0,$(FOLLOW)),,-F) "$$f"

reset:
	$(STACK) reset

api: .venv/.installed
	$(STACK) up infra api

stream: .venv/.installed
	$(STACK) up infra stream

demo: .venv/.installed
	$(PY) -m game_events.demo

test: .venv/.installed
	$(PY) -m pytest -v

test-quick: .venv/.installed
	$(PY) -m pytest -v -m "not slow"

report: .venv/.installed
	$(STACK) up infra api stream
	$(PY) -m game_events.report

openapi: .venv/.installed
	$(PY) -m game_events.openapi > openapi.json

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
