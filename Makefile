# `make test` works on a fresh machine: it makes a local venv with the test
# tools (never runtime dependencies: nextapi itself is stdlib only) and runs them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test lint venv clean

test: venv
	-sh tests/e2e/install_browser.sh  # chromium for tests/e2e when missing; never fails
	$(PY) -m pytest

# The package's own code: typed to mypy --strict, and ruff's checks (both pinned in tests/requirements.txt).
lint: venv
	$(PY) -m mypy --strict nextapi
	$(PY) -m ruff check nextapi

venv: $(STAMP)

$(STAMP): tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $(STAMP)

# Not part of `make test`: a few minutes of mixed traffic under gunicorn -w 2, watching
# each worker's memory (tests/soak.py; SOAK_SECONDS=60 make soak for a shorter run).
.PHONY: soak
soak: venv
	$(PY) tests/soak.py

# Not part of `make test`: nextapi against a bare WSGI function, Falcon, Bottle and Flask,
# in-process (time, and instructions per request under valgrind's callgrind), with 10..10,000
# routes and under gunicorn, its typed routes against FastAPI in-process (ASGI) and under
# uvicorn, cold start of a fresh interpreter, and a gunicorn worker's memory (bench/run.py;
# 13-30 minutes, by the load). The peers, gunicorn and uvicorn go into their own venv; wrk and valgrind
# are installed when apt-get can (else a Python load generator stands in, and the instruction
# counts are skipped). Prints the tables and rewrites bench/RESULTS.md.
BENCH_VENV  ?= bench/.venv
BENCH_PY    := $(BENCH_VENV)/bin/python
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_OUT   ?= bench/RESULTS.md

.PHONY: bench
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null 2>&1 || timeout 300 sh -c 'apt-get install -y -q wrk || \
	  (apt-get update -q && apt-get install -y -q wrk)' >/dev/null 2>&1 || \
	  echo "bench: wrk not available, the Python load generator stands in"
	@command -v valgrind >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && timeout 300 sh -c 'apt-get install -y -q valgrind || \
	  (apt-get update -q && apt-get install -y -q valgrind)' >/dev/null 2>&1; } || \
	  echo "bench: valgrind not available, the instruction counts are skipped"
	$(BENCH_PY) bench/run.py --results $(BENCH_OUT)

# Just the instruction counts (callgrind), for trying a change to nextapi: e.g.
# make bench-instructions BENCH_ARGS="--apps nextapi --workloads A,D" (or --profile A).
.PHONY: bench-instructions
bench-instructions: $(BENCH_STAMP)
	$(BENCH_PY) bench/instructions.py $(BENCH_ARGS)

$(BENCH_STAMP): bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $(BENCH_STAMP)

# Not part of `make test`: the board on PostgreSQL behind nginx with three app hosts, each a
# network namespace (tests/cluster/run.py; root only, else skipped with the reason; about 3
# minutes). PostgreSQL, nginx and wrk come from apt-get when missing (tests/cluster/install.sh);
# psycopg and gunicorn go into their own venv, never into the test venv.
CLUSTER_VENV  ?= tests/cluster/.venv
CLUSTER_PY    := $(CLUSTER_VENV)/bin/python
CLUSTER_STAMP := $(CLUSTER_VENV)/.installed

.PHONY: cluster
cluster:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "cluster: skipped: needs root (network namespaces, PostgreSQL and nginx started in them)"; \
	else \
	  sh tests/cluster/install.sh && $(MAKE) --no-print-directory $(CLUSTER_STAMP) && \
	  timeout -s TERM 900 $(CLUSTER_PY) -m tests.cluster.run; \
	fi

$(CLUSTER_STAMP): tests/cluster/requirements.txt samples/board/requirements.txt
	$(PYTHON) -m venv $(CLUSTER_VENV)
	$(CLUSTER_PY) -m pip install --quiet --disable-pip-version-check -r tests/cluster/requirements.txt
	touch $(CLUSTER_STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
