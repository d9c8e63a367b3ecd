# `make test` works on a fresh machine: it makes a local venv with the test
# tools (never runtime dependencies: nextapi itself is stdlib only) and runs them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test venv clean

test: venv
	-sh tests/e2e/install_browser.sh  # chromium for tests/e2e when missing; never fails
	$(PY) -m pytest

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

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
